"""Logs that carry no personal data, whatever level and whichever library logs.

:func:`install` puts a log-record factory in place, so every record is cleaned when it is created,
before any handler (a file, the console, pytest's caplog, an error tracker) sees it:

* Records from loggers outside :data:`ALLOWED_LOGGERS` below WARNING are withheld: their text is
  replaced by ``(withheld)``. Libraries log whole requests and rows at DEBUG/INFO
  (python-telegram-bot: every update and Bot API call with the user's text; httpx: URLs that
  contain the bot token; SQLAlchemy echo: statements and their parameters), and nothing there can
  be told safe from personal.
* Every other record keeps its template and its int, float and bool arguments; text arguments, the
  template itself and any traceback are scrubbed: runs of 6 or more digits (SSNs, phone numbers,
  account digits, dates of birth, codes, even with dashes, dots, slashes or spaces between them),
  email addresses, Telegram bot tokens, and ``field=value`` / ``"field": value`` pairs whose field
  is a known personal one (:data:`PERSONAL_FIELDS`).

Chat ids and counts passed as ``%s`` arguments of type ``int`` stay readable; the same number
inside a string is scrubbed. A traceback keeps its frames but loses ``exc_info`` (replaced by the
scrubbed text), so no handler can format the original exception message again.
"""

from __future__ import annotations

import logging
import re
import traceback

#: loggers whose records are kept at every level (after scrubbing); others only from WARNING up
ALLOWED_LOGGERS = ("sabot", "bot", "flows", "alembic.runtime.migration", "__main__")

#: field names whose values are personal wherever they appear as name=value or "name": value
PERSONAL_FIELDS = (
    "ssn", "dob", "date_of_birth", "first_name", "last_name", "name", "email", "phone", "new_phone",
    "number", "e164", "line1", "line2", "city", "postal_code", "zip", "address", "password",
    "password_hash", "site_phrase", "phrase", "secret", "totp_secret", "totp_pending", "code", "last8",
    "username", "text", "caption", "to", "body", "token",
)

REDACTED = "[redacted]"
WITHHELD = "(withheld)"

_DIGITS = re.compile(r"\+?\(?\d(?:[\s\-./()]{0,2}\d){5,}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_\-]{30,}")
_FIELDS = re.compile(
    r"""(?P<key>['"]?\b(?:%s)\b['"]?\s*[:=]\s*)(?P<value>'[^']*'|"[^"]*"|[^\s,;)}\]]+)""" % "|".join(PERSONAL_FIELDS),
    re.IGNORECASE,
)


#: secrets of this process (the bot token) redacted wherever they appear, whatever their shape
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact ``value`` (e.g. the configured bot token) from every log record and error text."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact_secrets(text: str) -> str:
    """``text`` without bot tokens (the registered ones, and anything shaped like one)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _BOT_TOKEN.sub(REDACTED, text)


def scrub(text: str) -> str:
    """``text`` with everything that may be personal replaced by ``[redacted]``."""
    text = redact_secrets(text)
    text = _FIELDS.sub(lambda m: m.group("key") + REDACTED, text)
    text = _EMAIL.sub(REDACTED, text)
    return _DIGITS.sub(REDACTED, text)


def _allowed(name: str) -> bool:
    return any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED_LOGGERS)


def _safe_arg(value):
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return scrub(str(value))


def clean(record: logging.LogRecord) -> logging.LogRecord:
    """Make one record safe in place (see the module docstring). Idempotent."""
    if getattr(record, "_sabot_clean", False):
        return record
    record._sabot_clean = True
    if record.levelno < logging.WARNING and not _allowed(record.name):
        record.msg, record.args = WITHHELD, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return record
    args = record.args
    if isinstance(args, dict):
        args = {k: _safe_arg(v) for k, v in args.items()}
    elif isinstance(args, tuple):
        args = tuple(_safe_arg(v) for v in args)
    try:
        message = scrub(str(record.msg)) % args if args else scrub(str(record.msg))
    except (TypeError, ValueError, KeyError):
        message = scrub(str(record.msg)) + " " + scrub(repr(args))
    record.msg, record.args = message, ()
    if record.exc_info:
        if record.exc_info[0] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


class PersonalDataFilter(logging.Filter):
    """The same cleaning as a handler filter, for a handler that may receive records made
    before :func:`install` or in another way (records are cleaned once)."""

    def filter(self, record: logging.LogRecord) -> bool:
        clean(record)
        return True


_installed_factory = None
_previous_factory = None


def install() -> None:
    """Clean every log record of this process from now on (idempotent)."""
    global _installed_factory, _previous_factory
    current = logging.getLogRecordFactory()
    if current is not _installed_factory:
        previous = current

        def factory(*args, **kwargs):
            return clean(previous(*args, **kwargs))

        _installed_factory, _previous_factory = factory, previous
        logging.setLogRecordFactory(factory)


def uninstall() -> None:
    """Undo :func:`install` (tests)."""
    global _installed_factory, _previous_factory
    if _installed_factory is not None and logging.getLogRecordFactory() is _installed_factory:
        logging.setLogRecordFactory(_previous_factory)
    _installed_factory = _previous_factory = None
