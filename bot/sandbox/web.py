"""The sandbox's web page: a person list, a phone-sized chat and a clock bar, on 127.0.0.1.

Tornado (python-telegram-bot's webhook extra brings it) serves one static page
(``bot/sandbox/static/index.html``: plain HTML, CSS and JavaScript, no build step, nothing from
the internet) and a small JSON API over the :class:`~bot.sandbox.sandbox.Sandbox` methods, in the
event loop the bot runs in:

=========================================  ====================================================
``GET  /api/setup``                        language, the page's labels, the chats of the town
``GET  /api/clock``                        the simulated time and the calendar's next event
``POST /api/clock`` ``{"move": ...}``      ``hour``, ``day`` or ``next`` (event)
``GET  /api/chats/<id>[?as=<user>]``       the chat's messages, reply keyboard and command menu
``POST /api/chats/<id>/send``              ``{"text", "user_id"}``: type a message or command
``POST /api/chats/<id>/press``             ``{"message_id", "row", "column", "user_id"}``
``POST /api/chats/<id>/file``              multipart ``file`` (+ ``caption``, ``user_id``)
``GET  /api/wait?since=<seq>``             long poll: returns when a chat changed (≤ 25 s)
``GET  /files/<file_id>``                  a file of a chat, to view or download
=========================================  ====================================================

Every POST must carry the header ``X-Kaohe-Sandbox: 1`` and every request a local ``Host``: a
web page of another site cannot send that header without a preflight this server never grants,
nor reach it by a rebound name.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.sandbox.sandbox import Sandbox, Upcoming

__all__ = ["PAGE", "SandboxServer"]

log = logging.getLogger("kaohe.sandbox.web")

PAGE = Path(__file__).resolve().parent / "static" / "index.html"
LONG_POLL_SECONDS = 25.0
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


class _Base(tornado.web.RequestHandler):
    """Shared: the sandbox, JSON in and out, the local-only checks."""

    sandbox: Sandbox
    server: SandboxServer

    def initialize(self, server: SandboxServer) -> None:
        self.server = server
        self.sandbox = server.sandbox

    def prepare(self) -> None:
        if self.server.closing:
            raise tornado.web.HTTPError(503)
        self.server.busy += 1
        self._counted = True
        host = self.request.host_name.lower()
        if host not in LOCAL_HOSTS:
            raise tornado.web.HTTPError(403)
        if self.request.method == "POST" and self.request.headers.get("X-Kaohe-Sandbox") != "1":
            raise tornado.web.HTTPError(403)
        self.set_header("Cache-Control", "no-store")

    def on_finish(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            self.server.busy -= 1

    def on_connection_close(self) -> None:
        self.on_finish()

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400) from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400)
        return data

    def reply(self, data: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": self._reason}))

    @staticmethod
    def user_id(value: Any) -> int | None:
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            raise tornado.web.HTTPError(400) from None

    def known_chat(self, chat_id: str) -> int:
        number = int(chat_id)
        if number not in self.sandbox.fake.chats:
            raise tornado.web.HTTPError(404)
        return number


class PageHandler(_Base):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(PAGE.read_bytes())


class SetupHandler(_Base):
    async def get(self) -> None:
        sandbox = self.sandbox
        texts, lang = sandbox.services.texts, sandbox.language
        labels = {
            key.removeprefix("sandbox."): texts.label(lang, key)
            for key in sorted(texts.label_keys(lang))
            if key.startswith("sandbox.")
        }
        chats = [
            {
                "chat_id": chat.chat_id,
                "title": chat.title,
                "department": chat.department,
                "job": chat.job,
                "roles": list(chat.roles),
                "members": [{"user_id": u, "name": n} for u, n in chat.members],
                "group": chat.is_group,
            }
            for chat in await sandbox.chats()
        ]
        self.reply(
            {
                "lang": lang,
                "labels": labels,
                "unit": sandbox.settings.unit_name,
                "bot_username": sandbox.settings.bot_username,
                "chats": chats,
                "clock": await self.server.clock_state(),
                "latest": self.server.latest(),
                "seq": sandbox.seq,
            }
        )


class ClockHandler(_Base):
    async def get(self) -> None:
        self.reply(await self.server.clock_state())

    async def post(self) -> None:
        move = self.body().get("move")
        await self.server.move_clock(str(move))
        self.reply(await self.server.clock_state())


class ChatHandler(_Base):
    def get(self, chat_id: str) -> None:
        number = self.known_chat(chat_id)
        sandbox = self.sandbox
        speaker = self.user_id(self.get_query_argument("as", None))
        self.reply(
            {
                "chat_id": number,
                "seq": sandbox.seq,
                "messages": [e.as_dict() for e in sandbox.transcript(number)],
                "keyboard": sandbox.reply_keyboard(number),
                "placeholder": (sandbox.fake.reply_keyboard(number) or {}).get(
                    "input_field_placeholder"
                ),
                "commands": sandbox.commands(number, speaker),
            }
        )


class SendHandler(_Base):
    async def post(self, chat_id: str) -> None:
        number = self.known_chat(chat_id)
        data = self.body()
        text = str(data.get("text") or "").strip()
        if not text:
            raise tornado.web.HTTPError(400)
        try:
            await self.sandbox.send(number, text[:4096], user_id=self.user_id(data.get("user_id")))
        except KeyError:
            raise tornado.web.HTTPError(404) from None
        self.reply({"ok": True})


class PressHandler(_Base):
    async def post(self, chat_id: str) -> None:
        number = self.known_chat(chat_id)
        data = self.body()
        try:
            answer = await self.sandbox.press(
                number,
                int(data["message_id"]),
                int(data["row"]),
                int(data["column"]),
                user_id=self.user_id(data.get("user_id")),
            )
        except (KeyError, ValueError, TypeError):
            raise tornado.web.HTTPError(400) from None
        except LookupError:
            raise tornado.web.HTTPError(404, reason="gone") from None
        self.reply(
            {
                "answered": answer.answered,
                "text": answer.text,
                "show_alert": answer.show_alert,
                "url": answer.url,
            }
        )


class FileUploadHandler(_Base):
    async def post(self, chat_id: str) -> None:
        number = self.known_chat(chat_id)
        uploads = self.request.files.get("file") or []
        if not uploads:
            raise tornado.web.HTTPError(400)
        upload = uploads[0]
        mime = upload.get("content_type") or "application/octet-stream"
        caption = self.get_body_argument("caption", "").strip() or None
        try:
            await self.sandbox.send_file(
                number,
                data=bytes(upload["body"]),
                file_name=upload.get("filename") or "file",
                mime_type=mime,
                photo=mime in ("image/jpeg", "image/png", "image/webp", "image/gif"),
                caption=caption,
                user_id=self.user_id(self.get_body_argument("user_id", None)),
            )
        except KeyError:
            raise tornado.web.HTTPError(404) from None
        self.reply({"ok": True})


class WaitHandler(_Base):
    async def get(self) -> None:
        since = self.user_id(self.get_query_argument("since", "0")) or 0
        fake = self.sandbox.fake
        server = self.server
        await fake.wait_for(
            lambda: fake.seq > since or server.closing,
            timeout=LONG_POLL_SECONDS,
            raise_on_timeout=False,
        )
        if server.closing:
            raise tornado.web.HTTPError(503)
        self.reply(
            {"seq": fake.seq, "latest": server.latest(), "clock": await server.clock_state()}
        )


class FileHandler(_Base):
    def get(self, file_id: str) -> None:
        stored = self.sandbox.file(file_id)
        if stored is None:
            raise tornado.web.HTTPError(404)
        if stored.kind == "photo":
            mime = stored.mime_type or "image/jpeg"
        else:
            mime = stored.mime_type or "application/octet-stream"
        self.set_header("Content-Type", mime)
        self.set_header("X-Content-Type-Options", "nosniff")
        if stored.kind != "photo":
            name = stored.file_name or file_id
            self.set_header(
                "Content-Disposition", f"attachment; filename*=UTF-8''{quote(name, safe='')}"
            )
        self.finish(stored.data)


class SandboxServer:
    """The page and its API for one started :class:`Sandbox`, on ``host``:``port`` (0: any
    free port; :attr:`port` tells which)."""

    def __init__(self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port
        self.closing = False
        self.busy = 0  # requests under way
        self.moves = 0
        self._http: tornado.httpserver.HTTPServer | None = None
        self._clock_lock = asyncio.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def application(self) -> tornado.web.Application:
        chat = r"/api/chats/(-?\d+)"
        kwargs = {"server": self}
        return tornado.web.Application(
            [
                (r"/", PageHandler, kwargs),
                (r"/api/setup", SetupHandler, kwargs),
                (r"/api/clock", ClockHandler, kwargs),
                (r"/api/wait", WaitHandler, kwargs),
                (chat, ChatHandler, kwargs),
                (chat + "/send", SendHandler, kwargs),
                (chat + "/press", PressHandler, kwargs),
                (chat + "/file", FileUploadHandler, kwargs),
                (r"/files/([A-Za-z0-9_-]+)", FileHandler, kwargs),
            ],
            compress_response=False,
        )

    async def start(self) -> SandboxServer:
        """Listen (``OSError`` if the port is taken)."""
        sockets = tornado.netutil.bind_sockets(self.port, self.host)
        self.port = int(sockets[0].getsockname()[1])
        self._http = tornado.httpserver.HTTPServer(
            self.application(), max_body_size=MAX_UPLOAD_BYTES + 64 * 1024
        )
        self._http.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        """Stop listening, end waiting long polls and open connections."""
        self.closing = True
        self.sandbox.fake.notify()
        if self._http is not None:
            http, self._http = self._http, None
            http.stop()
            # Let requests under way finish (a long poll ends at once) before the bot stops.
            for _ in range(200):
                if self.busy <= 0:
                    break
                await asyncio.sleep(0.025)
            await http.close_all_connections()

    # -- what the handlers share -------------------------------------------------------------

    def latest(self) -> dict[str, int]:
        """For each chat, the change counter of its latest change by the bot (new messages,
        edits): the page marks a chat whose number grew since it was last looked at."""
        fake = self.sandbox.fake
        found: dict[str, int] = {}
        for chat_id in list(fake.chats):
            seqs = [m.updated_seq for m in fake.bot_messages(chat_id, include_deleted=True)]
            if seqs:
                found[str(chat_id)] = max(seqs)
        return found

    async def clock_state(self) -> dict[str, Any]:
        """The time and the next event, never read half-way through a move (its events may be
        creating the next ones); ``moves`` counts the moves, so the page keeps the newest."""
        async with self._clock_lock:
            return await self._clock_state()

    async def _clock_state(self) -> dict[str, Any]:
        sandbox = self.sandbox
        now = sandbox.now()
        upcoming: Upcoming | None = await sandbox.upcoming()
        return {
            "moves": self.moves,
            "epoch_ms": _epoch_ms(now),
            "offset_minutes": _offset_minutes(now),
            "speed": sandbox.clock.speed,
            "next": None
            if upcoming is None
            else {
                "kind": upcoming.kind,
                "period": upcoming.period,
                "epoch_ms": _epoch_ms(upcoming.due),
                "offset_minutes": _offset_minutes(upcoming.due),
            },
        }

    async def move_clock(self, move: str) -> None:
        """Move the clock as the page asked; the events run now, their messages arrive as the
        bot's sender sends them (the page sees them through the long poll)."""
        steps = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
        if move != "next" and move not in steps:
            raise tornado.web.HTTPError(400)
        async with self._clock_lock:
            self.moves += 1
            if move == "next":
                await self.sandbox.next_event(send=False)
            else:
                await self.sandbox.advance(steps[move], send=False)
