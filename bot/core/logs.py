"""Logging set-up that never writes a secret.

httpx logs every request URL at INFO, and Telegram's URLs carry the bot token
(``/bot<token>/sendMessage``); a filter on the root handlers replaces every secret value with
``***`` whatever logger wrote it, and httpx is kept at WARNING.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# A Bot API token anywhere in a text: digits, a colon and 35 url-safe characters.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


class RedactSecrets(logging.Filter):
    """Replace known secrets and anything shaped like a bot token in each record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return TOKEN_PATTERN.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now so the secret-free text replaces it.
            formatter = logging.Formatter()
            redacted += "\n" + self.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = redacted, None
        return True


def setup_logging(level: str = "INFO", *, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG python-telegram-bot logs every request it sends, ballots included; the secret
    # ballot must not reach the log even when the clerk debugs, so its loggers stay at INFO.
    logging.getLogger("telegram").setLevel(max(logging.getLevelName(level), logging.INFO))
