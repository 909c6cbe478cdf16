"""Patrol plans: which open cases one community's patrol visits, in what order, how far.

PURE: stdlib and shapely. A :class:`PatrolPlan` is what
``vigilancia patrol plan`` computes and stores, and what an offline package
carries to the monitors' phones: the stops in visiting order with each leg's
distance, time and way of travel, the whole route as one line, the cases left
out, and the approach-with-care flags. Positions are lon/lat (EPSG:4326),
distances km, times hours.

A plan holds one community's cases only.

Plans are made by :func:`vigilancia.domain.patrol_planning.plan_visits`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import LineString

__all__ = [
    "CARE_KINDS",
    "DEFAULT_MAX_KM",
    "CareReason",
    "PatrolPlan",
    "PatrolStop",
    "plan_from_json",
    "plan_to_json",
]

#: The round trip a patrol makes by default (km): a long day on foot and by boat.
DEFAULT_MAX_KM = 25.0
#: What a case may be near that calls for care: a known airstrip, a camp, a runway-like clearing.
CARE_KINDS = ("airstrip", "camp", "runway_clearing")


@dataclass(frozen=True)
class CareReason:
    """Why to approach a case with care: a known runway or camp (``kind``: airstrip,
    camp, runway_clearing), its name when known, and its distance (m) from the case."""

    kind: str
    distance_m: float
    name: str | None = None


@dataclass(frozen=True)
class PatrolStop:
    """One visit: the case, where it is, and the leg that reaches it.

    ``order`` counts from 1. ``leg_km``/``leg_hours``: from the previous stop
    (or the start); ``leg_modes``: the ways of travel of that leg in order
    (``trail``, ``river``, ``road``, ``walk`` for straight lines across country);
    ``cumulative_km``: from the start to here. ``care``: reasons to approach
    with care (empty when none).
    """

    order: int
    case_id: int
    lon: float
    lat: float
    priority: float
    leg_km: float
    leg_hours: float
    cumulative_km: float
    leg_modes: tuple[str, ...] = ()
    care: tuple[CareReason, ...] = ()

    @property
    def code(self) -> str:
        """The case reference printed for people (``C-0042``)."""
        return f"C-{self.case_id:04d}"


@dataclass(frozen=True)
class PatrolPlan:
    """A patrol of one community territory.

    ``start``: (lon, lat) where the patrol leaves from and returns to (when
    ``returns``); ``start_name``: what it is (a settlement's name, or None).
    ``route``: the path through every stop (and back, when ``returns``), lon/lat.
    ``total_km``/``total_hours``: the whole route; ``max_km``: the limit it was
    planned under; ``skipped``: open cases of the territory left out because
    they did not fit (ids, highest priority first).
    ``start_kind``: how the start was chosen: ``given`` (a point given by the
    user), ``settlement`` (a settlement of the layer, named in ``start_name``)
    or ``centroid`` (the territory's centre, when no settlement serves);
    ``return_km``/``return_hours``/``return_modes``: the leg from the last stop
    back to the start (0 and empty when the plan does not return).
    """

    territory_id: int
    territory_name: str
    start: tuple[float, float]
    stops: tuple[PatrolStop, ...]
    route: LineString | None
    total_km: float
    total_hours: float
    max_km: float
    created_at: datetime
    start_name: str | None = None
    returns: bool = True
    skipped: tuple[int, ...] = ()
    id: int = 0
    start_kind: str = "given"
    return_km: float = 0.0
    return_hours: float = 0.0
    return_modes: tuple[str, ...] = ()

    @property
    def case_ids(self) -> tuple[int, ...]:
        """The visited cases in order."""
        return tuple(s.case_id for s in self.stops)

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain data: its stored form (:func:`plan_to_json`) with its ``id``."""
        return plan_to_json(self) | {"id": self.id}


def plan_to_json(plan: PatrolPlan) -> dict[str, Any]:
    """The plan as JSON-able data (the route as WKT), as stored and packaged."""
    return {
        "territory_id": plan.territory_id,
        "territory_name": plan.territory_name,
        "start": list(plan.start),
        "start_name": plan.start_name,
        "start_kind": plan.start_kind,
        "returns": plan.returns,
        "return_km": plan.return_km,
        "return_hours": plan.return_hours,
        "return_modes": list(plan.return_modes),
        "total_km": plan.total_km,
        "total_hours": plan.total_hours,
        "max_km": plan.max_km,
        "created_at": plan.created_at.isoformat(),
        "skipped": list(plan.skipped),
        "route": None if plan.route is None else plan.route.wkt,
        "stops": [
            {
                "order": s.order,
                "case_id": s.case_id,
                "lon": s.lon,
                "lat": s.lat,
                "priority": s.priority,
                "leg_km": s.leg_km,
                "leg_hours": s.leg_hours,
                "cumulative_km": s.cumulative_km,
                "leg_modes": list(s.leg_modes),
                "care": [{"kind": c.kind, "distance_m": c.distance_m, "name": c.name}
                         for c in s.care],
            }
            for s in plan.stops
        ],
    }


def plan_from_json(data: Mapping[str, Any], *, plan_id: int = 0) -> PatrolPlan:
    """The plan back from :func:`plan_to_json` data."""
    route = data.get("route")
    return PatrolPlan(
        territory_id=int(data["territory_id"]),
        territory_name=str(data["territory_name"]),
        start=(float(data["start"][0]), float(data["start"][1])),
        start_name=data.get("start_name"),
        returns=bool(data.get("returns", True)),
        start_kind=str(data.get("start_kind", "given")),
        return_km=float(data.get("return_km", 0.0)),
        return_hours=float(data.get("return_hours", 0.0)),
        return_modes=tuple(str(m) for m in data.get("return_modes", ())),
        total_km=float(data["total_km"]),
        total_hours=float(data["total_hours"]),
        max_km=float(data["max_km"]),
        created_at=datetime.fromisoformat(str(data["created_at"])),
        skipped=tuple(int(v) for v in data.get("skipped", ())),
        route=None if not route else shapely.from_wkt(route),
        stops=tuple(
            PatrolStop(
                order=int(s["order"]),
                case_id=int(s["case_id"]),
                lon=float(s["lon"]),
                lat=float(s["lat"]),
                priority=float(s["priority"]),
                leg_km=float(s["leg_km"]),
                leg_hours=float(s["leg_hours"]),
                cumulative_km=float(s["cumulative_km"]),
                leg_modes=tuple(s.get("leg_modes", ())),
                care=tuple(CareReason(kind=str(c["kind"]), distance_m=float(c["distance_m"]),
                                      name=c.get("name")) for c in s.get("care", ())),
            )
            for s in data.get("stops", ())
        ),
        id=plan_id,
    )
