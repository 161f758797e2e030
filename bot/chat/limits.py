"""Telegram's limits on what the bot sends, kept in one place.

A text is 1-4096 characters after its entities are parsed, a callback answer shows at most 200,
and callback data is 1-64 bytes (:mod:`bot.chat.keyboards`). Anything a person typed that the bot
repeats is cut first (:func:`clip`), and a long listing is packed into as few messages as fit
(:func:`pack_messages`), so that no reply is one Telegram would refuse.
"""

from __future__ import annotations

from bot.core.texts import ECHO_MAX, clip

__all__ = ["ALERT_MAX", "ECHO_MAX", "MESSAGE_LIMIT", "TEXT_MAX", "clip", "pack_messages"]

#: Telegram's limit on a message's text, after its entities are parsed.
TEXT_MAX = 4096
#: What one message of a listing may hold: below the limit, with room for the HTML tags.
MESSAGE_LIMIT = 4000
#: Telegram shows at most 200 characters in a callback answer.
ALERT_MAX = 200


def pack_messages(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks of HTML into as few messages as fit ``limit`` characters each.

    Blocks are kept whole when they fit; a longer block is split between its lines (each line
    is complete HTML, so no tag is cut in two).
    """
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= limit:
            pieces.append(block)
            continue
        current = ""
        for line in block.split("\n"):
            if current and len(current) + 1 + len(line) > limit:
                pieces.append(current)
                current = ""
            current = f"{current}\n{line}" if current else line[:limit]
        if current:
            pieces.append(current)
    messages: list[str] = []
    for piece in pieces:
        if messages and len(messages[-1]) + 2 + len(piece) <= limit:
            messages[-1] += "\n\n" + piece
        else:
            messages.append(piece)
    return messages
