"""Tiny local proxies, as a clerk in mainland China runs one, for the tests of reaching Telegram.

``LocalProxy("http")`` speaks HTTP (``CONNECT host:port`` tunnels, and plain requests with an
absolute URL forwarded as they are); ``LocalProxy("socks5")`` speaks SOCKS5 without a password
(IPv4, domain and IPv6 addresses, ``CONNECT`` only). ``refuse=True`` makes either refuse every
request as a proxy does (407 Proxy Authentication Required; SOCKS5 reply 0x02, not allowed).
Each runs on 127.0.0.1 at a free port in a thread with its own event loop (``with`` block), so a
synchronous test can run the ``kaohe`` command against it; ``connections`` counts the clients,
``targets`` what they asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
from types import TracebackType
from urllib.parse import urlsplit


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class LocalProxy:
    """An HTTP or SOCKS5 proxy on 127.0.0.1 (see the module docstring)."""

    def __init__(self, kind: str, *, refuse: bool = False) -> None:
        assert kind in ("http", "socks5")
        self.kind = kind
        self.refuse = refuse
        self.port = 0
        self.connections = 0
        self.targets: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def url(self, scheme: str | None = None, *, userinfo: str = "") -> str:
        """The proxy's URL as TELEGRAM_PROXY_URL takes it (``scheme``: e.g. socks5h)."""
        return f"{scheme or self.kind}://{userinfo}127.0.0.1:{self.port}"

    # -- serving -----------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.kind == "http":
                upstream = await self._http(reader, writer)
            else:
                upstream = await self._socks(reader, writer)
            if upstream is None:
                return
            up_reader, up_writer, first = upstream
            if first:
                up_writer.write(first)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes] | None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        self.targets.append(target)
        if self.refuse:
            body = b"proxy authentication required"
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="proxy"\r\nContent-Type: text/plain\r\n'
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return None
        if method.upper() == "CONNECT":
            host, _, port = target.rpartition(":")
            host, number = host.strip("[]"), int(port)
        else:
            # A plain request with an absolute URL: forwarded as it is (the Bot API takes it).
            url = urlsplit(target)
            host, number = url.hostname or "", url.port or 80
        try:
            up_reader, up_writer = await asyncio.open_connection(host, number)
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return None
        if method.upper() == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            return up_reader, up_writer, b""
        return up_reader, up_writer, head

    async def _socks(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes] | None:
        version, methods = await reader.readexactly(2)
        await reader.readexactly(methods)
        if version != 5:
            return None
        writer.write(b"\x05\x00")  # no authentication
        await writer.drain()
        _, command, _, kind = await reader.readexactly(4)
        if kind == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            length = (await reader.readexactly(1))[0]
            host = (await reader.readexactly(length)).decode()
        port = int.from_bytes(await reader.readexactly(2), "big")
        self.targets.append(f"{host}:{port}")
        if self.refuse or command != 1:
            writer.write(b"\x05\x02\x00\x01" + bytes(6))  # connection not allowed by ruleset
            await writer.drain()
            return None
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.write(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            await writer.drain()
            return None
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await writer.drain()
        return up_reader, up_writer, b""

    # -- a thread of its own -----------------------------------------------------------------

    def __enter__(self) -> LocalProxy:
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            async with server:
                await self._stop.wait()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise TimeoutError("the local proxy did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
