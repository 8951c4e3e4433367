"""Settings: config.yaml (or the file named by SABOT_CONFIG), overridden by SABOT_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


class DatabaseSettings(BaseModel):
    url: str = ""
    echo: bool = False
    group_commit: bool = True
    max_group: int = 128
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


class UsernamePolicy(BaseModel):
    min_length: int = 6
    max_length: int = 32


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
    sign_in: SignInPolicy = SignInPolicy()
    session: SessionPolicy = SessionPolicy()
    help_desk: HelpDeskPolicy = HelpDeskPolicy()
    invites: InvitePolicy = InvitePolicy()
    firms: FirmPolicy = FirmPolicy()


def _config_file() -> Path | None:
    named = os.environ.get("SABOT_CONFIG")
    if named:
        return Path(named)
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
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    # ----------------------------------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_path / 'sabot.db').as_posix()}"

    @property
    def key_file_path(self) -> Path:
        return Path(self.security.key_file) if self.security.key_file else self.data_path / "keys.json"

    @property
    def bot_token(self) -> str:
        return os.environ.get("TELEGRAM_BOT_TOKEN") or self.telegram.token


def load_settings(**overrides: Any) -> Settings:
    """Read settings; ``overrides`` (nested dicts allowed) win over every other source."""
    return Settings(**overrides)
