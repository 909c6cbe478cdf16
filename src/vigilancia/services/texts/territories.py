"""Territories in words: the name of each kind, and what a change of territories did.

Rendered through :func:`vigilancia.i18n._`, Spanish by default.

>>> from vigilancia.i18n import set_language
>>> set_language("es")
>>> kind_name("protected_area"), kind_name("district")
('área protegida', 'distrito')
"""

from __future__ import annotations

from vigilancia.domain.territories import TerritoryKind
from vigilancia.i18n import _, ngettext, number

__all__ = ["kind_name", "placement_text"]

_KIND_NAMES = {
    TerritoryKind.COMMUNITY: lambda: _("community"),
    TerritoryKind.RESERVE: lambda: _("reserve"),
    TerritoryKind.PROTECTED_AREA: lambda: _("protected area"),
    TerritoryKind.DISTRICT: lambda: _("district"),
}


def kind_name(kind: TerritoryKind | str) -> str:
    """The name of a kind of territory in the current language."""
    return _KIND_NAMES[TerritoryKind(kind)]()


def placement_text(clearings: int, moved: int) -> str:
    """What re-placing the stored clearings did, in one sentence.

    >>> from vigilancia.i18n import set_language
    >>> set_language("es")
    >>> placement_text(120, 3)
    '120 claros reubicados sobre los territorios; 3 cambiaron de territorio'
    """
    if not clearings:
        return _("no stored clearing is placed differently")
    return "{}; {}".format(
        ngettext("{n} clearing placed again on the territories",
                 "{n} clearings placed again on the territories", clearings,
                 n=number(clearings, 0)),
        ngettext("{n} changed territory", "{n} changed territory", moved, n=number(moved, 0)),
    )
