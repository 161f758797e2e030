"""``kaohe`` in one language: ``--help``, usage mistakes and every output in the office's
``DEFAULT_LANGUAGE`` (Chinese by default), in words a clerk uses.

Help texts come from ``templates/<lang>/cli/help.toml``; these tests check that every command
and option of the real parser has one in both languages, and that argparse's English does not
leak into a Chinese screen.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli.help import help_texts, parsers
from bot.cli.main import EXIT_OK, EXIT_USAGE, build_parser, main
from bot.core.texts import LANGUAGES, Texts

ROOT = Path(__file__).resolve().parents[2]
Kaohe = Callable[..., tuple[int, str, str]]

#: argparse's own words, which must not appear on a Chinese screen.
ARGPARSE_ENGLISH = (
    "usage:",
    "positional arguments",
    "options:",
    "show this help message",
    "error:",
    "the following arguments are required",
    "invalid choice",
    "invalid int value",
)
#: Words a township clerk would not use (the issue's examples, and their kin).
JARGON = ("指纹", "计票", "冻结", "（空）", "空数据库", "长轮询", "键名", "不认识的键", "窗口")


@pytest.fixture
def kaohe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Kaohe:
    """Run ``kaohe ARGS`` in an empty folder; return (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")  # one line a help text, whatever the terminal
    for name in ("DEFAULT_LANGUAGE", "SCHEME_FILE", "BOT_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _has_han(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def test_help_is_in_chinese_by_default(kaohe: Kaohe, texts: Texts) -> None:
    tree = help_texts(texts, "zh")
    code, out, _ = kaohe("--help")
    assert code == EXIT_OK
    assert out.startswith("用法：kaohe") and tree["kaohe"]["_"] in out
    for command in ("run", "check", "roster", "invite", "periods", "score", "leave"):
        assert tree[command]["_"] in out, command
    assert "参数：" in out and "选项：" in out and tree["argparse"]["help"] in out
    assert not any(word in out for word in ARGPARSE_ENGLISH), out

    code, out, _ = kaohe("periods", "reopen", "--help")
    assert code == EXIT_OK
    assert "用法：kaohe periods reopen [-h] --until 截止时间 --reason 原因 考核期" in out
    assert tree["periods"]["reopen"]["_"] in out and tree["periods"]["reopen"]["reason"] in out
    assert not any(word in out for word in ARGPARSE_ENGLISH), out


def test_help_follows_default_language(kaohe: Kaohe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    code, out, _ = kaohe("periods", "open", "--help")
    assert code == EXIT_OK
    assert out.startswith("usage: kaohe periods open [-h] [--until DEADLINE] PERIOD")
    assert "open a month now" in out and not _has_han(out)
    # .env says it too, and a language the bot does not speak falls back to Chinese.
    monkeypatch.delenv("DEFAULT_LANGUAGE")
    Path(".env").write_text("DEFAULT_LANGUAGE=en\n", encoding="utf-8")
    assert kaohe("--help")[1].startswith("usage: kaohe")
    Path(".env").write_text("DEFAULT_LANGUAGE=fr\nTIMEZONE=Mars/Olympus\n", encoding="utf-8")
    assert kaohe("--help")[1].startswith("用法：kaohe")


def test_usage_mistakes_are_said_in_the_office_language(kaohe: Kaohe) -> None:
    code, _, err = kaohe("periods", "reopen", "2026-01")
    assert code == EXIT_USAGE
    assert "kaohe periods reopen：缺少 --until、--reason。" in err
    assert "看完整用法：kaohe periods reopen --help" in err
    code, _, err = kaohe("perods")
    assert code == EXIT_USAGE and "没有“perods”这个命令，可以用：run、db、roster" in err
    code, _, err = kaohe("periods", "create", "明年")
    assert code == EXIT_USAGE and "年份 要写整数，现在是“明年”" in err
    code, _, err = kaohe("roster", "import")
    assert code == EXIT_USAGE and "缺少 文件" in err
    code, _, err = kaohe("check", "--verbose")
    assert code == EXIT_USAGE and "多出了看不懂的内容：--verbose" in err
    for args in (("periods", "reopen", "2026-01"), ("perods",), ("periods", "create", "明年")):
        err = kaohe(*args)[2]
        assert not any(word in err for word in ARGPARSE_ENGLISH), err


def test_every_command_and_option_has_help_in_every_language(texts: Texts) -> None:
    """A command or option added without its help lines fails here (both languages)."""
    for lang in LANGUAGES:
        tree = help_texts(texts, lang)
        parser = build_parser(lang, texts)
        for path, each in parsers(parser):
            assert each.description, (lang, path)
            for action in each._actions:
                if isinstance(action, argparse._SubParsersAction):
                    listed = [choice.dest for choice in action._choices_actions]
                    assert listed == list(action.choices), (lang, path)
                    assert all(choice.help for choice in action._choices_actions), (lang, path)
                    continue
                assert action.help, (lang, path, action.dest)
                shown = action.metavar if action.nargs != 0 else None
                if lang == "zh" and shown is not None:
                    assert _has_han(str(shown)), (path, action.dest, shown)
        assert tree["argparse"]["usage"]

    def keys(table: object, prefix: str = "") -> set[str]:
        if not isinstance(table, dict):
            return {prefix}
        return {k for name, value in table.items() for k in keys(value, f"{prefix}.{name}")}

    assert keys(help_texts(texts, "zh")) == keys(help_texts(texts, "en"))


def test_outputs_use_a_clerks_words(
    kaohe: Kaohe, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("UNIT_NAME", "青山镇")
    outputs = []
    for args in (
        ("scheme", "check", str(ROOT / "examples" / "scheme.toml")),
        ("scheme", "show"),
        ("roster", "import", str(ROOT / "examples" / "roster.xlsx")),
        ("periods", "create", "2026"),
        ("periods", "open", "2026-11", "--until", "2099-12-05"),
        ("periods", "list", "--year", "2026"),
        ("scheme", "show", "--period", "2026-11"),
        ("db", "current"),
        ("check",),
    ):
        code, out, err = kaohe(*args)
        assert code in (EXIT_OK, 1), (args, out, err)
        outputs.append(out + err)
    text = "\n".join(outputs)
    assert not [word for word in JARGON if word in text], text
    assert "方案编号" in text and "本月要进行民主测评" in text
    assert "数据库结构是最新的" in text
