"""Telegram's limits on what the bot sends, kept in one place.

A text is 1-4096 characters after its entities are parsed, a callback answer shows at most 200,
and callback data is 1-64 bytes (:mod:`bot.chat.keyboards`). Anything a person typed that the bot
repeats is cut first (:func:`clip`), and a long listing is packed into as few messages as fit
(:func:`pack_messages`), so that no reply is one Telegram would refuse.
"""

from __future__ import annotations

from bot.core.texts import ECHO_MAX, MESSAGE_LIMIT, clip, pack_messages

__all__ = ["ALERT_MAX", "ECHO_MAX", "MESSAGE_LIMIT", "TEXT_MAX", "clip", "pack_messages"]

#: Telegram's limit on a message's text, after its entities are parsed.
TEXT_MAX = 4096
#: Telegram shows at most 200 characters in a callback answer.
ALERT_MAX = 200
