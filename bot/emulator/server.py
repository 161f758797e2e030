"""A local HTTP server speaking the Bot API, backed by a ``FakeTelegram``.

Why: end-to-end tests start ``kaohe run`` as a separate process with
``TELEGRAM_API_BASE_URL=<server.base_url>`` and drive it through ``getUpdates`` exactly as
Telegram would; the in-process ``FakeRequest`` cannot reach another process. Standard library only
(asyncio streams), HTTP/1.1 with keep-alive, bodies form-encoded, multipart or JSON, GET or POST.

Two ways to run it::

    async with serve(fake) as server:      # in the test's event loop
        ...
    with serve(fake) as server:            # in a background thread with its own loop
        ...

Routes: ``/bot<token>/<method>`` (API), ``/file/bot<token>/<file_path>`` (downloads).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.emulator.telegram import (
    PATIENCE,
    FakeTelegram,
    SimulatedHang,
    SimulatedTimeout,
    Upload,
)

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 60 * 1024 * 1024
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class _BadHttp(Exception):
    """A request this server cannot read; the connection is closed."""


def _header_param(value: str, name: str) -> str | None:
    """A parameter of a header value, e.g. ``boundary`` of a Content-Type."""
    for part in value.split(";")[1:]:
        key, _, raw = part.strip().partition("=")
        if key.strip().lower() == name:
            return raw.strip().strip('"')
    return None


def parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Split a multipart/form-data body into text fields and uploaded files."""
    fields: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _header_param(disposition, "name")
        if not name:
            continue
        filename = _header_param(disposition, "filename")
        if filename is not None:
            files[name] = Upload(
                filename=filename,
                data=content,
                mime_type=headers.get("content-type", "application/octet-stream"),
            )
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def decode_body(
    content_type: str, body: bytes, query: str
) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters from the query string and a form, multipart or JSON body (as Telegram does)."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, Upload] = {}
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return params, files
    if kind == "application/json":
        data = json.loads(body.decode("utf-8"))
        if isinstance(data, dict):
            params.update(data)
    elif kind == "multipart/form-data":
        boundary = _header_param(content_type, "boundary")
        if not boundary:
            raise _BadHttp("multipart body without boundary")
        fields, files = parse_multipart(body, boundary)
        params.update(fields)
    else:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return params, files


class BotApiServer:
    """The Bot API over HTTP for one ``FakeTelegram``; see the module docstring."""

    def __init__(self, fake: FakeTelegram, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``TELEGRAM_API_BASE_URL``."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"http://{self.host}:{self.port}/file/bot"

    # -- running in the current loop ---------------------------------------------------------

    async def start(self) -> BotApiServer:
        """Listen (port 0 picks a free one; ``port`` is updated)."""
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and end open connections (pending long polls included)."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> BotApiServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- running in a thread -----------------------------------------------------------------

    def start_in_thread(self, timeout: float = PATIENCE) -> BotApiServer:
        """Run the server in a daemon thread with its own event loop (for sync tests or when the
        test's loop is blocked, e.g. by ``subprocess.run``)."""
        ready = threading.Event()
        errors: list[BaseException] = []

        async def main() -> None:
            self._thread_loop = asyncio.get_running_loop()
            self._thread_stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:  # reported to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            await self._thread_stop.wait()
            await self.stop()

        self._thread = threading.Thread(
            target=asyncio.run, args=(main(),), name="fake-bot-api", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the fake Bot API server did not start")
        if errors:
            raise errors[0]
        return self

    def stop_thread(self, timeout: float = PATIENCE) -> None:
        """Stop the background thread started by ``start_in_thread``."""
        if self._thread is None:
            return
        if self._thread_loop is not None and self._thread_stop is not None:
            with contextlib.suppress(RuntimeError):
                self._thread_loop.call_soon_threadsafe(self._thread_stop.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> BotApiServer:
        return self.start_in_thread()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()

    # -- HTTP --------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                try:
                    status, payload, content_type = await self._respond(
                        method, target, headers, body
                    )
                except SimulatedHang:
                    await asyncio.Event().wait()  # no answer until the server stops
                    break
                except SimulatedTimeout:
                    break  # drop the connection: the client sees a network error
                keep_alive = headers.get("connection", "").lower() != "close"
                head = (
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                    f"Content-Type: {content_type}\r\n"
                    f"Content-Length: {len(payload)}\r\n"
                    f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
                )
                writer.write(head.encode("latin-1") + payload)
                await writer.drain()
                if not keep_alive:
                    break
        except (_BadHttp, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, str, dict[str, str], bytes] | None:
        line = await reader.readline()
        if not line:
            return None
        parts = line.decode("latin-1").strip().split()
        if len(parts) != 3:
            raise _BadHttp(f"bad request line {line!r}")
        method, target, _version = parts
        headers: dict[str, str] = {}
        size = 0
        while True:
            header_line = await reader.readline()
            size += len(header_line)
            if size > _MAX_HEADER_BYTES:
                raise _BadHttp("headers too large")
            if header_line in (b"\r\n", b"\n", b""):
                break
            key, _, value = header_line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked(reader)
        else:
            length = int(headers.get("content-length") or 0)
            if length > _MAX_BODY_BYTES:
                raise _BadHttp("body too large")
            body = await reader.readexactly(length) if length else b""
        return method.upper(), target, headers, body

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY_BYTES:
                raise _BadHttp("body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def _respond(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, str]:
        url = urlsplit(target)
        path = unquote(url.path)
        segments = [s for s in path.split("/") if s]
        if len(segments) >= 3 and segments[0] == "file" and segments[1].startswith("bot"):
            stored = self.fake.file_by_path("/".join(segments[2:]))
            if stored is not None and method == "GET":
                return 200, stored.data, stored.mime_type or "application/octet-stream"
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if len(segments) < 2 or not segments[-2].startswith("bot"):
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token = segments[-2].removeprefix("bot")
        api_method = segments[-1]
        try:
            params, files = decode_body(headers.get("content-type", ""), body, url.query)
        except (ValueError, _BadHttp):
            return self._json(
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid request"},
            )
        status, answer = await self.fake.handle_async(api_method, params, files=files, token=token)
        return self._json(status, answer)

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes, str]:
        return status, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"


def serve(fake: FakeTelegram, host: str = "127.0.0.1", port: int = 0) -> BotApiServer:
    """A Bot API server for ``fake``: use it with ``async with`` (this loop) or ``with``
    (a background thread); ``server.base_url`` is ready inside the block."""
    return BotApiServer(fake, host, port)
