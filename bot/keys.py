"""Data-key rotation: which columns are encrypted, and re-encrypting them with the active key.

Every ``*_enc`` column holds ``<key id>.<nonce+ciphertext>`` sealed with a *context* string that
binds the value to its column (a value copied into another column doesn't decrypt).
:data:`ENCRYPTED_COLUMNS` is the one list of those columns and contexts; a test checks it against
the tables and against every ``context=`` used in the code, so a new column can't be forgotten.

``sabot keys rotate`` (key file): adds a new data key to the ring and makes it active, then
re-encrypts every value, a batch of rows per transaction. Older keys stay in the ring for reading
until ``sabot keys rotate --drop-old`` finds no value left under them. Running bots re-read the key
file when they meet a key id they don't know (see :class:`bot.crypto.Vault`).

Environment keys can't be written by the bot: set the new ``SABOT_SECURITY__DATA_KEY`` and
``SABOT_SECURITY__DATA_KEY_ID``, move the previous key into ``SABOT_SECURITY__OLD_DATA_KEYS``
(``{"<old id>": "<old key>"}``), restart, run ``sabot keys rotate``, then ``--drop-old`` tells you
when the old entry can be removed.

The HMAC key (SSN, phone, code and account-digit fingerprints) is not rotated: a keyed hash can't
be recomputed without the value it hides. See SECURITY.md.
"""

from __future__ import annotations

import base64
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crypto import DecryptionError, KeyRing, Vault, keys_from_environment, load_key_ring, write_key_file
from bot.storage.models import Base

#: table -> {encrypted column: the context string it is sealed with}
ENCRYPTED_COLUMNS: dict[str, dict[str, str]] = {
    "conversations": {"data_enc": "conversation"},
    "accounts": {
        "profile_enc": "account.profile",
        "phone_enc": "account.phone",
        "site_phrase_enc": "account.site_phrase",
        "totp_secret_enc": "account.totp",
        "secret_answers_enc": "account.answers",
    },
    "deliveries": {"to_enc": "delivery.to", "subject_enc": "delivery.subject", "body_enc": "delivery.body"},
    "record_taxpayers": {"record_enc": "record"},
    "exception_cases": {"email_enc": "case.email"},
    "letters": {"address_enc": "letter.address", "body_enc": "letter.body"},
    "notifications": {"text_enc": "notification"},
    "pending_replies": {"payload_enc": "pending_reply"},
    "firm_hires": {"name_enc": "firm_hire.name", "email_enc": "firm_hire.email"},
}


class RotationError(Exception):
    pass


@dataclass
class RotationReport:
    #: values re-encrypted, per "table.column"
    reencrypted: Counter = field(default_factory=Counter)
    #: values that could not be decrypted (unknown key or damaged), per "table.column"
    unreadable: Counter = field(default_factory=Counter)
    #: rows changed by someone else between read and write; they are retried in the next pass
    raced: int = 0

    @property
    def total(self) -> int:
        return sum(self.reencrypted.values())


def encrypted_tables():
    """(table, {column: context}) for every table of :data:`ENCRYPTED_COLUMNS` this schema has."""
    for name, columns in ENCRYPTED_COLUMNS.items():
        table = Base.metadata.tables.get(name)
        if table is not None:
            yield table, columns


async def key_usage(engine: AsyncEngine, vault: Vault | None = None) -> Counter:
    """How many stored values each key id sealed (reads only the key id prefix)."""
    usage: Counter = Counter()
    async with engine.connect() as conn:
        for table, columns in encrypted_tables():
            for column in columns:
                col = table.c[column]
                for (value,) in (await conn.execute(select(col).where(col.is_not(None)))).all():
                    usage[value.split(".", 1)[0]] += 1
    return usage


async def reencrypt_all(
    engine: AsyncEngine,
    vault: Vault,
    *,
    batch_size: int = 200,
    max_passes: int = 5,
    progress: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every stored value not sealed with the active key, keeping its context.

    Rows are read in primary-key order, ``batch_size`` at a time, each batch in its own
    transaction. A row is only written if its encrypted values are still the ones read (so a bot
    updating the same row meanwhile never loses its write); such rows are retried."""
    report = RotationReport()
    for _ in range(max_passes):
        raced_before = report.raced
        for table, columns in encrypted_tables():
            await _reencrypt_table(engine, vault, table, columns, batch_size, report, progress)
        if report.raced == raced_before:
            break
    return report


async def _reencrypt_table(engine, vault, table, columns, batch_size, report, progress) -> None:
    (pk,) = list(table.primary_key.columns)
    cols = [table.c[c] for c in columns]
    last = None
    while True:
        async with engine.begin() as conn:
            query = select(pk, *cols).order_by(pk).limit(batch_size)
            if last is not None:
                query = query.where(pk > last)
            rows = (await conn.execute(query)).all()
            if not rows:
                return
            done = await rewrite_rows(conn, vault, table, columns, rows, report)
            last = rows[-1][0]
        if progress and done:
            progress(table.name, done)


async def rewrite_rows(conn, vault: Vault, table, columns: dict[str, str], rows, report: RotationReport) -> int:
    """Re-encrypt the values of ``rows`` (primary key first, then ``columns``) not sealed with the
    active key. A row is written only if it still holds the values read; otherwise it counts as
    raced and is left for the next pass. Returns how many values were re-encrypted."""
    (pk,) = list(table.primary_key.columns)
    done = 0
    for row in rows:
        changes, seen = {}, []
        for column, context in columns.items():
            token = row._mapping[column]
            if not vault.needs_rotation(token):
                continue
            try:
                plain = vault.decrypt(token, context=context)
            except DecryptionError:
                report.unreadable[f"{table.name}.{column}"] += 1
                continue
            changes[column] = vault.encrypt(plain, context=context)
            seen.append(table.c[column] == token)
        if not changes:
            continue
        result = await conn.execute(update(table).where(pk == row[0], and_(*seen)).values(**changes))
        if result.rowcount == 1:
            for column in changes:
                report.reencrypted[f"{table.name}.{column}"] += 1
            done += len(changes)
        else:
            report.raced += 1
    return done


# -- the key ring ------------------------------------------------------------------------------


def new_data_key() -> tuple[str, str]:
    """A fresh (key id, base64 key) for operators who keep keys in the environment."""
    kid = "k" + secrets.token_hex(4)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return kid, key


def add_key_to_file(settings) -> KeyRing:
    """Add a new active data key to the key file (the old ones stay for reading)."""
    if keys_from_environment(settings):
        raise RotationError("keys come from the environment; the key file isn't used")
    ring = load_key_ring(settings).rotated()
    write_key_file(settings.key_file_path, ring)
    return ring


async def drop_old_keys(settings, engine: AsyncEngine, vault: Vault) -> list[str]:
    """Remove every non-active data key from the key file, once no stored value uses one.

    Returns the key ids that are no longer needed (for environment keys: the entries of
    ``SABOT_SECURITY__OLD_DATA_KEYS`` that can be removed). Raises :class:`RotationError` while
    any value still depends on an old key."""
    usage = await key_usage(engine)
    ring = load_key_ring(settings)
    still = {kid: n for kid, n in usage.items() if kid != ring.active_kid}
    if still:
        detail = ", ".join(f"{n} value(s) under {kid}" for kid, n in sorted(still.items()))
        raise RotationError(f"old keys are still in use ({detail}); nothing was dropped")
    dropped = ring.old_kids
    if dropped and not keys_from_environment(settings):
        write_key_file(settings.key_file_path, ring.without_old())
    return dropped
