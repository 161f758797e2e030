"""Long listings are packed into as few messages as fit, and nothing is dropped or cut inside
HTML (bot.core.texts.pack_messages)."""

from __future__ import annotations

import re

from bot.core.texts import MESSAGE_LIMIT, pack_messages


def _balanced(html: str) -> bool:
    return html.count("<b>") == html.count("</b>") and not re.search(r"&[a-z]*$", html)


def test_a_line_longer_than_a_message_is_split_between_items_outside_tags() -> None:
    line = "、".join(f"<b>干部{i:04d}</b>（第&amp;{i % 9}办）" for i in range(900))
    messages = pack_messages(["<b>没有提交自评</b>", line])
    assert len(messages) > 1
    assert all(len(m) <= MESSAGE_LIMIT for m in messages)
    assert all(_balanced(m) for m in messages)
    joined = "".join(m.replace("\n", "") for m in messages)
    for i in range(900):
        assert f"<b>干部{i:04d}</b>" in joined


def test_blocks_that_fit_together_share_a_message() -> None:
    assert pack_messages(["a", "", "b"]) == ["a\n\nb"]
    big = "x" * (MESSAGE_LIMIT - 10)
    assert pack_messages([big, "yyyyyyyyyyyy"]) == [big, "yyyyyyyyyyyy"]
