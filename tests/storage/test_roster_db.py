"""Importing the roster into the database, on SQLite and on PostgreSQL.

The office re-imports its sheet whenever someone joins, leaves or changes post, so the import
must be repeatable: same sheet, no change; a changed cell, an in-place update with an audit
record; a bad sheet, no change at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event, func, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.texts import Texts
from bot.rules.roles import Role
from bot.rules.roster import RosterFileError, RosterRow
from bot.sheets.roster import read_roster, write_roster
from storage.engine import create_engine, make_session_factory
from storage.models import AuditLog, Cadre, Unit, utcnow
from storage.queries.roster import (
    ImportReport,
    PersonRef,
    RosterImportError,
    department_members,
    departments,
    ensure_unit,
    find_cadres_by_name,
    get_cadre_by_telegram,
    heads_of,
    import_roster,
    list_cadres,
    roster_rows,
    supervised_heads,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "roster.xlsx"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


async def _postgres_engine() -> tuple[AsyncEngine, str]:
    """An engine whose connections all live in a fresh schema of the test database.

    A private schema (dropped afterwards) isolates this test from earlier runs and from other
    test files using the same database at the same time.
    """
    schema = f"t_{uuid4().hex[:16]}"
    engine = create_engine(PG_URL)

    @event.listens_for(engine.sync_engine, "connect", insert=True)
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET SESSION search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.autocommit = autocommit

    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        await engine.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    return engine, schema


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncSession]:
    """A session on empty tables; the caller commits, as the bot's handlers do."""
    schema = None
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'kaohe.db'}")
    else:
        engine, schema = await _postgres_engine()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
        async with make_session_factory(engine)() as session:
            yield session
    finally:
        if schema is not None:
            async with engine.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


@pytest.fixture
async def unit(db_session: AsyncSession) -> Unit:
    unit = await ensure_unit(session=db_session, name="xx镇", timezone="Asia/Shanghai")
    await db_session.commit()
    return unit


@pytest.fixture
def example_rows() -> list[RosterRow]:
    return read_roster(EXAMPLE)


async def import_example(session: AsyncSession, unit: Unit, rows: list[RosterRow]) -> ImportReport:
    assert unit.id is not None
    report = await import_roster(session=session, unit_id=unit.id, rows=rows, now=utcnow())
    await session.commit()
    return report


async def count(session: AsyncSession, model: type[SQLModel]) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def audits(session: AsyncSession, action: str | None = None) -> list[AuditLog]:
    statement = select(AuditLog).order_by(col(AuditLog.id))
    if action is not None:
        statement = statement.where(AuditLog.action == action)
    return list((await session.exec(statement)).all())


def replace(rows: list[RosterRow], name: str, **changes: Any) -> list[RosterRow]:
    return [dataclasses.replace(r, **changes) if r.name == name else r for r in rows]


async def test_ensure_unit_is_idempotent_and_follows_the_time_zone(
    db_session: AsyncSession,
) -> None:
    first = await ensure_unit(session=db_session, name="xx镇", timezone="Asia/Shanghai")
    again = await ensure_unit(session=db_session, name="xx镇", timezone="Asia/Urumqi")
    await db_session.commit()

    assert again.id == first.id
    assert again.timezone == "Asia/Urumqi"
    assert await count(db_session, Unit) == 1


async def test_import_the_example_roster(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow]
) -> None:
    assert unit.id is not None
    report = await import_example(db_session, unit, example_rows)

    assert len(report.created) == 15
    assert report.counts == {
        "created": 15,
        "updated": 0,
        "unchanged": 0,
        "reactivated": 0,
        "deactivated": 0,
        "kept": 0,
    }
    assert report.departments_created == [
        "领导班子",
        "党政办公室",
        "经济发展办公室",
        "社会事务办公室",
        "综合治理办公室",
    ]
    depts = await departments(session=db_session, unit_id=unit.id)
    assert [d.name for d in depts] == report.departments_created

    everyone = await list_cadres(session=db_session, unit_id=unit.id)
    # Departments, then the sheet's rank in each: the party secretary first, not by code point.
    assert [c.name for c in everyone[:3]] == ["赵建国", "钱志强", "孙丽华"]
    assert [c.position for c in everyone[:6]] == [0, 1, 2, 0, 1, 2]
    assert sum(c.has(Role.CADRE) for c in everyone) == 12
    assert sorted(c.village for c in everyone if c.is_village_stationed) == ["杨柳村", "石桥村"]

    for department in depts[1:]:
        assert department.id is not None
        (head,) = await heads_of(session=db_session, department_id=department.id)
        assert head.supervisor_id is not None
        members = await department_members(session=db_session, department_id=department.id)
        assert len(members) == 3 and head in members

    (mayor,) = await find_cadres_by_name(session=db_session, unit_id=unit.id, name="钱 志强")
    assert mayor.title == "镇长" and mayor.role_set == {Role.LEADER}
    assert mayor.id is not None
    heads = await supervised_heads(session=db_session, leader_id=mayor.id)
    assert [h.name for h in heads] == ["郑海涛", "陈静"]

    created = await audits(db_session, "roster.create")
    assert len(created) == 15
    li_ming = next(a for a in created if a.new_value and a.new_value["name"] == "李明")
    assert li_ming.old_value is None
    assert li_ming.actor == "cli"
    assert li_ming.new_value is not None
    assert li_ming.new_value["supervisor"] == "赵建国"
    assert li_ming.new_value["roles"] == ["cadre", "head"]


async def test_report_renders_in_both_languages(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow]
) -> None:
    report = await import_example(db_session, unit, example_rows)
    texts = Texts()

    zh = texts.render("zh", "roster/report", report=report)
    en = texts.render("en", "roster/report", report=report, dry_run=True)

    assert zh.startswith("花名册已导入：新增 15 人，更新 0 人")
    assert "李明（党政办公室）" in zh
    assert en.startswith("Trial import (nothing saved): 15 added")


async def test_reimporting_the_same_roster_changes_nothing(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow]
) -> None:
    await import_example(db_session, unit, example_rows)
    audit_count = await count(db_session, AuditLog)

    report = await import_example(db_session, unit, example_rows)

    assert len(report.unchanged) == 15
    assert not report.changed
    assert await count(db_session, AuditLog) == audit_count
    assert "没有改动" in Texts().render("zh", "roster/report", report=report)


async def test_a_changed_row_updates_the_person_in_place_and_is_audited(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow]
) -> None:
    assert unit.id is not None
    await import_example(db_session, unit, example_rows)
    (wang,) = await find_cadres_by_name(session=db_session, unit_id=unit.id, name="王芳")
    wang.telegram_user_id = 1001  # she has signed up in the meantime
    db_session.add(wang)
    await db_session.commit()
    wang_id = wang.id

    rows = replace(example_rows, "王芳", village="柳林村", title="农技员")
    rows = replace(rows, "陈静", supervisor="孙丽华")
    report = await import_example(db_session, unit, rows)

    assert report.updated == [
        PersonRef("王芳", "经济发展办公室"),
        PersonRef("陈静", "社会事务办公室"),
    ]
    assert len(report.unchanged) == 13
    bound = await get_cadre_by_telegram(session=db_session, unit_id=unit.id, telegram_user_id=1001)
    assert bound is not None
    assert (bound.id, bound.village, bound.title) == (wang_id, "柳林村", "农技员")

    updates = await audits(db_session, "roster.update")
    assert (updates[0].entity, updates[0].entity_id) == ("cadre", wang_id)
    assert updates[0].old_value == {"title": "农业服务员", "village": "杨柳村"}
    assert updates[0].new_value == {"title": "农技员", "village": "柳林村"}
    assert updates[1].old_value is not None and updates[1].new_value is not None
    assert updates[1].old_value["supervisor"] == "钱志强"
    assert updates[1].new_value["supervisor"] == "孙丽华"
    assert await count(db_session, Cadre) == 15


async def test_people_missing_from_the_file_are_deactivated_only_with_prune(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow]
) -> None:
    assert unit.id is not None
    await import_example(db_session, unit, example_rows)
    (shen,) = await find_cadres_by_name(session=db_session, unit_id=unit.id, name="沈刚")
    shen.telegram_user_id = 2002
    db_session.add(shen)
    await db_session.commit()
    without_shen = [r for r in example_rows if r.name != "沈刚"]

    kept = await import_example(db_session, unit, without_shen)
    assert not kept.changed
    assert kept.kept == [PersonRef("沈刚", "综合治理办公室")]
    assert "如要停用他们，导入时加 --prune" in Texts().render("zh", "roster/report", report=kept)
    assert len(await list_cadres(session=db_session, unit_id=unit.id)) == 15

    pruned = await import_roster(
        session=db_session,
        unit_id=unit.id,
        rows=without_shen,
        prune=True,
        actor="office:周晓燕",
        now=utcnow(),
    )
    await db_session.commit()
    assert pruned.deactivated == [PersonRef("沈刚", "综合治理办公室")]
    assert "沈刚" not in [c.name for c in await list_cadres(session=db_session, unit_id=unit.id)]
    gone = await get_cadre_by_telegram(session=db_session, unit_id=unit.id, telegram_user_id=2002)
    assert gone is not None and not gone.active  # the gate can tell him he was deactivated
    assert (
        await get_cadre_by_telegram(
            session=db_session, unit_id=unit.id, telegram_user_id=2002, active_only=True
        )
        is None
    )
    (audit,) = await audits(db_session, "roster.deactivate")
    assert (audit.entity_id, audit.actor) == (shen.id, "office:周晓燕")
    assert (audit.old_value, audit.new_value) == ({"active": True}, {"active": False})

    back = await import_example(db_session, unit, example_rows)
    assert back.reactivated == [PersonRef("沈刚", "综合治理办公室")]
    again = await get_cadre_by_telegram(session=db_session, unit_id=unit.id, telegram_user_id=2002)
    assert again is not None and again.id == shen.id


async def test_a_sheet_with_one_bad_row_imports_nothing(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow], tmp_path: Path
) -> None:
    await import_example(db_session, unit, example_rows)
    before = (await count(db_session, Cadre), await count(db_session, AuditLog))

    changed = replace(example_rows, "王芳", village="柳林村")
    changed = replace(changed, "冯超", roles=frozenset({Role.HEAD}), supervisor=None)
    path = tmp_path / "roster.xlsx"
    write_roster(path, changed)
    with pytest.raises(RosterFileError) as caught:
        read_roster(path)
    (issue,) = caught.value.errors
    assert (issue.row, issue.column, issue.code) == (10, "supervisor", "supervisor_required")

    # The same rows handed straight to the import are refused too, before any write.
    unit_id = unit.id
    assert unit_id is not None
    with pytest.raises(RosterImportError):
        await import_roster(session=db_session, unit_id=unit_id, rows=changed, now=utcnow())
    assert not db_session.new and not db_session.dirty
    await db_session.rollback()  # what the caller's unit of work does on an error
    (wang,) = await find_cadres_by_name(session=db_session, unit_id=unit_id, name="王芳")
    assert wang.village == "杨柳村"
    assert (await count(db_session, Cadre), await count(db_session, AuditLog)) == before


async def test_a_supervisor_name_shared_with_someone_staying_is_ambiguous(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow]
) -> None:
    assert unit.id is not None
    await import_example(db_session, unit, example_rows)
    # The party secretary now listed under another department: without prune, the old 赵建国
    # of 领导班子 stays on the roster, and "分管领导 赵建国" could mean either.
    moved = replace(example_rows, "赵建国", department="党委")

    with pytest.raises(RosterImportError) as caught:
        await import_roster(session=db_session, unit_id=unit.id, rows=moved, now=utcnow())
    (issue,) = caught.value.errors
    assert (issue.row, issue.column, issue.code) == (5, "supervisor", "supervisor_ambiguous")
    assert issue.params["departments"] == ["党委", "领导班子"]
    assert not db_session.new and not db_session.dirty

    report = await import_roster(
        session=db_session, unit_id=unit.id, rows=moved, prune=True, now=utcnow()
    )
    await db_session.commit()
    assert report.created == [PersonRef("赵建国", "党委")]
    assert report.deactivated == [PersonRef("赵建国", "领导班子")]
    assert report.updated == [PersonRef("李明", "党政办公室")]  # the new 赵建国 supervises him


async def test_export_then_import_round_trips(
    db_session: AsyncSession, unit: Unit, example_rows: list[RosterRow], tmp_path: Path
) -> None:
    assert unit.id is not None
    await import_example(db_session, unit, example_rows)

    exported = await roster_rows(session=db_session, unit_id=unit.id)
    path = tmp_path / "export.xlsx"
    write_roster(path, exported)
    report = await import_example(db_session, unit, read_roster(path))

    assert len(exported) == 15
    assert [r.row for r in exported] == list(range(2, 17))
    assert len(report.unchanged) == 15 and not report.changed
    assert {r.key for r in exported} == {r.key for r in example_rows}
