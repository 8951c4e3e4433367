"""One lock per chat, so a chat's updates are handled one at a time."""

from __future__ import annotations

import asyncio
import weakref


class ChatLocks:
    """``locks(chat_id)`` is that chat's lock; a chat nobody is waiting on holds none."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_id] = lock
        return lock
