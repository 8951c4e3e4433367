"""Storage: the database, its schema and migrations, and the queries the bot runs.

The rule: nothing under ``bot.storage`` imports ``bot.*`` outside ``bot.storage``, nor ``flows``.
It imports only ``bot.storage``, ``domain`` (the ports it implements and the types it returns:
``domain.ports``) and libraries. What it needs from above is handed in: the vault and the clock
(typed as ``domain.ports.Vault`` and ``Clock``), a code policy, and callbacks such as the firms'
part of an erasure (``Repo(forget_hires=...)``).
"""
