"""Risk scores in words: classes, factor names and one explained sentence per unit.

Rendered through :func:`vigilancia.i18n._` and :func:`~vigilancia.i18n.ngettext` (counted
nouns take the singular for 1), Spanish by default.

>>> from vigilancia.domain.risk import Factor, FactorValue, score_unit
>>> from vigilancia.i18n import set_language
>>> s = score_unit("territory:1", "Comunidad X", [
...     FactorValue(Factor.RECENT_CLEARINGS, 14.0, "alerts", {"count": 14, "area_ha": 21.5,
...                 "months": 3}),
...     FactorValue(Factor.AIRSTRIPS, 1.2, "layer", {"near": 1, "within_km": 5.0}),
...     FactorValue(Factor.TENURE, 1.0, "territories", {"status": "claimed", "overlaps": 0}),
... ], {Factor.RECENT_CLEARINGS: 30.0, Factor.AIRSTRIPS: 30.0, Factor.TENURE: 30.0})
>>> set_language("es"); print(explain(s))  # doctest: +NORMALIZE_WHITESPACE
Comunidad X: riesgo crítico (76 pts): territorio sin título, 1 pista a menos de 5 km,
14 claros nuevos (22 ha) en 3 meses
>>> set_language("en"); print(explain(s))  # doctest: +NORMALIZE_WHITESPACE
Comunidad X: critical risk (76 pts): untitled territory, 1 airstrip within 5 km,
14 new clearings (22 ha) in 3 months
>>> set_language("es")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vigilancia.domain.risk import Contribution, Factor, RiskClass, RiskScore
from vigilancia.i18n import _, ngettext, number
from vigilancia.services.texts.drivers import count_of

__all__ = ["class_name", "contribution_text", "explain", "factor_name", "risk_title",
           "unit_name"]

#: Contributions shown in a sentence, at most.
MAX_REASONS = 4
#: Contributions below this many points are left out of the sentence.
MIN_POINTS = 0.5


def class_name(cls: RiskClass | str) -> str:
    """Name of a risk class in the current language."""
    names = {
        RiskClass.CRITICAL: _("critical"),
        RiskClass.HIGH: _("high"),
        RiskClass.MEDIUM: _("medium"),
        RiskClass.LOW: _("low"),
    }
    return names[RiskClass(cls)]


def risk_title(kinds: Sequence[str], date: str) -> str:
    """The title of a risk ranking that names its kind of unit (``community``,
    ``district``, ``grid``), e.g. "Riesgo de los distritos al 2024-12-31".

    >>> from vigilancia.i18n import language
    >>> with language("es"):
    ...     risk_title(["district"], "2024-12-31"), risk_title(["grid"], "2024-12-31")
    ('Riesgo de los distritos al 2024-12-31', 'Riesgo de las celdas de la cuadrícula al 2024-12-31')
    """
    key = tuple(k for k in ("community", "district", "grid") if k in kinds)
    if key == ("district",):
        return _("Risk of the districts as of {date}", date=date)
    if key == ("grid",):
        return _("Risk of the grid cells as of {date}", date=date)
    if key == ("community", "district"):
        return _("Risk of the communities, and of the districts without communities, "
                 "as of {date}", date=date)
    return _("Risk of the communities as of {date}", date=date)


def unit_name(kind: str) -> str:
    """The name of one kind of unit (``community``, ``district``, ``grid``)."""
    return {"community": _("community"), "district": _("district"),
            "grid": _("grid cell")}.get(kind, kind)


def factor_name(factor: Factor | str) -> str:
    """Short name of a factor in the current language."""
    names = {
        Factor.PRESSURE_LOCAL: _("nearby clearing pressure"),
        Factor.PRESSURE_REGIONAL: _("regional clearing pressure"),
        Factor.RECENT_CLEARINGS: _("recent clearings"),
        Factor.TREND: _("clearing trend"),
        Factor.COCA: _("coca-likely clearings"),
        Factor.AIRSTRIPS: _("airstrips"),
        Factor.CORRIDORS: _("trafficking corridors"),
        Factor.TENURE: _("tenure"),
        Factor.VIOLENCE: _("violence against defenders"),
        Factor.ISOLATION: _("reserves for peoples in isolation"),
    }
    return names[Factor(factor)]


def _tenure_text(d: Mapping[str, Any]) -> str:
    status = {
        "claimed": _("untitled territory"),
        "in_process": _("titling in process"),
        "recognised": _("recognised, not titled"),
        "titled": _("titled territory"),
    }.get(str(d.get("status")), "")
    overlaps = int(d.get("overlaps") or 0)
    if overlaps:
        over = ngettext("overlapped by {n} territory", "overlapped by {n} territories", overlaps)
        return f"{status}, {over}" if status else over
    return status


_PHRASES: dict[Factor, Callable[[Mapping[str, Any]], str]] = {
    Factor.PRESSURE_LOCAL: lambda d: _(
        "{ha} ha of recent clearing in the most active {cell} km cell in or near it "
        "(weighted by age and distance)",
        ha=number(d.get("weighted_ha"), 1), cell=number(d.get("cell_km", 2), 1)),
    Factor.PRESSURE_REGIONAL: lambda d: _(
        "active frontier around: {ha} ha of recent clearing within about {km} km (weighted)",
        ha=number(d.get("weighted_ha"), 1), km=number(d.get("sigma_km", 6), 1)),
    Factor.RECENT_CLEARINGS: lambda d: ngettext(
        "{n} new clearing ({ha} ha) in {months} months",
        "{n} new clearings ({ha} ha) in {months} months",
        count_of(d.get("count")), n=number(d.get("count")), ha=number(d.get("area_ha")),
        months=number(d.get("months"))),
    Factor.TREND: lambda d: _(
        "clearings rising ({recent} against {previous} in the {months} months before)",
        recent=number(d.get("recent")), previous=number(d.get("previous")),
        months=number(d.get("months"))),
    Factor.COCA: lambda d: ngettext(
        "{n} coca clearing expected in {months} months "
        "(sum of coca probabilities; {likely} at 50 % or more)",
        "{n} coca clearings expected in {months} months "
        "(sum of coca probabilities; {likely} at 50 % or more)",
        count_of(d.get("expected")), n=number(d.get("expected"), 1),
        likely=number(d.get("likely")), months=number(d.get("months"))),
    Factor.AIRSTRIPS: lambda d: (
        ngettext("{n} airstrip within {km} km", "{n} airstrips within {km} km",
                 count_of(d.get("near")), n=number(d.get("near")),
                 km=number(d.get("within_km")))
        if int(d.get("near") or 0) > 0
        else _("airstrip {km} km away", km=number(d.get("distance_km"), 1))
    ),
    Factor.CORRIDORS: lambda d: (
        ngettext("crossed by {n} trafficking corridor", "crossed by {n} trafficking corridors",
                 count_of(d.get("crossing")), n=number(d.get("crossing")))
        if int(d.get("crossing") or 0) > 0
        else _("{km} km from a trafficking corridor", km=number(d.get("distance_km"), 1))
    ),
    Factor.TENURE: _tenure_text,
    Factor.VIOLENCE: lambda d: ngettext(
        "{n} incident against defenders in the region in {years} years",
        "{n} incidents against defenders in the region in {years} years",
        count_of(d.get("incidents")), n=number(d.get("incidents")),
        years=number(d.get("years"))),
    Factor.ISOLATION: lambda d: _(
        "{km} km from the reserve {name}", km=number(d.get("distance_km"), 1),
        name=d.get("reserve") or ""),
}


def contribution_text(c: Contribution) -> str:
    """What one contribution says, e.g. "14 claros nuevos (22 ha) en 3 meses"."""
    if not c.available:
        return _("{factor}: no data", factor=factor_name(c.factor))
    return _PHRASES[c.factor](c.detail)


def explain(score: RiskScore) -> str:
    """One sentence: name, class, points and the strongest reasons; missing data last."""
    reasons = [
        contribution_text(c)
        for c in sorted(score.contributions, key=lambda c: -c.points)
        if c.available and c.points >= MIN_POINTS
    ][:MAX_REASONS]
    head = _("{name}: {cls} risk ({points} pts)", name=score.name,
             cls=class_name(score.risk_class), points=number(score.score))
    text = f"{head}: {', '.join(r for r in reasons if r)}" if reasons else head
    missing = [factor_name(c.factor) for c in score.missing]
    if missing:
        text += "; " + _("missing data: {factors}", factors=", ".join(missing))
    return text
