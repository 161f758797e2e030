"""Settings from the environment and ``.env``.

One place reads configuration so that a missing or wrong value is reported once, naming the
setting and the fix, before anything connects to Telegram or the database.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.engine import default_sqlite_url, normalise_database_url


class Settings(BaseSettings):
    """Every setting of the bot; ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    bot_token: SecretStr | None = None
    bot_username: str | None = None
    data_dir: Path = Path("data")
    database_url: str | None = None
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh"
    unit_name: str = "默认镇"
    leadership_chat_id: int | None = None
    telegram_api_base_url: str | None = None
    telegram_api_file_url: str | None = None
    telegram_proxy_url: SecretStr | None = None
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret_token: SecretStr | None = None
    invite_ttl_days: int = Field(default=14, ge=1, le=365)
    scheme_file: Path | None = None
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Shanghai") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh", "en"):
            raise ValueError("must be zh or en")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        return normalise_database_url(value)

    @field_validator("webhook_url", "telegram_api_base_url", "telegram_api_file_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL in force: ``DATABASE_URL`` or the SQLite file in DATA_DIR."""
        return self.database_url or default_sqlite_url(self.data_dir)


class SettingsError(Exception):
    """Settings that cannot be used; ``problems`` pairs each setting's name with the reason."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in problems))
        self.problems = problems


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's errors into :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper() or "?"
            message = error["msg"].removeprefix("Value error, ")
            problems.append((name, message))
        raise SettingsError(problems) from None
