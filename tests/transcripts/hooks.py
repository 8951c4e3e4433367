"""Operator actions the transcripts need that have no command yet (called from `hook:` steps)."""

from __future__ import annotations

from bot.storage.repo import Repo


async def force_password_change(run, username: str) -> dict:
    """What an operator would do after a suspected compromise: the next sign-in must set a new
    password."""
    services = run.runtime.services
    async with services.sessions() as session, session.begin():
        repo = Repo(session, services.vault, services.clock)
        account = await repo.account_by_username(username)
        if account is None:
            raise AssertionError(f"no account {username!r}")
        await repo.update_account(account, must_change_password=True)
    return {"forced": username}
