"""The conversation engine: what the Telegram adapter, the terminal and the benchmark talk to.

An update is one turn of one chat (bot.turn): its conversation is read, the step runs, the new
state is committed, and only then is the reply returned, so a restart or a second worker finds
the conversation exactly where the user left it. Updates of one chat are handled one at a time.
With ``database.group_commit``, turns of different chats share transactions (bot.group_commit).
Between turns, :meth:`Engine.tick` hands out reminders and notices (bot.ticker).
"""

from __future__ import annotations

import logging

from bot.chat_locks import ChatLocks
from bot.group_commit import GroupCommit, Pending as _Pending
from bot.services import Services
from bot.state_cache import StateCache
from bot.ticker import Ticker
from bot.turn import RECENT_UPDATES, TurnRunner
from flows.notices import TRY_AGAIN
from flows.replies import Action, Incoming, Notify, Reply

__all__ = ["Engine", "RECENT_UPDATES", "TRY_AGAIN", "_Pending"]

log = logging.getLogger("sabot.engine")


class Engine:
    def __init__(self, services: Services):
        self.services = services
        db = services.settings.database
        #: decrypted states of the conversations this worker committed
        self.states = StateCache(services.vault, size=db.state_cache, minutes=db.state_cache_minutes)
        self.turns = TurnRunner(services, self.states)
        self.group = GroupCommit(self.turns, self.states, max_group=db.max_group) if db.group_commit else None
        self.ticker = Ticker(services, self.states)
        self._lock = ChatLocks()

    @property
    def group_commit(self) -> bool:
        return self.group is not None

    async def handle(self, incoming: Incoming) -> list[Action]:
        async with self._lock(incoming.chat_id):
            if self.group is not None:
                return await self.group.handle(incoming)
            try:
                return await self.turns.handle(incoming)
            except Exception:  # noqa: BLE001 - the user gets an answer whatever went wrong
                log.exception("step failed for chat %s (kind=%s)", incoming.chat_id, incoming.kind)
                return [Reply(TRY_AGAIN)]

    async def tick(self, *, chat_id: int | None = None, limit: int = 200) -> list[Notify]:
        """Messages due to chats outside any conversation turn (see bot.ticker)."""
        return await self.ticker.tick(chat_id=chat_id, limit=limit)

    @property
    def remembered_states(self) -> int:
        """How many decrypted conversation states this worker holds (at most state_cache)."""
        return len(self.states)

    async def where(self, chat_id: int) -> tuple[str, str] | None:
        """(flow, state) of a chat, for tests and operators."""
        return await self.turns.where(chat_id)

    async def close(self) -> None:
        if self.group is not None:
            await self.group.close()
