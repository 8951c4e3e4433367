"""The rules of Secure Access registration, with no I/O.

Validators, addresses and their layouts, policies (business days, help-desk hours, time zones),
the authenticator, the hire rules and the ports: the typed protocols through which flows reach
accounts, codes, attempts, audit, firms, delivery and the transport. Nothing here imports the rest
of the project.
"""
