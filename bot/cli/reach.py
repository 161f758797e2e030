"""Reaching Telegram from the server: ``kaohe check`` asks once, ``kaohe run`` waits for it.

From mainland China Telegram is reached through a proxy (``TELEGRAM_PROXY_URL``: ``http://``,
``https://``, ``socks5://`` or ``socks5h://``), and a first run fails in one of a few ways, each
with its own fix: the token is refused (ask @BotFather again), the proxy cannot be reached (is the
proxy program running, is the address right?), the proxy refuses (it wants a password, or denies
the address), or Telegram cannot be reached, through the proxy or without one. :func:`reach`
asks ``getMe`` exactly as the bot will (the same base URL, the same proxy) and says which, as an
:class:`Outcome` the templates word in the office's language (``cli/telegram.j2``). The proxy's
address is shown as host and port only: its user name and password never are.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from bot.core.config import Settings

__all__ = [
    "Outcome",
    "Reach",
    "backoff",
    "detail_of",
    "proxy_address",
    "reach",
    "wait_for_telegram",
]

DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class Outcome(StrEnum):
    """How asking Telegram for the bot went."""

    OK = "ok"
    NO_TOKEN = "no_token"  # nothing to ask with
    TOKEN_REFUSED = "token_refused"  # Telegram answered: this token is not a bot's
    PROXY_UNREACHABLE = "proxy_unreachable"  # nothing listens at the proxy's address
    PROXY_REFUSED = "proxy_refused"  # the proxy answered, and refused
    UNREACHABLE = "unreachable"  # no answer from Telegram (through the proxy, if any)
    FAILED = "failed"  # an answer that is none of the above (detail says what)

    @property
    def retry(self) -> bool:
        """Whether waiting can help (a network that comes up), as opposed to a setting to fix."""
        return self in (Outcome.PROXY_UNREACHABLE, Outcome.UNREACHABLE, Outcome.FAILED)


@dataclass(frozen=True)
class Reach:
    """The answer: the outcome, the bot's username when it worked, the proxy's address (scheme,
    host and port, never its credentials), the Bot API address when it is not Telegram's, and a
    short technical detail for the clerk's IT helper."""

    outcome: Outcome
    username: str | None = None
    proxy: str | None = None
    base_url: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def proxy_address(url: str | None) -> str | None:
    """``scheme://host:port`` of a proxy URL, without its user name or password."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(parts.scheme.lower(), 1080)
    try:
        port = parts.port or default
    except ValueError:
        port = default
    return f"{parts.scheme.lower()}://{host}:{port}"


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower(), 1080)
    return parts.hostname or "", parts.port or default


async def _listens(url: str, timeout: float) -> bool:  # noqa: ASYNC109 - a bound on one connect
    """Whether anything accepts a TCP connection at the proxy's address."""
    host, port = _endpoint(url)
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def detail_of(exc: BaseException, token: str) -> str:
    """The error's first line, for whoever helps the clerk; the token never appears."""
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line.replace(token, "***") if token else line


# What a proxy says when it will not let the bot through (as opposed to "I could not get there").
_REFUSALS = ("not allowed", "auth", "407", "403")
# What says that the far end could not be reached, by the proxy or by a gateway in front of it.
_UNREACHABLE = ("(502)", "(503)", "(504)", "bad gateway", "gateway time")


def _network_outcome(exc: BaseException, *, proxied: bool) -> Outcome:
    """Tell a refusing proxy from an unreachable Telegram from some other failure."""
    import httpx
    from telegram.error import Forbidden

    causes = _chain(exc)
    message = str(exc).lower()
    for cause in causes:
        if isinstance(cause, httpx.ProxyError):
            # CONNECT answered 407/403, or SOCKS "not allowed by ruleset": a refusal; SOCKS
            # "host unreachable", "connection refused" or CONNECT 502: Telegram is out of reach.
            text = str(cause).lower()
            return (
                Outcome.PROXY_REFUSED
                if any(word in text for word in _REFUSALS)
                else Outcome.UNREACHABLE
            )
    if proxied and ("(407)" in message or (isinstance(exc, Forbidden) and len(causes) > 1)):
        # A proxy that answers a plain-HTTP request itself (407, or 403 with a page of its own
        # rather than Telegram's JSON) refused it.
        return Outcome.PROXY_REFUSED
    if any(isinstance(c, httpx.TransportError) for c in causes) or any(
        word in message for word in _UNREACHABLE
    ):
        return Outcome.UNREACHABLE
    return Outcome.FAILED


async def reach(settings: Settings, *, timeout: float = 10.0) -> Reach:  # noqa: ASYNC109
    """Ask Telegram ``getMe`` as the bot will, through the configured proxy; say what happened."""
    from telegram import Bot
    from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError
    from telegram.request import HTTPXRequest

    proxy_url = (
        settings.telegram_proxy_url.get_secret_value() if settings.telegram_proxy_url else None
    )
    shown = Reach(
        Outcome.NO_TOKEN,
        proxy=proxy_address(proxy_url),
        base_url=settings.telegram_api_base_url,
    )
    if settings.bot_token is None:
        return shown

    def said(outcome: Outcome, **values: str | None) -> Reach:
        return Reach(outcome, proxy=shown.proxy, base_url=shown.base_url, **values)

    if proxy_url and not await _listens(proxy_url, timeout):
        return said(Outcome.PROXY_UNREACHABLE)
    token = settings.bot_token.get_secret_value()
    requests = [
        HTTPXRequest(
            proxy=proxy_url, connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout
        )
        for _ in range(2)
    ]
    bot = Bot(
        token,
        base_url=settings.telegram_api_base_url or DEFAULT_BASE_URL,
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        await bot.initialize()  # getMe
        return said(Outcome.OK, username=bot.username)
    except InvalidToken as exc:
        return said(Outcome.TOKEN_REFUSED, detail=detail_of(exc, token))
    except (NetworkError, Forbidden) as exc:
        outcome = _network_outcome(exc, proxied=proxy_url is not None)
        return said(outcome, detail=detail_of(exc, token))
    except TelegramError as exc:
        return said(Outcome.FAILED, detail=detail_of(exc, token))
    finally:
        # A bot whose initialize failed is not shut down by PTB: close its connections here.
        for request in requests:
            await request.shutdown()


def backoff(attempt: int, *, first: float = 2.0, longest: float = 60.0) -> float:
    """Seconds to wait after the ``attempt``-th failure (1-based): 2, 4, 8 … at most a minute."""
    return float(min(longest, first * 2 ** (attempt - 1)))


async def wait_for_telegram(
    settings: Settings,
    say: Callable[[Reach, int, float | None], None],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    attempts: int | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109
) -> Reach:
    """Ask until Telegram answers, or the answer is a setting to fix; ``say(reach, attempt,
    wait)`` after each failure (``wait`` None: no more tries). ``attempts`` None: no limit."""
    attempt = 0
    while True:
        attempt += 1
        answer = await reach(settings, timeout=timeout)
        if answer.ok:
            return answer
        last = not answer.outcome.retry or (attempts is not None and attempt >= attempts)
        wait = None if last else backoff(attempt)
        say(answer, attempt, wait)
        if wait is None:
            return answer
        await sleep(wait)
