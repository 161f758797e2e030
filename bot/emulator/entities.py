"""Telegram's HTML parse mode, after tdlib's ``parse_html``: text, entities and their limits.

The emulator measures a message the way Telegram does (length after entities are parsed, in
UTF-16 code units) and refuses malformed HTML with Telegram's own descriptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


class EntityParseError(ValueError):
    """HTML that Telegram refuses; the message is Telegram's wording."""


_ALLOWED_TAGS = {
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
}


_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,9}|[a-zA-Z]+);")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode an HTML entity at ``pos``; ``None`` keeps the ``&`` literal, as tdlib does."""
    match = _ENTITY_RE.match(text, pos)
    if not match:
        return None
    name = match.group(1)
    if name.startswith(("#x", "#X")):
        code = int(name[2:], 16)
    elif name.startswith("#"):
        code = int(name[1:])
    elif name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], match.end()
    else:
        return None
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    argument: str | None
    start: int  # UTF-16 offset in the output
    byte_offset: int


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into (visible text, entities) or raise ``EntityParseError``.

    Why: Telegram rejects the whole message on a tag it does not support (``<br>``, ``<p>``,
    ``<div>``) or an unclosed one; the bot must meet that in tests, not in the township office.
    """
    out: list[str] = []
    out16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    n = len(text)
    i = 0

    def byte_offset(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    def emit(chunk: str) -> None:
        nonlocal out16
        out.append(chunk)
        out16 += utf16_len(chunk)

    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded:
                emit(decoded[0])
                i = decoded[1]
            else:
                emit("&")
                i += 1
            continue
        if char != "<":
            emit(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            tag = stack.pop()
            if end_name and end_name != tag.name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{tag.name}>", found "</{end_name}>"'
                )
            i = j + 1
            _close_entity(tag, out16, entities)
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = text[i:j].lower()
        if name not in _ALLOWED_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}'
            )
        argument: str | None = None
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if text[j] == ">":
                break
            attr_begin = j
            while j < n and not text[j].isspace() and text[j] not in "=>":
                j += 1
            attr_name = text[attr_begin:j].lower()
            if not attr_name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {byte_offset(begin)}'
                )
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] != "=":
                if name == "blockquote" and attr_name == "expandable":
                    argument = "expandable"
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {byte_offset(begin)}"
                )
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if text[j] in "'\"":
                quote = text[j]
                j += 1
                value_chars: list[str] = []
                while j < n and text[j] != quote:
                    if text[j] == "&" and (decoded := _decode_entity(text, j)):
                        value_chars.append(decoded[0])
                        j = decoded[1]
                    else:
                        value_chars.append(text[j])
                        j += 1
                if j < n:
                    j += 1
                value = "".join(value_chars)
            else:
                token_begin = j
                while j < n and (text[j].isalnum() or text[j] in ".-"):
                    j += 1
                value = text[token_begin:j].lower()
                if j < n and not text[j].isspace() and text[j] != ">":
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                    )
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if (
                (name == "a" and attr_name == "href")
                or (name == "code" and attr_name == "class" and value.startswith("language-"))
                or (name == "tg-emoji" and attr_name == "emoji-id")
            ):
                argument = value
            elif name == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value[3:]
        if name == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        stack.append(_OpenTag(name, argument, out16, byte_offset(begin)))
        i = j + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(tag: _OpenTag, end16: int, entities: list[JSON]) -> None:
    """Append the entity of a closed tag (empty ones vanish, as in Telegram)."""
    length = end16 - tag.start
    if length <= 0:
        return
    kind = _TAG_ENTITY[tag.name]
    entity: JSON = {"type": kind, "offset": tag.start, "length": length}
    if tag.name == "a":
        if not tag.argument:
            return
        entity["url"] = tag.argument
    elif tag.name == "code" and tag.argument:
        entity["_language"] = tag.argument.removeprefix("language-")
    elif tag.name == "pre" and entities:
        # <pre><code class="language-x">...</code></pre> is one pre entity with a language
        inner = entities[-1]
        if inner["type"] == "code" and (inner["offset"], inner["length"]) == (tag.start, length):
            entities.pop()
            if "_language" in inner:
                entity["language"] = inner["_language"]
    elif tag.name == "blockquote" and tag.argument == "expandable":
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.argument or ""
    entities.append(entity)


def html_to_text(html: str) -> str:
    """The visible text of a Telegram HTML string, stripped like Telegram does.

    Why: tests compare what a user sees (``SimMessage.text``) with the renderer's HTML output.
    """
    plain, _ = parse_html(html)
    return plain.strip()


def trim_entities(plain: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading/trailing whitespace and shift entities, as Telegram does with every text."""
    stripped_left = plain.lstrip()
    lead16 = utf16_len(plain) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total16 = utf16_len(result)
    out: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead16)
        end = min(total16, entity["offset"] + entity["length"] - lead16)
        if end > start:
            out.append({**entity, "offset": start, "length": end - start})
    return result, out
