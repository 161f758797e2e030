"""Settings from the environment and ``.env``.

One place reads configuration so that a missing or wrong value is reported once, naming the
setting and the fix, before anything connects to Telegram or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.texts import LANGUAGES
from storage.engine import UnusableDatabaseUrl, default_sqlite_url, normalise_database_url

#: The proxies Telegram can be reached through (socks5h: the proxy looks the address up).
PROXY_SCHEMES: tuple[str, ...] = ("http", "https", "socks5", "socks5h")


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
            raise PydanticCustomError(
                "unknown_timezone",
                "unknown time zone '{value}', e.g. Asia/Shanghai",
                {"value": value},
            ) from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise PydanticCustomError("unknown_language", "must be zh or en", {"value": value})
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise PydanticCustomError(
                "unknown_log_level",
                "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
                {"value": value},
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            return normalise_database_url(value)
        except UnusableDatabaseUrl as exc:
            # The URL itself is not repeated in the message: it may hold a password.
            raise PydanticCustomError(exc.kind, str(exc), {"driver": exc.driver or ""}) from exc

    @field_validator("webhook_url", "telegram_api_base_url", "telegram_api_file_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise PydanticCustomError(
                "not_http_url", "must start with http:// or https://", {"value": value}
            )
        return value.rstrip("/")

    @field_validator("telegram_proxy_url")
    @classmethod
    def _known_proxy(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = urlsplit(value.get_secret_value().strip())
        try:
            port_ok = url.port is None or url.port > 0
        except ValueError:
            port_ok = False
        if url.scheme.lower() not in PROXY_SCHEMES or not url.hostname or not port_ok:
            # Only the scheme is repeated: the URL may hold the proxy's password.
            raise PydanticCustomError(
                "unknown_proxy",
                "must look like socks5://127.0.0.1:1080 (http, https, socks5 or socks5h)",
                {"scheme": url.scheme if url.scheme.lower() not in PROXY_SCHEMES else ""},
            )
        return SecretStr(value.get_secret_value().strip())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL in force: ``DATABASE_URL`` or the SQLite file in DATA_DIR."""
        return self.database_url or default_sqlite_url(self.data_dir)


@dataclass(frozen=True)
class Problem:
    """One unusable setting: its name, what is wrong (pydantic's error type, or one of ours such as
    ``unknown_timezone``) with the figures the message needs, and pydantic's English message.

    The CLI says it in the office's language from ``templates/<lang>/cli/settings_error.j2``;
    the English message is the fallback for a kind the templates do not name.
    """

    name: str
    kind: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)


class SettingsError(Exception):
    """Settings that cannot be used, one :class:`Problem` a setting; ``language`` is the
    office's ``DEFAULT_LANGUAGE`` when that one setting is usable, to say it in."""

    def __init__(self, problems: list[Problem], language: str = "zh") -> None:
        super().__init__("; ".join(f"{p.name}: {p.message}" for p in problems))
        self.problems = problems
        self.language = language


class _LanguageOnly(BaseSettings):
    """``DEFAULT_LANGUAGE`` alone, read the same way, for when the other settings are unusable."""

    model_config = Settings.model_config
    default_language: str = "zh"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's errors into :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # keyword overrides, checked by pydantic
    except ValidationError as exc:
        problems = [
            Problem(
                name=".".join(str(p) for p in error["loc"]).upper() or "?",
                kind=error["type"],
                message=error["msg"].removeprefix("Value error, "),
                values={"input": error.get("input"), **error.get("ctx", {})},
            )
            for error in exc.errors()
        ]
        env_file: Any = overrides.get("_env_file", _ENV_FILE)
        raise SettingsError(problems, office_language(env_file=env_file)) from None


_ENV_FILE: Any = Settings.model_config.get("env_file")


def office_language(env_file: Any = _ENV_FILE) -> str:
    """``DEFAULT_LANGUAGE`` alone, read as the settings read it (Chinese when it is unset or not
    one the bot speaks): the CLI's help and its mistakes are said in it before, or without, the
    other settings."""
    try:
        language = _LanguageOnly(_env_file=env_file).default_language
    except ValidationError:
        return "zh"
    return language if language in LANGUAGES else "zh"
