"""The authenticator app (TOTP): keys, QR codes and code checks with replay protection."""

from __future__ import annotations

import io
from datetime import datetime

import pyotp
import segno

ISSUER = "Secure Access"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # one 30-second step either side


def new_secret() -> str:
    """A 160-bit key, base32 (what authenticator apps expect)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_png(uri: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=3)
    return buffer.getvalue()


def grouped(secret: str) -> str:
    """The key in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (within the drift window), or None.

    A code from a step at or before ``last_step`` is refused: each code works once, and an older
    one can't be replayed after a newer one was used.
    """
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def code_at(secret: str, now: datetime) -> str:
    """What the app shows at ``now`` (tests and the scripted-conversation runner use it)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).at(now)
