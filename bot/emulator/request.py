"""``FakeRequest``: PTB's networking backend, answered by a ``FakeTelegram`` instead of the network.

Why: PTB's documented seam for the HTTP edge is ``telegram.request.BaseRequest.do_request``.
Passing this class to ``ApplicationBuilder().request(...)`` and ``.get_updates_request(...)``
keeps every line of PTB and of kaohe real (``Bot._post``, error mapping to ``BadRequest``/
``Forbidden``/``RetryAfter``, ``Defaults``, rate limiter) while no byte leaves the process::

    fake = FakeTelegram()
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(FakeRequest(fake))
        .get_updates_request(FakeRequest(fake))
        .build()
    )
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.emulator.telegram import FakeTelegram, SimulatedTimeout, Upload


def _read_content(content: Any) -> bytes:
    """Upload content as bytes, whether PTB read the file already or passes a handle."""
    if isinstance(content, bytes):
        return content
    if hasattr(content, "read"):
        read = content.read()
        return read if isinstance(read, bytes) else str(read).encode()
    return bytes(content)


def split_api_url(url: str) -> tuple[str, str | None]:
    """``(method, token)`` from a Bot API URL, whatever the base URL in front of it.

    The method is the last path segment; the token is the segment before it without its
    ``bot`` prefix (``None`` when there is no such segment).
    """
    segments = [s for s in unquote(urlsplit(url).path).split("/") if s]
    if not segments:
        return "", None
    method = segments[-1]
    token = segments[-2].removeprefix("bot") if len(segments) > 1 else None
    return method, token


def decode_request_data(
    request_data: RequestData | None,
) -> tuple[dict[str, Any], dict[str, Upload]]:
    """The parameters as they would travel on the wire (strings, nested objects as JSON) and the
    uploaded files by part name."""
    if request_data is None:
        return {}, {}
    params: dict[str, Any] = dict(request_data.json_parameters)
    files: dict[str, Upload] = {}
    if request_data.contains_files:
        for name, (filename, content, mime_type) in request_data.multipart_data.items():
            files[name] = Upload(
                filename=filename or name,
                data=_read_content(content),
                mime_type=mime_type or "application/octet-stream",
            )
    return params, files


class FakeRequest(BaseRequest):
    """A ``BaseRequest`` whose server is a ``FakeTelegram`` in the same process.

    ``latency`` (seconds, default 0) is awaited before each call so that concurrent handlers
    interleave at the network edge as they would in production; 0 still yields to the loop once.
    """

    def __init__(
        self, fake: FakeTelegram, *, latency: float = 0.0, read_timeout: float | None = 5.0
    ) -> None:
        self.fake = fake
        self.latency = latency
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout PTB adds to a long poll's own timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open: the server is in memory."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Route one request to the fake: an API call, or a file download (``retrieve``)."""
        await asyncio.sleep(self.latency)
        if request_data is None and method.upper() == "GET":
            return self._download(url)
        api_method, token = split_api_url(url)
        params, files = decode_request_data(request_data)
        try:
            status, body = await self.fake.handle_async(
                api_method, params, files=files, token=token
            )
        except SimulatedTimeout as exc:
            raise TimedOut(f"Injected timeout on {api_method}") from exc
        return status, json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _download(self, url: str) -> tuple[int, bytes]:
        """Serve a file's bytes for ``File.download_*`` (PTB calls ``retrieve`` with the
        ``base_file_url`` + ``file_path``)."""
        stored = self.fake.file_by_path(unquote(urlsplit(url).path))
        if stored is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found"}
            return 404, json.dumps(body).encode("utf-8")
        return 200, stored.data
