"""What the conversations of the capabilities (self-score, rating, office records) share.

Each of them is a ``ConversationHandler`` holding only message and command handlers, with its
buttons in a nested ``per_message=True`` conversation of callback-query handlers
(:func:`button_conversation`) and ``/cancel`` as its fallback
(:meth:`TypedQuestions.cancel_fallback`). That is how python-telegram-bot nests conversations
without its ``per_message`` warning: the nested conversation never keeps a state of its own, it
only maps each press onto the state the parent should be in (``map_to_parent``). As an entry point
of the parent it works in any state of the parent, also after a restart.

Several of them can be waiting for typed text at once: a head half-way through his own self-score
taps "type a number" on a rating, or the clerk leaves a discipline record at its note and starts
his self-score. A typed message answers the question put most recently that is still open
(:class:`TypedQuestions`), whichever conversation python-telegram-bot hands it to; when that
question is answered or left, the one put before it is open again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, ClassVar

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, filters

from bot.chat import keyboards
from bot.chat.context import KaoheContext

END = ConversationHandler.END
PRIVATE = filters.ChatType.PRIVATE

Callback = Callable[[Update, KaoheContext], Coroutine[Any, Any, object]]
# What a conversation forgets on /cancel; may return values for its "cancelled" template.
Forget = Callable[[Update, KaoheContext], Coroutine[Any, Any, dict[str, Any] | None]]
# user_data key: the conversations that asked for typed text, the most recent last (JSON list).
ASKED = "asked"


def button_conversation(
    callback: Callback, *, family: keyboards.Family, name: str, parent_states: Iterable[object]
) -> ConversationHandler[Any]:
    """The buttons of ``family`` as a nested conversation that ends at once.

    Whatever ``callback`` returns is the parent's next state: one of ``parent_states``, ``END``
    to end the parent, or None to leave the parent where it is. ``per_message=True`` with only
    callback-query handlers is what python-telegram-bot expects of buttons in a conversation.
    """
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(callback, pattern=family.pattern)],
        states={},
        fallbacks=[],
        per_chat=True,
        per_user=True,
        per_message=True,
        name=name,
        persistent=True,
        map_to_parent={**{state: state for state in parent_states}, END: END},
    )


class TypedQuestions:
    """The questions of one conversation that wait for typed text (or a file), by recency.

    Each conversation keeps its own question in ``user_data`` (``is_open`` says whether there is
    one) and calls :meth:`asked` whenever it puts one. Its message handlers are wrapped by
    :meth:`answers`: a message goes to the conversation whose open question is the most recent,
    even when another conversation's handler caught it (python-telegram-bot gives a message to the
    first conversation in the group that is waiting for one). ``/cancel`` leaves that same
    conversation (:meth:`cancel_fallback`). A question whose conversation has moved on no longer
    counts, so a newer question that is answered or left gives the turn back to the older one.
    """

    _all: ClassVar[dict[str, TypedQuestions]] = {}

    def __init__(self, owner: str, *, is_open: Callable[[KaoheContext], bool]) -> None:
        self.owner = owner
        self.is_open = is_open
        self._answer: Callback | None = None
        self._cancel: Callback | None = None
        TypedQuestions._all[owner] = self

    def asked(self, context: KaoheContext) -> None:
        """This conversation has just put a question: it is the most recent now."""
        if context.user_data is None:
            return
        order = [o for o in context.user_data.get(ASKED, ()) if o != self.owner]
        context.user_data[ASKED] = [*order, self.owner]

    @staticmethod
    def current(context: KaoheContext) -> TypedQuestions | None:
        """The conversation whose open question is the most recent; forgets the closed ones."""
        if context.user_data is None:
            return None
        order = context.user_data.get(ASKED)
        if not isinstance(order, list):
            return None
        still = [
            o for o in order if o in TypedQuestions._all and TypedQuestions._all[o].is_open(context)
        ]
        if still != order:
            if still:
                context.user_data[ASKED] = still
            else:
                context.user_data.pop(ASKED, None)
        return TypedQuestions._all[still[-1]] if still else None

    def answers(self, handler: Callback) -> Callback:
        """``handler`` takes this conversation's answers; the wrapper hands a message to the
        conversation asked most recently, keeping the catching conversation where it is."""
        self._answer = handler

        @functools.wraps(handler)
        async def routed(update: Update, context: KaoheContext) -> object:
            latest = self.current(context)
            if latest is None or latest is self or latest._answer is None:
                return await handler(update, context)
            await latest._answer(update, context)
            return None

        return routed

    def cancel_fallback(
        self, forget: Forget, *, outcome: str, template: str, remove_keyboard: bool = False
    ) -> CommandHandler[KaoheContext, object]:
        """``/cancel`` in a private chat: leave the conversation asked most recently.

        ``forget`` drops this conversation's state; ``template`` is rendered with the values it
        returns (if any); ``remove_keyboard`` also takes away a reply keyboard it showed. When
        another conversation asked more recently, that one is left instead, and this one keeps
        its place if its own question is still open.
        """

        async def cancel(update: Update, context: KaoheContext) -> object:
            message = update.effective_message
            assert message is not None
            values = await forget(update, context) or {}
            context.set_outcome(update.update_id, outcome)
            await message.reply_text(
                context.render(template, **values),
                reply_markup=ReplyKeyboardRemove() if remove_keyboard else None,
            )
            return END

        self._cancel = cancel

        async def cancel_cmd(update: Update, context: KaoheContext) -> object:
            """Leave the conversation; nothing that was saved before is undone."""
            latest = self.current(context)
            if latest is None or latest is self or latest._cancel is None:
                return await cancel(update, context)
            await latest._cancel(update, context)
            return None if self.is_open(context) else END

        return CommandHandler("cancel", cancel_cmd, filters=PRIVATE)
