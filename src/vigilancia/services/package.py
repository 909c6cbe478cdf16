"""Offline package of one community: its open cases and patrol plan, for phones and paper.

:func:`build_package` gathers the open cases of one community territory (and
its newest stored patrol plan, when there is one) and writes, into a folder or
one ZIP:

- ``casos.gpkg``: layers ``territorio``, ``casos`` (points), ``claros`` (the
  cases' clearings), ``plan_ruta`` and ``plan_paradas`` (when there is a plan),
  for QGIS;
- ``casos.geojson``, ``claros.geojson`` and ``plan.geojson``;
- ``casos.gpx``: a waypoint per case, the planned route and its path, for
  Locus Map, OsmAnd and Garmin devices;
- ``casos.kmz``: styled placemarks in folders, for Google Earth;
- ``comapeo_alertas.json``: the cases as CoMapeo ``remoteDetectionAlert``s;
- ``casos.csv`` (the ODK entity list) and ``visita_verificacion.xlsx`` (the
  verification form that reads it), for ODK Collect and KoboCollect;
- ``mapa.pmtiles``: a vector tileset of the territory, cases and plan (zooms
  8-16), for offline maps;
- ``mapa.pdf``: a printable map with the plan's stops numbered in visiting order, and
  the plan's table with coordinates (decimal degrees and UTM) on as many pages as needed,
  drawn by the ``render_map`` the caller passes (a :data:`PackageMapRenderer`,
  :func:`vigilancia.reports.package_map.render_package_map` in the shells: the
  reports layer sits above the services, which never import it);
- ``LEEME.txt``: what each file is and how to open it, in the user's language.

Cases are numbered in visiting order (the plan's stops first, then the other
open cases by priority), and that number is the same in every file.

What a package never carries: assignees (monitors' names), other communities'
names, geometries or cases, field observations and tracks, case notes and
histories. Only the chosen territory's open cases are read, and only the
fields listed above are written.

A case opened by a field report (a monitor's waypoint, photo or form far from
every case) sits where someone stood and reported, often a threat. In every file
of the package it is shown at the centre of its cell of a fixed grid of
``settings.report_cell_deg`` degrees (0.01°, about 1.1 km; see
:func:`~vigilancia.domain.cases.shared_position`): the same cell every time,
never the reported point. It carries no geometry, no note, no date (its alert
dates are empty, its CoMapeo detection dates are the package's own) and no
priority terms; its care reasons name the kind of hazard without the distance.
Patrol plans route to that same cell centre
(:func:`~vigilancia.services.patrol.plan_patrol`).
"""

from __future__ import annotations

import math
import os
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from vigilancia.config import Settings
from vigilancia.domain.cases import OPEN_STATUSES, Case, CaseOrigin, shared_position
from vigilancia.domain.context import ContextKind
from vigilancia.domain.patrols import CareReason, PatrolPlan, PatrolStop, plan_from_json
from vigilancia.domain.territories import StoredTerritory, polygonal_part
from vigilancia.errors import ConflictError, InputError, VigilanciaError
from vigilancia.i18n import _, language, ngettext, number
from vigilancia.io.field.xlsform import xlsform_path
from vigilancia.io.files import replace_bytes, temp_dir
from vigilancia.io.package.comapeo import remote_detection_alert, write_comapeo_alerts
from vigilancia.io.package.common import MapFeature
from vigilancia.io.package.gpx import GpxPoint, gpx_document, write_gpx
from vigilancia.io.package.kml import KmlFolder, KmlPlacemark, KmlStyle, write_kmz
from vigilancia.io.package.odk import entity_geometry, write_entity_list
from vigilancia.io.package.tiles import TileLayer, write_pmtiles
from vigilancia.io.package.vectors import write_geojson, write_gpkg
from vigilancia.io.store import WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.cases import find_territory
from vigilancia.services.texts.cases import priority_text, status_name
from vigilancia.services.texts.drivers import driver_name

__all__ = [
    "MAX_PACKAGE_BYTES",
    "PAPERS",
    "PackageCase",
    "PackageFile",
    "PackageMap",
    "PackageMapRenderer",
    "PackageResult",
    "build_package",
    "care_text",
    "human_size",
]

#: Largest package that still goes through messaging apps (bytes): 15 MB.
MAX_PACKAGE_BYTES = 15 * 1000 * 1000
#: Paper sizes of the printable map: (width, height) in inches, landscape.
PAPERS: dict[str, tuple[float, float]] = {"a4": (11.69, 8.27), "letter": (11.0, 8.5)}
#: Zooms of the vector tileset.
TILE_ZOOMS = (8, 16)
#: How far (degrees) around the territory context lines are drawn on the map.
CONTEXT_PAD_DEG = 0.02


# --------------------------------------------------------------------------------------
# What goes in a package
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageCase:
    """One open case as packaged: its map ``number`` (visiting order, then priority), the
    plan's ``stop`` when it is visited, and its texts in the user's language.

    ``case`` is the case as the package may show it: a case opened by a field report
    (``reported``) comes with its point snapped to the report grid and without
    geometry, dates, note or priority terms (see the module text)."""

    case: Case
    number: int
    stop: PatrolStop | None
    driver: str
    care: str
    reported: bool = False

    @property
    def code(self) -> str:
        return self.case.code

    @property
    def needs_care(self) -> bool:
        return bool(self.care)

    @cached_property  # (every writer of the package asks for it)
    def clearings(self) -> BaseGeometry | None:
        """The case's clearings (polygons, lon/lat), or None (a field report)."""
        return polygonal_part(self.case.geometry)


@dataclass(frozen=True)
class PackageMap:
    """What the printable map shows (drawn by a :data:`PackageMapRenderer`, such as
    :func:`vigilancia.reports.package_map.render_package_map`).

    ``territory``: the community's boundary; ``cases`` in map-number order;
    ``route``: the plan's path (or None); ``start``: where the patrol leaves
    from; ``rivers``/``roads``/``trails``: context lines near the territory,
    without names; ``paper``: a key of :data:`PAPERS`; ``plan``: the patrol plan the
    cases' stops come from (its budget, the cases it left out and why), or None. Texts
    are in the user's language.
    """

    community: str
    title: str
    subtitle: str
    territory: BaseGeometry
    cases: tuple[PackageCase, ...]
    route: BaseGeometry | None
    start: tuple[float, float] | None
    rivers: tuple[BaseGeometry, ...]
    roads: tuple[BaseGeometry, ...]
    trails: tuple[BaseGeometry, ...]
    created: date
    paper: str = "a4"
    plan: PatrolPlan | None = None


PackageMapRenderer = Callable[[PackageMap], bytes]
"""Draws the printable map of a package: a :class:`PackageMap` in, the bytes of a PDF out
(:func:`vigilancia.reports.package_map.render_package_map`: the map on the first page, the
plan's table on as many pages as it needs)."""


@dataclass(frozen=True)
class PackageFile:
    """One file of a package: its name, size in bytes (compressed size inside a ZIP) and
    what it is for."""

    name: str
    size: int
    description: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``name``, ``size`` (bytes), ``description``."""
        return {"name": self.name, "size": self.size, "description": self.description}


@dataclass(frozen=True)
class PackageResult:
    """What :func:`build_package` wrote: the folder or ZIP, its files and total size."""

    output: Path
    territory: str
    files: tuple[PackageFile, ...]
    total_bytes: int
    cases: int
    stops: int
    plan_id: int | None
    zipped: bool
    tiles_max_zoom: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fits_messaging(self) -> bool:
        """Whether the package is under :data:`MAX_PACKAGE_BYTES`."""
        return self.total_bytes < MAX_PACKAGE_BYTES

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: where, the community, its files and sizes (bytes), cases,
        stops, plan and warnings."""
        return {
            "output": self.output,
            "territory": self.territory,
            "files": list(self.files),
            "total_bytes": self.total_bytes,
            "fits_messaging": self.fits_messaging,
            "cases": self.cases,
            "stops": self.stops,
            "plan_id": self.plan_id,
            "zipped": self.zipped,
            "tiles_max_zoom": self.tiles_max_zoom,
            "warnings": list(self.warnings),
        }


def human_size(n: int) -> str:
    """Bytes as a person reads them, in the user's language: ``850 B``, ``12,4 kB``, ``3,1 MB``.

    >>> from vigilancia.i18n import set_language
    >>> set_language("en"); human_size(3_100_000)
    '3.1 MB'
    """
    if n < 1000:
        return f"{number(n, 0)} B"
    if n < 1_000_000:
        return f"{number(n / 1000, 1)} kB"
    return f"{number(n / 1_000_000, 1)} MB"


def care_text(care: Sequence[CareReason], *, distances: bool = True) -> str:
    """Why to approach with care, as a short phrase ("" when there is no reason).

    Names of runways and camps are left out on purpose: a package carries only
    the kind and the distance; without ``distances`` (a field report's case, whose
    exact point a distance would help find) only the kind.
    """
    parts = []
    for c in sorted(care, key=lambda c: c.distance_m):
        metres = number(round(c.distance_m, -1))
        if not distances:
            parts.append({"airstrip": _("known airstrip nearby"), "camp": _("camp nearby"),
                          "runway_clearing": _("runway-like clearing nearby")}.get(
                c.kind, _("{kind} nearby", kind=c.kind)))
        elif c.kind == "airstrip":
            parts.append(_("known airstrip at {m} m", m=metres))
        elif c.kind == "camp":
            parts.append(_("camp at {m} m", m=metres))
        elif c.kind == "runway_clearing":
            parts.append(_("runway-like clearing at {m} m", m=metres))
        else:
            parts.append(_("{kind} at {m} m", kind=c.kind, m=metres))
    return ", ".join(dict.fromkeys(parts))


def _driver_text(case: Case) -> str:
    if case.driver is None:
        return ""
    if case.driver_probability is None or not math.isfinite(case.driver_probability):
        return driver_name(case.driver)
    return _("{driver} ({p} %)", driver=driver_name(case.driver),
             p=number(100 * case.driver_probability, 0))


def _newest_plan(store: WorkspaceStore, territory_id: int) -> PatrolPlan | None:
    rows = store.patrol_plans.list(territory_id)  # newest first; the plan's JSON has its route
    return plan_from_json(rows[0].plan, plan_id=rows[0].id) if rows else None


def _package_cases(cases: Sequence[Case], plan: PatrolPlan | None, *, cell_deg: float,
                   created: datetime) -> list[PackageCase]:
    """The open cases in map-number order: the plan's stops (only those still open and of
    this territory), then the rest by priority; field reports' cases as they may be shown
    (:func:`_shown`)."""
    by_id = {c.id: c for c in cases}
    out: list[PackageCase] = []
    seen: set[int] = set()
    for stop in sorted(plan.stops, key=lambda s: s.order) if plan else ():
        case = by_id.get(stop.case_id)
        if case is None or case.id in seen:
            continue
        seen.add(case.id)
        shown, reported = _shown(case, cell_deg, created)
        if reported:
            stop = replace(stop, lon=shown.lon, lat=shown.lat)
        out.append(PackageCase(shown, len(out) + 1, stop, _driver_text(shown),
                               care_text(stop.care, distances=not reported), reported))
    for case in sorted(cases, key=lambda c: (-c.priority, c.id)):
        if case.id in seen:
            continue
        shown, reported = _shown(case, cell_deg, created)
        out.append(PackageCase(shown, len(out) + 1, None, _driver_text(shown), "", reported))
    return out


def _shown(case: Case, cell_deg: float, created: datetime) -> tuple[Case, bool]:
    """The case as a package may show it, and whether it is a field report's.

    A field report's case is moved to the centre of its grid cell and loses what
    would give the report away: its geometry (the reported area), its note, its
    priority terms (days since the report), its dates (the package's own take
    their place) and its assignee.
    """
    if case.origin is not CaseOrigin.FIELD:
        return case, False
    lon, lat = shared_position(case, cell_deg)
    return replace(case, lon=lon, lat=lat, geometry=None, clearing_ids=(), area_ha=0.0,
                   first_alert=None, last_alert=None, priority_terms=(), note=None,
                   assignee=None, created_at=created, updated_at=created), True


def _route_shown(plan: PatrolPlan | None, cases: Sequence[Case],
                 pcs: Sequence[PackageCase]) -> PatrolPlan | None:
    """The plan with the exact points of field reports' cases taken out of its route line
    (a plan made before plans routed to the grid cell): each becomes the cell's centre."""
    if plan is None or plan.route is None or plan.route.is_empty:
        return plan
    shown = {pc.case.id: (pc.case.lon, pc.case.lat) for pc in pcs if pc.reported}
    swaps = {(c.lon, c.lat): shown[c.id] for c in cases if c.id in shown}
    swaps.update({(st.lon, st.lat): shown[st.case_id] for st in plan.stops
                  if st.case_id in shown})
    swaps = {k: v for k, v in swaps.items() if k != v}
    if not swaps:
        return plan
    exact = np.array(list(swaps), dtype=np.float64)
    target = np.array(list(swaps.values()), dtype=np.float64)

    def move(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        for k in range(len(exact)):
            hit = np.all(np.abs(coords - exact[k]) < 1e-9, axis=1)
            out[hit] = target[k]
        return out

    return replace(plan, route=shapely.transform(plan.route, move))


def _summary(pc: PackageCase) -> str:
    """One line a monitor reads on the phone: driver, size, priority, care (a field
    report's case: that it is one, and that its place is approximate)."""
    c = pc.case
    if pc.reported:
        parts = [pc.driver or _("driver unknown"), _reported_text(),
                 _("priority {p}", p=number(c.priority, 0))]
    else:
        parts = [pc.driver or _("driver unknown"), _("{ha} ha", ha=number(c.area_ha, 1)),
                 _("priority {p}", p=number(c.priority, 0))]
    if c.last_alert is not None:
        parts.append(_("last alert {date}", date=c.last_alert.isoformat()))
    text = " · ".join(parts)
    if pc.care:
        text += " · " + _("APPROACH WITH CARE: {reasons}", reasons=pc.care)
    return text


def _reported_text() -> str:
    return _("field report, approximate place (grid cell)")


def _visit_text(pc: PackageCase, stops: int) -> str:
    if pc.stop is None:
        return _("not in the patrol plan")
    return _("visit {n} of {total}", n=pc.number, total=stops)


def _in_languages(make: Callable[[], str]) -> dict[str, str]:
    """``make()`` rendered in Spanish and in English, each inside its own
    :func:`~vigilancia.i18n.language` block (the caller's language is never switched)."""
    texts = {}
    for lang in ("es", "en"):
        with language(lang):
            texts[lang] = make()
    return texts


# --------------------------------------------------------------------------------------
# Features of every format
# --------------------------------------------------------------------------------------


def _case_properties(pc: PackageCase, stops: int) -> dict[str, Any]:
    c = pc.case
    return {
        "numero": pc.number,
        "codigo": pc.code,
        "orden": pc.stop.order if pc.stop else None,
        "estado": status_name(c.status),
        "prioridad": round(c.priority, 1),
        "causa": driver_name(c.driver) if c.driver else None,
        "probabilidad": (None if c.driver_probability is None
                         or not math.isfinite(c.driver_probability)
                         else round(c.driver_probability, 2)),
        "area_ha": round(c.area_ha, 2),
        "primera_alerta": c.first_alert.isoformat() if c.first_alert else None,
        "ultima_alerta": c.last_alert.isoformat() if c.last_alert else None,
        "cuidado": pc.needs_care,
        "motivo_cuidado": pc.care or None,
        "visita": _visit_text(pc, stops),
        "resumen": _summary(pc),
        "por_que": (_reported_text() if pc.reported
                    else priority_text(c.priority_terms, c.driver) or None),
        "lon": round(c.lon, 7),
        "lat": round(c.lat, 7),
    }


def _territory_feature(territory: StoredTerritory) -> MapFeature:
    return MapFeature(territory.geometry, {
        "nombre": territory.name,
        "pueblo": territory.people,
        "area_ha": None if territory.area_ha is None else round(territory.area_ha, 1),
    })


def _plan_features(plan: PatrolPlan | None, pcs: Sequence[PackageCase]
                   ) -> tuple[list[MapFeature], list[MapFeature]]:
    """The route line and the plan's points (start, then the stops) as features."""
    if plan is None:
        return [], []
    route: list[MapFeature] = []
    if plan.route is not None and not plan.route.is_empty:
        route.append(MapFeature(plan.route, {
            "km": round(plan.total_km, 2), "horas": round(plan.total_hours, 2),
            "paradas": sum(1 for pc in pcs if pc.stop), "vuelve": plan.returns,
            "creado": plan.created_at.date().isoformat(),
        }))
    points = [MapFeature(Point(plan.start), {
        "orden": 0, "codigo": None, "nombre": _("Start"), "tramo_km": 0.0,
        "acumulado_km": 0.0, "tramo_horas": 0.0, "modos": None, "cuidado": False,
    })]
    for pc in pcs:
        s = pc.stop
        if s is None:
            continue
        points.append(MapFeature(Point(s.lon, s.lat), {
            "orden": pc.number, "codigo": pc.code, "nombre": f"{pc.number} · {pc.code}",
            "tramo_km": round(s.leg_km, 2), "acumulado_km": round(s.cumulative_km, 2),
            "tramo_horas": round(s.leg_hours, 2), "modos": ", ".join(s.leg_modes) or None,
            "cuidado": pc.needs_care,
        }))
    return route, points


def _gpx(territory: StoredTerritory, pcs: Sequence[PackageCase], plan: PatrolPlan | None,
         stops: int, created: datetime) -> Any:
    waypoints = [
        GpxPoint(
            name=pc.code, lon=pc.case.lon, lat=pc.case.lat,
            description=_summary(pc),
            comment=f"{pc.number} · {_visit_text(pc, stops)}",
            symbol="Flag, Red" if pc.needs_care else "Flag, Blue",
            type=pc.driver or _("case"),
        )
        for pc in pcs
    ]
    route: list[GpxPoint] = []
    track = None
    if plan is not None:
        start = GpxPoint(name=_("Start"), lon=plan.start[0], lat=plan.start[1],
                         symbol="Flag, Green")
        route.append(start)
        route.extend(GpxPoint(name=pc.code, lon=pc.stop.lon, lat=pc.stop.lat,
                              description=_summary(pc),
                              symbol="Flag, Red" if pc.needs_care else "Flag, Blue")
                     for pc in pcs if pc.stop is not None)
        if plan.returns and len(route) > 1:
            route.append(start)
        if isinstance(plan.route, LineString | MultiLineString):
            track = plan.route
    return gpx_document(
        name=_("Cases of {community}", community=territory.name),
        description=ngettext("{n} open case; patrol plan: {plan}",
                             "{n} open cases; patrol plan: {plan}",
                             len(pcs), plan=_plan_text(plan, stops)),
        waypoints=waypoints, route=route,
        route_name=_("Patrol of {community}", community=territory.name),
        track=track, time=created,
    )


def _plan_text(plan: PatrolPlan | None, stops: int) -> str:
    if plan is None:
        return _("none (cases by priority)")
    return ngettext("{stops} stop, {km} km, about {hours} h",
                    "{stops} stops, {km} km, about {hours} h", stops, stops=stops,
                    km=number(plan.total_km, 1), hours=number(plan.total_hours, 1))


_STYLES = (
    KmlStyle("territorio", line="#1b7837", line_width=2.5, fill="#a6dba0", fill_opacity=0.15,
             icon_scale=0),
    KmlStyle("claro", line="#b2182b", line_width=1.5, fill="#ef8a62", fill_opacity=0.6,
             icon_scale=0),
    KmlStyle("caso", line="#2166ac", icon="#2166ac", icon_scale=1.0),
    KmlStyle("caso_cuidado", line="#d7301f", icon="#d7301f", icon_scale=1.3),
    KmlStyle("ruta", line="#6a3d9a", line_width=3.0, icon_scale=0),
    KmlStyle("salida", line="#000000", icon="#000000", icon_scale=1.1),
)


def _kml_data(props: dict[str, Any]) -> dict[str, str]:
    yes, no = _("yes"), _("no")
    return {k: (yes if v else no) if isinstance(v, bool) else ("" if v is None else str(v))
            for k, v in props.items() if k not in ("lon", "lat")}


def _kmz_folders(territory: StoredTerritory, pcs: Sequence[PackageCase],
                 plan: PatrolPlan | None, stops: int) -> list[KmlFolder]:
    folders = [KmlFolder(_("Territory"), [KmlPlacemark(
        name=territory.name, geometry=territory.geometry, style="territorio",
        description=_("Community territory"))])]
    folders.append(KmlFolder(_("Cases"), [
        KmlPlacemark(
            name=f"{pc.number} · {pc.code}", geometry=Point(pc.case.lon, pc.case.lat),
            style="caso_cuidado" if pc.needs_care else "caso",
            description=f"{_summary(pc)}\n{_visit_text(pc, stops)}",
            data=_kml_data(_case_properties(pc, stops)),
        )
        for pc in pcs
    ]))
    folders.append(KmlFolder(_("Clearings"), [
        KmlPlacemark(name=pc.code, geometry=pc.clearings, style="claro",
                     description=_summary(pc))
        for pc in pcs if pc.clearings is not None
    ]))
    if plan is not None:
        marks = [KmlPlacemark(name=_("Start"), geometry=Point(plan.start), style="salida",
                              description=_plan_text(plan, stops))]
        if plan.route is not None and not plan.route.is_empty:
            marks.insert(0, KmlPlacemark(name=_("Patrol route"), geometry=plan.route,
                                         style="ruta", description=_plan_text(plan, stops)))
        folders.append(KmlFolder(_("Patrol plan"), marks))
    return folders


def _comapeo_alerts(territory: StoredTerritory, pcs: Sequence[PackageCase],
                    stops: int, created: datetime) -> list[dict[str, Any]]:
    alerts = []
    for pc in pcs:
        c = pc.case
        geometry = pc.clearings if pc.clearings is not None else Point(c.lon, c.lat)
        alerts.append(remote_detection_alert(
            source_id=f"vigilancia:{pc.code}",
            start=c.first_alert or c.created_at,
            end=c.last_alert or c.first_alert or c.created_at,
            geometry=geometry,
            metadata={
                "alert_type": f"{pc.number} · {pc.code} · {pc.driver or _('clearing')}",
                "territory": territory.name,
                "alert_source": "vigilancia",
                "package_date": created.date().isoformat(),
                **_case_properties(pc, stops),
            },
        ))
    return alerts


ODK_COLUMNS = ("name", "label", "label::Español (es)", "label::English (en)", "geometry",
               "numero", "orden", "prioridad", "causa", "area_ha", "cuidado", "motivo_cuidado",
               "ultima_alerta")


def _odk_rows(pcs: Sequence[PackageCase], stops: int) -> list[dict[str, Any]]:
    rows = []
    for pc in pcs:
        c = pc.case

        def label(pc: PackageCase = pc) -> str:  # every part in the language of the call
            parts = [f"{pc.number} · {pc.code}", _driver_text(pc.case) or _("driver unknown"),
                     _("{ha} ha", ha=number(pc.case.area_ha, 1))]
            if pc.needs_care:
                parts.append(_("care"))
            return " · ".join(parts)

        labels = _in_languages(label)
        props = _case_properties(pc, stops)
        rows.append({
            "name": pc.code,
            "label": label(),
            "label::Español (es)": labels["es"],
            "label::English (en)": labels["en"],
            "geometry": entity_geometry(c.lon, c.lat),
            "numero": pc.number,
            "orden": props["orden"],
            "prioridad": props["prioridad"],
            "causa": props["causa"],
            "area_ha": props["area_ha"],
            "cuidado": "1" if pc.needs_care else "0",
            "motivo_cuidado": props["motivo_cuidado"],
            "ultima_alerta": props["ultima_alerta"],
        })
    return rows


def _context_lines(store: WorkspaceStore, territory: StoredTerritory
                   ) -> dict[ContextKind, tuple[BaseGeometry, ...]]:
    """Rivers, roads and trails clipped to a box a little larger than the territory."""
    minx, miny, maxx, maxy = territory.geometry.bounds
    pad = CONTEXT_PAD_DEG
    frame = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    kinds = (ContextKind.RIVER, ContextKind.ROAD, ContextKind.TRAIL)
    found = store.context.features(kinds, bounds=frame.bounds)
    out: dict[ContextKind, list[BaseGeometry]] = {k: [] for k in kinds}
    for kind, geom in zip(found.kind, found.geometry, strict=True):
        clipped = geom.intersection(frame)
        if not clipped.is_empty:
            out[ContextKind(kind)].append(clipped)
    return {k: tuple(v) for k, v in out.items()}


# --------------------------------------------------------------------------------------
# The package
# --------------------------------------------------------------------------------------


def _files_text() -> dict[str, str]:
    return {
        "casos.gpkg": _("GeoPackage with the layers territorio, casos, claros, plan_ruta and "
                        "plan_paradas: open it in QGIS (drag the file onto the map)."),
        "casos.geojson": _("The cases as points (GeoJSON): QGIS, geojson.io or any GIS."),
        "claros.geojson": _("The clearings of each case as polygons (GeoJSON)."),
        "plan.geojson": _("The patrol route and its stops (GeoJSON)."),
        "casos.gpx": _("Waypoints (one per case, named with its code), the route and its "
                       "path: Locus Map, OsmAnd, Garmin (BaseCamp or copy it to the "
                       "device's Garmin/GPX folder)."),
        "casos.kmz": _("Google Earth (desktop or phone): open the file; folders for the "
                       "territory, cases, clearings and plan."),
        "comapeo_alertas.json": _("The cases as CoMapeo alerts (remoteDetectionAlert): "
                                  "load them into the CoMapeo project through its archive "
                                  "server or the coordinator's tools."),
        "casos.csv": _("ODK entity list for the verification form: attach it to the form "
                       "in ODK Central or KoboToolbox (same name, casos.csv)."),
        "visita_verificacion.xlsx": _("The verification-visit form (XLSForm, Spanish and "
                                      "English): upload it to ODK Central or KoboToolbox."),
        "mapa.pmtiles": _("Vector map of the territory, cases and plan for offline use: QGIS "
                          "(Layer > Add layer > Vector tiles) or any PMTiles viewer."),
        "mapa.pdf": _("Printable map with the visit order, and the plan's table with "
                      "coordinates."),
        "LEEME.txt": _("This file."),
    }


def _readme(territory: StoredTerritory, pcs: Sequence[PackageCase], plan: PatrolPlan | None,
            stops: int, created: datetime, names: Sequence[str]) -> str:
    texts = _files_text()
    care = sum(1 for pc in pcs if pc.needs_care)
    lines = [
        _("Offline package of {community}", community=territory.name),
        "=" * 60,
        _("Made on {date} by vigilancia.", date=created.date().isoformat()),
        _("Open cases: {n} ({care} to approach with care).", n=len(pcs), care=care),
        _("Patrol plan: {plan}", plan=_plan_text(plan, stops)),
        _("Cases are numbered in visiting order; the number and the code (C-0042) are the "
          "same in every file."),
        "",
        _("Files"),
        "-" * 60,
    ]
    for name in names:
        lines.append(f"{name}")
        lines.append(f"    {texts[name]}")
    lines += [
        "",
        _("How to use it in the field"),
        "-" * 60,
        _("- Locus Map: Menu > Import > choose casos.gpx (or casos.kmz); the route can be "
          "followed with guidance."),
        _("- OsmAnd: open casos.gpx from the phone's files (or share it to OsmAnd); it "
          "appears in My places > Tracks."),
        _("- Garmin: copy casos.gpx into the Garmin/GPX folder of the device (USB cable)."),
        _("- Google Earth: open casos.kmz."),
        _("- ODK Collect / KoboCollect: the coordinator publishes visita_verificacion.xlsx "
          "with casos.csv attached; in the form, choose the case by its code."),
        _("- CoMapeo: the coordinator loads comapeo_alertas.json as alerts of the project; "
          "they show on the map of every phone after syncing."),
        _("- Paper: print mapa.pdf (landscape)."),
        "",
        _("This package carries no names of monitors nor data of other communities. Do not "
          "share it outside the patrol."),
    ]
    return "\n".join(lines) + "\n"


def build_package(
    store: WorkspaceStore,
    settings: Settings,
    *,
    territory: str | int,
    output: Path,
    render_map: PackageMapRenderer,
    paper: str = "a4",
    overwrite: bool = False,
    progress: Progress | None = None,
) -> PackageResult:
    """Write the offline package of one community (see the module docstring).

    ``territory``: name or id (see :func:`~vigilancia.services.cases.find_territory`);
    ``output``: a folder, or a file ending in ``.zip`` for one ZIP (deflate);
    ``render_map``: draws ``mapa.pdf`` (see :data:`PackageMapRenderer`);
    ``paper``: ``a4`` or ``letter`` (the printable map). An existing ZIP, or a
    folder with files, is replaced only with ``overwrite`` (in a folder, only the
    package's own files are replaced).
    Nothing is left half-written: the files are made in a temporary folder and
    moved into place at the end.
    """
    tick = progress or no_progress
    paper = paper.strip().lower()
    if paper not in PAPERS:
        raise InputError(_("Unknown paper size {paper!r}", paper=paper),
                         hint=_("use one of: {names}", names=", ".join(PAPERS)))
    zipped = output.suffix.lower() == ".zip"
    _check_output(output, zipped=zipped, overwrite=overwrite)
    found = find_territory(store, territory)
    cases = store.cases.list(territory_id=found.id, statuses=OPEN_STATUSES)
    plan = _newest_plan(store, found.id)
    created = datetime.now(UTC)
    pcs = _package_cases(cases, plan, cell_deg=settings.report_cell_deg, created=created)
    plan = _route_shown(plan, cases, pcs)
    stops = sum(1 for pc in pcs if pc.stop is not None)
    context = _context_lines(store, found)

    parent = output.parent
    parent.mkdir(parents=True, exist_ok=True)
    work = temp_dir(parent, label=output.name)
    steps = 11
    try:
        names: list[str] = []

        def done(name: str) -> None:
            names.append(name)
            tick("Writing the package", len(names), steps)

        territory_f = _territory_feature(found)
        points = [MapFeature(Point(pc.case.lon, pc.case.lat), _case_properties(pc, stops))
                  for pc in pcs]
        polygons = [MapFeature(pc.clearings, {"numero": pc.number, "codigo": pc.code,
                                              "area_ha": round(pc.case.area_ha, 2),
                                              "cuidado": pc.needs_care})
                    for pc in pcs if pc.clearings is not None]
        route, plan_points = _plan_features(plan, pcs)

        write_gpkg(work / "casos.gpkg", {
            "territorio": [territory_f], "casos": points, "claros": polygons,
            "plan_ruta": route, "plan_paradas": plan_points,
        })
        done("casos.gpkg")
        write_geojson(work / "casos.geojson", points, "casos")
        done("casos.geojson")
        write_geojson(work / "claros.geojson", polygons, "claros")
        done("claros.geojson")
        if plan is not None:
            write_geojson(work / "plan.geojson", route + plan_points, "plan")
            done("plan.geojson")
        write_gpx(work / "casos.gpx", _gpx(found, pcs, plan, stops, created))
        done("casos.gpx")
        write_kmz(work / "casos.kmz",
                  name=_("Cases of {community}", community=found.name),
                  description=ngettext("{n} open case; patrol plan: {plan}",
                                       "{n} open cases; patrol plan: {plan}",
                                       len(pcs), plan=_plan_text(plan, stops)),
                  styles=_STYLES, folders=_kmz_folders(found, pcs, plan, stops))
        done("casos.kmz")
        write_comapeo_alerts(work / "comapeo_alertas.json",
                             _comapeo_alerts(found, pcs, stops, created))
        done("comapeo_alertas.json")
        write_entity_list(work / "casos.csv", _odk_rows(pcs, stops), ODK_COLUMNS)
        shutil.copyfile(xlsform_path(), work / "visita_verificacion.xlsx")
        done("casos.csv")
        names.append("visita_verificacion.xlsx")
        tiles = write_pmtiles(
            work / "mapa.pmtiles",
            [
                TileLayer("territorio", [territory_f], _("Community territory")),
                TileLayer("claros", polygons, _("Clearings of the cases")),
                TileLayer("plan_ruta", route, _("Patrol route")),
                TileLayer("casos", points, _("Open cases")),
                TileLayer("plan_paradas", plan_points, _("Stops of the patrol plan")),
            ],
            name=_("Cases of {community}", community=found.name),
            description=ngettext("{n} open case; patrol plan: {plan}",
                                 "{n} open cases; patrol plan: {plan}",
                                 len(pcs), plan=_plan_text(plan, stops)),
            attribution="vigilancia",
            min_zoom=TILE_ZOOMS[0], max_zoom=TILE_ZOOMS[1],
        )
        done("mapa.pmtiles")
        replace_bytes(work / "mapa.pdf", render_map(_map_data(
            found, pcs, plan, stops, created, context, paper)))
        done("mapa.pdf")
        names.append("LEEME.txt")
        replace_bytes(work / "LEEME.txt",
                      _readme(found, pcs, plan, stops, created, names).encode("utf-8"))
        tick("Writing the package", steps, steps)
        files, total = _publish(work, names, output, zipped=zipped, overwrite=overwrite)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    warnings = []
    if total >= MAX_PACKAGE_BYTES:
        warnings.append(_("The package is {size}, more than messaging apps take ({limit})",
                          size=human_size(total), limit=human_size(MAX_PACKAGE_BYTES)))
    return PackageResult(
        output=output, territory=found.name, files=files, total_bytes=total, cases=len(pcs),
        stops=stops, plan_id=None if plan is None else plan.id, zipped=zipped,
        tiles_max_zoom=tiles.max_zoom, warnings=tuple(warnings),
    )


def _map_data(territory: StoredTerritory, pcs: Sequence[PackageCase], plan: PatrolPlan | None,
              stops: int, created: datetime,
              context: dict[ContextKind, tuple[BaseGeometry, ...]], paper: str) -> PackageMap:
    care = sum(1 for pc in pcs if pc.needs_care)
    return PackageMap(
        community=territory.name,
        title=_("{community}: cases to verify ({date})", community=territory.name,
                date=created.date().isoformat()),
        subtitle=ngettext("{n} open case, {care} to approach with care; patrol plan: {plan}",
                          "{n} open cases, {care} to approach with care; patrol plan: {plan}",
                          len(pcs), care=care, plan=_plan_text(plan, stops)),
        territory=territory.geometry,
        cases=tuple(pcs),
        route=None if plan is None else plan.route,
        start=None if plan is None else plan.start,
        rivers=context[ContextKind.RIVER],
        roads=context[ContextKind.ROAD],
        trails=context[ContextKind.TRAIL],
        created=created.date(),
        paper=paper,
        plan=plan,
    )


def _check_output(output: Path, *, zipped: bool, overwrite: bool) -> None:
    if overwrite:
        return
    if zipped and output.exists():
        raise ConflictError(_("{path} already exists", path=output),
                            hint=_("give another name, or replace it"), inputs="overwrite")
    if not zipped and output.exists():
        if not output.is_dir():
            raise InputError(_("{path} exists and is not a folder", path=output),
                             hint=_("give a folder, or a name ending in .zip"))
        if any(output.iterdir()):
            raise ConflictError(_("The folder {path} is not empty", path=output),
                                hint=_("give a new folder, or replace the package's files "
                                       "in it"), inputs="overwrite")


def _publish(work: Path, names: Sequence[str], output: Path, *, zipped: bool,
             overwrite: bool) -> tuple[tuple[PackageFile, ...], int]:
    """Move the finished files into the folder, or write the ZIP; the files and total size."""
    texts = _files_text()
    try:
        if zipped:
            tmp = work / output.name
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED,
                                 compresslevel=9) as zf:
                for name in names:
                    zf.write(work / name, arcname=name)
                files = tuple(PackageFile(i.filename, i.compress_size, texts[i.filename])
                              for i in zf.infolist())
            os.replace(tmp, output)
            return files, output.stat().st_size
        output.mkdir(parents=True, exist_ok=True)
        out = []
        for name in names:
            os.replace(work / name, output / name)
            out.append(PackageFile(name, (output / name).stat().st_size, texts[name]))
        if overwrite and "plan.geojson" not in names:
            (output / "plan.geojson").unlink(missing_ok=True)  # a stale plan of an older package
        return tuple(out), sum(f.size for f in out)
    except OSError as exc:
        raise VigilanciaError(
            _("the package could not be written"),
            hint=_("check that the disk is not full and that the folder may be written"),
            source=str(output),
        ) from exc
