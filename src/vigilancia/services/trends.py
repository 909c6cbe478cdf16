"""Regional trends for analysts: how clearing moves month by month across the workspace's
territories and districts, with its likely drivers, the risk ranking, and the official
figures beside the system's own: DEVIDA's coca hectares and Geobosques' district forest
loss. Gathered into a :class:`Trends` that :func:`vigilancia.reports.trends.render_trends`
draws.

- The region is every clearing that overlaps one of the workspace's territories,
  reserves, protected areas or districts (a national alert file ingested whole counts
  only where the workspace has units). A clearing counts once, in the district and in
  the territory that hold most of it; its month is its first alert's; its driver is the
  likeliest one (unclassified clearings are counted apart).
- The risk ranking is the latest stored assessment's (when there is one).
- Coca: DEVIDA's tables by department and by zone, as given (:mod:`vigilancia.io.stats`;
  the national ``TOTAL`` row is never ranked), with the departments of the workspace's
  districts marked.
- Forest loss: Geobosques' loss per year of each district of the workspace (joined on
  UBIGEO, the districts' ``IDDIST``) beside the alert area the system detected there.

Every table and chart of the report names its source: the alert files, the assessment,
and each statistics file with its SHA-256.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from vigilancia.config import Settings
from vigilancia.domain.drivers import DRIVERS
from vigilancia.domain.territories import StoredTerritory, TerritoryKind, normalise_name
from vigilancia.errors import InputError, action
from vigilancia.i18n import _, language
from vigilancia.io.stats import CocaTable, ForestLossTable, read_coca_table, read_forest_loss
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.report_maps import place_of
from vigilancia.services.reporting import REPORT_FORMAT, stored_score
from vigilancia.services.texts.risk import explain

__all__ = ["MAX_MONTHS", "LossRow", "MonthDrivers", "RiskRow", "Trends", "UnitTrend", "trends"]

#: Months shown at most (the latest).
MAX_MONTHS = 60
#: Rows of the tables of units and of the risk ranking.
TOP_UNITS = 15
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class MonthDrivers:
    """New clearings of one month in the region: how many, and hectares by likely driver
    (``unclassified`` for those without one)."""

    month: date
    clearings: int
    area_by_driver: dict[str, float]

    @property
    def area_ha(self) -> float:
        """Total hectares."""
        return sum(self.area_by_driver.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"month": self.month.strftime("%Y-%m"), "clearings": self.clearings,
                "area_by_driver": {k: round(v, 4) for k, v in self.area_by_driver.items()}}


@dataclass(frozen=True)
class UnitTrend:
    """Clearings in one district or territory over the period: kind, name (with the
    department and UBIGEO of a district), how many, hectares, hectares in the last 12
    months and in the 12 before, and hectares by likely driver."""

    kind: str
    name: str
    department: str | None
    ubigeo: str | None
    clearings: int
    area_ha: float
    last_12_ha: float
    previous_12_ha: float
    area_by_driver: dict[str, float]

    @property
    def top_driver(self) -> tuple[str, float] | None:
        """The driver with the most hectares and its share (0-1)."""
        if not self.area_by_driver or self.area_ha <= 0:
            return None
        key = max(self.area_by_driver, key=lambda k: (self.area_by_driver[k], k))
        return key, self.area_by_driver[key] / self.area_ha

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "name": self.name, "department": self.department,
                "ubigeo": self.ubigeo, "clearings": self.clearings,
                "area_ha": round(self.area_ha, 4), "last_12_ha": round(self.last_12_ha, 4),
                "previous_12_ha": round(self.previous_12_ha, 4),
                "area_by_driver": {k: round(v, 4) for k, v in self.area_by_driver.items()}}


@dataclass(frozen=True)
class RiskRow:
    """One unit of the latest risk ranking: rank, name, class, score and explanation."""

    rank: int
    name: str
    risk_class: str
    score: float
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"rank": self.rank, "name": self.name, "risk_class": self.risk_class,
                "score": round(self.score, 2), "explanation": self.explanation}


@dataclass(frozen=True)
class LossRow:
    """One district: Geobosques' official forest loss (ha) and the alert area the system
    detected (ha), by year."""

    ubigeo: str
    name: str
    department: str
    official_ha: dict[int, float]
    detected_ha: dict[int, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ubigeo": self.ubigeo, "name": self.name, "department": self.department,
                "official_ha": {str(y): round(v, 2) for y, v in self.official_ha.items()},
                "detected_ha": {str(y): round(v, 4) for y, v in self.detected_ha.items()}}


@dataclass(frozen=True)
class Trends:
    """Everything the regional trends report states (see the module text)."""

    kind = "trends"
    organisation: str
    language: str
    months: tuple[MonthDrivers, ...]
    districts: tuple[UnitTrend, ...]
    territories: tuple[UnitTrend, ...]
    risk_as_of: date | None
    risk_unit: str | None
    risk: tuple[RiskRow, ...]
    departments: tuple[str, ...]
    coca: tuple[CocaTable, ...]
    loss: ForestLossTable | None
    loss_rows: tuple[LossRow, ...]
    loss_years: tuple[int, ...]
    alert_sources: tuple[str, ...]
    outside: int = 0
    model_versions: tuple[str, ...] = field(default=())

    case_id = None

    @property
    def title(self) -> str:
        """The report's title in its language."""
        with language(self.language):
            return _("Regional trends")

    @property
    def period(self) -> tuple[date, date] | None:
        """First and last month with clearings in the region."""
        return (self.months[0].month, self.months[-1].month) if self.months else None

    def content(self) -> dict[str, Any]:
        """The content document (:mod:`vigilancia.services.reporting`)."""
        return {
            "format": REPORT_FORMAT, "kind": self.kind, "language": self.language,
            "organisation": self.organisation,
            "months": list(self.months),
            "districts": list(self.districts),
            "territories": list(self.territories),
            "risk": {"as_of": self.risk_as_of, "unit": self.risk_unit,
                     "rows": list(self.risk)},
            "departments": list(self.departments),
            "coca": [{"kind": t.kind, "source": t.source, "sha256": t.sha256,
                      "years": list(t.years), "rows": list(t.rows)} for t in self.coca],
            "loss": None if self.loss is None else {
                "source": self.loss.source, "sha256": self.loss.sha256,
                "years": list(self.loss_years), "rows": list(self.loss_rows)},
            "alert_sources": list(self.alert_sources),
            "outside_units": self.outside,
            "model_versions": list(self.model_versions),
        }

    def to_dict(self) -> dict[str, Any]:
        """The content document (what the web app offers beside the PDF)."""
        return self.content()


def _unit(t: StoredTerritory, ids: np.ndarray, area: np.ndarray, months: np.ndarray,
          drivers: np.ndarray, last: np.datetime64) -> UnitTrend:
    place = place_of(t) if t.kind is TerritoryKind.DISTRICT else None
    recent = months > last - np.timedelta64(12, "M")
    before = (months <= last - np.timedelta64(12, "M")) & (months > last - np.timedelta64(24, "M"))
    by_driver: dict[str, float] = {}
    for d, a in zip(drivers.tolist(), area.tolist(), strict=True):
        by_driver[d] = by_driver.get(d, 0.0) + a
    return UnitTrend(
        kind=t.kind.value, name=t.name if place is None else (place.district or t.name),
        department=None if place is None else place.department,
        ubigeo=None if place is None else place.ubigeo, clearings=len(ids),
        area_ha=float(area.sum()), last_12_ha=float(area[recent].sum()),
        previous_12_ha=float(area[before].sum()),
        area_by_driver=dict(sorted(by_driver.items(), key=lambda kv: (-kv[1], kv[0]))))


def _risk(store: WorkspaceStore) -> tuple[date | None, str | None, list[RiskRow]]:
    found = store.risk.assessments()
    if not found:
        return None, None, []
    latest = found[0]
    rows = []
    for r in store.risk.scores(latest.id)[:TOP_UNITS]:
        rows.append(RiskRow(rank=r.rank, name=r.name or r.unit_key, risk_class=r.risk_class,
                            score=r.score, explanation=explain(stored_score(r))))
    return latest.as_of, latest.unit, rows


def _read_coca(paths: Sequence[Path]) -> list[CocaTable]:
    tables = [read_coca_table(Path(p)) for p in paths]
    order = {"department": 0, "zone": 1}
    return sorted(tables, key=lambda t: (order.get(t.kind, 9), -max(t.years), t.source))


def trends(
    store: WorkspaceStore,
    settings: Settings,
    *,
    coca: Sequence[Path] = (),
    loss: Path | None = None,
    lang: str | None = None,
) -> Trends:
    """Gather the regional trends of the workspace, with DEVIDA's ``coca`` tables and
    Geobosques' ``loss`` table when given (see the module text). Reads only."""
    lang = (lang or settings.language or "es").lower()
    with language(lang):
        coca_tables = _read_coca(coca)
        loss_table = None if loss is None else read_forest_loss(Path(loss))
        territories = {t.id: t for t in store.territories.list()}
        if not territories:
            raise InputError(
                _("the workspace has no territories or districts to report on"),
                hint=_("import the community territories or the districts"),
                actions=(action("territories.import"),
                         action("territories.import", kind="district")))
        points = store.clearings.points()
        kinds = list(TerritoryKind)
        overlaps = store.clearings.overlaps(kinds)
        # the unit of each kind that holds most of each clearing (overlaps come largest first)
        district_of: dict[int, int] = {}
        territory_of: dict[int, int] = {}
        for cid, tid in zip(overlaps.clearing_id.tolist(), overlaps.territory_id.tolist(),
                            strict=True):
            t = territories.get(tid)
            if t is None:
                continue
            if t.kind is TerritoryKind.DISTRICT:
                district_of.setdefault(cid, tid)
            else:
                territory_of.setdefault(cid, tid)
        ids = points.id
        in_region = np.fromiter(((i in district_of or i in territory_of) for i in ids.tolist()),
                                bool, len(ids))
        known = ~np.isnat(points.first_date)
        keep = in_region & known
        outside = int((~in_region).sum())
        ids = ids[keep]
        area = np.nan_to_num(points.area_ha[keep])
        months = points.first_date[keep].astype("datetime64[M]")
        names = [d for d in DRIVERS if d in points.probs]
        if names:
            table = np.column_stack([points.probs[d][keep] for d in names])
            classified = ~np.all(np.isnan(table), axis=1)
            best = np.argmax(np.nan_to_num(table, nan=-1.0), axis=1)
            drivers = np.where(classified, np.array(names, dtype=object)[best], UNCLASSIFIED)
        else:
            drivers = np.full(len(ids), UNCLASSIFIED, dtype=object)
        monthly: list[MonthDrivers] = []
        if len(ids):
            last = months.max()
            first = max(months.min(), last - np.timedelta64(MAX_MONTHS - 1, "M"))
            m = first
            while m <= last:
                sel = months == m
                by: dict[str, float] = {}
                for d, a in zip(drivers[sel].tolist(), area[sel].tolist(), strict=True):
                    by[d] = by.get(d, 0.0) + a
                day = m.astype("datetime64[D]").item()
                monthly.append(MonthDrivers(day, int(sel.sum()), dict(sorted(by.items()))))
                m = m + np.timedelta64(1, "M")
        else:
            last = np.datetime64("NaT", "M")
        units_d: list[UnitTrend] = []
        units_t: list[UnitTrend] = []
        for mapping, out in ((district_of, units_d), (territory_of, units_t)):
            owner = np.array([mapping.get(i, -1) for i in ids.tolist()], np.int64)
            for tid in sorted(set(owner.tolist()) - {-1}):
                sel = owner == tid
                out.append(_unit(territories[tid], ids[sel], area[sel], months[sel],
                                 drivers[sel], last))
        units_d.sort(key=lambda u: (-u.area_ha, u.name))
        units_t.sort(key=lambda u: (-u.area_ha, u.name))
        risk_as_of, risk_unit, risk_rows = _risk(store)
        districts = [t for t in territories.values() if t.kind is TerritoryKind.DISTRICT]
        departments = sorted({p.department for p in (place_of(t) for t in districts)
                              if p.department})
        loss_rows, loss_years = _loss(loss_table, districts, ids, area, months, district_of)
        batches = store.batches.list()
        sources = tuple(sorted({f"{PurePath(b.source).name} ({b.product})" for b in batches}))
        model = store.clearings.by_driver().model_version
        return Trends(
            organisation=store.name, language=lang, months=tuple(monthly),
            districts=tuple(units_d), territories=tuple(units_t), risk_as_of=risk_as_of,
            risk_unit=risk_unit, risk=tuple(risk_rows), departments=tuple(departments),
            coca=tuple(coca_tables), loss=loss_table, loss_rows=tuple(loss_rows),
            loss_years=tuple(loss_years), alert_sources=sources, outside=outside,
            model_versions=() if model is None else (model,))


def _loss(table: ForestLossTable | None, districts: Sequence[StoredTerritory],
          ids: np.ndarray, area: np.ndarray, months: np.ndarray,
          district_of: dict[int, int]) -> tuple[list[LossRow], list[int]]:
    """Official loss beside detections for the workspace's districts found in ``table``."""
    if table is None:
        return [], []
    official = table.by_ubigeo()
    years_seen = sorted({int(str(m)[:4]) for m in np.unique(months).tolist()}) if len(ids) \
        else []
    years = [y for y in table.years if y in years_seen] or list(table.years[-5:])
    owner = np.array([district_of.get(i, -1) for i in ids.tolist()], np.int64)
    year_of = months.astype("datetime64[Y]").astype(int) + 1970
    rows = []
    for t in districts:
        place = place_of(t)
        if place.ubigeo is None or place.ubigeo not in official:
            continue
        o = official[place.ubigeo]
        sel = owner == t.id
        detected = {y: float(area[sel & (year_of == y)].sum()) for y in years}
        rows.append(LossRow(ubigeo=place.ubigeo, name=place.district or t.name,
                            department=place.department or o.department.title(),
                            official_ha={y: float(o.loss_ha.get(y, 0.0)) for y in years},
                            detected_ha=detected))
    rows.sort(key=lambda r: (-sum(r.official_ha.values()), r.ubigeo))
    return rows, years


def department_key(name: str | None) -> str:
    """A department's name as both DEVIDA and INEI files can be matched on."""
    return normalise_name(str(name or "")).replace(" ", "")
