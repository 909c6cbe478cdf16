"""What the web map and pages read besides the clearings: territories, risk, corridors,
field observations, patrol plans and one territory's overview.

Each function reads the stored results of the other services (it computes no new
score nor route) and returns a result object whose ``to_dict()`` is GeoJSON or plain
JSON, in the language of the call. Sensitive data is cut to the reader's
:class:`~vigilancia.domain.access.Disclosure`:

- field observations: exact points and tracks only with ``exact_points``; otherwise
  each observation is the centre of its fixed grid cell
  (:func:`~vigilancia.domain.cases.snap_to_grid`) and tracks are no lines;
- monitors' names (assignees, authors, file names) only with ``people``;
- patrol plans only with ``patrols``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.access import FULL, Disclosure
from vigilancia.domain.cases import CaseStatus, snap_to_grid
from vigilancia.domain.patrols import PatrolPlan, plan_from_json
from vigilancia.domain.risk import Contribution, Factor, RiskClass, RiskScore
from vigilancia.domain.territories import StoredTerritory, TerritoryKind
from vigilancia.errors import AccessDenied, InputError, NotFoundError
from vigilancia.i18n import _
from vigilancia.io.package.common import geojson_geometries
from vigilancia.io.store import ObservationRecord, RiskScoreRecord, WorkspaceStore
from vigilancia.services.cases import CaseSummary, list_cases
from vigilancia.services.territories import parse_kinds
from vigilancia.services.texts.cases import status_name
from vigilancia.services.texts.risk import class_name, contribution_text, explain

__all__ = [
    "ObservationMap",
    "PlanSummary",
    "RiskView",
    "TerritoryMap",
    "TerritoryOverview",
    "corridor_map",
    "observation_map",
    "patrol_plan_view",
    "patrol_plans",
    "report_kinds",
    "risk_view",
    "territory_map",
    "territory_overview",
]

#: Zooms the territory outlines are simplified for (half a screen pixel at that zoom).
MIN_ZOOM, MAX_ZOOM = 0, 22


def _tolerance(zoom: int | None) -> float:
    """Degrees of half a 256-pixel tile's pixel at ``zoom`` (0: no simplification)."""
    if zoom is None:
        return 0.0
    return 360.0 / (256 * (1 << int(zoom))) / 2.0


def _feature(fid: Any, geom: BaseGeometry | None, props: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature; its geometry is written by :func:`_collection` (all at once)."""
    return {"type": "Feature", "id": fid, "geometry": geom, "properties": props}


def _collection(features: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of :func:`_feature` items (their geometries written in
    one call; empty ones as null)."""
    real = [f["geometry"] for f in features
            if f["geometry"] is not None and not f["geometry"].is_empty]
    written = iter(geojson_geometries(real))
    out = [f | {"geometry": None if f["geometry"] is None or f["geometry"].is_empty
                else next(written)} for f in features]
    return {"type": "FeatureCollection", "features": out, **extra}


# ------------------------------------------------------------------ territories


def _latest_scores(store: WorkspaceStore) -> tuple[Any, dict[int, RiskScoreRecord]]:
    for a in store.risk.assessments():
        if a.unit == "territory":
            return a, {r.territory_id: r for r in store.risk.scores(a.id)
                       if r.territory_id is not None}
    return None, {}


@dataclass(frozen=True)
class TerritoryMap:
    """Territory outlines for a map (simplified for ``zoom``), with each one's latest risk
    score and class."""

    territories: tuple[StoredTerritory, ...]
    scores: dict[int, RiskScoreRecord]
    zoom: int | None

    def to_dict(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection: id, name, kind, people, tenure, area (ha), and
        ``risk_score``/``risk_class``/``risk_class_name`` where scored."""
        tol = _tolerance(self.zoom)
        feats = []
        for t in self.territories:
            geom = t.geometry if tol <= 0 else shapely.simplify(t.geometry, tol,
                                                                preserve_topology=True)
            r = self.scores.get(t.id)
            feats.append(_feature(t.id, geom, {
                "id": t.id, "name": t.name, "kind": t.kind, "people": t.people,
                "tenure": t.tenure, "area_ha": None if t.area_ha is None else round(t.area_ha, 2),
                "risk_score": None if r is None else round(r.score, 1),
                "risk_class": None if r is None else r.risk_class,
                "risk_class_name": None if r is None else class_name(r.risk_class),
            }))
        return _collection(feats)


def territory_map(store: WorkspaceStore, *, kinds: list[str] | None = None,
                  zoom: int | None = None) -> TerritoryMap:
    """The territories (all, or those of ``kinds``) as map features, simplified to half a
    screen pixel at ``zoom`` (none when None)."""
    if zoom is not None and not (MIN_ZOOM <= zoom <= MAX_ZOOM):
        raise InputError(_("The zoom goes from {lo} to {hi}", lo=MIN_ZOOM, hi=MAX_ZOOM),
                         inputs="zoom")
    wanted = parse_kinds(kinds) if kinds else None
    _a, scores = _latest_scores(store)
    return TerritoryMap(tuple(store.territories.list(wanted)), scores, zoom)


# ------------------------------------------------------------------ risk


def _score_of(r: RiskScoreRecord) -> RiskScore:
    """A stored score back as the domain's :class:`RiskScore` (for its explanation)."""
    data = r.contributions if isinstance(r.contributions, dict) else {}
    contributions = []
    for c in data.get("factors", []):
        try:
            factor = Factor(c["factor"])
        except (KeyError, ValueError):
            continue
        contributions.append(Contribution(
            factor=factor, available=bool(c.get("available")), value=c.get("value"),
            level=float(c.get("level") or 0.0), weight=float(c.get("weight") or 0.0),
            points=float(c.get("points") or 0.0), source=str(c.get("source") or ""),
            detail=dict(c.get("detail") or {}),
        ))
    return RiskScore(key=r.unit_key, name=r.name or r.unit_key,
                     contributions=tuple(contributions), score=float(r.score),
                     coverage=float(data.get("coverage", 1.0)),
                     risk_class=RiskClass(r.risk_class), rank=int(r.rank))


def _score_dict(r: RiskScoreRecord) -> dict[str, Any]:
    score = _score_of(r)
    return {
        "rank": r.rank, "key": r.unit_key, "name": r.name, "territory_id": r.territory_id,
        "score": round(r.score, 2), "risk_class": r.risk_class,
        "risk_class_name": class_name(r.risk_class), "coverage": round(score.coverage, 4),
        "explanation": explain(score),
        "contributions": [c.as_dict() | {"text": contribution_text(c)}
                          for c in sorted(score.contributions, key=lambda c: -c.points)],
    }


@dataclass(frozen=True)
class RiskView:
    """The latest stored risk assessment (None when the workspace has none): its date, and
    every unit's score, class and explanation in words; with ``geometry`` the
    territories' outlines too (a choropleth)."""

    as_of: date | None
    assessment_id: int | None
    created_at: datetime | None
    scores: tuple[RiskScoreRecord, ...]
    outlines: dict[int, BaseGeometry] = field(default_factory=dict)
    geometry: bool = False

    def to_dict(self) -> dict[str, Any]:
        """``as_of``, ``assessment_id``, ``created_at`` and ``ranking``; with geometry, a
        GeoJSON FeatureCollection of the scored territories with those members too."""
        ranking = [_score_dict(r) for r in self.scores]
        head = {"as_of": self.as_of, "assessment_id": self.assessment_id,
                "created_at": self.created_at}
        if not self.geometry:
            return head | {"ranking": ranking}
        feats = [_feature(d["territory_id"], self.outlines.get(d["territory_id"]),
                          {k: v for k, v in d.items() if k != "contributions"})
                 for d in ranking if d["territory_id"] in self.outlines]
        return _collection(feats, **head)


def risk_view(store: WorkspaceStore, *, geometry: bool = False,
              zoom: int | None = None) -> RiskView:
    """The latest stored risk assessment of the territories (``vigilancia risk``), with
    the outlines simplified for ``zoom`` when ``geometry``."""
    a, _by_territory = _latest_scores(store)
    if a is None:
        return RiskView(None, None, None, (), {}, geometry)
    scores = tuple(store.risk.scores(a.id))
    outlines: dict[int, BaseGeometry] = {}
    if geometry:
        tol = _tolerance(zoom)
        for t in store.territories.list():
            outlines[t.id] = t.geometry if tol <= 0 else shapely.simplify(
                t.geometry, tol, preserve_topology=True)
    return RiskView(a.as_of, a.id, a.created_at, scores, outlines, geometry)


# ------------------------------------------------------------------ corridors


@dataclass(frozen=True)
class CorridorMap:
    """The corridors of the latest ``vigilancia routes`` run (none when never run)."""

    run: Any
    corridors: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection of the routes (origin, exit, modes, km, hours) with
        the run's ``run_id``, ``as_of`` and ``summary``."""
        feats = [_feature(c.id, c.geometry, {
            "id": c.id, "origin": c.origin, "exit": c.exit_name, "modes": list(c.modes),
            "length_km": round(c.length_km, 2), "cost_h": round(c.cost_h, 2)})
            for c in self.corridors]
        r = self.run
        return _collection(feats, run_id=None if r is None else r.id,
                           as_of=None if r is None else r.as_of,
                           summary=None if r is None else dict(r.summary))


def corridor_map(store: WorkspaceStore) -> CorridorMap:
    """The latest stored corridors as map features."""
    run = store.corridors.latest_run()
    return CorridorMap(run, tuple(store.corridors.list(None if run is None else run.id)))


# ------------------------------------------------------------------ observations


@dataclass(frozen=True)
class ObservationMap:
    """Field observations as map features, cut to the reader's disclosure (see the module)."""

    rows: tuple[ObservationRecord, ...]
    disclosure: Disclosure

    def to_dict(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection: kind, format, time, case, verdict, ``exact``
        (whether the position is the recorded one) and, with ``people``, the file name."""
        feats = []
        for r in self.rows:
            geom: BaseGeometry | None = None
            exact = self.disclosure.exact_points
            if exact and r.geometry is not None:
                geom = shapely.from_wkb(r.geometry)
            elif r.lon is not None and r.lat is not None:
                geom = shapely.Point(*(snap_to_grid(r.lon, r.lat, self.disclosure.cell_deg)
                                       if not exact else (r.lon, r.lat)))
            props = {
                "id": r.id, "kind": r.kind, "format": r.source_format,
                "observed_at": r.observed_at, "case": None if r.case_id is None
                else f"C-{r.case_id:04d}", "verdict": r.verdict, "exact": exact,
                "source_file": r.source_file if self.disclosure.people else None,
            }
            feats.append(_feature(r.id, geom, props))
        return _collection(feats)


def observation_map(store: WorkspaceStore, *, case: int | None = None,
                    disclosure: Disclosure = FULL) -> ObservationMap:
    """The field observations (all, or one case's) as map features."""
    if case is not None:
        store.cases.get(case)  # NotFoundError for an unknown case
    return ObservationMap(tuple(store.observations.list(case)), disclosure)


# ------------------------------------------------------------------ patrol plans


@dataclass(frozen=True)
class PlanSummary:
    """A stored patrol plan as listed: its id, territory, when, stops and totals."""

    id: int
    territory_id: int
    territory: str
    created_at: datetime
    stops: int
    total_km: float
    total_hours: float
    max_km: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "territory_id": self.territory_id, "territory": self.territory,
                "created_at": self.created_at, "stops": self.stops,
                "total_km": round(self.total_km, 2), "total_hours": round(self.total_hours, 2),
                "max_km": self.max_km}


def _need_patrols(disclosure: Disclosure) -> None:
    if not disclosure.patrols:
        raise AccessDenied(_("Patrol plans are shown only to coordinators and monitors"))


def patrol_plans(store: WorkspaceStore, *, territory: int | None = None,
                 disclosure: Disclosure = FULL) -> list[PlanSummary]:
    """The stored patrol plans (all, or one territory's), newest first."""
    _need_patrols(disclosure)
    out = []
    for rec in store.patrol_plans.list(territory):
        plan = rec.plan
        out.append(PlanSummary(
            id=rec.id, territory_id=rec.territory_id,
            territory=str(plan.get("territory_name", "")), created_at=rec.created_at,
            stops=len(plan.get("stops", [])), total_km=float(plan.get("total_km", 0.0)),
            total_hours=float(plan.get("total_hours", 0.0)),
            max_km=float(plan.get("max_km", 0.0))))
    return out


@dataclass(frozen=True)
class PlanView:
    """One patrol plan for a map: its stored form and its route and stops as features."""

    plan: PatrolPlan

    def to_dict(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection (the start, the route, the stops in order) with the
        plan's own data (``plan``: :meth:`PatrolPlan.to_dict`)."""
        p = self.plan
        feats = [_feature("start", shapely.Point(*p.start),
                          {"role": "start", "name": p.start_name, "start_kind": p.start_kind})]
        if p.route is not None:
            feats.append(_feature("route", p.route, {"role": "route",
                                                     "total_km": round(p.total_km, 2)}))
        feats += [_feature(f"stop-{s.order}", shapely.Point(s.lon, s.lat), {
            "role": "stop", "order": s.order, "case": s.code, "leg_km": round(s.leg_km, 2),
            "cumulative_km": round(s.cumulative_km, 2), "modes": list(s.leg_modes),
            "care": [c.kind for c in s.care]}) for s in p.stops]
        return _collection(feats, plan=p.to_dict())


def patrol_plan_view(store: WorkspaceStore, plan_id: int, *,
                     disclosure: Disclosure = FULL) -> PlanView:
    """One stored patrol plan; :class:`~vigilancia.errors.NotFoundError` when there is none."""
    _need_patrols(disclosure)
    for rec in store.patrol_plans.list():
        if rec.id == int(plan_id):
            return PlanView(plan_from_json(rec.plan, plan_id=rec.id))
    raise NotFoundError(_("No patrol plan {id} in this workspace", id=int(plan_id)),
                        hint=_("see the list of patrol plans"))


# ------------------------------------------------------------------ one territory


@dataclass(frozen=True)
class TerritoryOverview:
    """One territory's page: what it is, its latest risk score with the reasons, how its
    score moved over the stored assessments (``trend``: date, score), its cases by
    status with the open ones, and (for those who see patrols) its last patrol plans."""

    territory: StoredTerritory
    risk: RiskScoreRecord | None
    trend: tuple[tuple[date, float], ...]
    case_counts: dict[str, int]
    open_cases: tuple[CaseSummary, ...]
    patrols: tuple[PlanSummary, ...] | None

    def to_dict(self) -> dict[str, Any]:
        """A GeoJSON Feature of the territory, its data in ``properties``."""
        t = self.territory
        props = {
            "id": t.id, "name": t.name, "kind": t.kind, "people": t.people,
            "tenure": t.tenure, "title_date": t.title_date,
            "area_ha": None if t.area_ha is None else round(t.area_ha, 2), "source": t.source,
            "risk": None if self.risk is None else _score_dict(self.risk),
            "trend": [{"as_of": d, "score": round(v, 2)} for d, v in self.trend],
            "cases": {"by_status": dict(self.case_counts),
                      "by_status_name": {status_name(k): v for k, v in self.case_counts.items()},
                      "open": list(self.open_cases)},
            "patrols": None if self.patrols is None else list(self.patrols),
        }
        return _collection([_feature(t.id, t.geometry, props)])["features"][0]


def territory_overview(store: WorkspaceStore, territory_id: int, *,
                       disclosure: Disclosure = FULL) -> TerritoryOverview:
    """One territory's overview; :class:`~vigilancia.errors.NotFoundError` when there is
    none."""
    found = next((t for t in store.territories.list() if t.id == int(territory_id)), None)
    if found is None:
        raise NotFoundError(_("No territory {id} in this workspace", id=int(territory_id)),
                            hint=_("see the list of territories"))
    risk = None
    trend: list[tuple[date, float]] = []
    for a in store.risk.assessments():
        if a.unit != "territory":
            continue
        mine = [r for r in store.risk.scores(a.id) if r.territory_id == found.id]
        if mine and risk is None:
            risk = mine[0]
        if mine and not any(d == a.as_of for d, _v in trend):
            trend.append((a.as_of, mine[0].score))
    trend.sort()
    cases = list_cases(store, territory=found.id, disclosure=disclosure) \
        if found.kind in (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE) else []
    counts = Counter(c.case.status.value for c in cases)
    open_cases = tuple(c for c in cases if c.case.is_open)
    patrols = (tuple(patrol_plans(store, territory=found.id, disclosure=disclosure)[:5])
               if disclosure.patrols else None)
    return TerritoryOverview(found, risk, tuple(trend),
                             {s.value: counts.get(s.value, 0) for s in CaseStatus},
                             open_cases, patrols)


# ------------------------------------------------------------------ reports


@dataclass(frozen=True)
class ReportKind:
    """A kind of report this workspace makes: its code, title and description in the
    language of the call, the address that makes it (a template with the ids it takes)
    and its media type."""

    kind: str
    title: str
    description: str
    url: str
    media_type: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "title": self.title, "description": self.description,
                "url": self.url, "media_type": self.media_type}


def report_kinds(*, disclosure: Disclosure = FULL) -> list[ReportKind]:
    """The reports the reader may download (the package carries patrol plans: only for
    those who see them)."""
    out = []
    if disclosure.patrols:
        out.append(ReportKind(
            "package", _("Offline package of a community"),
            _("The open cases and the newest patrol plan of one community, for the "
              "monitors' phones (GPX, KMZ, CoMapeo, ODK, GeoPackage, PMTiles) and on paper"),
            "/api/territories/{territory_id}/package", "application/zip"))
    return out
