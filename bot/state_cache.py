"""Decrypted conversation states a worker remembers after committing them.

Reading a conversation means decrypting its state; the state this worker itself just committed
needn't be: it is remembered (at most ``database.state_cache`` of them, for at most
``database.state_cache_minutes``) and used when the stored ciphertext is still exactly the one
committed. Every encryption has a fresh nonce, so another writer's state, even an equal one,
never matches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.ports import Vault


class StateCache:
    def __init__(self, vault: Vault, *, size: int, minutes: int):
        self.vault = vault
        #: chat id -> (its stored data_enc, that state decrypted, when committed), oldest first;
        #: taken out when read, put back after the next commit
        self._states: dict[int, tuple[str, dict, datetime]] = {}
        self._max = max(0, size)
        self._for = timedelta(minutes=max(0, minutes))

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, chat_id: int) -> bool:
        return chat_id in self._states

    def keep(self, states: dict[int, tuple[str, dict]], now: datetime) -> None:
        """Remember the states a commit just wrote, dropping the oldest beyond the cap."""
        if not self._max or not self._for:
            return
        kept = self._states
        for chat, (data_enc, data) in states.items():
            kept.pop(chat, None)  # to the end: the order is the order of commits
            kept[chat] = (data_enc, data, now)
        while len(kept) > self._max:
            del kept[next(iter(kept))]
        self.forget_old(now)

    def forget_old(self, now: datetime) -> None:
        """Drop remembered states older than state_cache_minutes (the oldest are first)."""
        kept = self._states
        while kept:
            chat = next(iter(kept))
            if now - kept[chat][2] < self._for:
                break
            del kept[chat]

    def decrypted(self, chat_id: int, data_enc: str | None) -> dict:
        """The stored state of a conversation, decrypted, or from memory when the stored one is
        exactly what this worker last committed."""
        kept = self._states.pop(chat_id, None)
        if kept is not None and data_enc is not None and kept[0] == data_enc:
            # Taken out: the step changes this dict in place, and if it fails before its commit
            # the next read decrypts the stored state again. (An entry past its minutes is
            # dropped by the next commit or tick; reading it before then is as safe as reading
            # the stored state, which it equals.)
            return kept[1]
        return self.vault.decrypt(data_enc, context="conversation") or {}
