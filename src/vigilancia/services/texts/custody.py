"""Custody in words: the names of the log's actions, for the shells and the reports.

>>> from vigilancia.i18n import language
>>> with language("es"):
...     action_name("intake"), action_name("handover")
('ingreso', 'entrega')
"""

from __future__ import annotations

from vigilancia.domain.evidence import CustodyAction
from vigilancia.i18n import _

__all__ = ["action_name"]


def action_name(action: str) -> str:
    """The name of a custody action (intake, derived, export, report, handover) for people;
    an unknown one as it is."""
    names = {
        CustodyAction.INTAKE: _("intake"),
        CustodyAction.DERIVED: _("derived copy"),
        CustodyAction.EXPORT: _("export"),
        CustodyAction.REPORT: _("report"),
        CustodyAction.HANDOVER: _("handover"),
    }
    try:
        return names[CustodyAction(action)]
    except ValueError:
        return action
