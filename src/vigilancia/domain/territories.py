"""Territories: community lands, reserves, protected areas and districts.

Geometries are shapely objects in EPSG:4326 (lon, lat). Repair of invalid
geometry is pure and reports what it changed so that imports can tell the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry


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
