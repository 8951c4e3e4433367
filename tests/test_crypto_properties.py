"""Tests that fail when the cryptography is broken, not only when plain text shows.

Each would catch one way of weakening it that the rest of the suite would miss: keyed hashes
swapped for unkeyed ones, a fixed nonce, encryption that ignores its column, or an encoding
(base64, hex) passed off as encryption."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from sqlalchemy import select

from bot.crypto import DecryptionError, KeyRing, Vault
from bot.records import phone_key, ssn_key
from bot.storage.models import Account, OneTimeCode, Taxpayer
from tests.journeys import JORDAN, register, to_email_code
from tests.privacy_helpers import encrypted_values, find_plaintext


def expected_hmac(key: bytes, purpose: str, value: str) -> str:
    return hmac.new(key, f"{purpose}\x00{value}".encode("utf-8"), hashlib.sha256).hexdigest()


def test_digests_are_keyed_hmacs():
    one, two = Vault(KeyRing.generate()), Vault(KeyRing.generate())
    for vault in (one, two):
        assert ssn_key(vault, "401-22-7788") == expected_hmac(vault.ring.hmac_key, "ssn", "401227788")
        assert phone_key(vault, "+12175550123") == expected_hmac(vault.ring.hmac_key, "phone", "+12175550123")
    assert ssn_key(one, "401-22-7788") != ssn_key(two, "401-22-7788")
    assert ssn_key(one, "401-22-7788") != hashlib.sha256(b"401227788").hexdigest()


async def test_stored_ssn_phone_and_code_hashes_are_hmacs_under_the_deployments_key(harness):
    h = harness
    key = h.services.vault.ring.hmac_key
    user = await h.user(7701)
    await to_email_code(h, user)
    code = await h.last_code("email", JORDAN["email"])
    async with h.services.sessions() as session:
        stored_code = (await session.execute(select(OneTimeCode.code_hash))).scalars().all()
        record_ssns = set((await session.execute(select(Taxpayer.ssn_hash))).scalars())
    assert expected_hmac(key, "code:confirmation", code) in stored_code
    assert expected_hmac(key, "ssn", "401227788") in record_ssns

    await user.send(code)
    await register(h, await h.user(7702))
    async with h.services.sessions() as session:
        account = (await session.execute(select(Account))).scalars().one()
    assert account.ssn_hash == expected_hmac(key, "ssn", "401227788")
    assert account.phone_hash == expected_hmac(key, "phone", "+12175550123")


def test_two_encryptions_of_one_value_differ():
    vault = Vault(KeyRing.generate())
    first, second = (vault.encrypt("401-22-7788", context="accounts.ssn") for _ in range(2))
    assert first != second
    nonce = lambda token: base64.urlsafe_b64decode(token.split(".", 1)[1] + "==")[:12]  # noqa: E731
    assert nonce(first) != nonce(second)
    assert vault.decrypt(first, context="accounts.ssn") == vault.decrypt(second, context="accounts.ssn")


def test_a_value_sealed_for_one_column_cannot_be_read_as_another():
    vault = Vault(KeyRing.generate())
    token = vault.encrypt({"email": "jordan.rivera@example.com"}, context="accounts.email")
    with pytest.raises(DecryptionError):
        vault.decrypt(token, context="accounts.phone")
    with pytest.raises(DecryptionError):
        Vault(KeyRing.generate()).decrypt(token, context="accounts.email")


async def test_every_stored_encrypted_value_is_bound_to_its_own_column(harness):
    h = harness
    await register(h, await h.user(7703))
    stored = await encrypted_values(h.services.engine)
    contexts = sorted({context for _, context, _ in stored})
    assert len(stored) > 5 and len(contexts) > 2
    vault = h.services.vault
    for where, context, value in stored:
        vault.decrypt(value, context=context)  # readable where it belongs
        other = next(c for c in contexts if c != context)
        with pytest.raises(DecryptionError):
            vault.decrypt(value, context=other)


@pytest.mark.parametrize(
    "encode",
    [
        lambda raw: base64.b64encode(raw),
        lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"="),
        lambda raw: raw.hex().encode(),
        lambda raw: b"k1." + base64.urlsafe_b64encode(b'{"ssn":"' + raw + b'"}').rstrip(b"="),
    ],
    ids=["base64", "base64url", "hex", "token"],
)
def test_the_at_rest_scan_sees_through_encodings(encode):
    blob = b"row 17 | " + encode(b"401-22-7788") + b" | end"
    hits = find_plaintext({"db": blob}, {"401-22-7788": "SSN"})
    assert hits, "an encoded SSN went unnoticed"
