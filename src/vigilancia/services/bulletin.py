"""The monthly community bulletin: what happened in and around one territory in one month,
for a community assembly or a federation meeting, gathered into a :class:`Bulletin` that
:func:`vigilancia.reports.bulletin.render_bulletin` draws (PDF or HTML).

- the month's new clearings (first alert in the month) inside the territory and within
  ``buffer_km`` of it, on a map with the clearings of the 11 months before in grey;
- the cases of the territory, highest priority first, with what patrols found (the
  verdict and the date of the visit; no notes, no names);
- the territory's risk class and score from the latest assessment made by the end of the
  month, and what changed since the one of the month before (class, score, rank and the
  factors that moved most);
- a 12-month trend of new clearings (count and area, inside and nearby).

**No names.** Monitors, coordinators and whoever recorded something are never named: not
the cases' assignees, not the people in the histories, not the notes (free text may name
people). Cases opened by a field report are listed without their position, and not
drawn: a report's exact point is sensitive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely

from vigilancia.config import Settings
from vigilancia.domain.cases import OPEN_STATUSES, Case, CaseOrigin
from vigilancia.domain.territories import StoredTerritory, TerritoryKind
from vigilancia.errors import InputError
from vigilancia.i18n import _, language
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.store import RiskScoreRecord, WorkspaceStore
from vigilancia.services.cases import find_territory
from vigilancia.services.report_maps import (
    MapFeature,
    MapView,
    context_features,
    extent_around,
    geojson,
    territory_features,
)
from vigilancia.services.reporting import (
    REPORT_FORMAT,
    add_months,
    factors_of,
    month_range,
    stored_score,
)
from vigilancia.services.texts.risk import explain

__all__ = ["Bulletin", "BulletinCase", "BulletinClearing", "MonthTotal", "RiskChange",
           "TREND_MONTHS", "bulletin"]

#: Months of the trend chart (the bulletin's month and the 11 before it).
TREND_MONTHS = 12


@dataclass(frozen=True)
class BulletinClearing:
    """A new clearing of the month: id, first alert, area (ha), likely driver and its
    probability, centroid (lon/lat: a satellite detection, not a field report) and
    whether it is inside the territory (else within the buffer around it)."""

    id: int
    first_date: date | None
    area_ha: float
    driver: str | None
    driver_probability: float | None
    lon: float
    lat: float
    inside: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "first_date": self.first_date, "area_ha": self.area_ha,
                "driver": self.driver, "driver_probability": self.driver_probability,
                "lon": round(self.lon, 7), "lat": round(self.lat, 7), "inside": self.inside}


@dataclass(frozen=True)
class MonthTotal:
    """New clearings of one month (``month``: its first day), inside the territory and
    nearby: how many and their area (ha)."""

    month: date
    inside: int
    inside_ha: float
    nearby: int
    nearby_ha: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"month": self.month.strftime("%Y-%m"), "inside": self.inside,
                "inside_ha": round(self.inside_ha, 4), "nearby": self.nearby,
                "nearby_ha": round(self.nearby_ha, 4)}


@dataclass(frozen=True)
class BulletinCase:
    """A case of the territory as the bulletin lists it: code, priority (0-100), status,
    area (ha), likely driver, alert dates, the verdict the patrol gave and when (None
    while not visited), how many field records and photos it has, and whether it was
    opened in the month. No assignee, no notes."""

    code: str
    priority: float
    status: str
    origin: str
    area_ha: float
    driver: str | None
    first_alert: date | None
    last_alert: date | None
    verdict: str | None
    visited: date | None
    records: int
    photos: int
    opened_this_month: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"code": self.code, "priority": round(self.priority, 2), "status": self.status,
                "origin": self.origin, "area_ha": round(self.area_ha, 4),
                "driver": self.driver, "first_alert": self.first_alert,
                "last_alert": self.last_alert, "verdict": self.verdict,
                "visited": self.visited, "records": self.records, "photos": self.photos,
                "opened_this_month": self.opened_this_month}


@dataclass(frozen=True)
class RiskChange:
    """The territory's risk at the end of the month and the month before: dates of the two
    assessments, class, score (0-100), rank among ``units``, the explanation of the
    current score, and the factors whose points moved most (factor, points before, now).
    The ``previous_*`` fields are None when there is no earlier assessment."""

    as_of: date
    risk_class: str
    score: float
    rank: int
    units: int
    explanation: str
    previous_as_of: date | None
    previous_class: str | None
    previous_score: float | None
    previous_rank: int | None
    moved: tuple[tuple[str, float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"as_of": self.as_of, "risk_class": self.risk_class,
                "score": round(self.score, 2), "rank": self.rank, "units": self.units,
                "explanation": self.explanation, "previous_as_of": self.previous_as_of,
                "previous_class": self.previous_class,
                "previous_score": None if self.previous_score is None
                else round(self.previous_score, 2),
                "previous_rank": self.previous_rank,
                "moved": [{"factor": f, "before": round(a, 2), "now": round(b, 2)}
                          for f, a, b in self.moved]}


@dataclass(frozen=True)
class Bulletin:
    """Everything a monthly bulletin states (see the module text); :meth:`content` is its
    content document (:mod:`vigilancia.services.reporting`)."""

    kind = "bulletin"
    organisation: str
    language: str
    territory: StoredTerritory
    month: date
    buffer_km: float
    clearings: tuple[BulletinClearing, ...]
    trend: tuple[MonthTotal, ...]
    cases: tuple[BulletinCase, ...]
    risk: RiskChange | None
    sources: tuple[str, ...]
    map: MapView

    case_id = None

    @property
    def title(self) -> str:
        """"Monthly bulletin, CN X, July 2024" in the bulletin's language."""
        from vigilancia.services.texts.reports import month_name

        with language(self.language):
            return _("Monthly bulletin {territory}, {month}", territory=self.territory.name,
                     month=month_name(self.month.year, self.month.month))

    @property
    def this_month(self) -> MonthTotal:
        """The bulletin's month in the trend."""
        return self.trend[-1]

    @property
    def last_month(self) -> MonthTotal | None:
        """The month before it."""
        return self.trend[-2] if len(self.trend) > 1 else None

    def content(self) -> dict[str, Any]:
        """The content document."""
        t = self.territory
        return {
            "format": REPORT_FORMAT, "kind": self.kind, "language": self.language,
            "organisation": self.organisation, "month": self.month.strftime("%Y-%m"),
            "territory": {"name": t.name, "kind": t.kind, "people": t.people,
                          "tenure": t.tenure, "area_ha": None if t.area_ha is None
                          else round(t.area_ha, 2)},
            "buffer_km": self.buffer_km,
            "clearings": list(self.clearings),
            "trend": list(self.trend),
            "cases": list(self.cases),
            "risk": self.risk,
            "sources": list(self.sources),
        }

    def to_dict(self) -> dict[str, Any]:
        """The content document (what the web app offers beside the document)."""
        return self.content()


def _risk(store: WorkspaceStore, territory: StoredTerritory, start: date, end: date
          ) -> RiskChange | None:
    mine = [a for a in store.risk.assessments() if a.unit == "territory"]
    current = next((a for a in mine if a.as_of <= end + timedelta(days=1)), None)
    if current is None:
        return None
    before = next((a for a in mine if a.as_of <= start and a.as_of < current.as_of), None)

    def score_of(assessment_id: int) -> tuple[RiskScoreRecord | None, int]:
        rows = store.risk.scores(assessment_id)
        return next((r for r in rows if r.territory_id == territory.id), None), len(rows)

    now, units = score_of(current.id)
    if now is None:
        return None
    prev = None if before is None else score_of(before.id)[0]
    moved: list[tuple[str, float, float]] = []
    if prev is not None:
        a = {str(c.get("factor")): float(c.get("points") or 0.0) for c in factors_of(prev)}
        b = {str(c.get("factor")): float(c.get("points") or 0.0) for c in factors_of(now)}
        deltas = sorted(((f, a.get(f, 0.0), b.get(f, 0.0)) for f in sorted(set(a) | set(b))),
                        key=lambda x: (-abs(x[2] - x[1]), x[0]))
        moved = [d for d in deltas if abs(d[2] - d[1]) >= 0.5][:3]
    return RiskChange(
        as_of=current.as_of, risk_class=now.risk_class, score=now.score, rank=now.rank,
        units=units, explanation=explain(stored_score(now)),
        previous_as_of=None if before is None or prev is None else before.as_of,
        previous_class=None if prev is None else prev.risk_class,
        previous_score=None if prev is None else prev.score,
        previous_rank=None if prev is None else prev.rank, moved=tuple(moved))


def _cases(store: WorkspaceStore, territory: StoredTerritory, start: date, end: date
           ) -> list[BulletinCase]:
    """The territory's cases that existed by the end of the month (their first alert, or
    their opening for a field report, by then): the open ones and those visited or
    changed in the month, as they stand today."""
    found = [c for c in store.cases.list(territory_id=territory.id)
             if (c.first_alert <= end if c.first_alert is not None
                 else c.created_at.date() <= end)]
    if not found:
        return []
    ids = {c.id for c in found}
    by_id = {c.id: c for c in found}
    visits: dict[int, date] = {}
    records: dict[int, int] = {}
    photos: dict[int, int] = {}
    for o in store.observations.list():
        if o.case_id not in ids or o.kind == "track":
            continue
        cid = int(o.case_id or 0)
        records[cid] = records.get(cid, 0) + 1
        photos[cid] = photos.get(cid, 0) + sum(
            1 for a in o.attachments or [] if str(a.get("name", "")).lower().endswith(
                (".jpg", ".jpeg", ".png")))
        case = by_id[cid]
        if (o.verdict is not None and case.verdict is not None
                and o.verdict == case.verdict.value and o.observed_at is not None
                and o.observed_at.date() <= end):
            visits[cid] = max(visits.get(cid, o.observed_at.date()), o.observed_at.date())
    changed: set[int] = {cid for cid, day in visits.items() if start <= day <= end}
    for e in store.cases.events():
        if e.case_id not in ids:
            continue
        day = e.at.date()
        if e.action == "verdict" and e.case_id not in visits and day <= end:
            visits[e.case_id] = day
        if start <= day <= end:
            changed.add(e.case_id)
    keep = [c for c in found if c.status in OPEN_STATUSES or c.id in changed]

    def row(c: Case) -> BulletinCase:
        return BulletinCase(
            code=c.code, priority=c.priority, status=c.status.value, origin=c.origin.value,
            area_ha=c.area_ha, driver=None if c.driver is None else c.driver.value,
            first_alert=c.first_alert, last_alert=c.last_alert,
            verdict=None if c.verdict is None else c.verdict.value,
            visited=visits.get(c.id), records=records.get(c.id, 0),
            photos=photos.get(c.id, 0),
            opened_this_month=start <= c.created_at.date() <= end)

    return [row(c) for c in sorted(keep, key=lambda c: (-c.priority, c.id))]


def bulletin(
    store: WorkspaceStore,
    settings: Settings,
    *,
    territory: str | int,
    month: date,
    lang: str | None = None,
) -> Bulletin:
    """Gather the bulletin of ``territory`` (name or id of a unit of cases: a community
    territory, a reserve, or a district without communities) for the month of ``month``
    (see the module text). Reads only."""
    lang = (lang or settings.language or "es").lower()
    with language(lang):
        found = find_territory(store, territory)
        start, end = month_range(month)
        first = add_months(start, -(TREND_MONTHS - 1))
        buffer_m = settings.buffer_km * 1000.0
        frame_crs = local_equal_area(round(found.geometry.centroid.x, 3),
                                     round(found.geometry.centroid.y, 3))
        area_m = transform_geometries([found.geometry], WGS84, frame_crs)[0]
        reach = extent_around([found.geometry], min_m=0.0, pad=0.0)
        pad_deg = buffer_m / 110_000.0 / max(0.2, math.cos(math.radians(reach[1])))
        box = (reach[0] - pad_deg, reach[1] - pad_deg, reach[2] + pad_deg, reach[3] + pad_deg)
        cols = store.clearings.columns(bounds=box)
        firsts = cols.first_date
        known = ~np.isnat(firsts)
        in_time = known & (firsts >= np.datetime64(first, "D")) & (
            firsts <= np.datetime64(end, "D"))
        idx = np.flatnonzero(in_time)
        geoms = transform_geometries(cols.geometry[idx], WGS84, frame_crs)
        dist = shapely.distance(area_m, geoms) if len(idx) else np.empty(0)
        near = dist <= buffer_m
        idx, dist = idx[near], dist[near]
        inside = dist <= 0.0
        months = [add_months(first, k) for k in range(TREND_MONTHS)]
        counts = {m: [0, 0] for m in months}  # inside, nearby
        hectares = {m: [0.0, 0.0] for m in months}
        clearings: list[BulletinClearing] = []
        shapes_now, shapes_before = [], []
        for i, is_in in zip(idx.tolist(), inside.tolist(), strict=True):
            day = firsts[i].astype("datetime64[D]").item()
            key = day.replace(day=1)
            area = float(cols.area_ha[i]) if math.isfinite(cols.area_ha[i]) else 0.0
            side = 0 if is_in else 1
            counts[key][side] += 1
            hectares[key][side] += area
            if key == start:
                p = cols.driver_probability[i]
                clearings.append(BulletinClearing(
                    id=int(cols.id[i]), first_date=day, area_ha=round(area, 4),
                    driver=cols.driver[i],
                    driver_probability=None if not math.isfinite(p) else round(float(p), 4),
                    lon=float(cols.centroid_lon[i]), lat=float(cols.centroid_lat[i]),
                    inside=bool(is_in)))
                shapes_now.append(cols.geometry[i])
            else:
                shapes_before.append(cols.geometry[i])
        trend = tuple(MonthTotal(m, counts[m][0], hectares[m][0], counts[m][1], hectares[m][1])
                      for m in months)
        cases = _cases(store, found, start, end)
        view = _map(store, found, box, shapes_now, shapes_before, cases, store.cases.list(
            territory_id=found.id))
        sources = tuple(sorted({_batch_name(b.source) + f" ({b.product})"
                                for b in store.batches.list()}))
        return Bulletin(
            organisation=store.name, language=lang, territory=found, month=start,
            buffer_km=settings.buffer_km,
            clearings=tuple(sorted(clearings, key=lambda c: (-c.area_ha, c.id))), trend=trend,
            cases=tuple(cases), risk=_risk(store, found, start, end), sources=sources,
            map=view)


def _batch_name(source: str) -> str:
    from pathlib import PurePath

    return PurePath(source).name or source


def _map(store: WorkspaceStore, territory: StoredTerritory,
         box: tuple[float, float, float, float], now: Sequence[Any], before: Sequence[Any],
         listed: Sequence[BulletinCase], cases: Sequence[Case]) -> MapView:
    bounds = extent_around([shapely.box(*box)], min_m=4000.0, pad=0.0, ratio=0.8)
    kinds = (TerritoryKind.DISTRICT, TerritoryKind.PROTECTED_AREA, TerritoryKind.RESERVE,
             TerritoryKind.COMMUNITY)
    feats = territory_features(store.territories.list(kinds), bounds, kinds)
    feats += context_features(store, bounds)
    feats += [MapFeature("other_clearing", None, g) for g in before]
    shown = {c.code for c in listed}
    points = tuple(
        MapFeature("case", c.code, shapely.Point(c.lon, c.lat), str(c.id))
        for c in cases if c.code in shown and c.origin is CaseOrigin.ALERTS)
    focus = shapely.union_all(list(now)) if now else None
    rings = tuple(MapFeature("new_clearing", None, g.centroid) for g in now)
    return MapView(bounds, tuple(feats), focus=focus, points=rings + points,
                   highlight=territory.name)


def geometry_of(b: Bulletin) -> dict[str, Any] | None:
    """The month's new clearings as rounded GeoJSON (for the web app's map)."""
    return geojson(b.map.focus)


def parse_bulletin_month(text: str) -> date:
    """The month of a bulletin from ``YYYY-MM``; a month still to come is refused."""
    from vigilancia.services.reporting import parse_month

    found = parse_month(text)
    if found > date.today().replace(day=1):
        raise InputError(_("{month} has not happened yet", month=text),
                         hint=_("give a month that has ended or is under way"), inputs="month")
    return found
