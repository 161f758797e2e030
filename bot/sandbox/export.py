"""What a sandbox run leaves behind: the files the bot sent, and every chat as one HTML page.

The files are taken from the fake Telegram as the bot sent them: each document (the quarter's
.xlsx, a corrected one after an upheld appeal) under its own name, and the photos it posted to
the leadership group (the chart) as PNG files. The page (``transcript.html``) is one file that
needs nothing else to open: a table of contents of the chats, then each chat as bubbles (the
bot's on the left, the people's on the right, the sender's name in the group, a date between
days), its text formatted by Telegram's entities, its inline buttons as they are now, photos
inline as ``data:`` URLs, documents linked by their relative path beside the page. Its words come
from ``templates/<lang>/sandbox/demo_page.j2`` and the ``[demo.page]`` labels.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from bot.emulator.entities import utf16_len
from bot.sandbox.sandbox import Chat, Sandbox
from bot.sandbox.transcript import Entry

__all__ = ["PAGE", "Outputs", "rich_html", "write_outputs"]

#: The page's file name in the output folder.
PAGE = "transcript.html"

# Telegram's formatting entities as HTML (a link's address is added where it is opened).
_TAGS: dict[str, tuple[str, str]] = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "pre": ('<code class="pre">', "</code>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "blockquote": ('<span class="quote">', "</span>"),
    "expandable_blockquote": ('<span class="quote">', "</span>"),
}
_SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")


@dataclass(frozen=True)
class Outputs:
    """The files written: the page, the sheets and charts the bot sent to the leadership group,
    and every document by the file id it has in the chats."""

    folder: Path
    page: Path
    sheets: list[Path] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)
    documents: dict[str, Path] = field(default_factory=dict)

    @property
    def sheet(self) -> Path | None:
        """The quarter's latest sheet (the corrected one after an upheld appeal)."""
        return self.sheets[-1] if self.sheets else None

    @property
    def chart(self) -> Path | None:
        return self.charts[-1] if self.charts else None


def _link(url: str) -> str | None:
    return url if url.startswith(_SAFE_SCHEMES) else None


def rich_html(text: str, entities: list[dict[str, Any]]) -> Markup:
    """``text`` with its entities (offsets in UTF-16 code units) as HTML, everything escaped;
    the visible text is exactly ``text``."""
    starts: dict[int, list[dict[str, Any]]] = {}
    for entity in entities:
        starts.setdefault(int(entity.get("offset", 0)), []).append(entity)
    out: list[str] = []
    open_: list[tuple[int, str]] = []  # (end, closing tag), innermost last
    offset = 0

    def close_until(position: int) -> None:
        while any(end <= position for end, _ in open_):
            out.append(open_.pop()[1])

    for char in text:
        close_until(offset)
        for entity in sorted(starts.get(offset, []), key=lambda e: -int(e.get("length", 0))):
            kind = str(entity.get("type", ""))
            end = offset + int(entity.get("length", 0))
            if kind in ("url", "text_link"):
                target = entity.get("url") if kind == "text_link" else None
                href = _link(str(target if target is not None else _slice16(text, entity)))
                if href is None:
                    continue
                out.append(f'<a href="{escape(href)}" rel="noopener">')
                open_.append((end, "</a>"))
            elif kind in _TAGS:
                opening, closing = _TAGS[kind]
                out.append(opening)
                open_.append((end, closing))
        out.append(escape(char, quote=False))
        offset += utf16_len(char)
    close_until(offset + 1)
    return Markup("".join(out))


def _slice16(text: str, entity: dict[str, Any]) -> str:
    """The characters an entity covers (its offsets count UTF-16 code units)."""
    start, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
    units = text.encode("utf-16-le")
    return units[2 * start : 2 * (start + length)].decode("utf-16-le", errors="replace")


def _safe_name(name: str, taken: set[str]) -> str:
    """A file name for the output folder: no folders in it, not one already written."""
    base = Path(name.replace("\\", "/")).name or "file"
    stem, suffix = Path(base).stem, Path(base).suffix
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{stem}-{number}{suffix}"
    taken.add(candidate)
    return candidate


async def write_outputs(
    sandbox: Sandbox, out: Path, *, quarter: str | None = None, seed: int | None = None
) -> Outputs:
    """Write the bot's files and the page of every chat into ``out`` (made if missing)."""
    return _write(sandbox, await sandbox.chats(), out, quarter=quarter, seed=seed)


def _write(
    sandbox: Sandbox, chats: list[Chat], out: Path, *, quarter: str | None, seed: int | None
) -> Outputs:
    out.mkdir(parents=True, exist_ok=True)
    group = [c for c in chats if c.is_group]
    ordered = group + [c for c in chats if not c.is_group]
    texts, lang = sandbox.services.texts, sandbox.language
    unit = sandbox.settings.unit_name
    taken: set[str] = {PAGE}
    documents: dict[str, Path] = {}
    photos: dict[str, str] = {}
    sheets: list[Path] = []
    charts: list[Path] = []
    transcripts = {chat.chat_id: sandbox.transcript(chat.chat_id) for chat in ordered}

    for chat in ordered:
        for entry in transcripts[chat.chat_id]:
            attachment = entry.attachment
            if attachment is None or attachment.file_id in documents:
                continue
            stored = sandbox.file(attachment.file_id)
            if stored is None or not stored.data:
                continue
            if attachment.kind == "photo":
                mime = stored.mime_type or "image/png"
                photos[attachment.file_id] = (
                    f"data:{mime};base64,{base64.b64encode(stored.data).decode('ascii')}"
                )
                if chat.is_group and entry.from_bot:
                    name = texts.label(lang, "demo.page.chart_file", unit=unit, code=quarter or "")
                    path = out / _safe_name(name, taken)
                    path.write_bytes(stored.data)
                    charts.append(path)
                    documents[attachment.file_id] = path
            elif attachment.kind == "document":
                path = out / _safe_name(attachment.file_name or "file", taken)
                path.write_bytes(stored.data)
                documents[attachment.file_id] = path
                if chat.is_group and entry.from_bot and path.suffix.lower() == ".xlsx":
                    sheets.append(path)

    model = [
        _chat_model(chat, transcripts[chat.chat_id], documents, photos, out) for chat in ordered
    ]
    every = [e for entries in transcripts.values() for e in entries]
    page = texts.render(
        lang,
        "sandbox/demo_page",
        unit=unit,
        quarter=quarter,
        seed=seed,
        chats=model,
        first=min((e.at for e in every), default=None),
        last=max((e.at for e in every), default=None),
        messages=len(every),
        sheet=_href(sheets[-1], out) if sheets else None,
        sheet_name=sheets[-1].name if sheets else None,
        chart=_href(charts[-1], out) if charts else None,
        chart_name=charts[-1].name if charts else None,
        chart_image=photos.get(_file_id_of(documents, charts[-1])) if charts else None,
    )
    path = out / PAGE
    path.write_text(page + "\n", encoding="utf-8")
    return Outputs(folder=out, page=path, sheets=sheets, charts=charts, documents=documents)


def _file_id_of(documents: dict[str, Path], path: Path) -> str:
    return next(file_id for file_id, written in documents.items() if written == path)


def _href(path: Path, out: Path) -> str:
    return quote(path.relative_to(out).as_posix())


@dataclass(frozen=True)
class Bubble:
    """One message as the page shows it."""

    message_id: int
    from_bot: bool
    sender: str
    at: datetime
    html: Markup
    buttons: list[list[str]]
    image: str | None
    document: tuple[str, str | None] | None  # (name, relative link or None)
    edited: bool
    new_day: bool


@dataclass(frozen=True)
class ChatView:
    """One chat of the page: who it is, and its bubbles."""

    chat_id: int
    anchor: str
    title: str
    group: bool
    department: str | None
    job: str | None
    roles: tuple[str, ...]
    members: tuple[str, ...]
    bubbles: list[Bubble]


def _chat_model(
    chat: Chat,
    entries: list[Entry],
    documents: dict[str, Path],
    photos: dict[str, str],
    out: Path,
) -> ChatView:
    bubbles: list[Bubble] = []
    previous: datetime | None = None
    for entry in entries:
        image: str | None = None
        document: tuple[str, str | None] | None = None
        attachment = entry.attachment
        if attachment is not None and attachment.kind == "photo":
            image = photos.get(attachment.file_id)
        elif attachment is not None and attachment.kind == "document":
            written = documents.get(attachment.file_id)
            document = (
                attachment.file_name or (written.name if written else ""),
                _href(written, out) if written else None,
            )
        bubbles.append(
            Bubble(
                message_id=entry.message_id,
                from_bot=entry.from_bot,
                sender=entry.sender,
                at=entry.at,
                html=rich_html(entry.text, entry.entities),
                buttons=[[b.text for b in row] for row in entry.buttons],
                image=image,
                document=document,
                edited=entry.edited,
                new_day=previous is None or previous.date() != entry.at.date(),
            )
        )
        previous = entry.at
    return ChatView(
        chat_id=chat.chat_id,
        anchor=f"chat{chat.chat_id}".replace("-", "g"),
        title=chat.title,
        group=chat.is_group,
        department=chat.department,
        job=chat.job,
        roles=chat.roles,
        members=tuple(name for _, name in chat.members),
        bubbles=bubbles,
    )
