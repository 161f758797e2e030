"""Fixtures of the command-line tests: ``kaohe`` runs the command in-process, ``db`` points it at
the test's database (SQLite and PostgreSQL). A test module may define its own of either name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli.main import main

Kaohe = Callable[..., tuple[int, str, str]]


@pytest.fixture
def kaohe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Kaohe:
    """Run ``kaohe ARGS`` in an empty folder (no stray ``.env``) as the office of 青山镇, in
    Chinese; return (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UNIT_NAME", "青山镇")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "zh")
    monkeypatch.delenv("SCHEME_FILE", raising=False)
    monkeypatch.delenv("LEADERSHIP_CHAT_ID", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    """The test's database, as ``kaohe`` reads it (DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url
