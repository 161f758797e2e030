"""The facts about a person that greetings, /whoami and /help show."""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.context import KaoheContext
from bot.rules.roles import ROLE_ORDER
from storage.models import Cadre
from storage.queries import roster as roster_q


@dataclass(frozen=True)
class ProfileView:
    name: str
    department: str
    roles: list[str]  # role keys in display order; templates turn them into labels
    title: str | None
    supervisor: str | None
    village: str | None
    language: str


async def profile_view(context: KaoheContext, cadre: Cadre) -> ProfileView:
    unit = context.services.unit
    async with context.services.sessions() as session:
        department = await roster_q.unit_department(
            session=session, unit_id=unit, department_id=cadre.department_id
        )
        supervisor = (
            await roster_q.unit_cadre(session=session, unit_id=unit, cadre_id=cadre.supervisor_id)
            if cadre.supervisor_id
            else None
        )
    roles = cadre.role_set
    return ProfileView(
        name=cadre.name,
        department=department.name if department else "",
        roles=[r.value for r in ROLE_ORDER if r in roles],
        title=cadre.title,
        supervisor=supervisor.name if supervisor else None,
        village=cadre.village,
        language=context.texts.lang(cadre.language),
    )
