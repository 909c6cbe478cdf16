"""Codes people type and read, in Spanish and in English.

Verdicts, case statuses, drivers, risk classes, territory kinds and the other coded values
have an English code (the enum's value: what the store, the JSON output and the web API
hold) and a Spanish code (what a Spanish user types and reads in exports). Spanish codes
are written without accents and with ``_`` for spaces, so that they type on any keyboard
and filter cleanly in QGIS; :func:`parse_code` accepts either code in any case, with or
without accents, with spaces or hyphens for ``_``.

>>> from vigilancia.domain.field import ObservationKind, Verdict
>>> parse_code(Verdict, "Coca confirmada"), parse_code(Verdict, "coca_confirmed")
(<Verdict.COCA_CONFIRMED: 'coca_confirmed'>, <Verdict.COCA_CONFIRMED: 'coca_confirmed'>)
>>> code_in(Verdict.NOT_REACHED, "es"), code_in(Verdict.NOT_REACHED, "en")
('no_alcanzado', 'not_reached')
>>> parse_code(Verdict, "palma") is None
True
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

from vigilancia.domain.cases import CaseStatus
from vigilancia.domain.drivers import Driver
from vigilancia.domain.evidence import CopyKind
from vigilancia.domain.field import ObservationKind, Verdict
from vigilancia.domain.risk import Factor, RiskClass
from vigilancia.domain.territories import Tenure, TerritoryKind

__all__ = [
    "SPANISH",
    "WORDS",
    "code_in",
    "codes_text",
    "fold",
    "parse_code",
    "spanish_codes",
    "word_in",
]

E = TypeVar("E", bound=StrEnum)

#: The Spanish code of every member of each coded enum.
SPANISH: Mapping[type[StrEnum], Mapping[StrEnum, str]] = {
    Verdict: {
        Verdict.COCA_CONFIRMED: "coca_confirmada",
        Verdict.AIRSTRIP_CONFIRMED: "pista_confirmada",
        Verdict.MINING: "mineria",
        Verdict.LOGGING: "tala",
        Verdict.ROAD: "camino",
        Verdict.AGRICULTURE: "agricultura",
        Verdict.NATURAL_CAUSE: "causa_natural",
        Verdict.FALSE_ALARM: "falsa_alarma",
        Verdict.NOT_REACHED: "no_alcanzado",
    },
    CaseStatus: {
        CaseStatus.NEW: "nuevo",
        CaseStatus.ASSIGNED: "asignado",
        CaseStatus.IN_FIELD: "en_campo",
        CaseStatus.VERIFIED: "verificado",
        CaseStatus.REPORTED: "reportado",
        CaseStatus.CLOSED: "cerrado",
        CaseStatus.DISMISSED: "descartado",
    },
    Driver: {
        Driver.COCA: "coca",
        Driver.AIRSTRIP: "pista",
        Driver.MINING: "mineria",
        Driver.ROAD: "camino",
        Driver.AGRICULTURE: "agricultura",
        Driver.OTHER: "otro",
    },
    RiskClass: {
        RiskClass.CRITICAL: "critico",
        RiskClass.HIGH: "alto",
        RiskClass.MEDIUM: "medio",
        RiskClass.LOW: "bajo",
    },
    Factor: {
        Factor.PRESSURE_LOCAL: "presion_local",
        Factor.PRESSURE_REGIONAL: "presion_regional",
        Factor.RECENT_CLEARINGS: "claros_recientes",
        Factor.TREND: "tendencia",
        Factor.COCA: "coca",
        Factor.AIRSTRIPS: "pistas",
        Factor.CORRIDORS: "corredores",
        Factor.TENURE: "tenencia",
        Factor.VIOLENCE: "violencia",
        Factor.ISOLATION: "aislamiento",
    },
    TerritoryKind: {
        TerritoryKind.COMMUNITY: "comunidad",
        TerritoryKind.RESERVE: "reserva",
        TerritoryKind.PROTECTED_AREA: "area_protegida",
        TerritoryKind.DISTRICT: "distrito",
    },
    ObservationKind: {
        ObservationKind.WAYPOINT: "punto_gps",
        ObservationKind.TRACK: "recorrido",
        ObservationKind.POINT: "punto",
        ObservationKind.AREA: "area",
        ObservationKind.PHOTO: "foto",
        ObservationKind.FORM: "formulario",
    },
    CopyKind: {
        CopyKind.RESIZED: "reducida",
        CopyKind.STRIPPED: "sin_metadatos",
    },
    Tenure: {
        Tenure.TITLED: "titulada",
        Tenure.RECOGNISED: "reconocida",
        Tenure.IN_PROCESS: "en_tramite",
        Tenure.CLAIMED: "reclamada",
        Tenure.UNKNOWN: "desconocida",
    },
}

#: Other coded words of exported layers that are no enum: English -> Spanish. Risk
#: units (``grid`` cells), route origins and exits, travel modes and the clearing status.
WORDS: Mapping[str, str] = {
    # risk units
    "territory": "territorio",
    "district": "distrito",
    "grid": "celda",
    # route origins and exits
    "zone": "zona",
    "runway": "pista",
    "exit": "salida",
    "border_crossing": "paso_de_frontera",
    # travel modes (vigilancia.domain.routes.Mode)
    "river": "rio",
    "stream": "quebrada",
    "road_national": "carretera_nacional",
    "road_departmental": "carretera_departamental",
    "road_rural": "carretera_vecinal",
    "trail": "trocha",
    "air": "avioneta",
    "walk": "a_pie",
    # a clearing's status
    "new": "nuevo",
}

for _enum, _table in SPANISH.items():
    assert set(_table) == set(_enum), f"{_enum.__name__}: a member has no Spanish code"


def spanish_codes(enum: type[E]) -> dict[E, str]:
    """The Spanish code of each member of ``enum``, in member order."""
    table = SPANISH[enum]
    return {member: table[member] for member in enum}


def fold(text: object) -> str:
    """``text`` as codes are compared: lower case, no accents, ``_`` for spaces and hyphens.

    >>> fold(" En campo "), fold("Minería"), fold("in-field")
    ('en_campo', 'mineria', 'in_field')
    """
    decomposed = unicodedata.normalize("NFKD", str(text).strip().casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "_".join(plain.replace("-", " ").replace("_", " ").split())


def parse_code(enum: type[E], text: object, aliases: Mapping[str, E] | None = None) -> E | None:
    """The member of ``enum`` that ``text`` names by its English or Spanish code (see
    :func:`fold`), or by one of ``aliases`` (more names: folded name -> member); None when
    it names none."""
    key = fold(text)
    if not key:
        return None
    for member in enum:
        if key in (fold(member.value), fold(SPANISH[enum][member])):
            return member
    if aliases:
        folded = {fold(name): member for name, member in aliases.items()}
        return folded.get(key)
    return None


def code_in(value: StrEnum | str, lang: str) -> str:
    """The code of ``value`` in ``lang``: the Spanish code for ``es``, the English code
    (the enum's value) otherwise. A plain string is looked up in :data:`WORDS`; an unknown
    one is returned as it is."""
    if isinstance(value, StrEnum) and type(value) in SPANISH:
        return SPANISH[type(value)][value] if lang == "es" else value.value
    text = str(value)
    return WORDS.get(text, text) if lang == "es" else text


def word_in(text: str, lang: str) -> str:
    """A code of any coded enum or of :data:`WORDS` (an English code) in ``lang``; an
    unknown code is returned as it is.

    >>> word_in("critical", "es"), word_in("district", "es"), word_in("district", "en")
    ('critico', 'distrito', 'district')
    """
    if lang != "es":
        return text
    if text in WORDS:
        return WORDS[text]
    for table in SPANISH.values():
        for member, spanish in table.items():
            if member.value == text:
                return spanish
    return text


def codes_text(members: Iterable[StrEnum], lang: str) -> str:
    """The codes of ``members`` in ``lang``, joined by commas (for hints and help).

    >>> codes_text(CaseStatus, "es")
    'nuevo, asignado, en_campo, verificado, reportado, cerrado, descartado'
    """
    return ", ".join(code_in(m, lang) for m in members)
