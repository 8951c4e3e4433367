"""Settings: config.yaml (or the file named by SABOT_CONFIG), overridden by SABOT_* variables
and by secrets read from files (bot.secrets_files).

:func:`load_settings` says every mistake as one :class:`ConfigError` line: broken YAML with its
file and line, a wrong value with its key path and the expected type, an unknown key (in the file
or in a ``SABOT_`` variable) with the nearest known one.
"""

from __future__ import annotations

import difflib
import os
import types
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

try:
    from pydantic_settings import SettingsError
except ImportError:  # pydantic-settings before 2.4
    from pydantic_settings.sources import SettingsError


class DatabaseSettings(BaseModel):
    url: str = ""
    echo: bool = False
    group_commit: bool = True
    max_group: int = 128
    #: a group with fewer than group_wait_below steps waiting waits group_wait_ms for more
    group_wait_ms: float = Field(default=2.0, ge=0, le=50)
    group_wait_below: int = Field(default=8, ge=0)
    #: groups under way at once on PostgreSQL, each on a connection of its own
    concurrent_groups: int = Field(default=3, ge=1, le=10)
    #: decrypted states of this many recently committed conversations kept in memory (0: none),
    #: each for at most state_cache_minutes
    state_cache: int = 2048
    state_cache_minutes: int = 10


class SecuritySettings(BaseModel):
    key_file: str = ""
    data_key: str = ""
    data_key_id: str = ""
    hmac_key: str = ""
    #: earlier data keys still needed to read values not yet re-encrypted: {key id: base64 key}
    old_data_keys: dict[str, str] = {}
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4


class TelegramSettings(BaseModel):
    base_url: str = "https://api.telegram.org/bot"
    token: str = ""
    tick_seconds: float = 30
    resend_after_seconds: float = 60
    webhook_secret: str = ""
    bot_username: str = "sabot_bot"


class SmtpSettings(BaseModel):
    host: str = "localhost"
    port: int = 587
    username: str = ""
    password: str = ""
    starttls: bool = True
    #: a CA certificate file (PEM) trusted besides the system's, for a server with a private CA
    ca_file: str = ""
    timeout_seconds: float = 10


class EmailSettings(BaseModel):
    backend: Literal["outbox", "smtp"] = "outbox"
    sender: str = "Secure Access registration <no-reply@sabot.invalid>"
    smtp: SmtpSettings = SmtpSettings()


class TwilioSettings(BaseModel):
    account_sid: str = ""
    auth_token: str = ""
    from_number: str = ""
    base_url: str = "https://api.twilio.com"
    timeout_seconds: float = 10


class SmsSettings(BaseModel):
    backend: Literal["outbox", "twilio"] = "outbox"
    twilio: TwilioSettings = TwilioSettings()

    @model_validator(mode="after")
    def _twilio_complete(self) -> "SmsSettings":
        if self.backend == "twilio":
            missing = [k for k in ("account_sid", "auth_token", "from_number") if not getattr(self.twilio, k)]
            if missing:
                raise ValueError(f"texts go through Twilio but delivery.sms.twilio.{', '.join(missing)} not set")
        return self


class DeliverySettings(BaseModel):
    email: EmailSettings = EmailSettings()
    sms: SmsSettings = SmsSettings()
    #: the older keys, still read: when given, delivery.backend, delivery.email_from and
    #: delivery.smtp set delivery.email.backend, .sender and .smtp
    backend: Literal["outbox", "smtp"] | None = None
    email_from: str | None = None
    smtp: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _older_keys(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not any(raw.get(k) is not None for k in ("backend", "email_from", "smtp")):
            return raw
        email = dict(raw.get("email") or {})
        if raw.get("backend") is not None:
            email["backend"] = raw["backend"]
        if raw.get("email_from") is not None:
            email["sender"] = raw["email_from"]
        if isinstance(raw.get("smtp"), dict):
            email["smtp"] = {**dict(email.get("smtp") or {}), **raw["smtp"]}
        return {**raw, "email": email}


class RecordsSettings(BaseModel):
    backend: str = "local"
    demo_on_empty: bool = True


class CodePolicy(BaseModel):
    digits: int = 6
    lifetime_minutes: float = 10
    max_attempts: int = 10
    #: new codes to one destination from one Telegram user per window
    resend_limit: int = 5
    #: new codes to one destination from everyone together per window
    destination_resend_limit: int = 30
    resend_window_minutes: float = 60


class CodesPolicy(BaseModel):
    confirmation: CodePolicy = CodePolicy(lifetime_minutes=15)
    activation_text: CodePolicy = CodePolicy()
    security_text: CodePolicy = CodePolicy()


class LetterPolicy(BaseModel):
    code_digits: int = 6
    code_lifetime_days: int = 30
    delivery_business_days_min: int = 5
    delivery_business_days_max: int = 10
    max_per_window: int = 4
    window_days: int = 30
    min_hours_between: float = 24
    reminder_after_days: int = 14
    max_code_attempts: int = 10
    secret_questions: int = 2


class IdentityPolicy(BaseModel):
    min_age_years: int = 16
    max_age_years: int = 120
    #: failed checks per SSN, per chat and per Telegram user within window_hours
    max_attempts: int = 5
    chat_max_attempts: int = 5
    user_max_attempts: int = 5
    window_hours: float = 6
    #: checks of any outcome across the deployment per hour before online checks pause
    global_hourly_ceiling: int = 1000


class FinancialPolicy(BaseModel):
    accepted_kinds: list[str] = ["credit_card", "mortgage", "home_equity_loan", "heloc", "auto_loan"]
    refused_card_networks: list[str] = ["amex"]
    refused_card_kinds: list[str] = ["debit", "corporate"]
    max_attempts: int = 5
    window_hours: float = 6


class PasswordPolicy(BaseModel):
    min_length: int = 8
    max_length: int = 128
    #: the fewest guesses (zxcvbn's estimate) a new password must take; 1 turns the estimate off
    min_guesses: float = Field(default=1e8, ge=1)


class UsernamePolicy(BaseModel):
    min_length: int = 6
    max_length: int = 32


class LengthPolicy(BaseModel):
    min_length: int
    max_length: int


class ConsecutiveFailures(BaseModel):
    password: int = 100
    security_text: int = 100
    authenticator: int = 100


class SignInPolicy(BaseModel):
    #: wrong passwords for one account from one Telegram user within lockout_minutes
    max_attempts: int = 10
    lockout_minutes: float = 10
    #: wrong passwords for one account from everyone within lockout_minutes (the chat the account
    #: was registered in is not held by it)
    account_max_attempts: int = 50
    #: consecutive failures per account, across windows, before it is locked (NIST SP 800-63B 5.2.2)
    max_consecutive_failures: ConsecutiveFailures = ConsecutiveFailures()


class SessionPolicy(BaseModel):
    idle_minutes: float = 30
    max_hours: float = 12


class HelpDeskPolicy(BaseModel):
    phone: str = "1-888-841-4648"
    menu: str = "choose your language, then prompt 1, and stay on the line for an assistor"
    timezone: str = "America/New_York"
    opens: str = "07:30"
    closes: str = "19:00"


class InvitePolicy(BaseModel):
    lifetime_days: float = 14
    max_pending_per_firm: int = 200


class FirmPolicy(BaseModel):
    timezone: str = "America/New_York"
    mismatch_alerts_after: int = 3
    stuck_after_hours: float = 24
    letter_warning_days: float = 7
    remind_every_hours: float = 12
    roster_buttons: int = 40


class Policy(BaseModel):
    codes: CodesPolicy = CodesPolicy()
    letters: LetterPolicy = LetterPolicy()
    identity: IdentityPolicy = IdentityPolicy()
    financial: FinancialPolicy = FinancialPolicy()
    password: PasswordPolicy = PasswordPolicy()
    username: UsernamePolicy = UsernamePolicy()
    #: the site phrase shown at every sign-in, and the answers to secret questions
    site_phrase: LengthPolicy = LengthPolicy(min_length=4, max_length=40)
    secret_answer: LengthPolicy = LengthPolicy(min_length=2, max_length=60)
    sign_in: SignInPolicy = SignInPolicy()
    session: SessionPolicy = SessionPolicy()
    help_desk: HelpDeskPolicy = HelpDeskPolicy()
    invites: InvitePolicy = InvitePolicy()
    firms: FirmPolicy = FirmPolicy()


class ConfigError(Exception):
    """A configuration mistake, said in one line for the operator (never a secret value)."""


def _config_file() -> Path | None:
    named = os.environ.get("SABOT_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise ConfigError(f"SABOT_CONFIG names {named}, which {what}: point it at a YAML file, or unset it to use ./config.yaml.")
        return path
    local = Path("config.yaml")
    return local if local.exists() else None


class PrivacySettings(BaseModel):
    abandoned_after_days: float = 30
    codes_retention_days: float = 7
    attempts_retention_days: float = 7
    outbox_retention_days: float = 7
    notifications_retention_days: float = 7
    pending_replies_retention_hours: float = 24
    letters_retention_days: float = 30
    audit_retention_days: float = 365
    rotation_batch_size: int = 200
    purge_every_minutes: float = 60


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SABOT_", env_nested_delimiter="__", extra="ignore")

    data_dir: str = ".sabot"
    database: DatabaseSettings = DatabaseSettings()
    security: SecuritySettings = SecuritySettings()
    telegram: TelegramSettings = TelegramSettings()
    delivery: DeliverySettings = DeliverySettings()
    records: RecordsSettings = RecordsSettings()
    policy: Policy = Field(default_factory=Policy)
    privacy: PrivacySettings = PrivacySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        loaded = _loading.get()
        if loaded is None:
            path = _config_file()
            loaded = (path, read_config_file(path) if path else {}, _secret_settings())
        _path, from_file, from_secret_files = loaded
        return (
            init_settings,
            env_settings,
            InitSettingsSource(settings_cls, init_kwargs=from_secret_files),
            InitSettingsSource(settings_cls, init_kwargs=from_file),
        )

    # ----------------------------------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return async_database_url(self.database.url)
        return f"sqlite+aiosqlite:///{(self.data_path / 'sabot.db').as_posix()}"

    @property
    def key_file_path(self) -> Path:
        return Path(self.security.key_file) if self.security.key_file else self.data_path / "keys.json"

    @property
    def bot_token(self) -> str:
        return os.environ.get("TELEGRAM_BOT_TOKEN") or self.telegram.token


# -- loading ----------------------------------------------------------------------------------

#: SABOT_ variables that are not settings
OTHER_VARIABLES = frozenset({"SABOT_CONFIG", "SABOT_SECRETS_DIR"})
#: prefixes of variables read by the test kit and the benchmark, not by the bot
OTHER_PREFIXES = ("SABOT_TEST_", "SABOT_FUZZ_", "SABOT_BENCH_")
#: keys whose values are never repeated in an error line
SECRET_WORDS = ("key", "token", "secret", "password", "auth", "sid", "url")

#: (file, its data, secrets from files) while load_settings builds a Settings
_loading: ContextVar[tuple[Path | None, dict, dict] | None] = ContextVar("sabot_config_loading", default=None)
_file_cache: dict[tuple[str, int, int], dict] = {}


def async_database_url(url: str) -> str:
    """``sqlite:///path`` and ``postgresql://...`` as written, with the async driver the bot uses
    (aiosqlite, asyncpg); a URL naming its driver is kept."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    dialect, _, driver = scheme.partition("+")
    if dialect == "sqlite" and not driver:
        return f"sqlite+aiosqlite://{rest}"
    if dialect in ("postgresql", "postgres") and not driver:
        return f"postgresql+asyncpg://{rest}"
    return url


def _mark_line(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def read_config_file(path: Path) -> dict:
    """The YAML mapping in ``path`` ({} when empty); a broken file is a ConfigError with its line."""
    try:
        stat = path.stat()
        cached = _file_cache.get((str(path.resolve()), stat.st_mtime_ns, stat.st_size))
        if cached is not None:
            return cached
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: can't read it ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, started = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and started is not None and getattr(exc, "problem_mark", None) is not None:
            problem += f" ({context} on line {started.line + 1})"
        raise ConfigError(f"{path}{_mark_line(exc)}: broken YAML: {problem}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} line 1: expected keys with values (such as `database:`), found {_kind(data)}.")
    _file_cache[(str(path.resolve()), stat.st_mtime_ns, stat.st_size)] = data
    return data


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "keys with values"
    return "nothing" if value is None else type(value).__name__


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _is_mapping(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_mapping(arg) for arg in get_args(annotation))
    return origin is dict or annotation is dict


def _unknown_keys(model: type[BaseModel], data: dict, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(path of an unknown key, the known keys beside it) for each key no setting has."""
    for key, value in data.items():
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            yield path + (str(key),), list(model.model_fields)
            continue
        inner = _model_of(field.annotation)
        if inner is not None and isinstance(value, dict):
            yield from _unknown_keys(inner, value, path + (key,))


def setting_variables(model: type[BaseModel] | None = None, prefix: str = "SABOT_") -> dict[str, bool]:
    """{every SABOT_ variable naming a setting: whether it holds a mapping of free keys}."""
    model = model or Settings
    names: dict[str, bool] = {}
    for key, field in model.model_fields.items():
        name = prefix + key.upper()
        inner = _model_of(field.annotation)
        names[name] = inner is None and _is_mapping(field.annotation)
        if inner is not None:
            names.update(setting_variables(inner, name + "__"))
    return names


def _suggestion(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _check_variables(environ: dict[str, str], secret_names: list[str]) -> None:
    known = setting_variables()
    for raw in sorted(environ):
        name = raw.upper()
        if not name.startswith("SABOT_") or name in OTHER_VARIABLES or name.startswith(OTHER_PREFIXES):
            continue
        as_file = name.endswith("_FILE") and name not in known
        base = name[:-5] if as_file else name
        if base in known or any(base.startswith(free + "__") for free, is_free in known.items() if is_free):
            continue
        close = difflib.get_close_matches(base, list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}{'_FILE' if as_file else ''}?" if close else "."
        raise ConfigError(f"{raw} is not a setting (levels are joined by __){hint}")
    for name in secret_names:
        if name.startswith("SABOT_") and name not in known:
            raise ConfigError(f"the secret file for {name} names no setting{_suggestion(name, list(known))}")


def _secret_settings(environ: dict[str, str] | None = None) -> dict:
    """The settings given as files (bot.secrets_files), as nested keys."""
    from bot.secrets_files import TOKEN_VARIABLE, SecretFileError, secret_values

    try:
        values = secret_values(environ, setting_variables())
    except SecretFileError as exc:
        raise ConfigError(str(exc)) from None
    nested: dict = {}
    for name, value in values.items():
        path = ("telegram", "token") if name == TOKEN_VARIABLE else tuple(name[len("SABOT_"):].lower().split("__"))
        here = nested
        for part in path[:-1]:
            here = here.setdefault(part, {})
        here[path[-1]] = value
    return nested


def _node_line(root: yaml.Node | None, path: tuple[str, ...]) -> str:
    """' line N' of the key at ``path`` in a composed YAML document, or ''."""
    node, line = root, None
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if getattr(key, "value", None) == part:
                node, line = value, key.start_mark.line + 1
                break
        else:
            break
    return f" line {line}" if line else ""


_EXPECTED = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "text", "list_type": "a list", "dict_type": "keys with values",
    "model_type": "keys with values", "model_attributes_type": "keys with values",
    "time_parsing": "a time (HH:MM)", "date_parsing": "a date (YYYY-MM-DD)",
}


def _describe(error: dict, path: Path | None, environ: dict[str, str], secret_names: set[str]) -> str:
    loc = tuple(str(part) for part in error.get("loc", ()) if isinstance(part, str) and part.isidentifier())
    dotted = ".".join(loc) or "the settings"
    kind = error.get("type", "")
    if kind == "literal_error":
        expected = f"one of {error.get('ctx', {}).get('expected', '')}"
    elif kind in _EXPECTED:
        expected = _EXPECTED[kind]
    else:
        expected = str(error.get("msg", "a valid value")).lower().removeprefix("value error, ")
    value = error.get("input")
    secret = any(word in part.lower() for part in loc for word in SECRET_WORDS)
    got = f", not {value!r}" if not secret and isinstance(value, (str, int, float, bool)) and len(str(value)) <= 60 else ""
    upper_env = {key.upper() for key in environ}
    where = "settings"
    for depth in range(len(loc), 0, -1):
        name = "SABOT_" + "__".join(loc[:depth]).upper()
        if name in upper_env:
            where = name
            break
        if name in secret_names:
            where = f"the file given for {name}"
            break
    else:
        if path is not None:
            try:
                root = yaml.compose(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                root = None
            where = f"{path}{_node_line(root, loc)}"
    sentence = f"{dotted} must be {expected}{got}" if kind in _EXPECTED or kind == "literal_error" else f"{dotted}: {expected}"
    return f"{where}: {sentence}."


def load_settings(**overrides: Any) -> Settings:
    """Read settings; ``overrides`` (nested dicts allowed) win over every other source.

    Raises :class:`ConfigError` (one line) for any mistake in the file, the environment or the
    secret files."""
    path = _config_file()
    data = read_config_file(path) if path else {}
    for where, known in _unknown_keys(Settings, data):
        line = ""
        try:
            line = _node_line(yaml.compose(path.read_text(encoding="utf-8")), where)  # type: ignore[union-attr]
        except (OSError, yaml.YAMLError):
            pass
        close = difflib.get_close_matches(where[-1], known, n=1, cutoff=0.6)
        hint = f"; did you mean {'.'.join((*where[:-1], close[0]))}?" if close else f"; the keys here are {', '.join(known)}."
        raise ConfigError(f"{path}{line}: unknown key {'.'.join(where)}{hint}")
    environ = dict(os.environ)
    secrets = _secret_settings(environ)
    from bot.secrets_files import secret_files

    secret_names = set(secret_files(environ, setting_variables()))
    _check_variables(environ, sorted(secret_names))
    token = _loading.set((path, data, secrets))
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(_describe(errors[0], path, environ, secret_names).rstrip(".") + more + ".") from None
    except SettingsError as exc:
        # pydantic-settings names the section whose variable is not valid JSON; its value is not shown
        text = str(exc)
        section = text.split('"')[1].upper() if text.count('"') >= 2 else ""
        raise ConfigError(f"a SABOT_{section}__ variable is not valid JSON (write lists and mappings as JSON).") from None
    finally:
        _loading.reset(token)
    url = settings.database.url
    if url:
        dialect = url.partition("://")[0].partition("+")[0] if "://" in url else ""
        if dialect not in ("sqlite", "postgresql", "postgres"):
            raise ConfigError(
                "database.url must look like sqlite:///path/to/sabot.db or postgresql://user:password@host:5432/sabot"
                + (f" (the scheme {dialect!r} is not supported)." if dialect else "."))
    return settings
