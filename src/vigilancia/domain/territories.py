"""Territories: community lands, reserves, protected areas and districts.

Geometries are shapely objects in EPSG:4326 (lon, lat). Repair of invalid
geometry is pure and reports what it changed so that imports can tell the user.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
import shapely.errors
from shapely.geometry.base import BaseGeometry

from vigilancia.i18n import _, ngettext


class TerritoryKind(StrEnum):
    """What a territory polygon stands for."""

    COMMUNITY = "community"  # comunidad nativa / campesina territory
    RESERVE = "reserve"  # reserve for peoples in isolation (PIACI) or Indigenous reserve
    PROTECTED_AREA = "protected_area"  # SERNANP areas, communal reserves included
    DISTRICT = "district"  # administrative district (UBIGEO)


class Tenure(StrEnum):
    """Titling status of a community territory."""

    TITLED = "titled"
    RECOGNISED = "recognised"
    IN_PROCESS = "in_process"
    CLAIMED = "claimed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Territory:
    """One territory polygon with its provenance.

    ``geometry`` is a valid Polygon or MultiPolygon in EPSG:4326.
    ``source`` names the file or URL, ``source_id`` the feature id there.
    """

    name: str
    kind: TerritoryKind
    geometry: BaseGeometry
    source: str
    source_id: str | None = None
    people: str | None = None
    tenure: Tenure = Tenure.UNKNOWN
    title_date: date | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredTerritory:
    """A territory as kept in a workspace (with its database id)."""

    id: int
    name: str
    kind: TerritoryKind
    geometry: BaseGeometry
    source: str
    source_id: str | None = None
    people: str | None = None
    tenure: Tenure = Tenure.UNKNOWN
    title_date: date | None = None
    area_ha: float | None = None
    attributes: Mapping[str, Any] | None = None  # the source attributes (JSON values)

    @property
    def nearest_order(self) -> tuple[int, str, int]:
        """Which of two territories at the same distance from a clearing is its nearest
        (the lower value): a community before a reserve, then by name (then id). A
        property of the territories themselves, so that a clearing placed again after
        other territories came, or in a workspace that imported them in another order,
        gets the same nearest territory."""
        return (0 if self.kind == TerritoryKind.COMMUNITY else 1, self.name, self.id)


@dataclass(frozen=True, slots=True)
class Repair:
    """What was done to one feature's geometry on import."""

    feature: str  # feature id or 1-based position in the file
    problem: str  # e.g. "ring not closed", "self-intersection"
    action: str  # e.g. "closed 3 rings", "made valid with shapely.make_valid"


def polygonal_part(geom: BaseGeometry | None) -> BaseGeometry | None:
    """The polygonal part of ``geom`` (drops points and lines), or None if there is none."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polys:
            return None
        return shapely.union_all(polys)
    return None


# --------------------------------------------------------------------------------------
# Geometry repair (pure)
# --------------------------------------------------------------------------------------

_POLYGONAL = ("Polygon", "MultiPolygon")

# GEOS validity reasons (shapely.is_valid_reason) -> message ids for a person.
_GEOS_REASONS: dict[str, Callable[[], str]] = {
    "Self-intersection": lambda: _("self-intersection"),
    "Ring Self-intersection": lambda: _("ring self-intersection"),
    "Hole lies outside shell": lambda: _("hole outside its polygon"),
    "Holes are nested": lambda: _("nested holes"),
    "Interior is disconnected": lambda: _("interior is disconnected"),
    "Nested shells": lambda: _("nested polygons"),
    "Duplicate Rings": lambda: _("duplicate rings"),
    "Too few points in geometry component": lambda: _("too few points"),
    "Invalid Coordinate": lambda: _("invalid coordinate (not a number)"),
    "Ring is not closed": lambda: _("ring not closed"),
}


def _describe_invalidity(geom: BaseGeometry) -> str:
    """A short, translated description of why ``geom`` is invalid (with the place, lon/lat)."""
    reason = str(shapely.is_valid_reason(geom) or "")
    name, _sep, where = reason.partition("[")
    name = name.strip()
    problem = _GEOS_REASONS[name]() if name in _GEOS_REASONS else _("invalid geometry")
    xy = where.rstrip("]").split()
    if len(xy) >= 2:
        try:
            x, y = float(xy[0]), float(xy[1])
        except ValueError:
            return problem
        return _("{problem} at {x}, {y}", problem=problem, x=f"{x:.5f}", y=f"{y:.5f}")
    return problem


def _make_valid(geom: BaseGeometry) -> BaseGeometry:
    """shapely.make_valid with the 'structure' method (keeps areas, drops collapsed parts)."""
    try:
        return shapely.make_valid(geom, method="structure", keep_collapsed=False)
    except (TypeError, ValueError, shapely.errors.GEOSException):  # GEOS < 3.10
        return shapely.make_valid(geom)


def repair_geometry(
    geom: BaseGeometry | None, feature: str
) -> tuple[BaseGeometry | None, list[Repair]]:
    """A valid Polygon/MultiPolygon made from ``geom``, and what was changed to get it.

    - ``None``, empty, point and line geometries give ``(None, [])``: there is no
      polygon to repair (callers report such features as dropped);
    - a GeometryCollection keeps its polygonal part (one :class:`Repair` if
      points or lines were dropped);
    - an invalid polygon (self-intersection, bow-tie, hole outside its shell ...) is
      fixed with ``shapely.make_valid`` (``structure`` method) and only the polygonal
      part is kept; the Repair states the problem, where it was (lon, lat) and
      how many parts the polygon has after repair (a bow-tie becomes 2);
    - a valid polygon is returned unchanged with no repairs.

    ``feature`` labels the feature in the returned repairs (e.g. ``"feature 3 (id=ACR28)"``).

    >>> from shapely.geometry import Polygon
    >>> bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed, repairs = repair_geometry(bowtie, "feature 1")
    >>> fixed.is_valid, fixed.geom_type, len(repairs)
    (True, 'MultiPolygon', 1)
    """
    if geom is None or geom.is_empty:
        return None, []
    repairs: list[Repair] = []
    gtype = geom.geom_type
    if gtype == "GeometryCollection":
        parts = list(shapely.get_parts(geom))
        polys = [g for g in parts if g.geom_type in _POLYGONAL]
        if not polys:
            return None, []
        if len(polys) < len(parts):
            repairs.append(
                Repair(
                    feature,
                    _("points or lines mixed with polygons"),
                    _("kept only the polygons"),
                )
            )
        if not all(shapely.is_valid(p) for p in polys):
            polys = [_make_valid(p) if not p.is_valid else p for p in polys]
            polys = [pp for pp in (polygonal_part(p) for p in polys) if pp is not None]
            repairs.append(
                Repair(feature, _("invalid geometry"), _("made valid with shapely.make_valid"))
            )
            if not polys:
                return None, repairs
        geom = shapely.union_all(polys)
        gtype = geom.geom_type
        if gtype not in _POLYGONAL:
            return polygonal_part(geom), repairs
    elif gtype not in _POLYGONAL:
        return None, []

    if shapely.is_valid(geom):
        return geom, repairs

    problem = _describe_invalidity(geom)
    try:
        fixed = polygonal_part(_make_valid(geom))
        if fixed is not None and not fixed.is_valid:
            # make_valid can return parts that share an edge (a ring doubling back
            # along itself); dissolving them gives one valid polygon
            fixed = polygonal_part(shapely.union_all(shapely.get_parts(fixed)))
    except shapely.errors.GEOSException:
        fixed = None
    if fixed is None or fixed.is_empty:
        repairs.append(Repair(feature, problem, _("dropped: no polygon left after repair")))
        return None, repairs
    action = ngettext(
        "made valid with shapely.make_valid ({n} part)",
        "made valid with shapely.make_valid ({n} parts)",
        int(shapely.get_num_geometries(fixed)),
    )
    repairs.append(Repair(feature, problem, action))
    return fixed, repairs


def _is_position(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) >= 2
        and isinstance(value[0], int | float)
        and not isinstance(value[0], bool)
    )


def _same_xy(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return bool(a[0] == b[0] and a[1] == b[1])


def close_rings(coords: Sequence[Any]) -> tuple[list[Any], int]:
    """Close every ring of raw (GeoJSON/Esri-style) coordinates; return them and how many were open.

    ``coords`` is a ring (list of ``[x, y(, z)]`` positions), a polygon (list of
    rings) or a multipolygon (list of polygons). A ring is open when its last
    position differs (in x or y) from its first; the first position is then
    appended. The input is not modified.

    >>> close_rings([[0, 0], [1, 0], [1, 1]])
    ([[0, 0], [1, 0], [1, 1], [0, 0]], 1)
    >>> close_rings([[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[5, 5], [6, 5], [6, 6]]]])[1]
    1
    """
    items = list(coords)
    if not items:
        return items, 0
    if _is_position(items[0]):
        if len(items) >= 2 and not _same_xy(items[0], items[-1]):
            return [*items, items[0]], 1
        return items, 0
    closed: list[Any] = []
    n = 0
    for part in items:
        if isinstance(part, list | tuple):
            fixed, k = close_rings(part)
            closed.append(fixed)
            n += k
        else:
            closed.append(part)
    return closed, n


# --------------------------------------------------------------------------------------
# Guessing fields of Peruvian layers (SERFOR, SERNANP, INEI, RAISG/AMW, IBC ...)
# --------------------------------------------------------------------------------------

# In order of preference; compared case-insensitively.
NAME_FIELDS: tuple[str, ...] = (
    "nomcom",  # SERFOR comunidades nativas
    "nom_comun",
    "nom_ccnn",
    "nombre_comunidad",
    "comunidad",
    "name_field",  # Amazon Mining Watch / RAISG territories
    "anp_nomb",  # SERNANP
    "anp_nombre",
    "acr_nomb",
    "acp_nomb",
    "zr_nomb",
    "za_nomb",
    "nombre",
    "nom_reserva",
    "nombdist",  # INEI districts
    "distrito",
    "nombprov",
    "nombdep",
    "nombre_ccpp",
    "name",
    "nom",
    "nome",
    "title",
)

PEOPLE_FIELDS: tuple[str, ...] = (
    "pueblo",
    "pueblo_indigena",
    "pueblo_ind",
    "etnia",
    "grupo_etnico",
    "ethnicities_field",
    "ethnicity",
    "people",
    "povo",
)

TENURE_FIELDS: tuple[str, ...] = (
    "titcom",  # SERFOR: titling of the community
    "tenure",
    "tenencia",
    "titulacion",
    "titulado",
    "titulada",
    "est_tit",
    "estado_tit",
    "sit_legal",
    "situacion_legal",
    "status_field",  # Amazon Mining Watch
    "situacion",
    "estado",
    "condicion",
    "status",
)

TITLE_DATE_FIELDS: tuple[str, ...] = (
    "fectit",  # SERFOR
    "fec_tit",
    "fecha_tit",
    "fecha_titulo",
    "fecha_titulacion",
    "fec_titulo",
    "title_date",
    "titled_on",
)


def _field_lookup(columns: Iterable[str]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for col in columns:
        lookup.setdefault(str(col).lower(), str(col))
    return lookup


def guess_name_field(columns: Iterable[str]) -> str | None:
    """The column that most likely holds a territory's name, or None.

    Knows the Peruvian layers: ``nomcom`` (SERFOR comunidades nativas),
    ``name_field`` (RAISG / Amazon Mining Watch), ``anp_nomb``/``acr_nomb``/``acp_nomb``
    and ``nombre`` (SERNANP), ``NOMBDIST``/``distrito`` (INEI districts), then
    ``name``/``Name`` (KML) and finally any column whose name starts with ``nom``
    or contains ``name``.

    >>> guess_name_field(["OBJECTID", "IDDIST", "NOMBDIST", "NOMBPROV"])
    'NOMBDIST'
    >>> guess_name_field(["fid", "area"]) is None
    True
    """
    cols = [str(c) for c in columns]
    lookup = _field_lookup(cols)
    for candidate in NAME_FIELDS:
        if candidate in lookup:
            return lookup[candidate]
    for col in cols:
        low = col.lower()
        if low.startswith("nom") or "name" in low or "nombre" in low:
            return col
    return None


def guess_people(props: Mapping[str, Any]) -> str | None:
    """The Indigenous people of a territory from fields like ``pueblo``/``etnia``, or None."""
    lookup = _field_lookup(props)
    for candidate in PEOPLE_FIELDS:
        key = lookup.get(candidate)
        if key is None:
            continue
        value = props[key]
        if value is None:
            continue
        text = str(value).strip()
        if text and text.lower() not in ("none", "null", "nan", "-", "s/d", "sin dato"):
            return text
    return None


def normalise_name(text: str) -> str:
    """Upper case, accents, "_" and "-" removed, spaces collapsed: "Huánuco" -> "HUANUCO"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.upper().replace("_", " ").replace("-", " ").split())


_TRUE_WORDS = {"SI", "S", "YES", "Y", "TRUE", "1", "T", "X"}
_FALSE_WORDS = {"NO", "N", "FALSE", "0", "F"}


def _tenure_from_text(value: str) -> Tenure:
    text = normalise_name(value)
    if not text:
        return Tenure.UNKNOWN
    words = set(text.split())
    # Order matters: "EN TRAMITE DE TITULACION" is in process, "NO TITULADA" is not titled.
    if words & {"TRAMITE", "PROCESO", "SOLICITUD", "PENDIENTE", "CURSO", "AMPLIACION"} or (
        text.startswith("POR ")
    ):
        return Tenure.IN_PROCESS
    if words & {"PROPUESTA", "PROPUESTO", "RECLAMADA", "RECLAMO", "DEMANDA", "REIVINDICADA"} or (
        words & {"CLAIMED", "CLAIM", "PROPOSED"}
    ):
        return Tenure.CLAIMED
    if text.startswith(("NO TITUL", "SIN TITUL", "NOT TITLED", "UNTITLED")):
        return Tenure.RECOGNISED
    if any(w.startswith("TITUL") for w in words) or words & {"TITLED", "INSCRITA", "INSCRITO"}:
        return Tenure.TITLED
    recognised = ("RECONOC", "RECOGNI", "OFICIALIZ", "ADECUAD", "CATEGORIZ")
    if any(w.startswith(recognised) for w in words):
        return Tenure.RECOGNISED
    if "PROCESS" in words:
        return Tenure.IN_PROCESS
    return Tenure.UNKNOWN


def guess_tenure(props: Mapping[str, Any]) -> Tenure:
    """The titling status of a territory from its attributes (SERFOR, IBC, RAISG wording).

    Looks at fields such as ``titcom``, ``status_field``, ``estado``, ``situacion``:
    "TITULADA"/"INSCRITA" -> titled; "RECONOCIDA", "SIN TITULO", "ADECUADA" ->
    recognised; "EN TRAMITE", "EN PROCESO", "AMPLIACION", "POR TITULAR" -> in
    process; "PROPUESTA", "DEMANDA", "RECLAMADA" -> claimed. In ``titcom``-like
    fields a yes/no answer is read as titled / recognised. A title date
    (``fectit``) with no other evidence means titled.

    >>> guess_tenure({"nomcom": "SAN JACINTO", "titcom": "TITULADA"})
    <Tenure.TITLED: 'titled'>
    >>> guess_tenure({"status_field": "AMPLIACION"})
    <Tenure.IN_PROCESS: 'in_process'>
    >>> guess_tenure({"nombre": "El Sira"})
    <Tenure.UNKNOWN: 'unknown'>
    """
    lookup = _field_lookup(props)
    for candidate in TENURE_FIELDS:
        key = lookup.get(candidate)
        if key is None:
            continue
        value = props[key]
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            continue
        if isinstance(value, bool):
            value = "SI" if value else "NO"
        text = normalise_name(str(value))
        if candidate.startswith("tit"):
            if text in _TRUE_WORDS:
                return Tenure.TITLED
            if text in _FALSE_WORDS:
                return Tenure.RECOGNISED
        tenure = _tenure_from_text(text)
        if tenure is not Tenure.UNKNOWN:
            return tenure
    if guess_title_date(props) is not None:
        return Tenure.TITLED
    return Tenure.UNKNOWN


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d")
_MIN_TITLE_YEAR = 1900  # comunidades nativas were titled from 1975 on; older values are noise


def parse_date(value: Any) -> date | None:
    """A calendar date from what Peruvian layers store, or None.

    Accepts ``date``/``datetime``, ISO strings (with an optional time part),
    ``dd/mm/yyyy`` (the usual Peruvian order), ``yyyymmdd`` and Esri epoch
    milliseconds (integers above 10^11, read as UTC). Years before 1900 or
    after 2100 are rejected as noise.

    >>> parse_date("12/05/1998"), parse_date(1620882000000)
    (datetime.date(1998, 5, 12), datetime.date(2021, 5, 13))
    """
    result: date | None = None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not np.isfinite(value):
            return None
        if abs(value) >= 1e11:  # epoch milliseconds (ArcGIS)
            result = datetime.fromtimestamp(value / 1000, tz=UTC).date()
        elif 19000101 <= value <= 21001231 and float(value).is_integer():
            return parse_date(str(int(value)))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        head = text.split("T")[0].split(" ")[0]
        for fmt in _DATE_FORMATS:
            try:
                result = datetime.strptime(head, fmt).date()
                break
            except ValueError:
                continue
    if result is None or not (_MIN_TITLE_YEAR <= result.year <= 2100):
        return None
    return result


def guess_title_date(props: Mapping[str, Any]) -> date | None:
    """The date a territory was titled, from fields like ``fectit``/``fecha_titulacion``, or None.

    Only title-specific fields are read: a district's ``FECHA`` (date of its
    creation law) or a protected area's establishment date is not a title date.

    >>> guess_title_date({"nomcom": "X", "fectit": "1998-05-12"})
    datetime.date(1998, 5, 12)
    """
    lookup = _field_lookup(props)
    for candidate in TITLE_DATE_FIELDS:
        key = lookup.get(candidate)
        if key is not None:
            parsed = parse_date(props[key])
            if parsed is not None:
                return parsed
    return None


# --------------------------------------------------------------------------------------
# Units: what cases, patrols, packages and the risk score are counted per
# --------------------------------------------------------------------------------------

#: Kinds of territory that are units by themselves (their communities patrol them).
UNIT_KINDS = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE)


def district_units(territories: Sequence[StoredTerritory]) -> list[StoredTerritory]:
    """The districts that no community territory touches, in the order given.

    Where community polygons exist they are the units, and a district that holds
    one is only the place they are in; a district that holds none (a workspace
    with districts only, or a district beyond the communities' layer) stands as
    a unit itself, so that its clearings still open cases and its risk is still
    scored. Reserves do not take a district's place: they are seldom where
    people live.

    >>> from shapely.geometry import box
    >>> def t(i, kind, geom):
    ...     return StoredTerritory(i, f"t{i}", kind, geom, "test")
    >>> d1 = t(1, TerritoryKind.DISTRICT, box(0, 0, 10, 10))
    >>> d2 = t(2, TerritoryKind.DISTRICT, box(10, 0, 20, 10))
    >>> cn = t(3, TerritoryKind.COMMUNITY, box(2, 2, 4, 4))
    >>> [d.id for d in district_units([d1, d2, cn])]
    [2]
    """
    districts = [t for t in territories if t.kind is TerritoryKind.DISTRICT]
    communities = [t.geometry for t in territories if t.kind is TerritoryKind.COMMUNITY]
    if not districts or not communities:
        return districts
    tree = shapely.STRtree(communities)
    return [d for d in districts if not len(tree.query(d.geometry, predicate="intersects"))]


def units(territories: Sequence[StoredTerritory]) -> list[StoredTerritory]:
    """The units among ``territories``: communities, reserves and :func:`district_units`,
    by id."""
    found = [t for t in territories if t.kind in UNIT_KINDS]
    return sorted([*found, *district_units(territories)], key=lambda t: t.id)


def unit_order(territory: StoredTerritory) -> tuple[int, int]:
    """The order in which the unit of a point is chosen among the units that hold it:
    communities first, then reserves, then districts (then by id)."""
    rank = {TerritoryKind.COMMUNITY: 0, TerritoryKind.RESERVE: 1}.get(territory.kind, 2)
    return rank, territory.id
