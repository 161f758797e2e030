"""What the conversations of the capabilities (self-score, rating, office records) share.

Each of them is a ``ConversationHandler`` holding only message and command handlers, with its
buttons in a nested ``per_message=True`` conversation of callback-query handlers
(:func:`button_conversation`) and ``/cancel`` as its fallback (:func:`cancel_fallback`). That is
how python-telegram-bot nests conversations without its ``per_message`` warning: the nested
conversation never keeps a state of its own, it only maps each press onto the state the parent
should be in (``map_to_parent``). As an entry point of the parent it works in any state of the
parent, also after a restart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from telegram import ReplyKeyboardRemove, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, filters

from bot import keyboards
from bot.context import KaoheContext

END = ConversationHandler.END
PRIVATE = filters.ChatType.PRIVATE

Callback = Callable[[Update, KaoheContext], Awaitable[object]]
# What a conversation forgets on /cancel; may return values for its "cancelled" template.
Forget = Callable[[Update, KaoheContext], Awaitable[dict[str, Any] | None]]


def button_conversation(
    callback: Callback, *, family: str, name: str, parent_states: Iterable[object]
) -> ConversationHandler[Any]:
    """The buttons of ``family`` as a nested conversation that ends at once.

    Whatever ``callback`` returns is the parent's next state: one of ``parent_states``, ``END``
    to end the parent, or None to leave the parent where it is. ``per_message=True`` with only
    callback-query handlers is what python-telegram-bot expects of buttons in a conversation.
    """
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(callback, pattern=keyboards.pattern(family))],
        states={},
        fallbacks=[],
        per_chat=True,
        per_user=True,
        per_message=True,
        name=name,
        persistent=True,
        map_to_parent={**{state: state for state in parent_states}, END: END},
    )


def cancel_fallback(
    forget: Forget, *, outcome: str, template: str, remove_keyboard: bool = False
) -> CommandHandler[KaoheContext, object]:
    """``/cancel`` in a private chat: ``forget`` the conversation's state, say so, end it.

    ``template`` is rendered with the values ``forget`` returns (if any); ``remove_keyboard``
    also takes away a reply keyboard the conversation showed.
    """

    async def cancel_cmd(update: Update, context: KaoheContext) -> object:
        """Leave the conversation; nothing that was saved before is undone."""
        message = update.effective_message
        assert message is not None
        values = await forget(update, context) or {}
        context.set_outcome(update.update_id, outcome)
        await message.reply_text(
            context.render(template, **values),
            reply_markup=ReplyKeyboardRemove() if remove_keyboard else None,
        )
        return END

    return CommandHandler("cancel", cancel_cmd, filters=PRIVATE)


@contextlib.contextmanager
def ignore_not_modified() -> Iterator[None]:
    """Around an edit of a message: an edit that changes nothing (a repeated press) is no error.

    Telegram refuses such an edit with "message is not modified"; every other error goes on.
    """
    try:
        yield
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
