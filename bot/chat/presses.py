"""What every button press shares: answering it, refusing it, and editing its message.

A press is answered once, and only after what it asks for has been written: Telegram refuses an
answer that comes too late ("query is too old", about 15 s after the press), which happens in a
deadline rush when presses queue. So the outcome of a press never depends on the answer getting
through: the work is committed first; if the answer then fails, the outcome is said in a short new
message in the chat instead, and the person still learns what happened.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.chat.context import KaoheContext
from bot.chat.limits import ALERT_MAX, clip

log = logging.getLogger(__name__)

__all__ = ["answer", "edit", "refuse", "show", "stale", "strip_buttons"]


def _short(text: str | None) -> str | None:
    return None if text is None else clip(text, ALERT_MAX)


async def answer(
    update: Update, context: KaoheContext, text: str | None = None, *, alert: bool = False
) -> bool:
    """Answer the press (at most once); if Telegram refuses or the network fails, say ``text``
    in the chat instead. Return whether the answer itself got through.

    Call it after the press's work is written, never before: see the module's note.
    """
    query = update.callback_query
    if query is None:
        return False
    try:
        await query.answer(_short(text), show_alert=alert)
    except (BadRequest, NetworkError) as exc:
        log.info("callback answer failed (%s); telling the chat instead", type(exc).__name__)
        chat = update.effective_chat
        if text and chat is not None:
            try:
                await context.bot.send_message(chat.id, text)
            except TelegramError:
                log.warning("could not tell the chat either", exc_info=True)
        return False
    return True


async def refuse(update: Update, context: KaoheContext, template: str, **values: object) -> None:
    """Answer a press that changes nothing with an alert saying why (rendered as plain text)."""
    text = context.texts.render_plain(context.lang, template, **values)
    await answer(update, context, text, alert=True)


async def stale(update: Update, context: KaoheContext) -> None:
    """Answer a press this bot would not have built (forged, or from an older version)."""
    context.set_outcome(update.update_id, "stale")
    await refuse(update, context, "access/stale_short")


async def show(
    bot: Bot,
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    resend: bool = True,
) -> None:
    """Show ``text`` in the message ``message_id``: edit it in place.

    An edit that changes nothing (a repeated press) is no error. A message that is gone (deleted
    by the person) gets the view as a new message when ``resend``, so the person is never left
    without the screen they asked for; any other refusal goes on to the error handler.
    """
    try:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except BadRequest as exc:
        problem = exc.message.lower()
        if "not modified" in problem:
            return
        if ("not found" in problem and resend) or "no text in the message" in problem:
            # Gone (deleted by the person), or a photo or file (a press forged onto one): the
            # view the person asked for comes as a new message.
            log.info("message %s cannot show the view; sending it afresh", message_id)
            await bot.send_message(chat_id, text, reply_markup=markup)
            return
        raise


async def edit(
    message: object, text: str, markup: InlineKeyboardMarkup | None, *, resend: bool = False
) -> None:
    """:func:`show` in the message a press came from (nothing when it is inaccessible)."""
    if isinstance(message, Message):
        await show(
            message.get_bot(), message.chat.id, message.message_id, text, markup, resend=resend
        )


async def strip_buttons(context: KaoheContext, chat_id: int, message_id: int | None) -> None:
    """Take the buttons off an earlier message (best effort: it may be gone)."""
    if message_id is None:
        return
    try:
        await context.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=None
        )
    except BadRequest:
        return
