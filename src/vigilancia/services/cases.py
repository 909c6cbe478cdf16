"""Cases: open them from clearings, assign them, move them through their statuses.

- :func:`open_cases` groups the clearings in or near each community territory
  (or reserve) that are not yet in a case into cases: clearings within
  ``case_group_m`` metres of each other form one case, and a new clearing that
  close to an open case of the same territory joins it. A group smaller than
  ``case_min_area_ha`` opens no case yet (a tile of low-confidence alerts holds
  hundreds of thousands of single pixels) and is looked at again on the next
  run, when it may have grown. Each case gets a
  priority from its clearings' recency, size and likely driver and the
  community's latest risk score (see :func:`vigilancia.domain.cases.case_priority`).
  Re-running adds only what is new.
- :func:`update_case` assigns, changes status, records a verdict or a note, and
  writes the change to the case's history. A verdict turns the case's clearings
  into training labels of the driver classifier (source ``case:C-0042@<time>``).
  :func:`assign_cases` assigns several cases at once.
- :func:`list_cases` lists cases with their territory's name, highest priority
  first; :func:`show_case` gives one case with its clearings, history, field
  observations and evidence files (:class:`CaseDetail`).

Every change is one transaction: a refused transition changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from sqlalchemy.engine import Connection

from vigilancia.config import Settings
from vigilancia.domain.access import FULL, Disclosure
from vigilancia.domain.cases import (
    DRIVER_URGENCY,
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseOrigin,
    CaseStatus,
    TransitionError,
    case_priority,
    check_transition,
    group_points,
    shared_position,
    status_after_verdict,
    verdict_driver,
)
from vigilancia.domain.codes import code_in, codes_text, parse_code
from vigilancia.domain.driver_training import LabelRow
from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict
from vigilancia.domain.territories import (
    StoredTerritory,
    TerritoryKind,
    normalise_name,
    unit_order,
    units,
)
from vigilancia.errors import ConflictError, InputError, NotFoundError, action
from vigilancia.i18n import _, get_language
from vigilancia.io.crs import WGS84, centre_of, local_equal_area, transform_geometries, transformer
from vigilancia.io.store import ClearingColumns, WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.observations import (
    EvidenceFile,
    StoredObservation,
    evidence_files,
    stored_observations,
)
from vigilancia.services.texts.territories import kind_name

__all__ = [
    "CASE_TERRITORY_KINDS",
    "CaseClearing",
    "CaseMover",
    "CasesMoved",
    "ClearingOwners",
    "CaseDetail",
    "CaseSummary",
    "OpenCasesResult",
    "assign_cases",
    "find_territory",
    "list_cases",
    "open_cases",
    "parse_case_id",
    "parse_status",
    "parse_verdict",
    "refresh_cases",
    "show_case",
    "territory_risk_scores",
    "update_case",
]

#: Kinds of territory whose clearings become cases (patrolled by their communities).
CASE_TERRITORY_KINDS = (TerritoryKind.COMMUNITY, TerritoryKind.RESERVE)
#: Clearings read with their polygons at once when opening cases (bounded memory).
READ_CLEARINGS = 20_000


@dataclass(frozen=True)
class OpenCasesResult:
    """What :func:`open_cases` did: new case ids, cases that took new clearings, how many
    clearings went into cases (``per_territory``: new cases by territory name) and how
    many wait in groups smaller than ``case_min_area_ha``."""

    opened: tuple[int, ...]
    grown: tuple[int, ...]
    clearings: int
    per_territory: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    outside: int = 0  # new clearings that no unit takes (outside them and their buffer)
    units: int = 0  # community territories, reserves and districts without communities
    uncased: int = 0  # new clearings looked at (in no case yet, recent enough)
    communities: int = 0  # of the units, community territories and reserves

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the codes of the cases opened and grown, the clearings put
        into cases, new cases per territory, the clearings that wait, those outside every
        unit, the units (and how many are communities or reserves) and the new clearings
        looked at."""
        return {
            "opened": [f"C-{c:04d}" for c in self.opened],
            "grown": [f"C-{c:04d}" for c in self.grown],
            "clearings": self.clearings,
            "per_territory": dict(self.per_territory),
            "waiting": self.waiting,
            "outside": self.outside,
            "units": self.units,
            "uncased": self.uncased,
            "communities": self.communities,
        }


@dataclass(frozen=True)
class CaseSummary:
    """A case as listed: the case and the name of its territory (None outside every
    territory). ``disclosure``: what the reader sees of the sensitive data (see
    :mod:`vigilancia.domain.access`); without ``people`` the assignee stays out and
    ``assigned`` only says whether there is one; without ``exact_points`` a case opened
    by a field report is at the centre of its grid cell."""

    case: Case
    territory: str | None
    disclosure: Disclosure = FULL

    def to_dict(self) -> dict[str, Any]:
        """The case's plain data (:meth:`Case.to_dict`) with ``territory`` (its name)
        and ``assigned`` (whether it has an assignee)."""
        out: dict[str, Any] = {}
        for key, value in self.case.to_dict().items():
            out[key] = value
            if key == "territory_id":
                out["territory"] = self.territory
        out["assigned"] = bool(self.case.assignee)
        if not self.disclosure.people:
            out["assignee"] = None
        if not self.disclosure.exact_points:  # a field report's case: where a monitor stood
            out["lon"], out["lat"] = shared_position(self.case, self.disclosure.cell_deg)
        return out


@dataclass(frozen=True)
class CaseClearing:
    """One clearing of a case: area (ha), first and last alert dates, likely driver and
    its probability, and its centroid (lon/lat)."""

    id: int
    area_ha: float
    first_alert: date | None
    last_alert: date | None
    driver: str | None
    driver_probability: float | None
    lon: float
    lat: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (area rounded to 4 decimals)."""
        return {"id": self.id, "area_ha": round(self.area_ha, 4),
                "first_alert": self.first_alert, "last_alert": self.last_alert,
                "driver": self.driver, "driver_probability": self.driver_probability,
                "lon": self.lon, "lat": self.lat}


@dataclass(frozen=True)
class CaseDetail:
    """One case with everything known about it (:func:`show_case`): its territory's name,
    its clearings, its history (oldest first), the field observations attached to it and
    the evidence files they came with."""

    case: Case
    territory: str | None
    clearings: tuple[CaseClearing, ...]
    history: tuple[CaseEvent, ...]
    observations: tuple[StoredObservation, ...]
    evidence: tuple[EvidenceFile, ...]
    disclosure: Disclosure = FULL

    def to_dict(self) -> dict[str, Any]:
        """The listed case (:meth:`CaseSummary.to_dict`, ``clearings`` as ids) with
        ``clearing_details``, ``history``, ``observations`` and ``evidence``.

        Without ``disclosure.people`` no monitor's name is in it: the history's actors
        and assignees, the observations' file names and the evidence's import paths
        stay out."""
        history: list[Any] = list(self.history)
        observations: list[Any] = list(self.observations)
        evidence: list[Any] = list(self.evidence)
        if not self.disclosure.people:
            history = [e.to_dict() | {"actor": None, "detail": {
                k: v for k, v in dict(e.detail).items() if k != "assignee"}}
                for e in self.history]
            observations = [o.to_dict() | {"source_file": None} for o in self.observations]
            evidence = [f.to_dict() | {"source": None} for f in self.evidence]
        return CaseSummary(self.case, self.territory, self.disclosure).to_dict() | {
            "clearing_details": list(self.clearings),
            "history": history,
            "observations": observations,
            "evidence": evidence,
        }


def find_territory(store: WorkspaceStore, name_or_id: str | int,
                   kinds: Iterable[TerritoryKind] | None = None) -> StoredTerritory:
    """The unit of cases named (accents and case ignored) or numbered: a community
    territory, a reserve, or a district that holds no community territory
    (:func:`~vigilancia.domain.territories.district_units`); with ``kinds``, a territory
    of those kinds instead (the export takes any).

    A name that is no unit (a protected area, a district whose communities are the
    units) is refused with what it is and what is taken instead; an ambiguous or
    unknown name raises an :class:`~vigilancia.errors.InputError` (or
    :class:`~vigilancia.errors.NotFoundError`) listing what matched or the names
    that come closest.
    """
    territories = store.territories.list()
    if kinds is None:
        allowed = {t.id for t in units(territories)}
    else:
        wanted_kinds = {TerritoryKind(k) for k in kinds}
        allowed = {t.id for t in territories if t.kind in wanted_kinds}
    text = str(name_or_id).strip()
    matches = _named(territories, text)
    found = [t for t in matches if t.id in allowed]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        listing = "; ".join(f"{t.id}: {t.name} ({kind_name(t.kind)})" for t in found[:8])
        raise InputError(
            _("Territory {name!r} matches {n} territories: {listing}",
              name=text, n=len(found), listing=listing),
            hint=_("give the number (id) of the one you mean"),
        )
    if matches:
        raise _not_a_unit(matches[0], territories)
    closest = _closest(territories, allowed, text)
    hint = _("the closest names are: {names}", names=closest) if closest else _(
        "see the list of territories")
    if kinds is not None:
        raise NotFoundError(
            _("No territory numbered or called {name!r} in this workspace", name=text),
            hint=hint, actions=action("territories.list"))
    raise NotFoundError(
        _("No community territory, reserve or district called {name!r} in this workspace; "
          "cases, patrols and packages are made for one of those", name=text),
        hint=hint,
        actions=action("territories.list"),
    )


def _named(territories: Sequence[StoredTerritory], text: str) -> list[StoredTerritory]:
    """The territories numbered ``text``, else named it exactly, else holding it in their
    name (accents and case ignored)."""
    if text.isdigit():
        by_id = [t for t in territories if t.id == int(text)]
        if by_id:
            return by_id
    wanted = normalise_name(text)
    exact = [t for t in territories if normalise_name(t.name) == wanted]
    return exact or [t for t in territories if wanted and wanted in normalise_name(t.name)]


def _not_a_unit(found: StoredTerritory, territories: Sequence[StoredTerritory]) -> InputError:
    """Why ``found`` takes no cases, patrols or packages, and what does instead."""
    if found.kind is TerritoryKind.DISTRICT:
        inside = [t.name for t in territories if t.kind is TerritoryKind.COMMUNITY
                  and t.geometry.intersects(found.geometry)]
        return InputError(
            _("{name!r} is a district that holds community territories ({names}): there, "
              "cases, patrols and packages are made per community territory",
              name=found.name, names=_some(inside)),
            hint=_("name one of its community territories"),
            actions=action("territories.list", kind=TerritoryKind.COMMUNITY.value),
        )
    # (communities and reserves are always units: what is left is a protected area)
    return InputError(
        _("{name!r} is a protected area: cases, patrols and packages are made per community "
          "territory, reserve, or district without community territories", name=found.name),
        hint=_("name the community territory, reserve or district it lies in"),
        actions=action("territories.list"),
    )


def _some(names: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (" …" if len(names) > most else "")


def _closest(territories: Sequence[StoredTerritory], unit_ids: set[int], text: str) -> str:
    """The names of units that come closest to ``text`` (at most five), joined."""
    from difflib import get_close_matches

    names = {normalise_name(t.name): t.name for t in territories if t.id in unit_ids}
    close = get_close_matches(normalise_name(text), list(names), n=5, cutoff=0.6)
    return ", ".join(names[c] for c in close)


def territory_risk_scores(store: WorkspaceStore, *, conn: Connection | None = None
                          ) -> dict[int, float]:
    """The latest stored risk score (0-100) of each territory, by territory id."""
    for a in store.risk.assessments(conn=conn):
        if a.unit == "territory":
            return {r.territory_id: r.score for r in store.risk.scores(a.id, conn=conn)
                    if r.territory_id is not None}
    return {}


def open_cases(
    store: WorkspaceStore,
    settings: Settings,
    *,
    territory: str | int | None = None,
    since: date | None = None,
    as_of: date | None = None,
    actor: str = "vigilancia",
    progress: Progress | None = None,
) -> OpenCasesResult:
    """Group the clearings in or near communities and reserves that are in no case yet into cases.

    ``territory``: only that one; ``since``: only clearings whose last alert is
    on or after that date; ``as_of``: the date recency is counted from (default:
    today). Clearings outside every community and reserve and farther than
    ``buffer_km`` from them are left alone.
    """
    tick = progress or no_progress
    only = None if territory is None else find_territory(store, territory)
    territories = {t.id: t for t in units(store.territories.list())}
    # which clearings go into cases is decided first, without reading their polygons
    uncased = store.clearings.uncased()
    ids, last = uncased.id, uncased.last_date
    latest = store.clearings.latest_alert_date()
    when = as_of or latest or datetime.now(UTC).date()
    tick("Reading clearings", 1, 3)
    owners = ClearingOwners(store, territories)
    recent = (last >= np.datetime64(since, "D") if since is not None
              else np.ones(len(ids), bool)).tolist()  # an unknown last date is not recent
    by_territory: dict[int, list[int]] = {}
    outside = 0
    for cid, near, inside_buffer, is_recent in zip(
            ids.tolist(), uncased.nearest_territory_id.tolist(), uncased.within_buffer.tolist(),
            recent, strict=True):
        if not is_recent:
            continue
        tid = owners.owner(cid, near, inside_buffer)
        if tid is None:
            outside += 1
            continue
        if only is not None and tid != only.id:
            continue
        by_territory.setdefault(tid, []).append(cid)
    risk = territory_risk_scores(store)
    grown: list[int] = []
    opened: list[int] = []
    per_territory: dict[str, int] = {}
    waiting = 0
    now = datetime.now(UTC)
    with store.transaction() as conn:
        open_cases_of: dict[int, list[Case]] = {}
        for c in store.cases.list(statuses=OPEN_STATUSES, conn=conn):
            if c.origin is CaseOrigin.ALERTS and c.territory_id is not None:
                open_cases_of.setdefault(c.territory_id, []).append(c)
        total = len(by_territory)
        done = 0
        for group in _runs(sorted(by_territory.items()), READ_CLEARINGS):
            # the clearings of a few territories at a time, with their polygons
            wanted = np.concatenate([np.asarray(v, np.int64) for _tid, v in group])
            cols = store.clearings.columns(clearing_ids=wanted, conn=conn)
            new_cases: list[Case] = []
            for tid, clearing_ids in group:
                # (a clearing deleted since it was chosen is left out)
                pos = np.minimum(np.searchsorted(cols.id, clearing_ids), max(len(cols) - 1, 0))
                found = pos[cols.id[pos] == clearing_ids] if len(cols) else pos[:0]
                done += 1
                tick("Opening cases", done, total)
                if not len(found):
                    continue
                sub = cols.take(found)
                open_here = open_cases_of.get(tid, [])
                made, grow, small = _cases_for_territory(
                    sub, open_here, tid, settings, when, risk.get(tid), now
                )
                waiting += small
                by_id = {c.id: c for c in open_here}  # (read in this transaction, unchanged)
                for case_id, joining in grow.items():
                    _grow_case(store, conn, by_id[case_id], joining, when, risk.get(tid), now,
                               actor)
                    grown.append(case_id)
                new_cases.extend(made)
                if made:
                    per_territory[territories[tid].name] = len(made)
            new_ids = store.cases.add(conn, new_cases)
            store.cases.add_events(conn, [
                CaseEvent(case_id=cid, at=now, actor=actor, action="opened",
                          to_status=CaseStatus.NEW, detail={"clearings": len(case.clearing_ids)})
                for cid, case in zip(new_ids, new_cases, strict=True)
            ])
            opened.extend(new_ids)
    n_clearings = sum(len(v) for v in by_territory.values()) - waiting
    return OpenCasesResult(tuple(opened), tuple(sorted(set(grown))), n_clearings, per_territory,
                           waiting, outside=outside, units=len(territories),
                           uncased=int(np.count_nonzero(recent)),
                           communities=sum(1 for t in territories.values()
                                           if t.kind in CASE_TERRITORY_KINDS))


class ClearingOwners:
    """The unit each clearing's case belongs to, from the stored placement.

    In order: the community territory or reserve it overlaps most; else the
    community or reserve whose boundary is nearest, when within the buffer; else
    the district without community territories it overlaps most
    (:func:`~vigilancia.domain.territories.district_units`). A clearing none of
    them takes belongs to no unit.
    """

    def __init__(self, store: WorkspaceStore, unit_by_id: dict[int, StoredTerritory], *,
                 clearing_ids: Sequence[int] | None = None,
                 conn: Connection | None = None) -> None:
        self.units = unit_by_id
        self.community: dict[int, int] = {}
        self.district: dict[int, int] = {}
        overlaps = store.clearings.overlaps(
            (*CASE_TERRITORY_KINDS, TerritoryKind.DISTRICT), clearing_ids=clearing_ids,
            conn=conn)
        for cid, tid in zip(overlaps.clearing_id.tolist(), overlaps.territory_id.tolist(),
                            strict=True):
            unit = unit_by_id.get(tid)
            if unit is None:
                continue
            # (largest share first)
            target = self.district if unit.kind is TerritoryKind.DISTRICT else self.community
            target.setdefault(cid, tid)

    def owner(self, clearing_id: int, nearest: int, within_buffer: bool) -> int | None:
        """The unit of one clearing (its nearest territory and buffer flag as stored)."""
        tid = self.community.get(clearing_id)
        if tid is None and within_buffer and nearest in self.units \
                and self.units[nearest].kind is not TerritoryKind.DISTRICT:
            tid = nearest
        return tid if tid is not None else self.district.get(clearing_id)


def _runs(items: list[tuple[int, list[int]]], size: int) -> Iterable[list[tuple[int, list[int]]]]:
    """Consecutive territories holding about ``size`` clearings together (one at least)."""
    run: list[tuple[int, list[int]]] = []
    n = 0
    for item in items:
        run.append(item)
        n += len(item[1])
        if n >= size:
            yield run
            run, n = [], 0
    if run:
        yield run


def _case_numbers(sub: ClearingColumns, rows: Any = slice(None)) -> dict[str, Any]:
    """Totals of a group of clearings (``rows`` of ``sub``; all by default)."""
    areas = sub.area_ha[rows]
    big = int(np.argmax(areas)) if len(areas) else 0
    best_driver, best_p, best_u = None, None, -1.0
    for d, p in zip(sub.driver[rows].tolist(), sub.driver_probability[rows].tolist(),
                    strict=True):
        if d is None or not math.isfinite(p):
            continue
        urgency = DRIVER_URGENCY[Driver(d)] * p
        if urgency > best_u:
            best_driver, best_p, best_u = Driver(d), float(p), urgency
    firsts = sub.first_date[rows]
    lasts = sub.last_date[rows]
    firsts, lasts = firsts[~np.isnat(firsts)], lasts[~np.isnat(lasts)]
    geoms = sub.geometry[rows]
    return {
        "lon": float(sub.centroid_lon[rows][big]),
        "lat": float(sub.centroid_lat[rows][big]),
        "area_ha": float(areas.sum()),
        "first_alert": firsts.min().item() if len(firsts) else None,
        "last_alert": lasts.max().item() if len(lasts) else None,
        "driver": best_driver,
        "driver_probability": best_p,
        "geometry": geoms[0] if len(geoms) == 1 else shapely.union_all(geoms),
    }


def _frame_near(lon: np.ndarray, lat: np.ndarray) -> Any:
    """A local equal-area frame for points a few km apart: centred on the nearest
    2-degree node, so that territories of a region share one (and its transformer)."""
    cx, cy = centre_of((float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())))
    return local_equal_area(2.0 * round(cx / 2.0), 2.0 * round(cy / 2.0))


def _cases_for_territory(
    sub: ClearingColumns,
    open_here: list[Case],
    tid: int,
    settings: Settings,
    when: date,
    risk_score: float | None,
    now: datetime,
) -> tuple[list[Case], dict[int, list[int]], int]:
    """New cases for one territory's uncased clearings, clearings that join open cases, and
    how many clearings wait in groups too small for a case."""
    gap = settings.case_group_m
    frame = _frame_near(sub.centroid_lon, sub.centroid_lat)
    x, y = (np.asarray(v) for v in transformer(WGS84, frame).transform(sub.centroid_lon,
                                                                         sub.centroid_lat))
    labels = group_points(x, y, gap)
    open_shapes = transform_geometries(
        [Point(c.lon, c.lat) if c.geometry is None else c.geometry for c in open_here],
        WGS84, frame)
    grow: dict[int, list[int]] = {}
    new_cases: list[Case] = []
    waiting = 0
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(int(labels.max()) + 2 if len(labels) else 0))
    for g in range(len(bounds) - 1):
        members = order[bounds[g] : bounds[g + 1]]
        if open_here:
            target = _nearby_case(open_here, open_shapes,
                                  shapely.points(x[members], y[members]), gap)
            if target is not None:
                grow.setdefault(target, []).extend(int(v) for v in sub.id[members])
                continue
        if float(np.nansum(sub.area_ha[members])) < settings.case_min_area_ha:
            waiting += len(members)
            continue
        nums = _case_numbers(sub, members)
        priority, terms = case_priority(
            area_ha=nums["area_ha"], last_alert=nums["last_alert"], as_of=when,
            driver=nums["driver"], driver_probability=nums["driver_probability"],
            risk_score=risk_score,
        )
        new_cases.append(Case(
            id=0, status=CaseStatus.NEW, origin=CaseOrigin.ALERTS, territory_id=tid,
            priority=priority, priority_terms=terms, created_at=now, updated_at=now,
            clearing_ids=tuple(int(v) for v in sub.id[members]), **nums,
        ))
    return new_cases, grow, waiting


def _nearby_case(cases: Sequence[Case], shapes: np.ndarray, points: np.ndarray,
                 gap: float) -> int | None:
    """The case whose ``shapes`` (its clearings or position, metres) lie within ``gap`` m
    of any of the ``points`` (same frame), the nearest if several."""
    best, best_d = None, math.inf
    for case, shape in zip(cases, shapes, strict=True):
        d = float(np.min(shapely.distance(shape, points)))
        if d <= gap and d < best_d:
            best, best_d = case.id, d
    return best


def _grow_case(store: WorkspaceStore, conn: Connection, case: Case, clearing_ids: list[int],
               when: date, risk_score: float | None, now: datetime, actor: str) -> None:
    """Add clearings to an open case and recompute its totals and priority."""
    store.cases.add_clearings(conn, case.id, clearing_ids)
    rows = store.clearings.columns(clearing_ids=[*case.clearing_ids, *clearing_ids], conn=conn)
    nums = _case_numbers(rows)
    priority, terms = case_priority(
        area_ha=nums["area_ha"], last_alert=nums["last_alert"], as_of=when,
        driver=nums["driver"], driver_probability=nums["driver_probability"],
        risk_score=risk_score,
    )
    store.cases.update(conn, replace(case, priority=priority, priority_terms=terms,
                                    updated_at=now, **nums))
    store.cases.add_events(conn, [CaseEvent(
        case_id=case.id, at=now, actor=actor, action="clearings_added",
        from_status=case.status, to_status=case.status,
        detail={"clearings": sorted(clearing_ids)},
    )])


def refresh_cases(store: WorkspaceStore, conn: Connection, case_ids: Iterable[int], *,
                  actor: str = "vigilancia") -> list[int]:
    """Recompute the cases whose clearings changed (a later download grew, upgraded or
    merged them): area, alert dates, position, outline, likely driver and priority, from
    their clearings as they are now. A change of area or dates is written to the case's
    history. Returns the cases that changed."""
    wanted = sorted({int(v) for v in case_ids})
    if not wanted:
        return []
    now = datetime.now(UTC)
    when = store.clearings.latest_alert_date(conn=conn) or now.date()
    risk = territory_risk_scores(store, conn=conn)
    changed: list[int] = []
    for case in store.cases.list(ids=wanted, conn=conn):
        if not case.clearing_ids:
            continue
        rows = store.clearings.columns(clearing_ids=list(case.clearing_ids), conn=conn)
        if not len(rows):
            continue
        nums = _case_numbers(rows)
        priority, terms = case_priority(
            area_ha=nums["area_ha"], last_alert=nums["last_alert"], as_of=when,
            driver=nums["driver"], driver_probability=nums["driver_probability"],
            risk_score=risk.get(case.territory_id or -1),
        )
        after = replace(case, priority=priority, priority_terms=terms, **nums)
        if after == case:
            continue
        store.cases.update(conn, replace(after, updated_at=now))
        changed.append(case.id)
        if (case.area_ha, case.first_alert, case.last_alert) != (
                after.area_ha, after.first_alert, after.last_alert):
            store.cases.add_events(conn, [CaseEvent(
                case_id=case.id, at=now, actor=actor, action="clearings_changed",
                from_status=case.status, to_status=case.status,
                detail={"area_ha": [round(case.area_ha, 4), round(after.area_ha, 4)],
                        "first_alert": [_iso(case.first_alert), _iso(after.first_alert)],
                        "last_alert": [_iso(case.last_alert), _iso(after.last_alert)]},
            )])
    return changed


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_status(value: str) -> CaseStatus:
    """A status from its English or Spanish code or name ("en_campo", "en campo", "in field"...)."""
    from vigilancia.services.texts.cases import STATUS_ALIASES

    found = parse_code(CaseStatus, value, STATUS_ALIASES)
    if found is not None:
        return found
    raise InputError(
        _("Unknown case status {value!r}", value=value),
        hint=_("use one of: {names}", names=codes_text(CaseStatus, get_language())),
    )


def parse_verdict(value: str) -> Verdict:
    """A verdict from its code or the Spanish/English label of the verification form."""
    from vigilancia.io.field import verdict_from_answer

    try:
        found = verdict_from_answer(value)
    except ValueError:
        found = None
    if found is None:
        raise InputError(
            _("Unknown verdict {value!r}", value=value),
            hint=_("use one of: {names}", names=codes_text(Verdict, get_language())),
        )
    return found


def parse_case_id(value: str | int) -> int:
    """A case number from ``42``, ``C-0042`` or ``c42``."""
    text = str(value).strip().upper().removeprefix("C").lstrip("-").strip()
    if not text.isdigit():
        raise InputError(_("{value!r} is not a case number (e.g. C-0042 or 42)", value=value))
    return int(text)


def update_case(
    store: WorkspaceStore,
    case_id: int,
    *,
    actor: str,
    status: CaseStatus | None = None,
    assignee: str | None = None,
    verdict: Verdict | None = None,
    note: str | None = None,
    observed_at: date | None = None,
    detail: dict[str, Any] | None = None,
    conn: Connection | None = None,
) -> Case:
    """Change one case and record who changed what, in one transaction (or in ``conn``).

    - ``assignee``: hands the case to a monitor or team; a new case becomes assigned;
    - ``verdict``: what the visit found; verifies the case (or, for "not
      reached", hands it back) and stores its clearings' driver label;
    - ``status``: any move :data:`~vigilancia.domain.cases.TRANSITIONS` allows
      (verifying needs a verdict);
    - ``note``: free text added to the history.

    A move the status machine does not allow raises a
    :class:`~vigilancia.errors.ConflictError` and nothing changes.
    """
    if conn is None:
        with store.transaction() as tx:
            return update_case(store, case_id, actor=actor, status=status, assignee=assignee,
                               verdict=verdict, note=note, observed_at=observed_at,
                               detail=detail, conn=tx)
    case = store.cases.get(case_id, conn=conn)
    now = datetime.now(UTC)
    current = case.status
    events: list[CaseEvent] = []
    values: dict[str, Any] = {}
    extra = dict(detail or {})

    def move(to: CaseStatus, what: str, info: dict[str, Any]) -> None:
        nonlocal current
        try:
            check_transition(current, to)
        except TransitionError:
            raise ConflictError(
                _("Case {case} is {status} and cannot become {new}",
                  case=case.code, status=code_in(current, get_language()),
                  new=code_in(to, get_language())),
                hint=_("see its history"),
                actions=action("cases.show", case=case.code),
            ) from None
        events.append(CaseEvent(case_id=case.id, at=now, actor=actor, action=what,
                                from_status=current, to_status=to, detail=info | extra))
        current = to
        values["status"] = to

    if assignee is not None:
        target = CaseStatus.ASSIGNED if current is CaseStatus.NEW else current
        if target is not current or current is CaseStatus.ASSIGNED:
            move(target, "assigned", {"assignee": assignee})
        else:
            events.append(CaseEvent(case_id=case.id, at=now, actor=actor, action="assigned",
                                    from_status=current, to_status=current,
                                    detail={"assignee": assignee} | extra))
        values["assignee"] = assignee
    if status is not None and verdict is None:
        if status is CaseStatus.VERIFIED:
            raise InputError(_("A case is verified with a verdict"),
                             hint=_("give the verdict, e.g. coca_confirmed"), inputs="verdict")
        move(CaseStatus(status), "status", {})
    if verdict is not None:
        verdict = Verdict(verdict)
        has_assignee = bool(values.get("assignee", case.assignee))
        to = status_after_verdict(verdict, assigned=has_assignee)
        if to is current and current in OPEN_STATUSES:  # not reached, still waiting: a visit
            events.append(CaseEvent(case_id=case.id, at=now, actor=actor, action="verdict",
                                    from_status=current, to_status=current,
                                    detail={"verdict": verdict.value} | extra))
        else:
            move(to, "verdict", {"verdict": verdict.value})
        if to is CaseStatus.VERIFIED:
            values["verdict"] = verdict
            _label_clearings(store, conn, case, verdict, observed_at or now.date(), now)
    if note:
        values["note"] = note
        events.append(CaseEvent(case_id=case.id, at=now, actor=actor, action="note",
                                from_status=current, to_status=current,
                                detail={"note": note} | extra))
    if not events:
        return case
    values["updated_at"] = now
    store.cases.update(conn, replace(case, **values))
    store.cases.add_events(conn, events)
    return store.cases.get(case.id, conn=conn)


def _label_clearings(store: WorkspaceStore, conn: Connection, case: Case, verdict: Verdict,
                     observed: date, now: datetime) -> None:
    driver = verdict_driver(verdict)
    if driver is None or not case.clearing_ids:
        return
    source = f"case:{case.code}@{now.strftime('%Y%m%dT%H%M%S%f')}"
    store.labels.add(conn, [
        LabelRow(clearing_id=cid, driver=driver, source=source, observed_at=observed,
                 note=verdict.value)
        for cid in case.clearing_ids
    ])


def cases_of(store: WorkspaceStore, *, territory: str | int | None = None,
             statuses: Iterable[CaseStatus] | None = None) -> list[Case]:
    """Cases of one territory (or all), highest priority first, then by id."""
    tid = None if territory is None else find_territory(store, territory).id
    found = store.cases.list(territory_id=tid, statuses=statuses)
    return sorted(found, key=lambda c: (-c.priority, c.id))


def list_cases(store: WorkspaceStore, *, territory: str | int | None = None,
               statuses: Iterable[CaseStatus] | None = None,
               open_only: bool = False, disclosure: Disclosure = FULL) -> list[CaseSummary]:
    """Cases of one territory (or all) with their territory's name, highest priority first.

    ``statuses``: only those; ``open_only``: only cases still to verify (of ``statuses``
    when both are given); ``disclosure``: what the reader sees of the sensitive data.
    """
    wanted = None if statuses is None else list(statuses)
    if open_only:
        wanted = sorted(OPEN_STATUSES) if wanted is None else [
            s for s in wanted if s in OPEN_STATUSES]
    found = cases_of(store, territory=territory, statuses=wanted)
    names = _territory_names(store)
    return [CaseSummary(c, names.get(c.territory_id or -1), disclosure) for c in found]


def show_case(store: WorkspaceStore, case: str | int, *,
              disclosure: Disclosure = FULL) -> CaseDetail:
    """One case (``C-0042``, ``42``...) with its clearings, history, observations and
    evidence files; :class:`~vigilancia.errors.NotFoundError` when there is none.

    Observations carry no position (see :mod:`vigilancia.services.observations`);
    ``disclosure``: what the reader sees of the sensitive data.
    """
    found = store.cases.get(parse_case_id(case))
    cols = store.clearings.columns(clearing_ids=list(found.clearing_ids))
    clearings = tuple(
        CaseClearing(
            id=int(i), area_ha=float(a), first_alert=_day(f), last_alert=_day(la),
            driver=d, driver_probability=None if not math.isfinite(p) else float(p),
            lon=float(x), lat=float(y),
        )
        for i, a, f, la, d, p, x, y in zip(
            cols.id.tolist(), cols.area_ha.tolist(), cols.first_date, cols.last_date,
            cols.driver.tolist(), cols.driver_probability.tolist(), cols.centroid_lon.tolist(),
            cols.centroid_lat.tolist(), strict=True)
    )
    rows = store.observations.list(found.id)
    return CaseDetail(
        case=found,
        territory=_territory_names(store).get(found.territory_id or -1),
        clearings=clearings,
        history=tuple(store.cases.events(found.id)),
        observations=tuple(stored_observations(rows)),
        evidence=tuple(evidence_files(store, rows)),
        disclosure=disclosure,
    )


def assign_cases(store: WorkspaceStore, cases: Iterable[str | int], *, assignee: str,
                 actor: str) -> list[Case]:
    """Assign every case of ``cases`` (codes or numbers) to ``assignee``, in one transaction:
    a case that cannot be assigned leaves every case as it was."""
    ids = [parse_case_id(c) for c in cases]
    with store.transaction() as conn:
        return [update_case(store, i, actor=actor, assignee=assignee, conn=conn) for i in ids]


def _territory_names(store: WorkspaceStore) -> dict[int, str]:
    return {t.id: t.name for t in store.territories.list()}


def _day(value: np.datetime64) -> date | None:
    return None if np.isnat(value) else value.astype("datetime64[D]").item()


# ------------------------------------------------------- territories that go away


@dataclass(frozen=True)
class CasesMoved:
    """Cases whose territory was removed: ``moved`` maps each case id to the unit it now
    belongs to (None: it lies in no unit any more)."""

    moved: dict[int, int | None] = field(default_factory=dict)

    @property
    def rehomed(self) -> int:
        """Cases that moved to another unit."""
        return sum(1 for v in self.moved.values() if v is not None)

    @property
    def orphaned(self) -> int:
        """Cases left without a territory."""
        return sum(1 for v in self.moved.values() if v is None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: each case's code and its new territory id (null for none)."""
        return {"moved": [{"case": f"C-{cid:04d}", "territory_id": tid}
                          for cid, tid in sorted(self.moved.items())]}


class CaseMover:
    """Moves the cases of territories that are removed, inside the removing transaction.

    Made before the territories go (it reads their cases); :meth:`move`, after the
    clearings are placed again, gives each case the unit that holds most of its
    clearings' area (:class:`ClearingOwners`), or for a case without clearings (a field
    report) the unit its position lies in, and records the move in its history.
    """

    def __init__(self, store: WorkspaceStore, conn: Connection,
                 going: Sequence[StoredTerritory]) -> None:
        self.store, self.conn = store, conn
        self.names = {t.id: t.name for t in going}
        self.cases = [c for tid in self.names
                      for c in store.cases.list(territory_id=tid, conn=conn)]

    def move(self, actor: str) -> CasesMoved:
        """Give every case of the removed territories its new unit (None when none)."""
        if not self.cases:
            return CasesMoved()
        store, conn = self.store, self.conn
        by_id = {t.id: t for t in units(store.territories.list(conn=conn))}
        wanted = sorted({cid for c in self.cases for cid in c.clearing_ids})
        owners = ClearingOwners(store, by_id, clearing_ids=wanted, conn=conn)
        placed = store.clearings.placements(clearing_ids=wanted, conn=conn)
        areas = store.clearings.columns(clearing_ids=wanted, conn=conn)
        area_of = dict(zip(areas.id.tolist(), areas.area_ha.tolist(), strict=True))
        owner_of = {
            cid: owners.owner(cid, near, within) for cid, near, within in zip(
                placed.id.tolist(), placed.nearest_territory_id.tolist(),
                placed.within_buffer.tolist(), strict=True)
        }
        now = datetime.now(UTC)
        moved: dict[int, int | None] = {}
        for case in self.cases:
            new = self._unit_of(case, owner_of, area_of, by_id)
            moved[case.id] = new
            store.cases.update(conn, replace(case, territory_id=new, updated_at=now))
            store.cases.add_events(conn, [CaseEvent(
                case_id=case.id, at=now, actor=actor, action="territory_changed",
                from_status=case.status, to_status=case.status,
                detail={"removed_territory": self.names.get(case.territory_id or -1),
                        "territory_id": new,
                        "territory": None if new is None else by_id[new].name},
            )])
        return CasesMoved(moved)

    @staticmethod
    def _unit_of(case: Case, owner_of: dict[int, int | None], area_of: dict[int, float],
                 by_id: dict[int, StoredTerritory]) -> int | None:
        if case.clearing_ids:
            area: dict[int, float] = {}
            for cid in case.clearing_ids:
                unit = owner_of.get(cid)
                if unit is not None:
                    a = area_of.get(cid, 0.0)
                    area[unit] = area.get(unit, 0.0) + (a if math.isfinite(a) else 0.0)
            return max(area, key=lambda u: (area[u], -u)) if area else None
        spot = Point(case.lon, case.lat)
        order = sorted(by_id.values(), key=unit_order)
        return next((t.id for t in order if t.geometry.covers(spot)), None)
