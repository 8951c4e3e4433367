"""The ``firm`` fixture: firms and their admins, created the way the operator does it
(``sabot firm create``, i.e. :func:`bot.firms.create_firm`)::

    users: {alice: 5001, sam: 6003}
    fixtures:
      firm: {name: Acme Tax, admins: [alice]}          # or a list of firms

An admin is a name from ``users:`` (the user's id in the chat is their Telegram user id) or a
number. Sets ``${firm.id}`` and ``${firm.name}`` (the first firm) and ``${firm.N.id}``,
``${firm.N.name}`` for the N-th firm of a list (from 1).
"""

from __future__ import annotations

from typing import Any

from sabot_testing.extend import fixture
from sabot_testing.loader import TranscriptError


def _admin_ids(run, spec: dict) -> list[int]:
    names = spec.get("admins", spec.get("admin"))
    if names is None:
        raise TranscriptError("a firm needs 'admins: [user, ...]' (names from 'users:' or Telegram user ids)")
    if not isinstance(names, list):
        names = [names]
    if not names:
        raise TranscriptError("a firm needs at least one admin")
    return [run.chat_for(name) for name in names]


@fixture("firm")
async def firm(run, value: Any) -> None:
    from bot.firms import create_firm
    from bot.storage.db import transaction

    specs = value if isinstance(value, list) else [value]
    services = run.runtime.services
    for n, spec in enumerate(specs, 1):
        if not isinstance(spec, dict) or not spec.get("name"):
            raise TranscriptError("'firm:' is {name: ..., admins: [user, ...]} (or a list of them)")
        first, *others = _admin_ids(run, spec)
        made = await create_firm(services, str(spec["name"]), first)
        if others:
            async with transaction(services.sessions) as session:
                store = services.firms(session)
                for user_id in others:
                    await store.add_admin(made.id, user_id, added_by=first)
        if n == 1:
            run.vars["firm.id"], run.vars["firm.name"] = str(made.id), made.name
        run.vars[f"firm.{n}.id"], run.vars[f"firm.{n}.name"] = str(made.id), made.name
