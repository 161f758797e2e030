"""Killed between a commit and its reply: after a restart, each confirmed step happened once.

The people walk up to the last button in the test's own Application (the same database and the
same fake Telegram); then ``kaohe run`` takes over as a separate process polling the fake Bot API
over HTTP. For each kind of confirmed step (self-score submit, head rating confirm, ballot cast,
office confirm) the fake Bot API never answers the bot's reply to the press, the test kills the
process with SIGKILL while it waits, checks the step is in the database already, starts the bot
again and checks that the redelivered press and a second tap change nothing. An update whose
handling died before anything was written (a /help whose reply never left) is handled after the
restart: the claim of an update commits with its work, never before it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.server import BotApiServer, serve
from bot.emulator.telegram import FakeTelegram
from storage.models import (
    AuditLog,
    BallotParticipation,
    BallotTally,
    BonusEntry,
    Rating,
    RatingSource,
)
from tests.conftest import TEST_TOKEN
from tests.harness.appraisal import L, answer_all, item, person, submit_self
from tests.harness.ballot import ballot_message, fill_ballot

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


@dataclass
class BotProcess:
    """``kaohe run`` against the fake Bot API server, started, killed and started again."""

    server: BotApiServer
    fake: FakeTelegram
    env: dict[str, str]
    cwd: Path
    logs: list[str] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = None
    args: tuple[str, ...] = ()  # more arguments of ``kaohe run``

    async def start(self) -> None:
        polls = self.fake.polls_started
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            *self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        # Ready when it long-polls: its handlers are registered and it fetches updates.
        await self.fake.wait_for(
            lambda: (
                (self.fake.polls_started > polls and self.fake.polls_waiting > 0) or self._exited()
            ),
            timeout=60,
            message="kaohe run did not start polling",
        )
        assert not self._exited(), await self._output()

    def _exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def _output(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        return (await self.process.stdout.read()).decode()

    async def kill(self) -> str:
        """SIGKILL: no shutdown, no flush, no acknowledgement of fetched updates."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), timeout=30)
        output = await self._output()
        self.logs.append(output)
        self.process = None
        return output

    async def stop(self) -> str:
        if self.process is None:
            return ""
        self.process.terminate()
        await asyncio.wait_for(self.process.wait(), timeout=30)
        output = await self._output()
        self.logs.append(output)
        self.process = None
        return output


@asynccontextmanager
async def bot_process(
    fake: FakeTelegram, settings: Any, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    async with serve(fake) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
        env.update(
            BOT_TOKEN=TEST_TOKEN,
            BOT_USERNAME=settings.bot_username,
            TELEGRAM_API_BASE_URL=server.base_url,
            TELEGRAM_API_FILE_URL=server.base_file_url,
            DATABASE_URL=settings.database_url,
            DATA_DIR=str(settings.data_dir),
            UNIT_NAME=settings.unit_name,
            LOG_LEVEL="INFO",
        )
        env.pop("WEBHOOK_URL", None)
        bot = BotProcess(server=server, fake=fake, env=env, cwd=tmp_path)
        try:
            yield bot
        finally:
            if bot.process is not None:
                await bot.kill()
            # Shown by pytest when the test fails: what each run of the bot logged.
            for number, output in enumerate(bot.logs, 1):
                print(f"--- kaohe run #{number} ---\n{output}")


def _data(message: Any, label: str) -> str:
    return str(message.button(label)["callback_data"])


async def _count(town: Any, statement: Any) -> int:
    async with town.services.sessions() as session:
        return len((await session.exec(statement)).all())


async def _submitted(town: Any, name: str, source: RatingSource) -> int:
    cadre = await town.cadre(name)
    return await _count(
        town,
        select(Rating)
        .where(Rating.ratee_id == cadre.id)
        .where(Rating.source == source.value)
        .where(Rating.submitted_at.is_not(None)),  # type: ignore[union-attr]  # present in this test's data
    )


async def test_each_confirmed_step_happens_once_across_a_kill_and_a_restart(
    town: Any, sim: Any, texts: Any, fake: FakeTelegram, settings: Any, tmp_path: Path
) -> None:
    period = await town.open_month(2026, 11)

    # Up to the last button, in this test's own Application.
    scorer = await town.signup("冯超")
    await scorer.command("selfscore")
    await answer_all(scorer, ["80", "跳过", "90", "跳过"])
    summary = scorer.last()
    submit = next(d for d in summary.callback_data if ":submit:" in d)

    await submit_self(town, period, "卫红梅", {"duty": "85", "central": "90"})
    head = await town.signup("陈静")
    await head.command("rate")
    await head.press(person(texts, "todo", "卫红梅"))
    await head.press(item(texts, "本职工作"))
    await head.press(L(texts, "rate.same_self", value="85.0"))
    await head.press("90")
    card = head.last()
    confirm_rating = next(d for d in card.callback_data if d.startswith("rate:ok:"))

    voter = await town.signup("吴磊")
    await voter.command("vote")
    given = await fill_ballot(voter, texts, lambda name: "good")
    await voter.press(L(texts, "ballot.submit", n=len(given)), message=ballot_message(voter))
    ballot = ballot_message(voter)
    cast = _data(ballot, L(texts, "ballot.confirm"))

    clerk = await town.signup("周晓燕")
    await clerk.command("reward")
    await clerk.press("党政办公室")
    await clerk.press("吴磊")
    await clerk.press(L(texts, "office.onward", n=1))
    await clerk.send("200")
    await clerk.send("季度工作突出")
    record = clerk.last()
    confirm_record = _data(record, L(texts, "office.confirm"))

    reader = await town.signup("李明")

    # From here on the bot is `kaohe run`; this Application stops, its state written through.
    await sim.__aexit__(None, None, None)
    assert not any(c.status == 0 for c in fake.calls)
    sim.via = "polling"
    sim.answer_timeout = 1.0

    async with bot_process(fake, settings, tmp_path) as bot:
        await bot.start()

        # A read-only update that died before its reply: handled again after the restart. The
        # bot's next getUpdates, which would acknowledge the update, never reaches Telegram
        # either: the update is delivered again, as it is when a process dies right after a
        # fetch (or a webhook post goes unanswered).
        fake.confirmations_lost = True
        fake.fail_next("sendMessage", hang=True)
        mark = reader.mark()
        await reader.command("help")
        await fake.wait_for(
            lambda: any(c.status == 0 for c in fake.calls_to("sendMessage")), timeout=30
        )
        await bot.kill()
        fake.confirmations_lost = False
        assert reader.inbox_since(mark) == []
        await bot.start()
        assert "/whoami" in (await reader.wait_for_message(mark, timeout=30)).text

        steps = [
            (scorer, submit, summary.message_id, "answerCallbackQuery"),
            (head, confirm_rating, card.message_id, "answerCallbackQuery"),
            (voter, cast, ballot.message_id, "answerCallbackQuery"),
            (clerk, confirm_record, record.message_id, "answerCallbackQuery"),
        ]

        async def effects() -> tuple[int, int, int, int, int]:
            ballots = await _count(town, select(BallotParticipation))
            async with town.services.sessions() as session:
                tallies = (
                    await session.exec(
                        select(BallotTally).where(BallotTally.period_id == period.id)
                    )
                ).all()
            return (
                await _submitted(town, "冯超", RatingSource.SELF),
                await _submitted(town, "卫红梅", RatingSource.HEAD),
                ballots,
                sum(t.count for t in tallies),
                await _count(town, select(BonusEntry)),
            )

        expected = [
            (1, 0, 0, 0, 0),
            (1, 1, 0, 0, 0),
            (1, 1, 1, len(given), 0),
            (1, 1, 1, len(given), 1),
        ]
        for (user, data, message_id, reply), after in zip(steps, expected, strict=True):
            hung = len(fake.calls_to(reply))
            fake.confirmations_lost = True
            fake.fail_next(reply, hang=True)
            await user.press_data(data, message_id=message_id)
            await fake.wait_for(
                lambda reply=reply, hung=hung: any(
                    c.status == 0 for c in fake.calls_to(reply)[hung:]
                ),
                timeout=30,
                message=f"the bot did not reply to {data}",
            )
            await bot.kill()
            fake.confirmations_lost = False
            # Written before the reply was attempted.
            assert await effects() == after, data

            await bot.start()
            # The press fetched before the kill comes again and is dropped as handled; then a
            # second tap on the button the person still sees (one person's updates run in
            # order, so its answer comes after the redelivery was dealt with): nothing new.
            again = await user.press_data(data, message_id=message_id)
            await fake.wait_for(
                lambda query=again.query_id: fake.callback_answer(query) is not None, timeout=30
            )
            assert await effects() == after, data

        await bot.stop()
        logs = "\n".join(bot.logs)

    assert "update handling failed" not in logs and "-> error:" not in logs, logs
    assert TEST_TOKEN not in logs
    assert sum(1 for line in logs.splitlines() if "-> duplicate" in line) == len(steps), logs
    try:
        for action in ("selfscore.change", "rating.change"):
            assert await _count(town, select(AuditLog).where(AuditLog.action == action)) == 0
    finally:
        await town.services.engine.dispose()  # the stopped Application's, used for the checks


async def test_run_on_a_simulated_clock_says_so_and_runs_the_calendar_by_it(
    town: Any, sim: Any, fake: FakeTelegram, settings: Any, tmp_path: Path
) -> None:
    """``kaohe run --clock WHEN --speed N``: logged loudly at start, shown in /whoami, and the
    calendar runs on it (the month whose window the clock is in opens)."""
    await town.create_years(2026)
    reader = await town.signup("吴磊")
    await sim.__aexit__(None, None, None)
    sim.via = "polling"
    async with bot_process(fake, settings, tmp_path) as bot:
        bot.args = ("--clock", "2026-11-25T10:00", "--speed", "60")
        await bot.start()
        mark = reader.mark()
        await reader.command("whoami")
        shown = (await reader.wait_for_message(mark, timeout=30)).text
        assert "模拟时钟" in shown and "11月25日" in shown and "60 倍速" in shown
        # The November window opened on the simulated 25th: 吴磊 is told.
        await fake.wait_for(
            lambda: any("2026年11月考核开始了" in m.text for m in reader.inbox_since(mark)),
            timeout=30,
            message="the opening of November did not come",
        )
        log = await bot.stop()
    assert "SIMULATED CLOCK" in log and "2026-11-25T10:0" in log


async def test_run_refuses_a_clock_it_cannot_read(settings: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.update(BOT_TOKEN=TEST_TOKEN, DATABASE_URL=settings.database_url, DEFAULT_LANGUAGE="zh")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--clock",
        "下周一",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(process.communicate(), timeout=60))[0].decode()
    assert process.returncode == 2
    assert "下周一" in output and "Traceback" not in output
