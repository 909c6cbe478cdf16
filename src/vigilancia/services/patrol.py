"""Patrol plans: which open cases of one community a patrol visits, in what order, how far.

:func:`plan_patrol` reads one community territory's open cases, the context
layers around it (rivers, roads and trails for the network; settlements for the
start; known airstrips and camps) and the runway-like clearings; plans the
visits with :func:`vigilancia.domain.patrol_planning.plan_visits` in a local metric
frame; and stores the plan, and optionally assigns its cases, in one
transaction.

A plan carries only this community's data: its own open cases, its own name,
and a start that is never a settlement inside another community (unless the
user names it). Care flags name the known airstrips and camps of the context
layers; runway-like clearings are flagged by distance only. A case opened by a
field report is visited at the centre of its cell of the report grid
(``settings.report_cell_deg``; :func:`~vigilancia.domain.cases.shared_position`), so
no plan, route or package made from it holds the reported point.

>>> plan = plan_patrol(store, Settings(), territory="CN Alfa", max_km=20,
...                    actor="coordinador")  # doctest: +SKIP
>>> [(s.code, round(s.leg_km, 1), s.leg_modes) for s in plan.stops]  # doctest: +SKIP
[('C-0003', 2.4, ('walk', 'trail')), ('C-0001', 3.1, ('trail', 'walk'))]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from vigilancia.config import Settings
from vigilancia.domain.cases import OPEN_STATUSES, shared_position
from vigilancia.domain.context import ContextKind
from vigilancia.domain.drivers import Driver
from vigilancia.domain.patrol_planning import (
    Hazard,
    PatrolCandidate,
    anchor_point,
    care_flags,
    choose_start,
    plan_visits,
)
from vigilancia.domain.patrols import DEFAULT_MAX_KM, PatrolPlan, plan_to_json
from vigilancia.domain.routes import NetworkLine, classify_line
from vigilancia.domain.territories import StoredTerritory, normalise_name
from vigilancia.errors import InputError, NotFoundError, action
from vigilancia.i18n import _, number
from vigilancia.io.crs import WGS84, centre_of, local_equal_area, transform_geometries, transformer
from vigilancia.services.cases import CASE_TERRITORY_KINDS, find_territory, update_case
from vigilancia.services.corridors import route_params
from vigilancia.services.risk import RUNWAY_PROBABILITY

if TYPE_CHECKING:
    from vigilancia.io.store import WorkspaceStore

__all__ = [
    "parse_start",
    "plan_patrol",
]

#: The context kinds a patrol travels along.
TRAVEL_KINDS = (ContextKind.RIVER, ContextKind.ROAD, ContextKind.TRAIL)

_LONLAT = re.compile(r"^\s*(-?\d+(?:\.\d*)?)\s*[,;]\s*(-?\d+(?:\.\d*)?)\s*$")


def parse_start(text: str | None) -> tuple[float, float] | str | None:
    """``"lon,lat"`` as a point; any other text is a settlement's name.

    >>> parse_start("-74.95, -9.47"), parse_start("Puerto Alfa")
    ((-74.95, -9.47), 'Puerto Alfa')
    """
    if text is None or not str(text).strip():
        return None
    found = _LONLAT.match(str(text))
    if found is None:
        return str(text).strip()
    lon, lat = float(found.group(1)), float(found.group(2))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(
            _("The start {value!r} is not a position: longitude and latitude are out of range",
              value=text),
            hint=_("give it as lon,lat in degrees, e.g. -74.95,-9.47"),
            inputs="start",
        )
    return lon, lat


def plan_patrol(
    store: WorkspaceStore,
    settings: Settings,
    *,
    territory: str | int,
    max_km: float = DEFAULT_MAX_KM,
    start: tuple[float, float] | str | None = None,
    assign: str | None = None,
    actor: str = "vigilancia",
    returns: bool = True,
    save: bool = True,
) -> PatrolPlan:
    """Plan, store and return (with its id) a patrol of one community's open cases.

    With ``save=False`` the plan is only computed (a preview: id 0, nothing stored,
    nobody assigned); a stored plan is recorded in the audit log under ``actor``.

    - ``territory``: the community territory or reserve (name or id);
    - ``max_km``: the whole round trip (back to the start when ``returns``);
    - ``start``: ``(lon, lat)``, a settlement's name (of the settlement layer),
      or None: the settlement inside the territory nearest its cases, else the
      nearest one within ``settings.buffer_km`` of the territory that is in no
      other community, else the
      territory's centre (``plan.start_kind`` says which);
    - ``assign``: a monitor or team to assign the planned cases to, in the same
      transaction as the plan (``actor`` is recorded in the cases' history).

    Cases within ``settings.patrol_care_km`` of a known airstrip, a camp or a
    clearing whose likely driver is airstrip (probability >= 0.5) carry care
    reasons. Raises :class:`~vigilancia.errors.NotFoundError` for an unknown
    territory or settlement or a territory without open cases, and
    :class:`~vigilancia.errors.InputError` when no case fits within ``max_km``.
    """
    if not (isinstance(max_km, (int, float)) and math.isfinite(max_km) and max_km > 0):
        raise InputError(_("the longest round trip must be a distance in km above 0, "
                           "not {value}", value=max_km), inputs="max_km")
    terr = find_territory(store, territory)
    cases = store.cases.list(territory_id=terr.id, statuses=OPEN_STATUSES)
    if not cases:
        raise NotFoundError(
            _("{name} has no open cases to patrol", name=terr.name),
            hint=_("open its cases first"),
            actions=action("cases.open", territory=terr.name),
        )
    frame = local_equal_area(*centre_of(terr.geometry.bounds))
    reach_km = max_km / 2.0 if returns else max_km
    # a field report's case is visited at the centre of its grid cell: the plan, its
    # route and everything made from them (packages, maps) never hold the reported point
    shown = [shared_position(c, settings.report_cell_deg) for c in cases]
    case_xy = _to_metric_xy(np.asarray(shown, np.float64), frame)
    terr_metric = transform_geometries([terr.geometry], WGS84, frame)[0]

    start_xy, start_lonlat, start_name, start_kind = _start(
        store, terr, terr_metric, start, frame, settings.buffer_km,
        towards=(float(case_xy[:, 0].mean()), float(case_xy[:, 1].mean())),
    )
    start_ll = start_lonlat or _to_lonlat(np.asarray([start_xy]), frame)[0]
    around = _box_around(start_ll, reach_km)
    lines = _travel_lines(store, around, frame)
    hazards = _hazards(store, _box_around(start_ll, reach_km + settings.patrol_care_km), frame)
    shapes = [c.shape for c in cases]
    care = care_flags(list(transform_geometries(shapes, WGS84, frame)), hazards,
                      settings.patrol_care_km * 1000.0)
    candidates = [
        PatrolCandidate(case_id=c.id, xy=(float(xy[0]), float(xy[1])), priority=c.priority,
                        care=flags, lonlat=lonlat)
        for c, xy, flags, lonlat in zip(cases, case_xy, care, shown, strict=True)
    ]
    params = route_params(settings)
    plan = plan_visits(
        territory_id=terr.id,
        territory_name=terr.name,
        start=start_xy,
        candidates=candidates,
        max_km=float(max_km),
        lines=lines,
        params=params,
        returns=returns,
        start_name=start_name,
        start_kind=start_kind,
        start_lonlat=start_lonlat,
        to_lonlat=lambda xy: _to_lonlat(xy, frame),
        created_at=datetime.now(UTC),
    )
    if not plan.stops:
        nearest = float(np.min(np.hypot(*(case_xy - np.asarray(start_xy)).T))) / 1000.0
        raise InputError(
            _("No open case of {name} fits in {km} km", name=terr.name, km=_km(max_km)),
            hint=_("the nearest is {near} km from the start in a straight line "
                   "({trip} km there and back); allow a longer round trip or give another "
                   "start", near=_km(nearest), trip=_km(nearest * (2 if returns else 1))),
            inputs=("max_km", "start"),
        )
    stored_params: dict[str, Any] = {
        "max_km": float(max_km),
        "returns": returns,
        "start": list(plan.start),
        "start_kind": start_kind,
        "care_km": settings.patrol_care_km,
        "runway_probability": RUNWAY_PROBABILITY,
        "open_cases": len(cases),
        "network_lines": len(lines),
        "route": params.as_dict(),
        "assigned": assign is not None,
    }
    if not save:
        return plan
    with store.transaction() as conn:
        plan_id = store.patrol_plans.add(
            conn, territory_id=terr.id, params=stored_params, plan=plan_to_json(plan),
            route_wkb=None if plan.route is None else bytes(shapely.to_wkb(plan.route)),
        )
        store.audit.add(conn, actor=actor, action="patrol.plan", at=datetime.now(UTC),
                        target=f"plan:{plan_id}",
                        detail={"territory": terr.name, "stops": len(plan.stops),
                                "assigned": assign is not None})
        if assign:
            for stop in plan.stops:
                update_case(store, stop.case_id, actor=actor, assignee=assign,
                            detail={"patrol_plan": plan_id}, conn=conn)
    return replace(plan, id=plan_id)


# ----------------------------------------------------------------------------- helpers


def _km(value: float) -> str:
    return number(value, 1)


def _to_metric_xy(lonlat: NDArray[np.float64], frame: CRS) -> NDArray[np.float64]:
    x, y = transformer(WGS84, frame).transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([np.asarray(x, np.float64), np.asarray(y, np.float64)])


def _to_lonlat(xy: NDArray[np.float64], frame: CRS) -> NDArray[np.float64]:
    arr = np.asarray(xy, np.float64).reshape(-1, 2)
    lon, lat = transformer(frame, WGS84).transform(arr[:, 0], arr[:, 1])
    return np.column_stack([np.asarray(lon, np.float64), np.asarray(lat, np.float64)])


def _box_around(lonlat: Sequence[float], km: float) -> tuple[float, float, float, float]:
    """The lon/lat box of the points within ``km`` of ``lonlat`` (a little larger)."""
    lon, lat = float(lonlat[0]), float(lonlat[1])
    dlat = km / 110.574 * 1.01
    dlon = km / (111.320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def _start(
    store: WorkspaceStore,
    terr: StoredTerritory,
    terr_metric: BaseGeometry,
    start: tuple[float, float] | str | None,
    frame: CRS,
    near_km: float,
    *,
    towards: tuple[float, float],
) -> tuple[tuple[float, float], tuple[float, float] | None, str | None, str]:
    """(metric point, lon/lat when given, name, kind) of the patrol's start."""
    if isinstance(start, tuple):
        lon, lat = float(start[0]), float(start[1])
        xy = _to_metric_xy(np.asarray([[lon, lat]]), frame)[0]
        return (float(xy[0]), float(xy[1])), (lon, lat), None, "given"
    if isinstance(start, str):
        named, geom = _settlement_named(store, start)
        point = anchor_point(transform_geometries([geom], WGS84, frame)[0])
        return point, None, named, "settlement"
    minx, miny, maxx, maxy = (float(v) for v in terr.geometry.bounds)
    lo = _box_around((minx, miny), near_km)
    hi = _box_around((maxx, maxy), near_km)
    near = store.context.features([ContextKind.SETTLEMENT], bounds=(lo[0], lo[1], hi[2], hi[3]))
    metric = transform_geometries(near.geometry, WGS84, frame)
    others = [t.geometry for t in store.territories.list(CASE_TERRITORY_KINDS) if t.id != terr.id]
    xy, name, kind = choose_start(
        terr_metric,
        [(None if n is None else str(n), g) for n, g in zip(near.name, metric, strict=True)],
        towards=towards,
        max_distance_m=near_km * 1000.0,
        elsewhere=list(transform_geometries(others, WGS84, frame)),
    )
    return xy, None, name, kind


def _settlement_named(store: WorkspaceStore, text: str) -> tuple[str, BaseGeometry]:
    """The settlement of the settlement layer called ``text`` (accents and case ignored)."""
    found = store.context.features([ContextKind.SETTLEMENT])
    named = [(str(n), g) for n, g in zip(found.name, found.geometry, strict=True) if n]
    wanted = normalise_name(text)
    exact = [t for t in named if normalise_name(t[0]) == wanted]
    matches = exact or [t for t in named if wanted and wanted in normalise_name(t[0])]
    if len({normalise_name(n) for n, _g in matches}) == 1:
        return matches[0]
    if matches:
        names = sorted({n for n, _g in matches})
        raise InputError(
            _("The start {name!r} matches {n} settlements: {names}", name=text, n=len(names),
              names="; ".join(names[:8])),
            hint=_("give the full name, or the position as lon,lat"),
        )
    if not named:
        raise NotFoundError(
            _("There is no settlement layer to find {name!r} in", name=text),
            hint=_("give the start as lon,lat, or import the settlements"),
            inputs="start",
            actions=action("layers.import", kind="settlement"),
        )
    raise NotFoundError(
        _("No settlement called {name!r} in the settlement layer", name=text),
        hint=_("give the start as lon,lat, or check the name among the settlements"),
        inputs="start",
        actions=action("layers.list"),
    )


def _travel_lines(store: WorkspaceStore, box: tuple[float, float, float, float],
                  frame: CRS) -> list[NetworkLine]:
    """The rivers, roads and trails within ``box`` (cut to it), metric, with their modes."""
    found = store.context.features(TRAVEL_KINDS, bounds=box)
    if not len(found):
        return []
    clipped = shapely.clip_by_rect(found.geometry, *box)
    metric = transform_geometries(clipped, WGS84, frame)
    lines: list[NetworkLine] = []
    for g, kind, klass, name in zip(metric, found.kind, found.feature_class, found.name,
                                    strict=True):
        if g is None or g.is_empty:
            continue
        mode = classify_line(str(kind), None if klass is None else str(klass),
                             None if name is None else str(name))
        if mode is not None:
            lines.append(NetworkLine(g, mode, None if name is None else str(name)))
    return lines


def _hazards(store: WorkspaceStore, box: tuple[float, float, float, float],
             frame: CRS) -> list[Hazard]:
    """Known airstrips and camps, and runway-like clearings, within ``box`` (metric)."""
    found = store.context.features([ContextKind.AIRSTRIP, ContextKind.CAMP], bounds=box)
    metric = transform_geometries(found.geometry, WGS84, frame)
    hazards = [
        Hazard("airstrip" if kind == ContextKind.AIRSTRIP.value else "camp", g,
               None if name is None else str(name))
        for g, kind, name in zip(metric, found.kind, found.name, strict=True)
    ]
    clearings = store.clearings.columns(bounds=box)  # those whose bounding box meets it
    if len(clearings):
        lon, lat = clearings.centroid_lon, clearings.centroid_lat
        keep = ((clearings.driver == Driver.AIRSTRIP.value)
                & (clearings.driver_probability >= RUNWAY_PROBABILITY)
                & (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3]))
        geoms = transform_geometries(clearings.geometry[keep], WGS84, frame)
        hazards.extend(Hazard("runway_clearing", g) for g in geoms)
    return hazards
