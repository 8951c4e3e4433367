"""The conversation engine: what the Telegram adapter, the terminal and the benchmark talk to.

An update is one turn of one chat (bot.turn): its conversation is read, the step runs, the new
state is committed with the replies (bot.outbox), and only then are the replies returned, so a
restart or a second worker finds the conversation exactly where the user left it, and its
replies still to be sent. The adapter reports them sent (:meth:`Engine.sent`). Updates of one chat are handled one at a time.
With ``database.group_commit``, turns of different chats share transactions (bot.group_commit).
Between turns, :meth:`Engine.tick` hands out reminders and notices (bot.ticker).
"""

from __future__ import annotations

import logging

from bot.chat_locks import ChatLocks
from bot.group_commit import GroupCommit, Pending as _Pending
from bot.outbox import Outbox
from bot.services import Services
from bot.state_cache import StateCache
from bot.storage.repo import chat_language
from bot.ticker import Ticker
from bot.turn import RECENT_UPDATES, TurnRunner
from domain.i18n import language_for
from flows.notices import TRY_AGAIN, try_again
from flows.replies import Action, Incoming, Notify, Reply

__all__ = ["Engine", "RECENT_UPDATES", "TRY_AGAIN", "_Pending"]

log = logging.getLogger("sabot.engine")


class Engine:
    def __init__(self, services: Services):
        self.services = services
        db = services.settings.database
        #: decrypted states of the conversations this worker committed
        self.states = StateCache(services.vault, size=db.state_cache, minutes=db.state_cache_minutes)
        #: the replies stored with each turn until they are sent
        self.outbox = Outbox(services)
        self.turns = TurnRunner(services, self.states, self.outbox)
        self.group = (
            GroupCommit(self.turns, self.states, max_group=db.max_group, concurrent=db.concurrent_groups,
                        wait_ms=db.group_wait_ms, wait_below=db.group_wait_below)
            if db.group_commit else None
        )
        if self.group is not None:
            self.outbox.idle = self.group.idle
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
                return [Reply(try_again(await self._language_of(incoming)))]

    async def _language_of(self, incoming: Incoming) -> str | None:
        """The chat's stored language, for an apology (the app's when it can't be read)."""
        try:
            async with self.services.sessions() as session:
                stored = await chat_language(session, incoming.chat_id)
        except Exception:  # noqa: BLE001 - the database may be what failed
            stored = None
        return stored or language_for(incoming.language_code)

    def sent(self, chat_id: int, update_id: int) -> None:
        """The replies to this update reached Telegram: they are deleted with the next transaction."""
        self.outbox.sent(chat_id, update_id)

    async def unsent(self, *, older_than: float) -> list[tuple[int, int, list[Action]]]:
        """Replies stored and not sent (a crash came between): (chat, update id, actions), oldest
        first, each taken for this worker to send (then :meth:`sent`)."""
        return await self.outbox.unsent(older_than=older_than)

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
        await self.outbox.close()
