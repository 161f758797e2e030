"""After a ballot is cast, the database keeps no older page images of the tallies (SQLite's
write-ahead log is checkpointed and truncated) and deleted drafts are overwritten."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from storage.engine import sqlite_path
from tests.harness.ballot import cast_ballot


async def test_cast_leaves_no_old_versions_behind(town: Any, texts: Any, backend: str) -> None:
    period = await town.open_month(2026, 11)
    voter = await town.signup("吴磊")
    await cast_ballot(voter, texts, lambda name: "good")
    async with town.services.engine.connect() as connection:
        if backend == "sqlite":
            assert (await connection.execute(text("PRAGMA secure_delete"))).scalar() == 1
        counts = await connection.execute(
            text("select sum(count) from ballot_tally where period_id = :p"), {"p": period.id}
        )
        assert counts.scalar() == 11
    if backend == "sqlite":
        database = sqlite_path(town.services.settings.resolved_database_url)
        assert database is not None
        assert _wal_size(database) == 0


def _wal_size(database: Path) -> int:
    wal = Path(f"{database}-wal")
    return wal.stat().st_size if wal.exists() else 0
