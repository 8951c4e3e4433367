"""Helpers for the privacy and security tests: people to register, the personal values they typed
in every form a leak could take, and a search for those values in any bytes (a database file, a
dump, log output)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from bot.keys import encrypted_tables
from tests.journeys import JORDAN, register, to_review
from tests.test_mail_path import LEE, letter_code, register_by_mail

#: Priya files from Toronto; her record keeps "Canada" in the city field.
PRIYA = {
    **JORDAN,
    "first_name": "Priya",
    "last_name": "Natarajan",
    "email": "priya.natarajan@example.org",
    "ssn": "402334455",
    "dob": "1979-03-14",
    "filing_status": "Married filing jointly",
}

#: the full account numbers of the demo record store (only a keyed hash of the last eight is kept)
RECORD_ACCOUNT_NUMBERS = [
    "4111111122223333", "0098765432", "5500000044441234", "AL-55501234", "378282246310005",
    "HL0077665544", "HE-20001234", "6011000099998888",
]
RECORD_PHONES = ["+12175550123", "+13125550188", "+12075550111", "+15125550177"]
RECORD_SSNS = ["401-22-7788", "402-33-4455", "403-44-5566", "404-55-6677", "405-66-7788"]
RECORD_DOBS = ["1985-06-02", "1979-03-14", "1990-11-30", "1972-01-09", "1968-08-21"]
#: e-Services password of Pat Morgan in the demo records
RECORD_PASSWORDS = ["old e-services password"]


def ssn_forms(ssn: str) -> list[str]:
    digits = re.sub(r"\D", "", ssn)
    return [digits, f"{digits[:3]}-{digits[3:5]}-{digits[5:]}", f"{digits[:3]} {digits[3:5]} {digits[5:]}"]


def dob_forms(iso: str) -> list[str]:
    d = date.fromisoformat(iso)
    return [
        d.isoformat(),
        d.strftime("%m/%d/%Y"),
        f"{d.month}/{d.day}/{d.year}",
        d.strftime("%m%d%Y"),
        d.strftime("%Y%m%d"),
        d.strftime("%m-%d-%Y"),
    ]


def phone_forms(e164: str) -> list[str]:
    ten = e164[-10:]
    return [e164, ten, "1" + ten, f"({ten[:3]}) {ten[3:6]}-{ten[6:]}", f"{ten[:3]}-{ten[3:6]}-{ten[6:]}"]


def account_forms(number: str) -> list[str]:
    digits = re.sub(r"\D", "", number)
    out = {number, digits[-8:]}
    if len(digits) > 8:
        out.add(digits)
    return sorted(out)


def personal_values(people: list[dict]) -> dict[str, str]:
    """{value: what it is} for every person registered and everyone in the record store."""
    values: dict[str, str] = {}

    def add(forms, what):
        for form in forms:
            if len(form) >= 4:
                values[form] = what

    for p in people:
        name = p["first_name"]
        add(ssn_forms(p["ssn"]), f"{name}'s SSN")
        add([p["email"], p["email"].upper()], f"{name}'s email")
        add([p["password"]], f"{name}'s password")
        add([p["last8"].replace(" ", "")], f"{name}'s account digits")
        digits = re.sub(r"\D", "", p["phone"])
        add(phone_forms("+1" + digits[-10:]), f"{name}'s phone")
    for ssn in RECORD_SSNS:
        add(ssn_forms(ssn), "an SSN of the records")
    for dob in RECORD_DOBS:
        add(dob_forms(dob), "a date of birth")
    for number in RECORD_ACCOUNT_NUMBERS:
        add(account_forms(number), "an account number of the records")
    for phone in RECORD_PHONES:
        add(phone_forms(phone), "a phone of the records")
    add(RECORD_PASSWORDS, "an e-Services password")
    return values


@dataclass
class Hit:
    source: str
    value: str
    what: str
    offset: int

    def __str__(self) -> str:
        return f"{self.what} ({self.value!r}) in {self.source} at byte {self.offset}"


#: runs that may be an encoding of something: base64 (standard or URL-safe) and hex
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_\-]{12,}={0,2}")
_HEX_RUN = re.compile(rb"\b(?:[0-9a-fA-F]{2}){6,}\b")


def _decoded_runs(blob: bytes) -> bytes:
    """What the encoded-looking runs of ``blob`` decode to, so an encoding passed off as
    encryption is caught: hex, base64 and URL-safe base64, decoded twice (a token may hold JSON
    that holds base64)."""
    out = []
    layer = blob
    for _ in range(2):
        decoded = []
        for run in _HEX_RUN.findall(layer):
            try:
                decoded.append(bytes.fromhex(run.decode("ascii")))
            except ValueError:
                pass
        for run in _BASE64_RUN.findall(layer):
            body = run.rstrip(b"=")
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                # try every alignment: a prefix (a key id) may sit before the encoded part
                for start in range(4):
                    part = body[start:]
                    try:
                        decoded.append(decode(part + b"=" * (-len(part) % 4)))
                    except (ValueError, binascii.Error):
                        pass
        layer = b"\n".join(decoded)
        out.append(layer)
    return b"\n".join(out)


def find_plaintext(sources: dict[str, bytes], values: dict[str, str]) -> list[Hit]:
    """Every place one of ``values`` appears in any of ``sources`` ({name: bytes}), as UTF-8 or
    UTF-16 (SQLite may store text either way), case-insensitively for text, either as it is or
    inside a base64 or hex encoding."""
    hits = []
    for source, blob in sources.items():
        lowered = blob.lower()
        decoded = _decoded_runs(blob).lower()
        for value, what in values.items():
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                needle = value.lower().encode(encoding)
                at = lowered.find(needle)
                if at < 0 and decoded.find(needle) >= 0:
                    at = -1  # found only once decoded: no offset in the source
                    hits.append(Hit(f"{source} (decoded)", value, what, at))
                    break
                if at >= 0:
                    hits.append(Hit(source, value, what, at))
                    break
    return hits


def sqlite_files(db_path: Path) -> dict[str, bytes]:
    """The database file and its write-ahead log and shared-memory index, as they are now."""
    out = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(str(db_path) + suffix)
        if path.exists():
            out[path.name] = path.read_bytes()
    return out


async def encrypted_values(engine) -> list[tuple[str, str, str]]:
    """(table.column, context, stored value) for every non-empty encrypted value."""
    out = []
    async with engine.connect() as conn:
        for table, columns in encrypted_tables():
            for column, context in columns.items():
                col = table.c[column]
                for (value,) in (await conn.execute(select(col).where(col.is_not(None)))).all():
                    out.append((f"{table.name}.{column}", context, value))
    return out


async def sign_in_with_text(h, user, p) -> list:
    """/login with username and password, then the texted security code."""
    await user.command("login")
    await user.send(p["username"])
    await user.send(p["password"])
    digits = re.sub(r"\D", "", p["phone"])[-10:]
    return await user.send(await h.last_code("sms", "+1" + digits))


async def signed_in_on_two_chats(h, phone_id: int, laptop_id: int, p=JORDAN):
    """A person registered from one chat (a phone) and signed in there and in another (a laptop)."""
    phone = await h.user(phone_id)
    await register(h, phone, p)
    await sign_in_with_text(h, phone, p)
    laptop = await h.user(laptop_id)
    await sign_in_with_text(h, laptop, p)
    return phone, laptop


async def fill_with_registrations(h) -> list[dict]:
    """Jordan by text, Lee by mail (then activated with a phone), Priya stopped at the review."""
    jordan = await h.user(4101)
    await register(h, jordan, JORDAN)
    lee = await h.user(4102)
    await register_by_mail(h, lee, LEE)
    h.clock.advance(days=6)
    await lee.command("login")
    await lee.send(LEE["username"])
    await lee.send(LEE["password"])
    await lee.send(await letter_code(h))
    await lee.press("Text messages to a phone")
    await lee.send(LEE["phone"])
    await lee.send(await h.last_code("sms", "+14155550199"))
    priya = await h.user(4103)
    await to_review(h, priya, PRIYA)
    await sign_in_with_text(h, jordan, JORDAN)
    return [JORDAN, LEE, PRIYA]
