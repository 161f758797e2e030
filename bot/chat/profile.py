"""The facts about a person that greetings, /whoami and /help show."""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.context import KaoheContext
from bot.rules.roles import ROLE_ORDER
from storage.models import Cadre, Department


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
    async with context.services.sessions() as session:
        department = await session.get(Department, cadre.department_id)
        supervisor = await session.get(Cadre, cadre.supervisor_id) if cadre.supervisor_id else None
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
