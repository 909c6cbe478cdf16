"""Cases: what a programme verifies and acts on, their status machine and priority.

PURE: stdlib, numpy and shapely. A case groups one or more clearings (or a
field report with no alert) that a patrol should verify. It moves through

    new -> assigned -> in_field -> verified -> reported -> closed

and can be dismissed from any open status. Every change is a
:class:`CaseEvent` (who, when, what), so a case's history can be replayed.

Skipping ahead is allowed where the field works that way: a monitor who
passes by a case that was never assigned can still verify it, so ``new``
may go straight to ``in_field`` or ``verified``. Going back is allowed only
to reopen (``closed``/``dismissed`` -> ``new``) or to hand a case back
(``assigned``/``in_field`` -> ``new``/``assigned``), e.g. after a visit whose
verdict was "not reached".

>>> check_transition(CaseStatus.NEW, CaseStatus.ASSIGNED)
>>> check_transition(CaseStatus.CLOSED, CaseStatus.VERIFIED)
Traceback (most recent call last):
...
vigilancia.domain.cases.TransitionError: a case that is closed cannot become verified
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict

__all__ = [
    "CLOSED_STATUSES",
    "DRIVER_URGENCY",
    "OPEN_STATUSES",
    "PRIORITY_WEIGHTS",
    "TRANSITIONS",
    "Case",
    "CaseEvent",
    "CaseOrigin",
    "CaseStatus",
    "PriorityTerm",
    "TransitionError",
    "case_priority",
    "check_transition",
    "group_points",
    "shared_position",
    "snap_to_grid",
    "status_after_verdict",
    "verdict_driver",
]


class CaseStatus(StrEnum):
    """Where a case is in the monitoring cycle."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_FIELD = "in_field"
    VERIFIED = "verified"
    REPORTED = "reported"
    CLOSED = "closed"
    DISMISSED = "dismissed"


class CaseOrigin(StrEnum):
    """What opened a case."""

    ALERTS = "alerts"  # clearings found in satellite alerts
    FIELD = "field"  # a field report with no alert near it


#: Statuses of cases still to be verified: the ones patrols plan and field data attaches to.
OPEN_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.IN_FIELD}
)
#: Statuses after which no patrol is needed.
CLOSED_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.VERIFIED, CaseStatus.REPORTED, CaseStatus.CLOSED, CaseStatus.DISMISSED}
)

_S = CaseStatus
#: Allowed moves: status -> the statuses it may become.
TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = MappingProxyType(
    {
        _S.NEW: frozenset({_S.ASSIGNED, _S.IN_FIELD, _S.VERIFIED, _S.DISMISSED}),
        _S.ASSIGNED: frozenset({_S.NEW, _S.ASSIGNED, _S.IN_FIELD, _S.VERIFIED, _S.DISMISSED}),
        _S.IN_FIELD: frozenset({_S.NEW, _S.ASSIGNED, _S.VERIFIED, _S.DISMISSED}),
        _S.VERIFIED: frozenset({_S.VERIFIED, _S.REPORTED, _S.CLOSED, _S.DISMISSED}),
        _S.REPORTED: frozenset({_S.CLOSED}),
        _S.CLOSED: frozenset({_S.NEW}),
        _S.DISMISSED: frozenset({_S.NEW}),
    }
)


class TransitionError(ValueError):
    """A status change the machine does not allow."""


def check_transition(current: CaseStatus, new: CaseStatus) -> None:
    """Raise :class:`TransitionError` unless a case may go from ``current`` to ``new``.

    ``verified -> verified`` (a corrected verdict) and ``assigned -> assigned``
    (a new assignee) are allowed; other same-status moves are not.
    """
    if CaseStatus(new) not in TRANSITIONS[CaseStatus(current)]:
        raise TransitionError(
            f"a case that is {CaseStatus(current).value} cannot become {CaseStatus(new).value}"
        )


# --------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------

_VERDICT_DRIVER: Mapping[Verdict, Driver | None] = MappingProxyType(
    {
        Verdict.COCA_CONFIRMED: Driver.COCA,
        Verdict.AIRSTRIP_CONFIRMED: Driver.AIRSTRIP,
        Verdict.MINING: Driver.MINING,
        Verdict.LOGGING: Driver.ROAD,  # the road class covers logging tracks and skid trails
        Verdict.ROAD: Driver.ROAD,
        Verdict.AGRICULTURE: Driver.AGRICULTURE,
        Verdict.NATURAL_CAUSE: Driver.OTHER,
        Verdict.FALSE_ALARM: None,  # no clearing on the ground: nothing to learn a driver from
        Verdict.NOT_REACHED: None,
    }
)


def verdict_driver(verdict: Verdict) -> Driver | None:
    """The driver label a verdict gives the case's clearings, or None (false alarm, not reached).

    >>> verdict_driver(Verdict.LOGGING).value
    'road'
    """
    return _VERDICT_DRIVER[Verdict(verdict)]


def status_after_verdict(verdict: Verdict, *, assigned: bool) -> CaseStatus:
    """The status a verdict puts an open case in.

    "Not reached" leaves the case open for the next patrol: assigned again if
    it had an assignee, else new. Every other verdict verifies it.
    """
    if Verdict(verdict) is Verdict.NOT_REACHED:
        return CaseStatus.ASSIGNED if assigned else CaseStatus.NEW
    return CaseStatus.VERIFIED


# --------------------------------------------------------------------------------------
# Cases and their history
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One case, as stored.

    - ``territory_id``: the community territory it belongs to (its patrols and
      packages), or None for a case outside every community;
    - ``lon``/``lat``: where to go (the centroid of the largest clearing, or the
      field report's position), EPSG:4326;
    - ``geometry``: the clearings' union (or the reported geometry), lon/lat, or None;
    - ``area_ha``: the clearings' total area; ``first_alert``/``last_alert``:
      their alert dates;
    - ``driver``/``driver_probability``: the likeliest driver of its clearings;
    - ``priority`` (0-100) and ``priority_terms`` (what made it);
    - ``assignee``: who should visit it (a monitor or a patrol team; SENSITIVE:
      never printed in public outputs or logs);
    - ``verdict``: what the visit found, once verified.
    """

    id: int
    status: CaseStatus
    origin: CaseOrigin
    territory_id: int | None
    lon: float
    lat: float
    priority: float
    created_at: datetime
    updated_at: datetime
    clearing_ids: tuple[int, ...] = ()
    geometry: BaseGeometry | None = None
    area_ha: float = 0.0
    first_alert: date | None = None
    last_alert: date | None = None
    driver: Driver | None = None
    driver_probability: float | None = None
    priority_terms: tuple[PriorityTerm, ...] = ()
    assignee: str | None = None
    verdict: Verdict | None = None
    note: str | None = None

    @property
    def shape(self) -> BaseGeometry:
        """Where the case is: its clearings (or reported geometry), else its point."""
        if self.geometry is not None and not self.geometry.is_empty:
            return self.geometry
        return Point(self.lon, self.lat)

    @property
    def is_open(self) -> bool:
        """Whether the case still waits for a visit."""
        return self.status in OPEN_STATUSES

    @property
    def code(self) -> str:
        """The case's short reference, as printed for people: ``C-0042``."""
        return f"C-{self.id:04d}"

    def to_dict(self) -> dict[str, Any]:
        """The case as plain data (no geometry): code, status, priority and its terms,
        position (lon/lat), area (ha), clearing ids, alert dates, driver, assignee,
        verdict and note. Priority and area are rounded (2 and 4 decimals)."""
        return {
            "case": self.code,
            "id": self.id,
            "territory_id": self.territory_id,
            "status": self.status,
            "origin": self.origin,
            "priority": round(self.priority, 2),
            "priority_terms": [{"name": t.name, "points": round(t.points, 2), "value": t.value}
                               for t in self.priority_terms],
            "lon": self.lon,
            "lat": self.lat,
            "area_ha": round(self.area_ha, 4),
            "clearings": list(self.clearing_ids),
            "first_alert": self.first_alert,
            "last_alert": self.last_alert,
            "driver": self.driver,
            "driver_probability": self.driver_probability,
            "assignee": self.assignee,
            "verdict": self.verdict,
            "note": self.note,
        }


@dataclass(frozen=True)
class CaseEvent:
    """One change to a case: ``action`` (opened, assigned, status, verdict, observation,
    note), the status before and after, who did it (``actor``: a user name or
    ``import:<file>``) and when, and details (JSON-able)."""

    case_id: int
    at: datetime
    actor: str
    action: str
    from_status: CaseStatus | None = None
    to_status: CaseStatus | None = None
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False)
    id: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The change as plain data: ``at``, ``actor``, ``action``, ``from``, ``to``, ``detail``."""
        return {"at": self.at, "actor": self.actor, "action": self.action,
                "from": self.from_status, "to": self.to_status, "detail": dict(self.detail)}


# --------------------------------------------------------------------------------------
# Where a case may be shown
# --------------------------------------------------------------------------------------


def snap_to_grid(lon: float, lat: float, cell_deg: float) -> tuple[float, float]:
    """The centre of the cell of a fixed grid of ``cell_deg`` degrees (cells aligned on
    0°, 0°) that holds ``lon``/``lat``: the same answer every time, never a jitter.

    >>> snap_to_grid(-75.1877457, -8.8601987, 0.01)
    (-75.185, -8.865)
    """
    if not (math.isfinite(cell_deg) and cell_deg > 0):
        raise ValueError(f"the grid cell must be a positive number of degrees, not {cell_deg}")

    def centre(value: float) -> float:
        # a tiny nudge keeps a value written as a cell edge (-75.19) in the cell it names
        index = math.floor(value / cell_deg + 1e-9)
        return round((index + 0.5) * cell_deg, 9)

    return centre(lon), centre(lat)


def shared_position(case: Case, cell_deg: float) -> tuple[float, float]:
    """Where a case may be shown outside the workspace (packages, shared exports), lon/lat.

    A case opened by a field report sits where a monitor stood and reported (a camp,
    a threat): it is shown at the centre of its grid cell (:func:`snap_to_grid`).
    A case opened by alerts is shown at its own point (satellite alerts are public).
    """
    if case.origin is CaseOrigin.FIELD:
        return snap_to_grid(case.lon, case.lat, cell_deg)
    return case.lon, case.lat


# --------------------------------------------------------------------------------------
# Priority
# --------------------------------------------------------------------------------------

#: Points each term can give (they add to 100 when driver and risk are both known).
PRIORITY_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"recency": 30.0, "size": 20.0, "driver": 30.0, "risk": 20.0}
)
#: How urgent a confirmed driver would be (1 = most): coca and airstrips are why
#: programmes patrol; mining and roads open the forest to them.
DRIVER_URGENCY: Mapping[Driver, float] = MappingProxyType(
    {
        Driver.COCA: 1.0,
        Driver.AIRSTRIP: 1.0,
        Driver.MINING: 0.8,
        Driver.ROAD: 0.5,
        Driver.AGRICULTURE: 0.2,
        Driver.OTHER: 0.1,
    }
)
#: Days after which a clearing's recency counts half.
RECENCY_HALF_LIFE_DAYS = 60.0
#: Clearing area (ha) at which the size term is full.
SIZE_FULL_HA = 20.0


@dataclass(frozen=True)
class PriorityTerm:
    """One term of a case's priority: its name (recency, size, driver, risk), the points
    it gave and the value it came from (days since the last alert, ha, driver
    probability, community risk score)."""

    name: str
    points: float
    value: float


def case_priority(
    *,
    area_ha: float,
    last_alert: date | None,
    as_of: date,
    driver: Driver | None = None,
    driver_probability: float | None = None,
    risk_score: float | None = None,
) -> tuple[float, tuple[PriorityTerm, ...]]:
    """A case's priority (0-100) and the terms it is made of, largest first.

    - recency: full for an alert of ``as_of``, half after
      :data:`RECENCY_HALF_LIFE_DAYS`;
    - size: log-scaled, full at :data:`SIZE_FULL_HA`;
    - driver (when classified): probability x :data:`DRIVER_URGENCY`;
    - risk (when the community has a risk score, 0-100): score / 100.

    Terms that cannot be computed are left out and the others are rescaled to
    0-100, so a workspace without drivers or risk still ranks by recency and size.

    >>> p, terms = case_priority(area_ha=20, last_alert=date(2024, 5, 1), as_of=date(2024, 5, 1))
    >>> round(p, 1), [t.name for t in terms]
    (100.0, ['recency', 'size'])
    """
    terms: list[PriorityTerm] = []
    available = 0.0
    if last_alert is not None:
        age = max(0.0, float((as_of - last_alert).days))
        level = 0.5 ** (age / RECENCY_HALF_LIFE_DAYS)
        terms.append(PriorityTerm("recency", PRIORITY_WEIGHTS["recency"] * level, age))
        available += PRIORITY_WEIGHTS["recency"]
    area = max(0.0, float(area_ha))
    size_level = min(1.0, math.log1p(area) / math.log1p(SIZE_FULL_HA))
    terms.append(PriorityTerm("size", PRIORITY_WEIGHTS["size"] * size_level, area))
    available += PRIORITY_WEIGHTS["size"]
    if driver is not None and driver_probability is not None and math.isfinite(driver_probability):
        level = DRIVER_URGENCY[Driver(driver)] * min(1.0, max(0.0, driver_probability))
        terms.append(PriorityTerm("driver", PRIORITY_WEIGHTS["driver"] * level,
                                  float(driver_probability)))
        available += PRIORITY_WEIGHTS["driver"]
    if risk_score is not None and math.isfinite(risk_score):
        level = min(1.0, max(0.0, risk_score / 100.0))
        terms.append(PriorityTerm("risk", PRIORITY_WEIGHTS["risk"] * level, float(risk_score)))
        available += PRIORITY_WEIGHTS["risk"]
    scale = 100.0 / available
    scaled = tuple(
        sorted(
            (PriorityTerm(t.name, t.points * scale, t.value) for t in terms),
            key=lambda t: -t.points,
        )
    )
    return sum(t.points for t in scaled), scaled


# --------------------------------------------------------------------------------------
# Grouping clearings into cases
# --------------------------------------------------------------------------------------


def group_points(
    x_m: Sequence[float] | NDArray[np.float64],
    y_m: Sequence[float] | NDArray[np.float64],
    max_gap_m: float,
) -> NDArray[np.int64]:
    """Group label per point: points within ``max_gap_m`` of each other (chained) share one.

    Coordinates are metres in a local projection. Labels are 0..k-1 in order of
    each group's first point, so the result does not depend on anything but the input order.

    >>> group_points([0, 100, 1000, 1150], [0, 0, 0, 0], 200).tolist()
    [0, 0, 1, 1]
    """
    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    n = len(x)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    if n and max_gap_m > 0:
        cell = float(max_gap_m)
        keys = np.floor(x / cell).astype(np.int64), np.floor(y / cell).astype(np.int64)
        buckets: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(zip(keys[0].tolist(), keys[1].tolist(), strict=True)):
            buckets.setdefault(key, []).append(i)
        gap2 = cell * cell
        for (cx, cy), members in buckets.items():
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    others = buckets.get((cx + dx, cy + dy))
                    if not others:
                        continue
                    for i in members:
                        for j in others:
                            if j <= i:
                                continue
                            if (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 <= gap2:
                                ri, rj = find(i), find(j)
                                if ri != rj:
                                    parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    # renumber by first appearance
    order: dict[int, int] = {}
    out = np.empty(n, dtype=np.int64)
    for i, lab in enumerate(labels.tolist()):
        out[i] = order.setdefault(lab, len(order))
    return out
