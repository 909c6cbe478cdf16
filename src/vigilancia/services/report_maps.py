"""What the reports' maps show, gathered from the store: named polygons, lines and points
in a map extent, ready for the renderers of :mod:`vigilancia.reports` (which only draw).

A :class:`MapView` is one map: its extent (lon/lat), the features in it (territories,
reserves, protected areas, districts, rivers, roads, clearings...) and the shape it is
about (``focus``: a case or the month's clearings, drawn in the report's colour).
Geometries are simplified to a fraction of the extent, which keeps documents small and
changes nothing a reader can see.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.context import ContextKind
from vigilancia.domain.territories import StoredTerritory, TerritoryKind
from vigilancia.io.store import WorkspaceStore

__all__ = [
    "MapFeature",
    "MapView",
    "Place",
    "context_features",
    "extent_around",
    "geojson",
    "place_of",
    "region_bounds",
    "territory_features",
]

Bounds = tuple[float, float, float, float]
#: Metres per degree of latitude (and of longitude at the equator).
M_PER_DEG = 111_320.0
#: Geometries are simplified to this fraction of the map's width.
SIMPLIFY_SHARE = 1 / 1500


@dataclass(frozen=True)
class MapFeature:
    """One thing on a map: its ``kind`` (a territory kind, a context kind, ``clearing``,
    ``footprint``, ``observation``, ``case``...), its name (None when it has none), its
    geometry (lon/lat) and an optional short ``label`` (a number)."""

    kind: str
    name: str | None
    geometry: BaseGeometry
    label: str | None = None


@dataclass(frozen=True)
class MapView:
    """One map: ``bounds`` (west, south, east, north), its features (drawn by kind), the
    shape it is about (``focus``, drawn in the report's colour), ``inset``: the box of
    another map to outline on this one (the overview shows where the location map is),
    ``points`` (field observations) and ``highlight``: the name of the territory the map
    is about (its outline drawn bold and its name written first)."""

    bounds: Bounds
    features: tuple[MapFeature, ...] = ()
    focus: BaseGeometry | None = None
    inset: Bounds | None = None
    points: tuple[MapFeature, ...] = field(default=())
    highlight: str | None = None

    def names(self, *kinds: str) -> list[str]:
        """The names of the features of ``kinds`` (in drawing order, each once)."""
        out: list[str] = []
        for f in self.features:
            if f.kind in kinds and f.name and f.name not in out:
                out.append(f.name)
        return out


@dataclass(frozen=True)
class Place:
    """Where a point lies administratively: district, province, department and UBIGEO, as
    the district layer's attributes give them (None when unknown)."""

    district: str | None
    province: str | None
    department: str | None
    ubigeo: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"district": self.district, "province": self.province,
                "department": self.department, "ubigeo": self.ubigeo}


_DEPARTMENT_KEYS = ("nombdep", "departamento", "departamen", "department", "region", "dpto")
_PROVINCE_KEYS = ("nombprov", "provincia", "province")
_UBIGEO_KEYS = ("iddist", "ubigeo", "cod_ubigeo", "coddist")
#: Words written in lower case inside a place name ("Codo del Pozuzo").
_PARTICLES = {"de", "del", "la", "las", "los", "el", "y", "e"}


def _first(attrs: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for k in keys:
        value = attrs.get(k)
        if value not in (None, ""):
            return str(value).strip()
    return None


def place_of(district: StoredTerritory) -> Place:
    """The :class:`Place` of a district territory (names in capitals written as names,
    UBIGEO as text with its six digits).

    >>> from vigilancia.domain.territories import StoredTerritory, TerritoryKind
    >>> from shapely.geometry import box
    >>> place_of(StoredTerritory(1, "CODO DEL POZUZO", TerritoryKind.DISTRICT, box(0, 0, 1, 1),
    ...     "x", attributes={"IDDIST": 100902, "NOMBPROV": "PUERTO INCA", "NOMBDEP": "HUANUCO"}))
    Place(district='Codo del Pozuzo', province='Puerto Inca', department='Huanuco', ubigeo='100902')
    """
    attrs = {str(k).lower(): v for k, v in dict(district.attributes or {}).items()}
    ubigeo = _first(attrs, _UBIGEO_KEYS)
    if ubigeo is not None and ubigeo.isdigit():
        ubigeo = ubigeo.zfill(6)

    def nice(text: str | None) -> str | None:
        if text is None or not text.isupper():
            return text
        words = text.title().split(" ")
        return " ".join(w.lower() if i and w.lower() in _PARTICLES else w
                        for i, w in enumerate(words))

    return Place(district=nice(district.name), province=nice(_first(attrs, _PROVINCE_KEYS)),
                 department=nice(_first(attrs, _DEPARTMENT_KEYS)), ubigeo=ubigeo)


def geojson(geom: BaseGeometry | None, digits: int = 7) -> dict[str, Any] | None:
    """A geometry as GeoJSON with coordinates rounded to ``digits`` decimals (a content
    document's form: the same shape always gives the same text)."""
    if geom is None:
        return None
    rounded = shapely.set_precision(geom, 10.0 ** -digits)
    out: dict[str, Any] = mapping(shapely.normalize(rounded))

    def fix(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, digits)
        if isinstance(value, list | tuple):
            return [fix(v) for v in value]
        return value

    return {"type": out["type"], "coordinates": fix(out["coordinates"])}


def extent_around(geoms: Iterable[BaseGeometry], *, min_m: float, pad: float = 0.12,
                  ratio: float | None = None) -> Bounds:
    """A box around ``geoms``: padded by ``pad`` of its size, at least ``min_m`` metres
    wide and tall, and of ``ratio`` (height / width, in metres) when given."""
    items = [g for g in geoms if g is not None and not g.is_empty]
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(items)) if items \
        else (0.0, 0.0, 0.0, 0.0)
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    kx = max(0.2, math.cos(math.radians(cy)))
    w = max((maxx - minx) * kx * M_PER_DEG * (1 + 2 * pad), min_m)
    h = max((maxy - miny) * M_PER_DEG * (1 + 2 * pad), min_m)
    if ratio is not None:
        if h / w > ratio:
            w = h / ratio
        else:
            h = w * ratio
    dx, dy = w / 2.0 / (kx * M_PER_DEG), h / 2.0 / M_PER_DEG
    return (cx - dx, cy - dy, cx + dx, cy + dy)


def _simplified(geom: BaseGeometry, bounds: Bounds) -> BaseGeometry:
    tolerance = (bounds[2] - bounds[0]) * SIMPLIFY_SHARE
    return shapely.simplify(geom, tolerance, preserve_topology=True)


def territory_features(territories: Iterable[StoredTerritory], bounds: Bounds,
                       kinds: Iterable[TerritoryKind]) -> list[MapFeature]:
    """The territories of ``kinds`` that meet ``bounds``, cut to a margin around it and
    simplified, by kind order then name."""
    wanted = [TerritoryKind(k) for k in kinds]
    frame = box(*bounds)
    margin = box(*shapely.buffer(frame, (bounds[2] - bounds[0]) * 0.05).bounds)
    out = []
    for t in territories:
        if t.kind not in wanted or not t.geometry.intersects(frame):
            continue
        cut = t.geometry.intersection(margin)
        if cut.is_empty:
            continue
        out.append(MapFeature(t.kind.value, t.name, _simplified(cut, bounds)))
    order = {k.value: i for i, k in enumerate(wanted)}
    return sorted(out, key=lambda f: (order[f.kind], f.name or ""))


def context_features(store: WorkspaceStore, bounds: Bounds,
                     kinds: Iterable[ContextKind] = (ContextKind.RIVER, ContextKind.ROAD,
                                                     ContextKind.TRAIL,
                                                     ContextKind.AIRSTRIP)) -> list[MapFeature]:
    """Context lines and points (rivers, roads, trails, known airstrips...) that meet
    ``bounds``, cut to it and simplified."""
    found = store.context.features(list(kinds), bounds=bounds)
    frame = box(*bounds)
    out = []
    for kind, name, geom in zip(found.kind.tolist(), found.name.tolist(),
                                found.geometry.tolist(), strict=True):
        cut = geom.intersection(frame)
        if cut.is_empty:
            continue
        out.append(MapFeature(str(kind), None if name is None else str(name),
                              _simplified(cut, bounds)))
    return out


def region_bounds(store: WorkspaceStore, territories: Sequence[StoredTerritory],
                  near: BaseGeometry) -> Bounds:
    """The region an overview map shows: the workspace's area of interest when set, else
    the extent of its communities, reserves and protected areas, else of the districts
    within 100 km of ``near``; always holding ``near``."""
    aoi = store.area_of_interest()
    geoms: list[BaseGeometry] = [near]
    if aoi is not None:
        geoms.append(box(*aoi))
    else:
        kinds = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE, TerritoryKind.PROTECTED_AREA)
        chosen = [t.geometry for t in territories if t.kind in kinds]
        if not chosen:
            reach = near.buffer(1.0)
            chosen = [t.geometry for t in territories
                      if t.kind is TerritoryKind.DISTRICT and t.geometry.intersects(reach)]
        geoms.extend(chosen)
    return extent_around(geoms, min_m=20_000.0, pad=0.04, ratio=1.0)
