"""A voter's hands on the ballot: find it, read its rows, grade through its buttons, cast it.

Shared by the ballot tests, the month end to end and the crash test, which all vote as a person
would: through the buttons of the message the bot sent.
"""

from __future__ import annotations

from typing import Any

from bot.emulator.simulator import SimMessage, SimUser


def ballot_message(user: SimUser) -> SimMessage:
    """The voter's latest message with buttons (AssertionError if there is none)."""
    found = next((m for m in reversed(user.messages()) if m.callback_data), None)
    assert found is not None, f"no message with buttons in chat {user.chat_id}"
    return found


def names_on(message: SimMessage) -> list[str]:
    """The colleagues on the shown page: the first button of each grading row."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [row[0]["text"] for row in rows if len(row) == 5]


def grade_data(message: SimMessage, name: str, grade_label: str) -> str:
    """The callback data of ``name``'s grade button (plain or marked as chosen)."""
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        if len(row) == 5 and row[0]["text"] == name:
            for button in row[1:]:
                if button["text"] == grade_label or button["text"].endswith(" " + grade_label):
                    return str(button["callback_data"])
    raise AssertionError(f"no {grade_label} button for {name} in {message.buttons}")


def ballot_row(message: SimMessage, name: str) -> list[str]:
    return next(row for row in message.buttons if row and row[0] == name)


async def grade_one(user: SimUser, name: str, grade: str, texts: Any, lang: str = "zh") -> Any:
    message = ballot_message(user)
    label = texts.label(lang, f"ballot.grade.{grade}")
    return await user.press_data(grade_data(message, name, label), message_id=message.message_id)


async def fill_ballot(user: SimUser, texts: Any, choose: Any, lang: str = "zh") -> dict[str, str]:
    """Grade every colleague on every page through the buttons; ``choose(name) -> grade``."""
    given: dict[str, str] = {}
    while True:
        for name in names_on(ballot_message(user)):
            grade = choose(name)
            await grade_one(user, name, grade, texts, lang)
            given[name] = grade
        nxt = texts.label(lang, "ballot.next")
        if nxt not in ballot_message(user).labels:
            return given
        await user.press(nxt, message=ballot_message(user))


async def cast_ballot(user: SimUser, texts: Any, choose: Any) -> dict[str, str]:
    """/vote, grade everyone, Submit, confirm."""
    await user.command("vote")
    given = await fill_ballot(user, texts, choose)
    await user.press(texts.label("zh", "ballot.submit", n=len(given)), message=ballot_message(user))
    answer = await user.press(texts.label("zh", "ballot.confirm"), message=ballot_message(user))
    assert answer.answered and not answer.show_alert
    return given
