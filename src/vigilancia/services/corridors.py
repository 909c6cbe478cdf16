"""Trafficking corridors: least-cost routes from production zones and runways to exits.

:func:`build_corridors` reads a workspace's context layers (rivers, roads,
trails, known airstrips, exits, borders), its coca-likely clearings and its
community territories; builds the multimodal network of
:mod:`vigilancia.domain.routes` in a local equal-area frame; routes every
origin (a cluster of coca clearings, or a runway) to its cheapest exit; and
stores the run and its corridors in one transaction (all or nothing).

The risk score reads the corridors back with :func:`corridor_exposure`
(distance from each territory to the nearest corridor, corridors crossing it);
a back-test rasterises them on its own grid with :func:`corridor_density`.
:func:`export_corridors` writes ``corredores.gpkg`` (layers ``rutas``,
``zonas_produccion``, ``salidas``, ``comunidades_corredor``; ``routes``,
``production_zones``, ``exits``, ``corridor_communities`` in English, with the column
names and codes of the language: :mod:`vigilancia.services.texts.columns`) and the
density surface ``densidad_corredores.tif``.

>>> result = build_corridors(store, Settings())  # doctest: +SKIP
>>> [(r.origin, r.exit_name, r.modes) for r in result.routes][:1]  # doctest: +SKIP
[('runway:412', 'cruce de frontera: Juruá / Peru–Brazil', ('walk', 'road_rural', 'river'))]
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from vigilancia.config import Settings
from vigilancia.domain import routes as domain_routes
from vigilancia.domain.airstrips import runway_opened_by
from vigilancia.domain.context import ContextKind
from vigilancia.domain.drivers import Driver
from vigilancia.domain.routes import (
    CorridorExposure,
    ExitPoint,
    Mode,
    NetworkLine,
    Origin,
    RouteParams,
    build_network,
    classify_line,
    is_air_exit,
    production_zones,
    route_to_exits,
    territory_exposure,
)
from vigilancia.domain.territories import StoredTerritory, TerritoryKind
from vigilancia.errors import ConflictError, InputError, VigilanciaError
from vigilancia.i18n import _
from vigilancia.io.crs import WGS84, centre_of, local_equal_area, transform_geometries
from vigilancia.io.files import temp_dir
from vigilancia.progress import Progress, no_progress
from vigilancia.services.texts.columns import layer_name, localise

if TYPE_CHECKING:
    import geopandas

    from vigilancia.io.store import WorkspaceStore

__all__ = [
    "DENSITY_FILE",
    "GPKG_FILE",
    "CorridorExposures",
    "CorridorExport",
    "CorridorExit",
    "CorridorOrigin",
    "CorridorResult",
    "CorridorRoute",
    "build_corridors",
    "corridor_density",
    "corridor_exposure",
    "export_corridors",
    "mode_label",
    "route_params",
]

#: File names written by :func:`export_corridors`.
GPKG_FILE = "corredores.gpkg"
DENSITY_FILE = "densidad_corredores.tif"
#: The context kinds the network is made of (a missing one is reported).
NETWORK_KINDS = (
    ContextKind.RIVER,
    ContextKind.ROAD,
    ContextKind.TRAIL,
    ContextKind.AIRSTRIP,
    ContextKind.EXIT,
    ContextKind.BORDER,
)
#: Territories whose exposure is measured by default.
EXPOSED_KINDS = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE)
#: Largest side (cells) of the exported density surface; the cell grows beyond it.
MAX_DENSITY_CELLS = 4000


def mode_label(mode: Mode | str) -> str:
    """The name of a travel mode in the user's language."""
    labels = {
        Mode.RIVER: lambda: _("navigable river"),
        Mode.STREAM: lambda: _("stream"),
        Mode.ROAD_NATIONAL: lambda: _("national road"),
        Mode.ROAD_DEPARTMENTAL: lambda: _("departmental road"),
        Mode.ROAD_RURAL: lambda: _("rural road"),
        Mode.TRAIL: lambda: _("trail"),
        Mode.AIR: lambda: _("light aircraft"),
        Mode.WALK: lambda: _("walking through forest"),
    }
    return labels[Mode(mode)]()


def route_params(settings: Settings) -> RouteParams:
    """The network parameters of ``settings`` (``VIGILANCIA_ROUTE_*``)."""
    return RouteParams(
        river_kmh=settings.route_river_kmh,
        stream_kmh=settings.route_stream_kmh,
        national_road_kmh=settings.route_national_road_kmh,
        departmental_road_kmh=settings.route_departmental_road_kmh,
        rural_road_kmh=settings.route_rural_road_kmh,
        trail_kmh=settings.route_trail_kmh,
        walk_kmh=settings.route_walk_kmh,
        air_kmh=settings.route_air_kmh,
        air_fixed_h=settings.route_air_fixed_h,
        air_range_km=settings.route_air_range_km,
        snap_m=settings.route_snap_m,
        bridge_km=settings.route_bridge_km,
        access_km=settings.route_access_km,
        simplify_m=settings.route_simplify_m,
    )


# --------------------------------------------------------------------- results


@dataclass(frozen=True)
class CorridorOrigin:
    """An origin: a production zone (``kind`` "zone") or a runway ("runway"), at ``lon``/``lat``.

    ``clearings`` are the ids of a zone's coca clearings; ``area_ha`` their area.
    """

    label: str
    kind: str
    lon: float
    lat: float
    name: str | None = None
    clearings: tuple[int, ...] = ()
    area_ha: float = 0.0


@dataclass(frozen=True)
class CorridorExit:
    """An exit: an exit feature or a border crossing (``kind``), with the routes that reach it."""

    name: str
    kind: str
    lon: float
    lat: float
    air: bool = False
    routes: int = 0


@dataclass(frozen=True)
class CorridorRoute:
    """A stored corridor: the cheapest route of one origin (EPSG:4326 line).

    ``modes`` in route order (mode codes, see :class:`~vigilancia.domain.routes.Mode`);
    ``family_km``: km by river, road, trail, air and walk; ``cost_h`` hours.
    """

    id: int
    origin: str
    exit_name: str
    modes: tuple[str, ...]
    length_km: float
    cost_h: float
    family_km: dict[str, float]
    geometry: BaseGeometry

    @property
    def label(self) -> str:
        return f"{self.origin} → {self.exit_name}"


@dataclass(frozen=True)
class CorridorExposures(Mapping[int, CorridorExposure]):
    """Exposure of each territory (by id) to the corridors of one stored run.

    Empty, with ``available`` false, when there is no usable run (``missing``
    says why: ``"no_run"``, ``"no_exits"`` or ``"no_origins"``): the risk score
    then reports the corridor layer as missing instead of scoring zero risk.
    """

    by_territory: dict[int, CorridorExposure] = field(default_factory=dict)
    run_id: int | None = None
    as_of: date | None = None
    missing: str | None = "no_run"

    @property
    def available(self) -> bool:
        return self.missing is None

    def __getitem__(self, key: int) -> CorridorExposure:
        return self.by_territory[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self.by_territory)

    def __len__(self) -> int:
        return len(self.by_territory)


@dataclass(frozen=True)
class CorridorResult:
    """What :func:`build_corridors` found and stored.

    ``unreachable``: labels of origins with no route to any exit;
    ``missing_layers``: context kinds the workspace lacks (and ``"coca"`` when
    no clearing is coca-likely); ``no_exits``: there were no exits at all.
    ``exposure``: each community territory and reserve against the corridors.
    ``crs``: the metric frame the network was built in; ``summary``: the counts
    stored with the run (origins, zones, runways, exits, border_crossings,
    routes, unreachable, missing_layers, no_exits, network).
    """

    run_id: int
    as_of: date | None
    origins: tuple[CorridorOrigin, ...]
    exits: tuple[CorridorExit, ...]
    routes: tuple[CorridorRoute, ...]
    unreachable: tuple[str, ...]
    missing_layers: tuple[str, ...]
    no_exits: bool
    exposure: CorridorExposures
    territories: tuple[StoredTerritory, ...]
    params: dict[str, float]
    network: dict[str, int]
    crs: CRS
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no geometry): the run, its counts, origins, exits, routes (km
        by family, hours), what was missing, and each territory's exposure (km)."""
        return {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "summary": dict(self.summary),
            "origins": [asdict(o) for o in self.origins],
            "exits": [asdict(e) for e in self.exits],
            "routes": [
                {"id": r.id, "origin": r.origin, "exit": r.exit_name, "modes": list(r.modes),
                 "length_km": r.length_km, "cost_h": r.cost_h, "family_km": dict(r.family_km)}
                for r in self.routes
            ],
            "unreachable": list(self.unreachable),
            "missing_layers": list(self.missing_layers),
            "no_exits": self.no_exits,
            "exposure": {
                "available": self.exposure.available,
                "missing": self.exposure.missing,
                "territories": [
                    {"territory_id": tid, "distance_km": e.distance_km,
                     "crossing": list(e.crossing), "labels": list(e.labels)}
                    for tid, e in self.exposure.items()
                ],
            },
            "params": dict(self.params),
            "network": dict(self.network),
        }



# --------------------------------------------------------------------- building


def build_corridors(
    store: WorkspaceStore,
    settings: Settings,
    *,
    as_of: date | None = None,
    progress: Progress | None = None,
) -> CorridorResult:
    """Route every production zone and runway to its cheapest exit and store the corridors.

    ``as_of`` keeps the clearings first seen before that date and the runways
    opened (attribute ``yr``, when present) in or before its year; by default
    everything stored counts. Origins: clusters (within
    ``settings.route_zone_km``) of clearings whose likely driver is coca with
    probability at least ``settings.route_coca_probability``, and every known
    airstrip. Exits: exit features and the points where the network meets a
    border. The run (parameters, summary) and one corridor per route are
    stored in one transaction. A workspace without exits, origins or some
    layers is not an error: the result says what was missing.
    """
    tick = progress or no_progress
    params = route_params(settings)
    stage = _("Reading the layers")
    tick(stage, 0, 3)
    features = store.context.features(NETWORK_KINDS)
    attributes = store.context.attributes([ContextKind.AIRSTRIP, ContextKind.BORDER])
    tick(stage, 1, 3)
    zones_in, coca_found = _coca_clearings(store, settings, as_of)
    tick(stage, 2, 3)
    territories = tuple(store.territories.list(EXPOSED_KINDS))
    tick(stage, 3, 3)

    runways = features.of_kind(ContextKind.AIRSTRIP)
    keep = np.array(
        [runway_opened_by(attributes.get(int(i)), as_of) for i in runways.id], dtype=bool
    ).reshape(-1)
    runway_ids = runways.id[keep]
    runway_geoms = runways.geometry[keep]
    runway_names = runways.name[keep]

    missing = [k.value for k in NETWORK_KINDS if len(features.of_kind(k)) == 0]
    if not coca_found:
        missing.append("coca")

    # one metric frame for everything
    frame = _frame(features.geometry, zones_in[2], [t.geometry for t in territories])
    metric = transform_geometries(features.geometry, WGS84, frame)
    kinds = features.kind
    lines = [
        NetworkLine(g, mode, None if name is None else str(name))
        for g, kind, klass, name in zip(metric, kinds, features.feature_class, features.name,
                                        strict=True)
        if (mode := classify_line(str(kind), klass, name)) is not None
    ]
    exit_mask = kinds == ContextKind.EXIT.value
    exits = [
        ExitPoint(
            name=_exit_feature_name(name, int(fid)),
            point=_point_of(g),
            kind="exit",
            air=is_air_exit(klass, name),
            feature_id=int(fid),
        )
        for fid, g, klass, name in zip(features.id[exit_mask], metric[exit_mask],
                                       features.feature_class[exit_mask],
                                       features.name[exit_mask], strict=True)
    ]
    border_mask = kinds == ContextKind.BORDER.value
    borders = [
        (_border_name(name, klass, attributes.get(int(fid))), g)
        for fid, g, klass, name in zip(features.id[border_mask], metric[border_mask],
                                       features.feature_class[border_mask],
                                       features.name[border_mask], strict=True)
    ]

    zone_ids, zone_area, zone_xy = zones_in
    zone_metric = _project_xy(zone_xy, frame)
    zones = production_zones(zone_ids, zone_metric, cluster_m=settings.route_zone_km * 1000.0)
    area_by_id = dict(zip(zone_ids.tolist(), zone_area.tolist(), strict=True))
    runway_metric = transform_geometries(runway_geoms, WGS84, frame)
    origins = [Origin(z.label, "zone", z.point) for z in zones] + [
        Origin(f"runway:{int(i)}", "runway", _point_of(g), airstrip=True)
        for i, g in zip(runway_ids, runway_metric, strict=True)
    ]

    stage = _("Building the network")
    tick(stage, 0, 1)
    network = build_network(lines, exits=exits, borders=borders, origins=origins, params=params)
    tick(stage, 1, 1)
    stage = _("Finding routes")
    tick(stage, 0, 1)
    found = route_to_exits(network)
    tick(stage, 1, 1)

    exit_labels = [_exit_label(e) for e in network.exits]
    route_geoms = transform_geometries([r.geometry for r in found.routes], frame, WGS84)
    rows = [
        (
            r.origin.label,
            exit_labels[r.exit_index],
            [m.value for m in r.modes],
            r.length_km,
            r.total_cost_h,
            g,
        )
        for r, g in zip(found.routes, route_geoms, strict=True)
    ]
    origin_points = _lonlat([o.point for o in origins], frame)
    runway_name = {f"runway:{int(i)}": n for i, n in zip(runway_ids, runway_names, strict=True)}
    corridor_origins = tuple(
        CorridorOrigin(
            label=o.label,
            kind=o.kind,
            lon=float(ll[0]),
            lat=float(ll[1]),
            name=None if runway_name.get(o.label) is None else str(runway_name[o.label]),
            clearings=z.members if z is not None else (),
            area_ha=float(sum(area_by_id[m] for m in z.members)) if z is not None else 0.0,
        )
        for o, ll, z in zip(origins, origin_points,
                            [*zones, *([None] * (len(origins) - len(zones)))], strict=True)
    )
    reached: dict[int, int] = {}
    for r in found.routes:
        reached[r.exit_index] = reached.get(r.exit_index, 0) + 1
    exit_points = _lonlat([e.point for e in network.exits], frame)
    corridor_exits = tuple(
        CorridorExit(
            name=exit_labels[i],
            kind=e.kind,
            lon=float(exit_points[i, 0]),
            lat=float(exit_points[i, 1]),
            air=e.air,
            routes=reached.get(i, 0),
        )
        for i, e in enumerate(network.exits)
    )
    result_missing = tuple(missing)
    summary = {
        "origins": len(origins),
        "zones": len(zones),
        "runways": len(origins) - len(zones),
        "exits": len(network.exits),
        "border_crossings": sum(e.kind == "border_crossing" for e in network.exits),
        "routes": len(found.routes),
        "unreachable": list(found.unreachable),
        "missing_layers": list(result_missing),
        "no_exits": found.no_exits,
        "network": dict(network.stats),
    }

    stage = _("Saving the corridors")
    tick(stage, 0, 1)
    with store.transaction() as conn:
        run_id, ids = store.corridors.add_run(
            conn, as_of=as_of, params=params.as_dict(), summary=summary, corridors=rows
        )
    tick(stage, 1, 1)

    routes = tuple(
        CorridorRoute(
            id=cid,
            origin=row[0],
            exit_name=row[1],
            modes=tuple(row[2]),
            length_km=float(row[3]),
            cost_h=float(row[4]),
            family_km={k: v / 1000.0 for k, v in r.family_lengths().items()},
            geometry=row[5],
        )
        for cid, row, r in zip(ids, rows, found.routes, strict=True)
    )
    exposure = _exposure_of(
        territories, [(r.id, r.label, r.geometry) for r in routes], run_id, as_of,
        _unusable(summary),
    )
    return CorridorResult(
        run_id=run_id,
        as_of=as_of,
        origins=corridor_origins,
        exits=corridor_exits,
        routes=routes,
        unreachable=found.unreachable,
        missing_layers=result_missing,
        no_exits=found.no_exits,
        exposure=exposure,
        territories=territories,
        params=params.as_dict(),
        network=dict(network.stats),
        crs=frame,
        summary=summary,
    )


def _coca_clearings(
    store: WorkspaceStore, settings: Settings, as_of: date | None
) -> tuple[tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]], bool]:
    """(ids, area_ha, lon/lat) of the coca-likely clearings, and whether there were any."""
    frame = store.clearings.frame()
    if len(frame) == 0:
        return (np.empty(0, np.int64), np.empty(0), np.empty((0, 2))), False
    driver = frame["driver"].to_numpy(dtype=object)
    prob = frame["driver_probability"].to_numpy(dtype=np.float64)
    keep = (driver == Driver.COCA.value) & (prob >= settings.route_coca_probability)
    if as_of is not None:
        first = frame["first_date"].to_numpy(dtype=object)
        iso = as_of.isoformat()
        keep &= np.array([d is not None and str(d) < iso for d in first], dtype=bool)
    ids = frame["id"].to_numpy(dtype=np.int64)[keep]
    area = frame["area_ha"].to_numpy(dtype=np.float64)[keep]
    xy = np.column_stack(
        [frame["centroid_lon"].to_numpy(np.float64)[keep],
         frame["centroid_lat"].to_numpy(np.float64)[keep]]
    )
    return (ids, area, xy), bool(keep.any())


def _frame(*groups: Any) -> CRS:
    """A local equal-area CRS centred on everything given (EPSG:4326 geometries or lon/lat)."""
    boxes: list[NDArray[np.float64]] = []
    for g in groups:
        arr = np.asarray(g, dtype=object if not isinstance(g, np.ndarray) else g.dtype)
        if arr.size == 0:
            continue
        if arr.dtype == object:
            b = np.asarray(shapely.bounds(arr), np.float64).reshape(-1, 4)
            boxes.append(b[~np.isnan(b).any(axis=1)])
        else:
            xy = arr.reshape(-1, 2).astype(np.float64)
            boxes.append(np.column_stack([xy, xy]))
    if not boxes or not sum(len(b) for b in boxes):
        return local_equal_area(-75.0, -9.0)
    allb = np.vstack(boxes)
    bounds = (float(allb[:, 0].min()), float(allb[:, 1].min()),
              float(allb[:, 2].max()), float(allb[:, 3].max()))
    return local_equal_area(*centre_of(bounds))


def _project_xy(lonlat: NDArray[np.float64], frame: CRS) -> NDArray[np.float64]:
    if len(lonlat) == 0:
        return np.empty((0, 2))
    pts = transform_geometries(shapely.points(lonlat), WGS84, frame)
    return np.asarray(shapely.get_coordinates(pts), np.float64)


def _lonlat(points: Sequence[tuple[float, float]], frame: CRS) -> NDArray[np.float64]:
    if not points:
        return np.empty((0, 2))
    pts = transform_geometries(shapely.points(np.asarray(points, np.float64)), frame, WGS84)
    return np.asarray(shapely.get_coordinates(pts), np.float64)


def _point_of(g: BaseGeometry) -> tuple[float, float]:
    """A point standing for a feature: the midpoint of a line, a polygon's inner point."""
    if g.geom_type in ("LineString", "MultiLineString"):
        p = g.interpolate(0.5, normalized=True) if g.geom_type == "LineString" else g.centroid
    elif g.geom_type == "Point":
        p = g
    else:
        p = g.representative_point()
    return float(p.x), float(p.y)


def _exit_feature_name(name: Any, fid: int) -> str:
    return str(name) if name else _("exit {id}", id=fid)


def _border_name(name: Any, klass: Any, attrs: Mapping[str, Any] | None) -> str:
    if name:
        return str(name)
    lower = {str(k).lower(): v for k, v in (attrs or {}).items()}
    left, right = lower.get("adm0_left"), lower.get("adm0_right")
    if left and right:
        return f"{left}–{right}"
    return _("border")


def _exit_label(e: ExitPoint) -> str:
    if e.kind != "border_crossing":
        return e.name or _("exit")
    via = e.via or ""
    if via in {m.value for m in Mode}:
        via = mode_label(via)
    return _("border crossing: {via} / {border}", via=via, border=e.border or _("border"))


# --------------------------------------------------------------------- reading back


def _unusable(summary: Mapping[str, Any]) -> str | None:
    if summary.get("no_exits"):
        return "no_exits"
    if not summary.get("origins"):
        return "no_origins"
    return None


def _exposure_of(
    territories: Sequence[StoredTerritory],
    corridors: Sequence[tuple[int, str, BaseGeometry]],
    run_id: int | None,
    as_of: date | None,
    missing: str | None,
) -> CorridorExposures:
    if missing is not None:
        return CorridorExposures({}, run_id=run_id, as_of=as_of, missing=missing)
    t_geoms = [t.geometry for t in territories]
    c_geoms = [c[2] for c in corridors]
    frame = _frame(t_geoms, c_geoms)
    t_metric = transform_geometries(t_geoms, WGS84, frame)
    c_metric = transform_geometries(c_geoms, WGS84, frame)
    by = territory_exposure(
        [(t.id, g) for t, g in zip(territories, t_metric, strict=True)],
        [(c[0], c[1], g) for c, g in zip(corridors, c_metric, strict=True)],
    )
    return CorridorExposures(by, run_id=run_id, as_of=as_of, missing=None)


def corridor_exposure(
    store: WorkspaceStore,
    territories: Sequence[StoredTerritory] | None = None,
    *,
    run_id: int | None = None,
    as_of: date | None = None,
) -> CorridorExposures:
    """Each territory's distance (km) to the nearest stored corridor and the corridors crossing it.

    Uses run ``run_id``, or the newest run built for ``as_of``, or the newest
    run. ``territories`` default to the community territories and reserves.
    Returns an empty mapping with ``available`` false (and ``missing`` saying
    why) when there is no such run, or its run had no exits or no origins; a
    territory far from every corridor of a usable run has a finite distance,
    and ``inf`` only when the run found no route at all.

    >>> exposure = corridor_exposure(store)  # doctest: +SKIP
    >>> exposure.available, exposure[12].distance_km, exposure[12].labels  # doctest: +SKIP
    (True, 0.0, ('runway:76 → cruce de frontera: Purús / Brazil–Peru',))
    """
    if run_id is not None:
        run = next((r for r in store.corridors.runs() if r.id == int(run_id)), None)
    else:
        run = store.corridors.latest_run(as_of=as_of)
    if run is None:
        return CorridorExposures({}, run_id=None, as_of=as_of, missing="no_run")
    if territories is None:
        territories = store.territories.list(EXPOSED_KINDS)
    corridors = store.corridors.list(run.id)
    return _exposure_of(
        list(territories),
        [(c.id, c.label, c.geometry) for c in corridors],
        run.id,
        run.as_of,
        _unusable(run.summary),
    )


def corridor_density(
    store: WorkspaceStore,
    transform: Sequence[float],
    shape: tuple[int, int],
    crs: Any,
    *,
    bandwidth_km: float = 5.0,
    run_id: int | None = None,
    corridors: Sequence[BaseGeometry] | None = None,
) -> NDArray[np.float32]:
    """How many stored corridors pass within ``bandwidth_km`` of each cell of a grid.

    The grid is given as a rasterio/GDAL affine ``transform`` (north-up),
    ``shape`` (rows, cols) and ``crs`` (anything pyproj reads; metric or
    geographic). Corridors are those of run ``run_id`` (default: the newest),
    or the EPSG:4326 lines ``corridors`` when given. A float32 array of
    ``shape``; all zeros when there are no corridors.
    """
    grid_crs = CRS.from_user_input(crs)
    lines = (
        list(corridors) if corridors is not None
        else [c.geometry for c in store.corridors.list(run_id)]
    )
    if not lines:
        return np.zeros((int(shape[0]), int(shape[1])), np.float32)
    projected = transform_geometries(lines, WGS84, grid_crs)
    a, _b, c, _d, e, f = (float(v) for v in tuple(transform)[:6])
    if grid_crs.is_geographic:
        lat = f + e * shape[0] / 2.0
        per_unit = (111_320.0 * math.cos(math.radians(lat)), 110_574.0)
    else:
        unit = grid_crs.axis_info[0].unit_conversion_factor if grid_crs.axis_info else 1.0
        per_unit = (float(unit), float(unit))
    return domain_routes.corridor_density(
        list(projected), transform, shape, bandwidth_m=bandwidth_km * 1000.0,
        metres_per_unit=per_unit,
    )


# --------------------------------------------------------------------- export


@dataclass(frozen=True)
class CorridorExport:
    """Files written by :func:`export_corridors`."""

    gpkg: Path
    density: Path
    density_cell_m: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the two files and the density cell size (m)."""
        return {"gpkg": self.gpkg, "density": self.density,
                "density_cell_m": self.density_cell_m}


def export_corridors(
    result: CorridorResult,
    output_dir: Path,
    *,
    settings: Settings,
    overwrite: bool = False,
) -> CorridorExport:
    """Write ``corredores.gpkg`` and ``densidad_corredores.tif`` into ``output_dir``.

    GeoPackage layers (EPSG:4326): ``rutas`` (origin, exit, modes, length_km,
    cost_h, km by river/road/trail/air/walk), ``zonas_produccion`` (origin
    points: zones with their clearings and area, runways; reachable or not),
    ``salidas`` (exits and the routes reaching each) and
    ``comunidades_corredor`` (territories with ``distance_km`` to the nearest
    corridor and the corridors crossing them). The GeoTIFF counts the routes
    within ``settings.route_density_bandwidth_km`` of each cell
    (``settings.route_density_cell_m`` cells, in the run's equal-area frame).
    Both are written under temporary names and moved into place; existing
    files are only replaced with ``overwrite``.
    """
    output_dir = Path(output_dir).expanduser()
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(
            _("the output must be a folder"), hint=_("give the name of a folder"),
            source=str(output_dir),
        )
    gpkg = output_dir / GPKG_FILE
    tif = output_dir / DENSITY_FILE
    for path in (gpkg, tif):
        if path.exists() and not overwrite:
            raise ConflictError(
                _("the file already exists"),
                hint=_("choose another file name, or allow overwriting it"),
                source=str(path),
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    tmpdir = temp_dir(output_dir, label="corredores")
    try:
        try:
            _write_gpkg(result, tmpdir / GPKG_FILE)
            cell = _write_density(result, tmpdir / DENSITY_FILE, settings)
        except (OSError, RuntimeError, ValueError) as exc:
            raise VigilanciaError(
                _("the export could not be written"),
                hint=_("check that the disk is not full and that the folder may be written"),
                source=str(output_dir),
            ) from exc
        os.replace(tmpdir / GPKG_FILE, gpkg)
        os.replace(tmpdir / DENSITY_FILE, tif)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return CorridorExport(gpkg=gpkg, density=tif, density_cell_m=cell)


def _write_gpkg(result: CorridorResult, path: Path) -> None:
    import geopandas as gpd
    import pyogrio

    families = ("river", "road", "trail", "air", "walk")
    routes = gpd.GeoDataFrame(
        {
            "id": [r.id for r in result.routes],
            "origin": [r.origin for r in result.routes],
            "exit": [r.exit_name for r in result.routes],
            "modes": [", ".join(r.modes) for r in result.routes],
            "modes_text": [" > ".join(mode_label(m) for m in r.modes) for r in result.routes],
            "length_km": [round(r.length_km, 3) for r in result.routes],
            "cost_h": [round(r.cost_h, 3) for r in result.routes],
            **{
                f"{fam}_km": [round(r.family_km.get(fam, 0.0), 3) for r in result.routes]
                for fam in families
            },
        },
        geometry=[r.geometry for r in result.routes],
        crs="EPSG:4326",
    )
    by_origin = {r.origin: r for r in result.routes}
    origins = gpd.GeoDataFrame(
        {
            "origin": [o.label for o in result.origins],
            "kind": [o.kind for o in result.origins],
            "name": [o.name for o in result.origins],
            "n_clearings": [len(o.clearings) for o in result.origins],
            "area_ha": [round(o.area_ha, 3) for o in result.origins],
            "clearing_ids": [",".join(map(str, o.clearings)) or None for o in result.origins],
            "reachable": [o.label in by_origin for o in result.origins],
            "exit": [by_origin[o.label].exit_name if o.label in by_origin else None
                     for o in result.origins],
            "cost_h": [round(by_origin[o.label].cost_h, 3) if o.label in by_origin else None
                       for o in result.origins],
        },
        geometry=shapely.points([(o.lon, o.lat) for o in result.origins])
        if result.origins else [],
        crs="EPSG:4326",
    )
    exits = gpd.GeoDataFrame(
        {
            "name": [e.name for e in result.exits],
            "kind": [e.kind for e in result.exits],
            "air": [e.air for e in result.exits],
            "routes": [e.routes for e in result.exits],
        },
        geometry=shapely.points([(e.lon, e.lat) for e in result.exits]) if result.exits else [],
        crs="EPSG:4326",
    )
    exposure = result.exposure
    terr = result.territories
    communities = gpd.GeoDataFrame(
        {
            "territory_id": [t.id for t in terr],
            "name": [t.name for t in terr],
            "kind": [t.kind.value for t in terr],
            "distance_km": [
                _finite(exposure[t.id].distance_km) if t.id in exposure else None for t in terr
            ],
            "n_crossing": [len(exposure[t.id].crossing) if t.id in exposure else 0 for t in terr],
            "crossing": [
                "; ".join(exposure[t.id].labels) or None if t.id in exposure else None
                for t in terr
            ],
        },
        geometry=[t.geometry for t in terr],
        crs="EPSG:4326",
    )
    layers: list[tuple[str, geopandas.GeoDataFrame, str]] = [
        ("routes", routes, "MultiLineString"),
        ("production_zones", origins, "Point"),
        ("exits", exits, "Point"),
        ("corridor_communities", communities, "MultiPolygon"),
    ]
    for i, (name, frame, geom_type) in enumerate(layers):
        options: dict[str, Any] = {"promote_to_multi": geom_type.startswith("Multi")}
        if len(frame) == 0:
            options["geometry_type"] = geom_type
        pyogrio.write_dataframe(localise(frame), path, layer=layer_name(name), driver="GPKG",
                                append=i > 0, **options)


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 3)


def _write_density(result: CorridorResult, path: Path, settings: Settings) -> float:
    """The density GeoTIFF in the run's metric frame; returns the cell size (m)."""
    import rasterio
    from affine import Affine

    cell = float(settings.route_density_cell_m)
    bandwidth = float(settings.route_density_bandwidth_km) * 1000.0
    lines = transform_geometries([r.geometry for r in result.routes], WGS84, result.crs)
    extra = [
        (o.lon, o.lat) for o in result.origins
    ] + [(e.lon, e.lat) for e in result.exits]
    if len(lines):
        b = np.asarray(shapely.bounds(np.asarray(lines, dtype=object)), np.float64)
        minx, miny = b[:, 0].min(), b[:, 1].min()
        maxx, maxy = b[:, 2].max(), b[:, 3].max()
    elif extra:
        pts = _project_xy(np.asarray(extra, np.float64), result.crs)
        minx, miny = pts.min(axis=0)
        maxx, maxy = pts.max(axis=0)
    else:
        minx = miny = 0.0
        maxx = maxy = cell
    minx, miny, maxx, maxy = minx - bandwidth, miny - bandwidth, maxx + bandwidth, maxy + bandwidth
    side = max(maxx - minx, maxy - miny)
    if side / cell > MAX_DENSITY_CELLS:
        cell = math.ceil(side / MAX_DENSITY_CELLS)
    cols = max(1, int(math.ceil((maxx - minx) / cell)))
    rows = max(1, int(math.ceil((maxy - miny) / cell)))
    transform = Affine(cell, 0.0, minx, 0.0, -cell, maxy)
    density = domain_routes.corridor_density(list(lines), tuple(transform)[:6], (rows, cols),
                              bandwidth_m=bandwidth)
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": result.crs.to_wkt(),
        "transform": transform,
        "compress": "deflate",
        "tiled": cols >= 256 and rows >= 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(density, 1)
        dst.set_band_description(1, "routes within bandwidth")
        dst.update_tags(bandwidth_m=str(bandwidth), cell_m=str(cell), run_id=str(result.run_id))
    return cell
