"""People as the chat shows them: by name, with the department when the name is not enough.

Two active people of one unit may share a name (two 张伟 in different departments). Wherever a
person is shown to someone who must tell them apart (the ballot and its confirmation, pickers,
lists), a shared name carries the department (label ``person.namesake``); every other name is
shown as it is. What is shared is the unit's roster's business (:func:`storage.queries.roster.
naming`), not the one screen's: a ballot of one page still names both 张伟 with departments.
"""

from __future__ import annotations

from bot.chat.context import KaoheContext
from storage.models import Cadre
from storage.queries.roster import Naming

__all__ = ["shown"]


def shown(context: KaoheContext, cadre: Cadre, naming: Naming) -> str:
    """``cadre``'s name, with the department if another active person has the same name."""
    if not naming.ambiguous(cadre):
        return cadre.name
    return context.label("person.namesake", name=cadre.name, department=naming.department(cadre))
