"""Community risk: score territories from the workspace's data, explain, store and back-test.

Units are the community territories, plus the districts that contain no
community polygon (so a region without community data is still ranked).
Every factor is measured here from stored data and scored by
:mod:`vigilancia.domain.risk`; a factor whose data the workspace lacks is
reported as missing (coverage below 100 %), never as zero risk.

The back-test (:func:`backtest`) scores with only what was known at a cutoff
date and measures how much of the next period's alert area the ranking
caught, next to the persistence baseline (each unit's own past alert area).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from vigilancia.config import Settings
from vigilancia.domain.airstrips import runway_opened_by
from vigilancia.domain.context import ContextKind
from vigilancia.domain.risk import (
    OVERLAP_LEVEL,
    TENURE_LEVELS,
    Factor,
    FactorValue,
    Grid,
    RiskScore,
    capture_metrics,
    factor_levels,
    merge_weights,
    pressure_surface,
    rank_scores,
    score_unit,
)
from vigilancia.domain.territories import (
    StoredTerritory,
    Tenure,
    TerritoryKind,
    district_units,
    normalise_name,
)
from vigilancia.errors import InputError, action
from vigilancia.i18n import _, ngettext
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries, transformer
from vigilancia.io.incidents import Incident, read_incidents
from vigilancia.io.store import ClearingPoints, WorkspaceStore
from vigilancia.progress import Progress
from vigilancia.services import corridors as corridors_service
from vigilancia.services.texts.risk import explain

__all__ = [
    "BacktestResult",
    "RiskAssessment",
    "RiskUnit",
    "assess_risk",
    "backtest",
    "parse_horizon",
]

#: Recent clearings: first seen in the last 3 months (trend: against the 3 before).
RECENT_DAYS = 91
#: Coca clearings counted over the last 12 months.
COCA_DAYS = 365
#: Incidents against defenders counted over the last 5 calendar years (the current one included).
VIOLENCE_YEARS = 5
#: Runways and runway-like clearings within this distance count as "near".
AIRSTRIP_NEAR_KM = 5.0
#: Clearings with an airstrip probability from this on count as runways.
RUNWAY_PROBABILITY = 0.5
#: Kernel widths of the clearing pressure (km): local spread and the regional frontier.
#: Measured on the MapBiomas alerts of Peru 2021-2024 (2 km grid, top-1 % capture at the
#: 2022, 2023 and 2024 cutoffs): these two kernels sit on a broad plateau. Other kernel
#: widths, half-lives, area powers, counts, momentum (recent against older pressure),
#: frontier speed, alert size, district loss (Geobosques), roads, rivers, protected
#: areas and models fitted on an earlier cutoff all moved it by less than the grid
#: origin does (about 1 point), or lowered it.
SIGMA_LOCAL_KM = 1.0
SIGMA_REGIONAL_KM = 6.0
#: Share of a territory's area another one must cover to count as an overlap.
OVERLAP_SHARE = 0.01

#: Factors a grid cell can have (the others describe people and land, not cells).
GRID_FACTORS = (
    Factor.PRESSURE_LOCAL,
    Factor.PRESSURE_REGIONAL,
    Factor.AIRSTRIPS,
    Factor.CORRIDORS,
)


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class RiskUnit:
    """A scored unit: a community territory (``kind`` "community") or a district."""

    key: str
    name: str
    kind: str
    territory_id: int | None
    geometry: BaseGeometry  # EPSG:4326


@dataclass(frozen=True)
class RiskAssessment:
    """One scoring of every unit at ``as_of``: ranked scores and what data was missing.

    ``missing``: factor -> why it has no data (a Spanish/English sentence).
    """

    as_of: date
    scores: tuple[RiskScore, ...]
    units: Mapping[str, RiskUnit]
    weights: Mapping[Factor, float]
    missing: Mapping[Factor, str]
    assessment_id: int | None = None

    def unit_kinds(self) -> tuple[str, ...]:
        """The kinds of the scored units, in a fixed order: ``community``, ``district``,
        ``grid`` (cells)."""
        kinds = {u.kind for u in self.units.values()}
        return tuple(k for k in ("community", "district", "grid") if k in kinds)

    def class_counts(self) -> dict[str, int]:
        """Units per risk class."""
        out: dict[str, int] = {}
        for s in self.scores:
            out[s.risk_class.value] = out.get(s.risk_class.value, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ranked table as plain data, each unit with its explanation in the language
        of the call (:func:`~vigilancia.services.texts.risk.explain`) and its contributions."""
        return {
            "as_of": self.as_of,
            "assessment_id": self.assessment_id,
            "units": len(self.scores),
            "classes": self.class_counts(),
            "weights": dict(self.weights),
            "missing": dict(self.missing),
            "ranking": [
                {
                    "rank": s.rank,
                    "key": s.key,
                    "name": s.name,
                    "unit": self.units[s.key].kind,
                    "territory_id": self.units[s.key].territory_id,
                    "score": round(s.score, 2),
                    "risk_class": s.risk_class,
                    "regional_class": s.regional_class,
                    "coverage": round(s.coverage, 4),
                    "explanation": explain(s),
                    "contributions": [c.as_dict() for c in s.contributions],
                }
                for s in self.scores
            ],
        }


@dataclass(frozen=True)
class BacktestResult:
    """How well the score caught the next period's alerts, against persistence."""

    cutoff: date
    horizon_months: int
    end: date
    unit: str
    cell_km: float | None
    n_units: int
    aoi: tuple[float, float, float, float]
    past_area_ha: float
    future_area_ha: float
    new_area_share: float | None
    metrics: Mapping[str, float | None]
    baseline: Mapping[str, float | None]
    weights: Mapping[str, float]
    factors: tuple[str, ...]
    missing: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``top1_capture``..., ``auc`` and ``baseline.*`` named plainly."""
        lift = {
            k: (None if v is None or self.baseline.get(k) is None
                else round(100.0 * (float(v) - float(self.baseline[k] or 0.0)), 2))
            for k, v in self.metrics.items()
        }
        return {
            "cutoff": self.cutoff.isoformat(),
            "horizon_months": self.horizon_months,
            "end": self.end.isoformat(),
            "unit": self.unit,
            "cell_km": self.cell_km,
            "units": self.n_units,
            "aoi": list(self.aoi),
            "past_area_ha": round(self.past_area_ha, 2),
            "future_area_ha": round(self.future_area_ha, 2),
            "future_area_share_in_units_without_past_alerts": _round(self.new_area_share),
            **{k: _round(v) for k, v in self.metrics.items()},
            "baseline": {
                "name": "persistence",
                **{k: _round(v) for k, v in self.baseline.items()},
            },
            "lift_points": lift,
            "factors": list(self.factors),
            "weights": dict(self.weights),
            "missing": dict(self.missing),
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


# ------------------------------------------------------------------ helpers


def parse_horizon(text: str) -> int:
    """Months in a horizon such as ``12m``, ``18m``, ``1y`` or ``2y``.

    >>> parse_horizon("12m"), parse_horizon("1y")
    (12, 12)
    """
    raw = str(text).strip().lower()
    try:
        if raw.endswith("m"):
            months = int(raw[:-1])
        elif raw.endswith("y"):
            months = 12 * int(raw[:-1])
        else:
            months = int(raw)
    except ValueError:
        raise InputError(
            _("horizon {value!r} is not a number of months", value=text),
            hint=_("write it as 12m (months) or 1y (years)"),
        ) from None
    if months <= 0:
        raise InputError(
            _("horizon {value!r} must be positive", value=text),
            hint=_("write it as 12m (months) or 1y (years)"),
        )
    return months


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError(d)  # pragma: no cover


def _days_before(points: ClearingPoints, as_of: date) -> NDArray[np.float64]:
    """Age in days of each clearing at ``as_of`` (NaN when its date is unknown)."""
    age = (np.datetime64(as_of, "D") - points.first_date).astype("timedelta64[D]")
    out = age.astype(np.float64)
    out[np.isnat(points.first_date)] = np.nan
    return out


def _normal(text: Any) -> str:
    return normalise_name(str(text or ""))


_DEPARTMENT_KEYS = ("nombdep", "departamento", "departamen", "department", "region", "dpto")
_PROVINCE_KEYS = ("nombprov", "provincia", "province")
_DISTRICT_KEYS = ("nombdist", "distrito", "district")


def _place_names(attrs: Mapping[str, Any] | None) -> set[str]:
    """Department, province and district names found in a territory's attributes."""
    if not attrs:
        return set()
    lower = {str(k).lower(): v for k, v in attrs.items()}
    return {
        _normal(lower[k])
        for k in (*_DEPARTMENT_KEYS, *_PROVINCE_KEYS, *_DISTRICT_KEYS)
        if lower.get(k) not in (None, "")
    }


@dataclass
class _Frame:
    """Everything measured once per scoring: projection, clearings, pressure grid."""

    crs: CRS
    px: NDArray[np.float64]
    py: NDArray[np.float64]
    age: NDArray[np.float64]
    points: ClearingPoints
    grid: Grid
    pressure: dict[Factor, NDArray[np.float64]] = field(default_factory=dict)


def _known(points: ClearingPoints, as_of: date) -> ClearingPoints:
    """Clearings first seen before ``as_of`` with a usable position."""
    keep = (
        ~np.isnat(points.first_date)
        & (points.first_date < np.datetime64(as_of, "D"))
        & np.isfinite(points.lon)
        & np.isfinite(points.lat)
    )
    return points.subset(keep)


def _frame(points: ClearingPoints, as_of: date, bounds: tuple[float, float, float, float],
           cell_km: float, crs: CRS | None = None, *, margin_km: float = 0.0) -> _Frame:
    """Project the clearings known at ``as_of``; both pressure surfaces over ``bounds``."""
    minx, miny, maxx, maxy = bounds
    if crs is None:
        crs = local_equal_area((minx + maxx) / 2.0, (miny + maxy) / 2.0)
    fwd = transformer(WGS84, crs)
    known = _known(points, as_of)
    px, py = fwd.transform(known.lon, known.lat)
    cx, cy = fwd.transform(
        np.array([minx, maxx, minx, maxx, (minx + maxx) / 2, (minx + maxx) / 2]),
        np.array([miny, miny, maxy, maxy, miny, maxy]),
    )
    m = margin_km * 1000.0
    grid = Grid.covering(float(np.min(cx)) - m, float(np.min(cy)) - m,
                         float(np.max(cx)) + m, float(np.max(cy)) + m, cell_km * 1000.0)
    age = _days_before(known, as_of)
    frame = _Frame(crs, np.asarray(px), np.asarray(py), age, known, grid)
    for factor, sigma in ((Factor.PRESSURE_LOCAL, SIGMA_LOCAL_KM),
                          (Factor.PRESSURE_REGIONAL, SIGMA_REGIONAL_KM)):
        frame.pressure[factor] = pressure_surface(
            grid, frame.px, frame.py, known.area_ha, age, sigma_km=sigma
        )
    return frame


def _runways(store: WorkspaceStore, frame: _Frame, as_of: date) -> tuple[
    list[BaseGeometry], str | None
]:
    """Known runways at ``as_of`` (metric geometries) and the names of their sources.

    Runways are the airstrip layer (only those opened by ``as_of`` when the
    layer gives a year) plus clearings the classifier calls likely airstrips.
    Source None when neither exists.
    """
    layer = store.context.features([ContextKind.AIRSTRIP])
    sources: list[str] = []
    geoms: list[BaseGeometry] = []
    if len(layer):
        attrs = store.context.attributes([ContextKind.AIRSTRIP])
        opened = [runway_opened_by(attrs.get(int(i)), as_of) for i in layer.id]
        kept = [g for g, ok in zip(layer.geometry, opened, strict=True) if ok]
        geoms.extend(transform_geometries(kept, WGS84, frame.crs).tolist() if kept else [])
        sources.append(_("airstrip layer"))
    probs = frame.points.probs.get("airstrip")
    if probs is not None and np.isfinite(probs).any():
        sel = np.flatnonzero(np.nan_to_num(probs, nan=0.0) >= RUNWAY_PROBABILITY)
        geoms.extend(shapely.points(frame.px[sel], frame.py[sel]).tolist())
        sources.append(_("runway-like clearings (driver classifier)"))
    if not sources:
        return [], None
    return geoms, " + ".join(sources)


# ------------------------------------------------------------------ scoring


def _units(territories: Sequence[StoredTerritory]) -> list[tuple[RiskUnit, StoredTerritory]]:
    """Communities, plus the districts that no community polygon touches."""
    communities = [t for t in territories if t.kind is TerritoryKind.COMMUNITY]
    out = [(RiskUnit(f"territory:{t.id}", t.name, "community", t.id, t.geometry), t)
           for t in communities]
    out += [(RiskUnit(f"district:{t.id}", t.name, "district", t.id, t.geometry), t)
            for t in district_units(territories)]
    return out


def _cells_max(grid: Grid, surface: NDArray[np.float64], geom: BaseGeometry) -> float:
    """Highest value of ``surface`` over the cells whose centres fall in ``geom`` (metric).

    A unit smaller than a cell takes the cell of its representative point.
    """
    minx, miny, maxx, maxy = geom.bounds
    c0 = max(0, int(math.floor((minx - grid.x0) / grid.cell_m)))
    c1 = min(grid.nx, int(math.ceil((maxx - grid.x0) / grid.cell_m)))
    r0 = max(0, int(math.floor((grid.y1 - maxy) / grid.cell_m)))
    r1 = min(grid.ny, int(math.ceil((grid.y1 - miny) / grid.cell_m)))
    best = -1.0
    if c1 > c0 and r1 > r0:
        xs = grid.x0 + (np.arange(c0, c1) + 0.5) * grid.cell_m
        ys = grid.y1 - (np.arange(r0, r1) + 0.5) * grid.cell_m
        gx, gy = np.meshgrid(xs, ys)
        inside = shapely.contains_xy(geom, gx, gy)
        if inside.any():
            best = float(surface[r0:r1, c0:c1][inside].max())
    if best < 0:
        p = geom.representative_point()
        row, col, ok = grid.cell_of(np.array([p.x]), np.array([p.y]))
        best = float(surface[row[0], col[0]]) if ok[0] else 0.0
    return best


def _points_in(frame: _Frame, geom: BaseGeometry) -> NDArray[np.intp]:
    """Indices of the known clearings inside ``geom`` (metric)."""
    minx, miny, maxx, maxy = geom.bounds
    near = np.flatnonzero(
        (frame.px >= minx) & (frame.px <= maxx) & (frame.py >= miny) & (frame.py <= maxy)
    )
    if not len(near):
        return near
    inside = shapely.contains_xy(geom, frame.px[near], frame.py[near])
    return near[inside]


def _violence_index(
    incidents: Sequence[Incident] | None, as_of: date
) -> list[tuple[frozenset[str], int]] | None:
    """Incidents of the last calendar years before ``as_of``: (region name parts, count).

    "Mara, Apurímac" gives the parts MARA and APURIMAC, so it meets a unit in
    either; each incident counts once per unit.
    """
    if incidents is None:
        return None
    out: list[tuple[frozenset[str], int]] = []
    for inc in incidents:
        if inc.year is not None and not (as_of.year - VIOLENCE_YEARS < inc.year <= as_of.year):
            continue
        parts = frozenset(p for p in (_normal(x) for x in inc.region.split(",")) if p)
        if parts and inc.count:
            out.append((parts, int(inc.count)))
    return out


def _score_all(
    store: WorkspaceStore,
    settings: Settings,
    units: Sequence[tuple[RiskUnit, StoredTerritory]],
    territories: Sequence[StoredTerritory],
    points: ClearingPoints,
    as_of: date,
    *,
    incidents: Sequence[Incident] | None,
    corridor_as_of: date | None,
    strict_corridors: bool,
    progress: Progress | None,
) -> tuple[list[RiskScore], dict[Factor, str]]:
    """Measure every factor of every unit and score it (not ranked); missing factors and why."""
    weights = merge_weights(settings.risk_weights)
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds([u.geometry
                                                                      for u, _t in units]))
    frame = _frame(points, as_of, (minx, miny, maxx, maxy),
                   settings.risk_cell_km, margin_km=settings.buffer_km)
    metric = transform_geometries([u.geometry for u, _t in units], WGS84, frame.crs)
    buffered = shapely.buffer(metric, settings.buffer_km * 1000.0)
    missing: dict[Factor, str] = {}
    sources: dict[Factor, str] = {}
    n_known = len(frame.points)
    alerts_source = ngettext("alerts ({n} clearing before {date})",
                             "alerts ({n} clearings before {date})",
                             n_known, date=as_of.isoformat())
    for f in (Factor.PRESSURE_LOCAL, Factor.PRESSURE_REGIONAL, Factor.RECENT_CLEARINGS,
              Factor.TREND):
        sources[f] = alerts_source
    if n_known == 0:
        for f in (Factor.PRESSURE_LOCAL, Factor.PRESSURE_REGIONAL, Factor.RECENT_CLEARINGS,
                  Factor.TREND):
            missing[f] = _("no alerts before {date}: run vigilancia monitor",
                           date=as_of.isoformat())
    coca = frame.points.probs.get("coca")
    if coca is not None and not np.isfinite(coca).any():
        coca = None  # no clearing is classified
    if coca is not None:
        sources[Factor.COCA] = _("driver classifier")
    else:
        missing[Factor.COCA] = _("clearings are not classified: run vigilancia classifier apply")
    runways, runway_source = _runways(store, frame, as_of)
    if runway_source is None:
        missing[Factor.AIRSTRIPS] = _(
            "no airstrip layer and no classified clearings: "
            "import one with vigilancia layers import --kind airstrip"
        )
    else:
        sources[Factor.AIRSTRIPS] = runway_source
    runway_tree = shapely.STRtree(runways) if runways else None
    exposure = corridors_service.corridor_exposure(
        store, [t for _u, t in units], as_of=corridor_as_of
    )
    if not exposure.available:
        missing[Factor.CORRIDORS] = _("no usable corridors: run vigilancia routes")
    elif strict_corridors and (exposure.as_of is None or exposure.as_of > as_of):
        missing[Factor.CORRIDORS] = _(
            "no corridors built as of {date}: run vigilancia routes --as-of {date}",
            date=as_of.isoformat(),
        )
    else:
        sources[Factor.CORRIDORS] = _("corridors (run {run})", run=exposure.run_id)
    reserves = [t for t in territories if t.kind is TerritoryKind.RESERVE]
    if reserves:
        reserve_metric = transform_geometries([t.geometry for t in reserves], WGS84, frame.crs)
        reserve_tree = shapely.STRtree(reserve_metric)
        sources[Factor.ISOLATION] = _("reserves for peoples in isolation ({n})", n=len(reserves))
    else:
        reserve_tree = None
        missing[Factor.ISOLATION] = _(
            "no reserves for peoples in isolation: import them with "
            "vigilancia territories import --kind reserve"
        )
    violence = _violence_index(incidents, as_of)
    districts = [t for t in territories if t.kind is TerritoryKind.DISTRICT]
    if violence is None:
        missing[Factor.VIOLENCE] = _("no incident file: pass --incidents FILE.csv")
    else:
        sources[Factor.VIOLENCE] = _("incident counts by region")
    district_tree = shapely.STRtree([t.geometry for t in districts]) if districts else None
    community_index = [i for i, (u, _t) in enumerate(units) if u.kind == "community"]
    community_tree = shapely.STRtree(metric[community_index]) if community_index else None
    sources[Factor.TENURE] = _("territory layer (titling status)")

    recent_from = RECENT_DAYS
    scores: list[RiskScore] = []
    n = len(units)
    for i, (unit, terr) in enumerate(units):
        if progress is not None and (i % 50 == 0 or i == n - 1):
            progress("score", i + 1, n)
        geom, zone = metric[i], buffered[i]
        values: list[FactorValue] = []
        if n_known:
            for f in (Factor.PRESSURE_LOCAL, Factor.PRESSURE_REGIONAL):
                k = _cells_max(frame.grid, frame.pressure[f], zone)
                sigma = SIGMA_LOCAL_KM if f is Factor.PRESSURE_LOCAL else SIGMA_REGIONAL_KM
                values.append(FactorValue(f, k, sources[f], {
                    "weighted_ha": round(k, 2), "cell_km": settings.risk_cell_km,
                    "sigma_km": sigma}))
            idx = _points_in(frame, zone)
            ages = frame.age[idx]
            n_recent = int((ages < recent_from).sum())
            n_prev = int(((ages >= recent_from) & (ages < 2 * recent_from)).sum())
            area_recent = float(frame.points.area_ha[idx][ages < recent_from].sum())
            values.append(FactorValue(Factor.RECENT_CLEARINGS, float(n_recent),
                                      sources[Factor.RECENT_CLEARINGS],
                                      {"count": n_recent, "area_ha": round(area_recent, 2),
                                       "months": 3}))
            values.append(FactorValue(Factor.TREND, (n_recent + 1.0) / (n_prev + 1.0),
                                      sources[Factor.TREND],
                                      {"recent": n_recent, "previous": n_prev, "months": 3}))
            if coca is not None:
                sel = idx[ages < COCA_DAYS]
                expected = float(np.nansum(coca[sel]))
                likely = int((np.nan_to_num(coca[sel]) >= 0.5).sum())
                values.append(FactorValue(Factor.COCA, expected, sources[Factor.COCA],
                                          {"expected": round(expected, 2), "likely": likely,
                                           "months": 12}))
        if runway_tree is not None:
            near = runway_tree.query(geom, predicate="dwithin",
                                     distance=AIRSTRIP_NEAR_KM * 1000.0)
            if len(near):
                d_km = float(min(shapely.distance(geom, runways[j]) for j in near)) / 1000.0
            elif runways:
                j = int(runway_tree.nearest(geom))
                d_km = float(shapely.distance(geom, runways[j])) / 1000.0
            else:
                d_km = math.inf
            values.append(FactorValue(Factor.AIRSTRIPS, d_km if math.isfinite(d_km) else 1e9,
                                      sources[Factor.AIRSTRIPS],
                                      {"near": len(near), "distance_km": _km(d_km),
                                       "within_km": AIRSTRIP_NEAR_KM}))
        if (Factor.CORRIDORS not in missing and unit.territory_id is not None
                and unit.territory_id in exposure):
            ex = exposure[unit.territory_id]
            d = ex.distance_km if math.isfinite(ex.distance_km) else 1e9
            values.append(FactorValue(Factor.CORRIDORS, d, sources[Factor.CORRIDORS],
                                      {"distance_km": _km(ex.distance_km),
                                       "crossing": len(ex.crossing),
                                       "labels": list(ex.labels[:3])}))
        if reserve_tree is not None:
            j = int(reserve_tree.nearest(geom))
            d_km = float(shapely.distance(geom, reserve_metric[j])) / 1000.0
            gap = max(0.0, d_km - settings.buffer_km)
            values.append(FactorValue(Factor.ISOLATION, gap, sources[Factor.ISOLATION],
                                      {"distance_km": _km(d_km), "reserve": reserves[j].name}))
        if violence is not None:
            names = _place_names(terr.attributes)
            if district_tree is not None and unit.kind == "community":
                for j in district_tree.query(terr.geometry.representative_point(),
                                             predicate="intersects"):
                    names |= _place_names(districts[int(j)].attributes)
            count = sum(c for parts, c in violence if parts & names)
            values.append(FactorValue(Factor.VIOLENCE, float(count), sources[Factor.VIOLENCE],
                                      {"incidents": count, "years": VIOLENCE_YEARS,
                                       "regions_known": bool(names)}))
        unit_weights = dict(weights)
        if unit.kind == "community":
            level, detail = _tenure_level(i, terr, geom, metric, community_tree, community_index)
            if level is not None:
                values.append(FactorValue(Factor.TENURE, level, sources[Factor.TENURE], detail))
        else:
            unit_weights.pop(Factor.TENURE, None)  # titling describes communities only
        scores.append(score_unit(unit.key, unit.name, values, unit_weights))
    if not any(u.kind == "community" for u, _t in units):
        missing.setdefault(Factor.TENURE, _("no community territories: districts only"))
    elif all(
        next(c for c in s.contributions if c.factor is Factor.TENURE).available is False
        for s, (u, _t) in zip(scores, units, strict=True) if u.kind == "community"
    ):
        missing[Factor.TENURE] = _(
            "titling status unknown: import territories with a titling field (e.g. titcom)"
        )
    return scores, missing


def _km(d: float) -> float | None:
    return None if not math.isfinite(d) else round(d, 2)


def _tenure_level(
    i: int,
    terr: StoredTerritory,
    geom: BaseGeometry,
    metric: NDArray[np.object_],
    tree: shapely.STRtree | None,
    community_index: Sequence[int],
) -> tuple[float | None, dict[str, Any]]:
    """Tenure level of community ``i``: its titling status, raised when others overlap it."""
    status = Tenure(terr.tenure)
    overlaps = 0
    if tree is not None and geom.area > 0:
        for j in tree.query(geom, predicate="intersects"):
            other = community_index[int(j)]
            if other == i:
                continue
            if shapely.intersection(geom, metric[other]).area >= OVERLAP_SHARE * geom.area:
                overlaps += 1
    level = TENURE_LEVELS.get(status.value)
    if overlaps:
        level = max(level or 0.0, OVERLAP_LEVEL)
    return level, {"status": status.value, "overlaps": overlaps}


def _default_as_of(points: ClearingPoints) -> date:
    """The day after the newest alert (today when there are none)."""
    valid = points.first_date[~np.isnat(points.first_date)]
    if not len(valid):
        return datetime.now(UTC).date()
    newest = valid.max().astype("datetime64[D]").astype(object)
    return date.fromordinal(newest.toordinal() + 1)


def assess_risk(
    store: WorkspaceStore,
    settings: Settings,
    *,
    as_of: date | None = None,
    incidents: Path | None = None,
    progress: Progress | None = None,
    save: bool = True,
) -> RiskAssessment:
    """Score every community territory (and district without communities) at ``as_of``.

    ``as_of`` defaults to the day after the newest stored alert. Only data
    known before ``as_of`` counts. ``incidents``: a CSV of aggregated incident
    counts by region (see :func:`vigilancia.io.incidents.read_incidents`).
    With ``save`` the assessment replaces any earlier one for the same date.
    """
    territories = store.territories.list()
    units = _units(territories)
    if not units:
        raise InputError(
            _("the workspace has no community territories or districts to score"),
            hint=_("import the community territories or the districts"),
            actions=(action("territories.import", kind="community"),
                     action("territories.import", kind="district")),
        )
    points = store.clearings.points()
    if as_of is None:
        as_of = _default_as_of(points)
    rows = read_incidents(incidents) if incidents is not None else None
    scores, missing = _score_all(
        store, settings, units, territories, points, as_of, incidents=rows,
        corridor_as_of=None, strict_corridors=False, progress=progress,
    )
    ranked = rank_scores(scores)
    weights = merge_weights(settings.risk_weights)
    by_key = {u.key: u for u, _t in units}
    assessment_id = None
    if save:
        with store.transaction() as conn:
            assessment_id = store.risk.save(
                conn,
                as_of=as_of,
                unit="territory",
                weights={f.value: w for f, w in weights.items()},
                coverage={f.value: reason for f, reason in missing.items()},
                rows=[
                    (s.key, s.name, by_key[s.key].territory_id, s.score, s.risk_class.value,
                     s.rank, {"coverage": round(s.coverage, 4),
                              "factors": [c.as_dict() for c in s.contributions]})
                    for s in ranked
                ],
            )
    return RiskAssessment(as_of, tuple(ranked), by_key, weights, missing, assessment_id)


# ------------------------------------------------------------------ back-test


def backtest(
    store: WorkspaceStore,
    settings: Settings,
    *,
    cutoff: date,
    horizon_months: int = 12,
    unit: str = "grid",
    cell_km: float = 2.0,
    progress: Progress | None = None,
) -> BacktestResult:
    """Score with the data known at ``cutoff``; measure the capture of the next ``horizon``.

    ``unit``: ``grid`` (``cell_km`` cells over the area of interest, by default
    the bounding box of the stored alerts), ``district`` or ``territory``.
    Future and past alert area go to the unit holding the clearing's centroid.
    The persistence baseline ranks units by their own alert area before the
    cutoff. Metrics: ``top1/5/10_capture`` and ``auc``.
    """
    if unit not in ("grid", "district", "territory"):
        raise InputError(
            _("unknown back-test unit {unit!r}", unit=unit),
            hint=_("use grid, district or territory"),
        )
    end = _add_months(cutoff, horizon_months)
    points = store.clearings.points()
    dated = ~np.isnat(points.first_date) & np.isfinite(points.lon) & np.isfinite(points.lat)
    points = points.subset(dated)
    c0, c1 = np.datetime64(cutoff, "D"), np.datetime64(end, "D")
    past = points.first_date < c0
    future = (points.first_date >= c0) & (points.first_date < c1)
    if not past.any() or not future.any():
        raise InputError(
            _("the back-test needs alerts before {cutoff} and between {cutoff} and {end}",
              cutoff=cutoff.isoformat(), end=end.isoformat()),
            hint=_("choose a cutoff inside the period of the stored alerts"),
        )
    weights = merge_weights(settings.risk_weights)
    if unit == "grid":
        return _grid_backtest(store, settings, points, past, future, cutoff, end,
                              horizon_months, cell_km, weights)
    kinds = [TerritoryKind.DISTRICT] if unit == "district" else [TerritoryKind.COMMUNITY]
    territories = store.territories.list()
    chosen = [t for t in territories if t.kind in kinds]
    if not chosen:
        raise InputError(
            _("the workspace has no {unit} polygons for the back-test", unit=unit),
            hint=_("import them, or score grid cells instead (unit grid)"),
            inputs="unit",
            actions=action("territories.import", kind=kinds[0].value),
        )
    units = [(RiskUnit(f"{unit}:{t.id}", t.name, "district" if unit == "district"
                       else "community", t.id, t.geometry), t) for t in chosen]
    scores, missing = _score_all(
        store, settings, units, territories, points, cutoff, incidents=None,
        corridor_as_of=cutoff, strict_corridors=True, progress=progress,
    )
    score = np.array([s.score for s in scores])
    crs = local_equal_area(*_centre(shapely.total_bounds([t.geometry for t in chosen])))
    fwd = transformer(WGS84, crs)
    px, py = fwd.transform(points.lon, points.lat)
    metric = transform_geometries([t.geometry for t in chosen], WGS84, crs)
    tree = shapely.STRtree(metric)
    pts = shapely.points(px, py)
    pi, ui = tree.query(pts, predicate="intersects")
    first = np.full(len(points), -1)
    first[pi[::-1]] = ui[::-1]  # a point on a shared edge goes to one unit
    past_area = np.zeros(len(chosen))
    fut_area = np.zeros(len(chosen))
    inside = first >= 0
    np.add.at(past_area, first[inside & past], points.area_ha[inside & past])
    np.add.at(fut_area, first[inside & future], points.area_ha[inside & future])
    bounds = tuple(float(v) for v in shapely.total_bounds([t.geometry for t in chosen]))
    used = tuple(f.value for f in weights if f not in missing)
    return BacktestResult(
        cutoff, horizon_months, end, unit, None, len(chosen),
        bounds,  # type: ignore[arg-type]
        float(past_area.sum()), float(fut_area.sum()),
        _new_share(past_area, fut_area),
        capture_metrics(score, fut_area), capture_metrics(past_area, fut_area),
        {f.value: w for f, w in weights.items()}, used,
        {f.value: r for f, r in missing.items()},
    )


def _centre(bounds: Any) -> tuple[float, float]:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return (minx + maxx) / 2.0, (miny + maxy) / 2.0


def _new_share(past: NDArray[np.float64], fut: NDArray[np.float64]) -> float | None:
    total = float(fut.sum())
    return float(fut[past <= 0].sum()) / total if total > 0 else None


def _grid_backtest(
    store: WorkspaceStore,
    settings: Settings,
    points: ClearingPoints,
    past: NDArray[np.bool_],
    future: NDArray[np.bool_],
    cutoff: date,
    end: date,
    horizon_months: int,
    cell_km: float,
    weights: Mapping[Factor, float],
) -> BacktestResult:
    aoi = store.area_of_interest() or store.clearings.extent()
    if aoi is None:  # pragma: no cover - points exist, so an extent does
        raise InputError(_("the workspace has no alerts"), hint=_("ingest alerts first"),
                         actions=action("monitor"))
    crs = local_equal_area(*_centre(aoi))
    frame = _frame(points, cutoff, aoi, cell_km, crs)
    grid = frame.grid
    fwd = transformer(WGS84, crs)
    px, py = fwd.transform(points.lon, points.lat)
    past_area = grid.sum_points(px[past], py[past], points.area_ha[past])
    fut_area = grid.sum_points(px[future], py[future], points.area_ha[future])
    missing: dict[str, str] = {}
    score = np.zeros(grid.shape)
    used: list[str] = []
    for f in (Factor.PRESSURE_LOCAL, Factor.PRESSURE_REGIONAL):
        score += weights[f] * factor_levels(f, frame.pressure[f])
        used.append(f.value)
    gx, gy = grid.centres()
    runways, source = _runways(store, frame, cutoff)
    if runways and weights[Factor.AIRSTRIPS] > 0:
        d = _distance_km(grid, gx, gy, runways)
        score += weights[Factor.AIRSTRIPS] * factor_levels(Factor.AIRSTRIPS, d)
        used.append(Factor.AIRSTRIPS.value)
    elif source is None:
        missing[Factor.AIRSTRIPS.value] = _("no airstrip layer and no classified clearings")
    run = store.corridors.latest_run(as_of=cutoff)
    corridors = store.corridors.list(run.id) if run is not None else []
    if corridors and weights[Factor.CORRIDORS] > 0:
        lines = transform_geometries([c.geometry for c in corridors], WGS84, crs).tolist()
        d = _distance_km(grid, gx, gy, lines)
        score += weights[Factor.CORRIDORS] * factor_levels(Factor.CORRIDORS, d)
        used.append(Factor.CORRIDORS.value)
    else:
        missing[Factor.CORRIDORS.value] = _(
            "no corridors built as of {date}: run vigilancia routes --as-of {date}",
            date=cutoff.isoformat(),
        )
    return BacktestResult(
        cutoff, horizon_months, end, "grid", cell_km, grid.nx * grid.ny, aoi,
        float(past_area.sum()), float(fut_area.sum()), _new_share(past_area, fut_area),
        capture_metrics(score, fut_area), capture_metrics(past_area, fut_area),
        {f.value: w for f, w in weights.items() if f in GRID_FACTORS}, tuple(used), missing,
    )


def _distance_km(grid: Grid, gx: NDArray[np.float64], gy: NDArray[np.float64],
                 geoms: Sequence[BaseGeometry]) -> NDArray[np.float64]:
    """Distance (km) from every cell centre to the nearest of ``geoms`` (metric)."""
    tree = shapely.STRtree(list(geoms))
    pts = shapely.points(gx.ravel(), gy.ravel())
    _idx, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out: NDArray[np.float64] = (np.asarray(dist) / 1000.0).reshape(grid.shape)
    return out
