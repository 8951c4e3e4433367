"""Secrets read from files, so they need not sit in the environment or in config.yaml.

* ``SABOT_<KEY>_FILE=/path`` reads the setting ``SABOT_<KEY>`` from that file, e.g.
  ``SABOT_SECURITY__DATA_KEY_FILE=/run/secrets/data_key``; ``TELEGRAM_BOT_TOKEN_FILE`` the token.
* ``SABOT_SECRETS_DIR=/run/secrets``: every file there named like a variable
  (``SABOT_SECURITY__HMAC_KEY``, ``TELEGRAM_BOT_TOKEN``; any case) is read as that variable.

A file's content is the value, with surrounding white space (the final newline) removed. A
variable set directly wins over the secrets folder; setting both ``X`` and ``X_FILE`` is a mistake.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Collection, Mapping

#: the token variable the bot reads besides the SABOT_ settings
TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"
SECRETS_DIR_VARIABLE = "SABOT_SECRETS_DIR"


class SecretFileError(ValueError):
    """A secret file that can't be used, said in one line (never its content)."""


def _wanted(name: str) -> bool:
    return name.startswith("SABOT_") or name == TOKEN_VARIABLE


def secret_files(environ: Mapping[str, str] | None = None, settings: Collection[str] = ()) -> dict[str, Path]:
    """{variable name (upper case): file holding its value}; ``settings`` are the variables that
    name a setting themselves (such as ``SABOT_DELIVERY__EMAIL__SMTP__CA_FILE``), never read so."""
    environ = os.environ if environ is None else environ
    upper = {key.upper(): value for key, value in environ.items()}
    found: dict[str, Path] = {}
    for key, value in upper.items():
        if key.endswith("_FILE") and _wanted(key[:-5]) and key != "SABOT_CONFIG_FILE" and key not in settings:
            name = key[:-5]
            if name in upper:
                raise SecretFileError(f"both {name} and {key} are set: keep one of them.")
            found[name] = Path(value)
    folder = upper.get(SECRETS_DIR_VARIABLE)
    if folder:
        where = Path(folder)
        if not where.is_dir():
            raise SecretFileError(f"{SECRETS_DIR_VARIABLE} names {folder}, which is not a folder.")
        for path in sorted(where.iterdir()):
            name = path.name.upper()
            if _wanted(name) and path.is_file() and name not in upper and name not in found:
                found[name] = path
    return found


def read_secret(name: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SecretFileError(f"{name} should be read from {path}, which does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise SecretFileError(f"{name} should be read from {path}, which can't be read ({reason}).") from None


def secret_values(environ: Mapping[str, str] | None = None, settings: Collection[str] = ()) -> dict[str, str]:
    """{variable name: value} for every secret given as a file."""
    return {name: read_secret(name, path) for name, path in secret_files(environ, settings).items()}
