"""Report words: titling statuses, territory kinds, addressees, custody actions, image roles,
field record kinds and month names, in the user's language.

>>> from vigilancia.i18n import language
>>> with language("es"):
...     tenure_name("in_process"), territory_kind_name("reserve"), month_name(2024, 7)
('titulación en trámite', 'reserva', 'julio de 2024')
>>> with language("en"):
...     tenure_name("in_process"), addressee_name("fiscalia"), month_name(2024, 7, short=True)
('titling in process', 'Environmental prosecutor (FEMA)', 'Jul 2024')
"""

from __future__ import annotations

from collections.abc import Callable

from babel.dates import format_date

from vigilancia.i18n import _, get_language

__all__ = [
    "action_name",
    "addressee_name",
    "month_name",
    "observation_kind_name",
    "role_name",
    "tenure_name",
    "territory_kind_name",
]


def _pick(table: dict[str, Callable[[], str]], key: object) -> str:
    make = table.get(str(key))
    return make() if make else str(key)


def tenure_name(tenure: object) -> str:
    """A community's titling status in words ("titulado", "en trámite"...)."""
    return _pick({
        "titled": lambda: _("titled"),
        "recognised": lambda: _("recognised, not titled"),
        "in_process": lambda: _("titling in process"),
        "claimed": lambda: _("claimed, not titled"),
        "unknown": lambda: _("unknown"),
    }, tenure)


def territory_kind_name(kind: object) -> str:
    """The kind of a territory in words (community territory, reserve...)."""
    return _pick({
        "community": lambda: _("community territory"),
        "reserve": lambda: _("reserve"),
        "protected_area": lambda: _("protected area"),
        "district": lambda: _("district"),
    }, kind)


def addressee_name(key: object) -> str:
    """Who a case report is for."""
    return _pick({
        "fiscalia": lambda: _("Environmental prosecutor (FEMA)"),
        "policia": lambda: _("Counternarcotics police (DIRANDRO)"),
        "defensoria": lambda: _("Ombudsman's Office (Defensoría del Pueblo)"),
        "sernanp": lambda: _("Protected areas service (SERNANP)"),
    }, key)


def action_name(action: object) -> str:
    """A custody log action in words."""
    return _pick({
        "intake": lambda: _("intake"),
        "derived": lambda: _("derived copy"),
        "export": lambda: _("export"),
        "report": lambda: _("report"),
        "handover": lambda: _("handover"),
    }, action)


def role_name(role: object) -> str:
    """What an image of a case report shows: before, after, image."""
    return _pick({
        "before": lambda: _("Before"),
        "after": lambda: _("After"),
        "image": lambda: _("Image"),
    }, role)


def observation_kind_name(kind: object) -> str:
    """A field record's kind in words."""
    return _pick({
        "waypoint": lambda: _("waypoint"),
        "track": lambda: _("track"),
        "point": lambda: _("observation"),
        "area": lambda: _("area"),
        "photo": lambda: _("photo"),
        "form": lambda: _("form"),
    }, kind)


#: Babel locale of month names (Peru says "setiembre").
_DATE_LOCALES = {"es": "es_PE", "en": "en"}


def month_name(year: int, month: int, *, short: bool = False) -> str:
    """A month in words: "julio de 2024" ("jul. 2024" when ``short``)."""
    from datetime import date

    lang = get_language()
    pattern = "MMM y" if short else ("MMMM y" if lang == "en" else "MMMM 'de' y")
    return str(format_date(date(year, month, 1), pattern,
                           locale=_DATE_LOCALES.get(lang, _DATE_LOCALES["es"])))
