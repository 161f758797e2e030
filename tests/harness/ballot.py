"""A voter's hands on the ballot: find it, read its rows, grade through its buttons, cast it.

Shared by the ballot tests, the month end to end and the crash test, which all vote as a person
would: through the buttons of the message the bot sent. A colleague is a row with their name
(``vote:who:``) followed by a row of the four grades (``vote:set:``); a department's heading
(``vote:dep:``) stands on a row of its own above its people.
"""

from __future__ import annotations

from typing import Any

from bot.emulator.simulator import SimMessage, SimUser


def ballot_message(user: SimUser) -> SimMessage:
    """The voter's latest message with buttons (AssertionError if there is none)."""
    found = next((m for m in reversed(user.messages()) if m.callback_data), None)
    assert found is not None, f"no message with buttons in chat {user.chat_id}"
    return found


def _rows(message: SimMessage) -> list[list[dict[str, Any]]]:
    return list((message.reply_markup or {}).get("inline_keyboard", []))


def _data(button: dict[str, Any]) -> str:
    return str(button.get("callback_data", ""))


def names_on(message: SimMessage) -> list[str]:
    """The colleagues on the shown page, as their name buttons read."""
    return [b["text"] for row in _rows(message) for b in row if _data(b).startswith("vote:who:")]


def headings_on(message: SimMessage) -> list[str]:
    """The departments' headings on the shown page."""
    return [b["text"] for row in _rows(message) for b in row if _data(b).startswith("vote:dep:")]


def _grades(message: SimMessage, name: str) -> list[dict[str, Any]]:
    """The grade buttons of ``name``'s row: the row after their name's."""
    rows = _rows(message)
    for index, row in enumerate(rows):
        if len(row) == 1 and _data(row[0]).startswith("vote:who:") and row[0]["text"] == name:
            ratee = _data(row[0]).split(":")[3]
            grades = rows[index + 1]
            assert all(_data(b).split(":")[3] == ratee for b in grades), grades
            return grades
    raise AssertionError(f"no row for {name} in {message.buttons}")


def grade_data(message: SimMessage, name: str, grade_label: str) -> str:
    """The callback data of ``name``'s grade button (plain or marked as chosen)."""
    for button in _grades(message, name):
        if button["text"] == grade_label or button["text"].endswith(" " + grade_label):
            return _data(button)
    raise AssertionError(f"no {grade_label} button for {name} in {message.buttons}")


def ballot_row(message: SimMessage, name: str) -> list[str]:
    """``name`` and the labels of their grade buttons."""
    return [name] + [b["text"] for b in _grades(message, name)]


async def grade_one(user: SimUser, name: str, grade: str, texts: Any, lang: str = "zh") -> Any:
    message = ballot_message(user)
    label = texts.label(lang, f"ballot.short.{grade}")
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
