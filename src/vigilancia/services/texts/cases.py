"""Cases in words: status and verdict names, and why a case has its priority.

Rendered through :func:`vigilancia.i18n._`, Spanish by default.

>>> from vigilancia.domain.cases import PriorityTerm
>>> from vigilancia.i18n import set_language
>>> set_language("es")
>>> status_name("in_field"), verdict_name("coca_confirmed")
('en campo', 'Coca confirmada')
>>> priority_text((PriorityTerm("recency", 30.0, 12), PriorityTerm("size", 8.0, 2.5)))
'alerta de hace 12 días (30 pts), 2,5 ha (8 pts)'
"""

from __future__ import annotations

from collections.abc import Iterable

from vigilancia.domain.cases import CaseStatus, PriorityTerm
from vigilancia.domain.field import Verdict
from vigilancia.i18n import _, get_language, ngettext, number
from vigilancia.io.field.xlsform import VERDICT_LABELS
from vigilancia.services.texts.drivers import driver_name

__all__ = [
    "STATUS_ALIASES",
    "opened_text",
    "outside_text",
    "priority_text",
    "status_name",
    "verdict_name",
]

#: Status names people type besides the English and Spanish codes
#: (:mod:`vigilancia.domain.codes`).
STATUS_ALIASES: dict[str, CaseStatus] = {
    "denunciado": CaseStatus.REPORTED,
    "denunciada": CaseStatus.REPORTED,
}


def status_name(status: CaseStatus | str) -> str:
    """Name of a case status in the current language."""
    names = {
        CaseStatus.NEW: _("new"),
        CaseStatus.ASSIGNED: _("assigned"),
        CaseStatus.IN_FIELD: _("in field"),
        CaseStatus.VERIFIED: _("verified"),
        CaseStatus.REPORTED: _("reported"),
        CaseStatus.CLOSED: _("closed"),
        CaseStatus.DISMISSED: _("dismissed"),
    }
    return names[CaseStatus(status)]


def verdict_name(verdict: Verdict | str | None) -> str:
    """The verdict as the verification form labels it, in the current language ("" for None)."""
    if verdict is None:
        return ""
    es, en = VERDICT_LABELS[Verdict(verdict)]
    return en if get_language() == "en" else es


def priority_text(terms: Iterable[PriorityTerm], driver: str | None = None) -> str:
    """The terms of a case's priority as a short phrase, largest first (``driver``: the
    case's likely driver, named in the driver term)."""
    parts = []
    for t in terms:
        pts = number(t.points, 0)
        if t.name == "recency":
            days = round(t.value)
            parts.append(ngettext("alert {days} day ago ({pts} pts)",
                                  "alert {days} days ago ({pts} pts)", days,
                                  days=number(days, 0), pts=pts))
        elif t.name == "size":
            parts.append(_("{ha} ha ({pts} pts)", ha=number(t.value, 1), pts=pts))
        elif t.name == "driver":
            parts.append(_("likely {driver} {p} % ({pts} pts)", driver=driver_label(driver),
                           p=number(100 * t.value, 0), pts=pts))
        elif t.name == "risk":
            parts.append(_("community risk {score} ({pts} pts)", score=number(t.value, 0),
                           pts=pts))
    return ", ".join(parts)


def opened_text(opened: int, clearings: int, grown: int) -> str:
    """What opening cases did, one counted phrase per figure.

    >>> from vigilancia.i18n import set_language
    >>> set_language("es")
    >>> opened_text(1, 3, 0)
    '1 caso nuevo a partir de 3 claros; 0 casos abiertos sumaron claros nuevos'
    """
    return "{} {}; {}".format(
        ngettext("{n} new case", "{n} new cases", opened, n=number(opened, 0)),
        ngettext("from {n} clearing", "from {n} clearings", clearings,
                 n=number(clearings, 0)),
        ngettext("{n} open case took new clearings", "{n} open cases took new clearings", grown,
                 n=number(grown, 0)),
    )


def outside_text(*, units: int, uncased: int, outside: int, buffer_km: float,
                 communities: int = 1) -> str | None:
    """Why new clearings opened no case, when some did not: the workspace has no unit to
    open cases in, or clearings lie outside every unit (None when neither).
    ``communities``: how many community territories and reserves the workspace has (none:
    its units are districts).

    >>> from vigilancia.i18n import set_language
    >>> set_language("es")
    >>> outside_text(units=5, uncased=10, outside=4, buffer_km=5.0, communities=0)
    '4 claros nuevos quedan fuera de todos los distritos: no abren casos'
    """
    if not uncased:
        return None
    if not units:
        return _("No case can be opened: the workspace has no community territories, reserves "
                 "or districts (vigilancia territories import)")
    if not outside:
        return None
    if not communities:
        return ngettext("{n} new clearing lies outside every district: it opens no case",
                        "{n} new clearings lie outside every district: they open no case",
                        outside, n=number(outside, 0))
    return ngettext(
        "{n} new clearing lies outside every community territory, reserve and district "
        "without communities, and farther than {km} km from communities and reserves: it "
        "opens no case",
        "{n} new clearings lie outside every community territory, reserve and district "
        "without communities, and farther than {km} km from communities and reserves: they "
        "open no case",
        outside, n=number(outside, 0), km=number(buffer_km, 1))


def driver_label(driver: str | None) -> str:
    """The driver's name in the current language ("" for None)."""
    return "" if driver is None else driver_name(driver)
