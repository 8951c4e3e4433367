"""Keys, encryption at rest, keyed hashes and password hashing.

* Personal data (names, dates of birth, addresses, phones, emails, secrets) is encrypted with
  AES-256-GCM; each ciphertext names the key that made it (``kid``) so keys can rotate.
* SSNs, codes and lookup keys are stored only as HMAC-SHA256 with a server key.
* Passwords are hashed with argon2id, in a worker thread so the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.config import Settings
from domain.ports import DecryptionError
from domain.rerun import prepared_work


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class KeyRing:
    data_keys: dict[str, bytes]
    active_kid: str
    hmac_key: bytes

    @classmethod
    def generate(cls) -> "KeyRing":
        kid = "k" + secrets.token_hex(4)
        return cls({kid: AESGCM.generate_key(bit_length=256)}, kid, secrets.token_bytes(32))

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active_kid,
                "data_keys": {k: _b64(v) for k, v in self.data_keys.items()},
                "hmac_key": _b64(self.hmac_key),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> "KeyRing":
        raw = json.loads(text)
        return cls({k: _unb64(v) for k, v in raw["data_keys"].items()}, raw["active"], _unb64(raw["hmac_key"]))

    def rotated(self) -> "KeyRing":
        kid = "k" + secrets.token_hex(4)
        keys = dict(self.data_keys)
        keys[kid] = AESGCM.generate_key(bit_length=256)
        return KeyRing(keys, kid, self.hmac_key)

    def without_old(self) -> "KeyRing":
        """Only the active data key (after every value has been re-encrypted with it)."""
        return KeyRing({self.active_kid: self.data_keys[self.active_kid]}, self.active_kid, self.hmac_key)

    @property
    def old_kids(self) -> list[str]:
        return [kid for kid in self.data_keys if kid != self.active_kid]


def write_key_file(path: Path, ring: KeyRing) -> None:
    from bot.storage.files import private_folder

    private_folder(path.parent)  # the data folder, 0700 when made here
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(ring.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def keys_from_environment(settings: Settings) -> bool:
    sec = settings.security
    return bool(sec.data_key and sec.hmac_key)


class KeyConfigError(ValueError):
    """A configured key is unusable; the message names the setting, never its value."""


def _env_key(text: str, variable: str, *, hmac_key: bool = False) -> bytes:
    try:
        key = _unb64(str(text))
    except (ValueError, TypeError):
        key = b""
    if (len(key) < 16) if hmac_key else (len(key) not in (16, 24, 32)):
        raise KeyConfigError(f"{variable} is not valid: it must hold base64-encoded 32-byte keys (the value is not shown).")
    return key


def load_key_ring(settings: Settings) -> KeyRing:
    """Keys from the environment/config if given, else the key file (created on first use).

    With environment keys, rotating means setting a new ``SABOT_SECURITY__DATA_KEY`` (and
    ``_DATA_KEY_ID``) and moving the previous one into ``SABOT_SECURITY__OLD_DATA_KEYS`` (a JSON
    map of key id to key) so values it sealed stay readable until ``sabot keys rotate`` has
    re-encrypted them."""
    sec = settings.security
    if keys_from_environment(settings):
        kid = sec.data_key_id or "env"
        old = "SABOT_SECURITY__OLD_DATA_KEYS"
        keys = {old_kid: _env_key(key, old) for old_kid, key in (sec.old_data_keys or {}).items() if old_kid != kid}
        keys[kid] = _env_key(sec.data_key, "SABOT_SECURITY__DATA_KEY")
        return KeyRing(keys, kid, _env_key(sec.hmac_key, "SABOT_SECURITY__HMAC_KEY", hmac_key=True))
    path = settings.key_file_path
    if path.exists():
        return KeyRing.from_json(path.read_text())
    ring = KeyRing.generate()
    write_key_file(path, ring)
    return ring


class Vault:
    """Encrypts, decrypts and keyed-hashes values with one key ring."""

    def __init__(
        self,
        ring: KeyRing,
        password_hasher: PasswordHasher | None = None,
        reload: Callable[[], KeyRing | None] | None = None,
    ):
        self._use(ring)
        self.passwords = password_hasher or PasswordHasher()
        #: returns a newer key ring (e.g. the key file after `sabot keys rotate`), or None
        self._reload = reload

    def _use(self, ring: KeyRing) -> None:
        self.ring = ring
        self._aead = {kid: AESGCM(key) for kid, key in ring.data_keys.items()}

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._aead.get(kid)
        if cipher is None and self._reload is not None:
            # A key this process hasn't seen: another process rotated the key file. Adopt the
            # new ring (its active key too), so a running bot keeps reading and writing.
            newer = self._reload()
            if newer is not None and kid in newer.data_keys and self.ring.hmac_key == newer.hmac_key:
                self._use(newer)
                cipher = self._aead.get(kid)
        if cipher is None:
            raise KeyError(kid)
        return cipher

    # -- encryption -------------------------------------------------------------------------
    def encrypt(self, value: Any, *, context: str = "") -> str:
        """Encrypt any JSON-serialisable value; ``context`` binds it to its column."""
        kid = self.ring.active_kid
        nonce = os.urandom(12)
        plain = json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")
        sealed = self._aead[kid].encrypt(nonce, plain, context.encode("utf-8"))
        return f"{kid}.{_b64(nonce + sealed)}"

    def decrypt(self, token: str | None, *, context: str = "") -> Any:
        if token is None:
            return None
        try:
            kid, body = token.split(".", 1)
            raw = _unb64(body)
            plain = self._cipher(kid).decrypt(raw[:12], raw[12:], context.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - any failure means the value can't be trusted
            raise DecryptionError("a stored value could not be decrypted") from exc
        return json.loads(plain)

    def key_id_of(self, token: str) -> str:
        return token.split(".", 1)[0]

    def needs_rotation(self, token: str | None) -> bool:
        return token is not None and self.key_id_of(token) != self.ring.active_kid

    # -- keyed hashes -----------------------------------------------------------------------
    def digest(self, purpose: str, value: str) -> str:
        mac = hmac.new(self.ring.hmac_key, f"{purpose}\x00{value}".encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()

    def same_digest(self, purpose: str, value: str, expected: str) -> bool:
        return hmac.compare_digest(self.digest(purpose, value), expected)

    # -- passwords --------------------------------------------------------------------------
    async def hash_password(self, password: str) -> str:
        return await slow_work(("hash", password), lambda: _hashing(self.passwords.hash, password))

    async def verify_password(self, stored: str | None, password: str) -> bool:
        return await slow_work(("verify", stored, password), lambda: _hashing(self._verify, stored, password))

    def _verify(self, stored: str | None, password: str) -> bool:
        if not stored:
            # Spend comparable time so a missing account can't be told from a wrong password.
            self.passwords.hash(password)
            return False
        try:
            return self.passwords.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def _yield_to_the_chats() -> None:
    """Run this hashing thread (and the lane threads argon2 starts from it, which inherit it) at
    the lowest CPU priority: a burst of sign-ups then takes longer, but never slows every other
    chat, whose steps need the event loop's thread to get a core whenever it wants one."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # not Linux, or not allowed: hashing still works
        pass


#: password hashing gets threads of its own, so a burst of sign-ups can't queue in front of the
#: short jobs (database commits) that every other chat is waiting on in the default pool; one
#: core fewer than the machine has (at least one, at most two), so the chats keep a core, and
#: their CPU caches, while argon2 fills memory
_HASH_POOL = ThreadPoolExecutor(
    max_workers=max(1, min(2, (os.cpu_count() or 2) - 1)), thread_name_prefix="argon2", initializer=_yield_to_the_chats
)


async def _hashing(function, *args):
    return await asyncio.get_running_loop().run_in_executor(_HASH_POOL, function, *args)


class NeedsWork(Exception):
    """Raised inside a grouped step that needs slow work (password hashing) first.

    The engine rolls the step back, does the work outside the shared transaction, and runs
    the step again with the result ready, so one expensive step never stalls the others."""

    def __init__(self, key: tuple, compute):
        super().__init__("slow work needed before this step")
        self.key = key
        self.compute = compute


async def slow_work(key: tuple, compute):
    prepared = prepared_work.get()
    if prepared is None:
        return await compute()
    if key in prepared:
        return prepared[key]
    raise NeedsWork(key, compute)


def make_vault(settings: Settings) -> Vault:
    sec = settings.security
    hasher = PasswordHasher(
        time_cost=sec.argon2_time_cost,
        memory_cost=sec.argon2_memory_kib,
        parallelism=sec.argon2_parallelism,
    )
    return Vault(load_key_ring(settings), hasher, reload=_key_file_watcher(settings))


def _key_file_watcher(settings: Settings) -> Callable[[], KeyRing | None] | None:
    """Re-read the key file when it has changed since it was last read (None for env keys)."""
    if keys_from_environment(settings):
        return None
    path = settings.key_file_path
    seen = {"mtime": path.stat().st_mtime_ns if path.exists() else None}

    def reload() -> KeyRing | None:
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        if mtime == seen["mtime"]:
            return None
        seen["mtime"] = mtime
        return KeyRing.from_json(path.read_text())

    return reload
