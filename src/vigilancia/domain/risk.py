"""Risk: factors, scores that explain themselves, classes, and back-test metrics.

PURE: numpy and scipy. A risk score is the sum of factor contributions, each
``points = weight x level`` with ``level`` in [0, 1] computed from one measured
value by a documented curve. Weights are points (the defaults add up to 100)
and live in the settings (``VIGILANCIA_RISK_WEIGHTS``). A factor whose data is
missing is *unavailable*: it adds no points, lowers the coverage and is
reported as missing, never as zero risk; the class thresholds scale with the
coverage so a missing layer does not make a territory look safe.

Two classes are given. The *absolute* class (``risk_class``) compares the score with
fixed thresholds (:data:`CLASS_THRESHOLDS`), so it means the same in every region and
every week. The *regional* class (``regional_class``) ranks the units scored together:
it is the quarter of the ranking a unit falls in (:func:`regional_class`): the first
quarter of the ranks is "critical", the second "high", the third "medium" and the last
"low", ties sharing the better class. Where every unit passes the "critical" threshold
(the five districts of Puerto Inca do, on the MapBiomas alerts of 2021-2024) the
absolute class tells them nothing apart; the regional class says which to look at first.

Factors (and the data they come from):

- ``pressure_local``: recency-weighted clearing area (ha) around the unit,
  a Gaussian kernel of sigma 1 km over clearing centroids weighted by
  ``area_ha x exp(-age / 365 d)``; the unit's hottest 2 km cell (alerts);
- ``pressure_regional``: the same with sigma 6 km: how active the frontier
  around the unit is (alerts);
- ``recent_clearings``: clearings first seen in the last 3 months in or within
  the buffer of the territory (alerts);
- ``trend``: those recent clearings against the 3 months before (alerts);
- ``coca``: expected number of coca clearings in the last 12 months in or near
  the territory, the sum of their coca probabilities (driver classifier);
- ``airstrips``: known runways and runway-like clearings within 5 km, else the
  distance to the nearest (airstrip layer, driver classifier);
- ``corridors``: distance to the nearest trafficking corridor, 0 when one
  crosses the territory (``vigilancia routes``);
- ``tenure``: titling status (untitled, in process, claimed) and overlaps with
  other territories (territory layer);
- ``violence``: incidents against defenders in the territory's region in the
  last 5 years, aggregated counts only, never names (incident file);
- ``isolation``: adjacency to reserves for peoples in isolation (reserve layer).

>>> s = score_unit("t1", "Comunidad X", [
...     FactorValue(Factor.RECENT_CLEARINGS, 14.0, "alertas"),
...     FactorValue(Factor.TENURE, None, "territorios"),
... ], {Factor.RECENT_CLEARINGS: 10.0, Factor.TENURE: 10.0})
>>> round(s.score, 2), s.coverage, [c.factor.value for c in s.missing]
(7.53, 0.5, ['tenure'])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = [
    "CLASS_THRESHOLDS",
    "DEFAULT_WEIGHTS",
    "Contribution",
    "Factor",
    "FactorValue",
    "Grid",
    "RiskClass",
    "RiskScore",
    "capture_metrics",
    "factor_level",
    "factor_levels",
    "merge_weights",
    "pressure_surface",
    "rank_scores",
    "regional_class",
    "risk_class",
    "score_unit",
]


class Factor(StrEnum):
    """One readable part of a risk score."""

    PRESSURE_LOCAL = "pressure_local"
    PRESSURE_REGIONAL = "pressure_regional"
    RECENT_CLEARINGS = "recent_clearings"
    TREND = "trend"
    COCA = "coca"
    AIRSTRIPS = "airstrips"
    CORRIDORS = "corridors"
    TENURE = "tenure"
    VIOLENCE = "violence"
    ISOLATION = "isolation"


class RiskClass(StrEnum):
    """Risk classes, from the highest."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


#: Default weights (points; they add up to 100). Pressure dominates because it is
#: what the back-test shows predicts next year's clearings; the trafficking and
#: vulnerability factors add what alerts alone cannot see.
DEFAULT_WEIGHTS: dict[Factor, float] = {
    Factor.PRESSURE_LOCAL: 25.0,
    Factor.PRESSURE_REGIONAL: 10.0,
    Factor.RECENT_CLEARINGS: 10.0,
    Factor.TREND: 5.0,
    Factor.COCA: 10.0,
    Factor.AIRSTRIPS: 5.0,
    Factor.CORRIDORS: 10.0,
    Factor.TENURE: 10.0,
    Factor.VIOLENCE: 10.0,
    Factor.ISOLATION: 5.0,
}

#: Lowest score (at full coverage) of each class; scaled by the coverage.
CLASS_THRESHOLDS: dict[RiskClass, float] = {
    RiskClass.CRITICAL: 45.0,
    RiskClass.HIGH: 30.0,
    RiskClass.MEDIUM: 15.0,
}

#: Level of each titling status (``Tenure`` values); unknown is unavailable.
TENURE_LEVELS: dict[str, float] = {
    "titled": 0.0,
    "recognised": 0.5,
    "in_process": 0.7,
    "claimed": 1.0,
}
#: Level of a territory overlapped by another one (a conflict over the land).
OVERLAP_LEVEL = 0.6

#: Pressure levels: log scale from 0.1 ha to 1,000 ha of weighted clearing area.
PRESSURE_FLOOR_HA = 0.1
PRESSURE_CEILING_HA = 1000.0


def merge_weights(overrides: Mapping[str, float] | None) -> dict[Factor, float]:
    """The default weights with ``overrides`` (factor name -> points) applied.

    >>> merge_weights({"violence": 20})[Factor.VIOLENCE]
    20.0
    """
    weights = dict(DEFAULT_WEIGHTS)
    for name, value in (overrides or {}).items():
        try:
            factor = Factor(name)
        except ValueError:
            known = ", ".join(f.value for f in Factor)
            raise ValueError(f"unknown risk factor {name!r} (known: {known})") from None
        if not math.isfinite(float(value)) or float(value) < 0:
            raise ValueError(f"weight of {name!r} must be a number >= 0, got {value!r}")
        weights[factor] = float(value)
    return weights


@dataclass(frozen=True)
class FactorValue:
    """What was measured for one factor of one unit.

    ``value`` is the raw measure in the factor's unit (see :func:`factor_level`);
    None means the data is missing. ``source`` names the data it came from;
    ``detail`` carries what an explanation needs (counts, distances, names).
    """

    factor: Factor
    value: float | None
    source: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contribution:
    """One factor's part of a score: ``points = weight x level`` (0 when unavailable)."""

    factor: Factor
    available: bool
    value: float | None
    level: float
    weight: float
    points: float
    source: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "factor": self.factor.value,
            "available": self.available,
            "value": self.value,
            "level": round(self.level, 4),
            "weight": self.weight,
            "points": round(self.points, 4),
            "source": self.source,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class RiskScore:
    """A unit's score: the sum of its contributions, its coverage and class."""

    key: str
    name: str
    contributions: tuple[Contribution, ...]
    score: float
    coverage: float
    risk_class: RiskClass
    rank: int = 0
    #: The quarter of the ranking among the units scored together (see the module
    #: docstring); None until ranked.
    regional_class: RiskClass | None = None

    @property
    def missing(self) -> tuple[Contribution, ...]:
        """Contributions whose data is missing."""
        return tuple(c for c in self.contributions if not c.available)


def factor_levels(factor: Factor, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Levels in [0, 1] of measured ``values`` of ``factor`` (the documented curves).

    - pressures: weighted clearing area K (ha), ``log1p(K / 0.1) / log1p(1000 / 0.1)``;
    - recent clearings: count n, ``1 - exp(-n / 10)``;
    - trend: ratio r of recent to previous counts (+1 each), ``log2(r) / 2`` (x4 = 1);
    - coca: expected coca clearings n, ``1 - exp(-n / 3)``;
    - airstrips, corridors: distance d (km), ``exp(-d / 5)``; isolation:
      ``exp(-d / 10)`` (d = 0 when adjacent);
    - tenure: the level itself (``TENURE_LEVELS``, ``OVERLAP_LEVEL``);
    - violence: incidents n, ``1 - exp(-n / 3)``.
    """
    v = np.asarray(values, np.float64)
    if np.isnan(v).any():
        raise ValueError(f"{factor.value}: value is NaN (pass None for missing data)")
    pos = np.maximum(v, 0.0)
    if factor in (Factor.PRESSURE_LOCAL, Factor.PRESSURE_REGIONAL):
        level = np.log1p(pos / PRESSURE_FLOOR_HA) / math.log1p(
            PRESSURE_CEILING_HA / PRESSURE_FLOOR_HA
        )
    elif factor is Factor.RECENT_CLEARINGS:
        level = 1.0 - np.exp(-pos / 10.0)
    elif factor is Factor.TREND:
        level = np.log2(np.maximum(v, 1e-9)) / 2.0
    elif factor in (Factor.COCA, Factor.VIOLENCE):
        level = 1.0 - np.exp(-pos / 3.0)
    elif factor in (Factor.AIRSTRIPS, Factor.CORRIDORS):
        level = np.exp(-pos / 5.0)
    elif factor is Factor.ISOLATION:
        level = np.exp(-pos / 10.0)
    else:  # TENURE: already a level
        level = v
    out: NDArray[np.float64] = np.clip(level, 0.0, 1.0)
    return out


def factor_level(factor: Factor, value: float) -> float:
    """Level in [0, 1] of one measured ``value`` of ``factor`` (see :func:`factor_levels`).

    >>> factor_level(Factor.CORRIDORS, 0.0), round(factor_level(Factor.TREND, 4.0), 2)
    (1.0, 1.0)
    """
    return float(factor_levels(factor, np.array([float(value)]))[0])


def risk_class(score: float, coverage: float) -> RiskClass:
    """Class of ``score`` given the share of weight that had data (``coverage``).

    >>> risk_class(40.0, 1.0), risk_class(40.0, 0.8)
    (<RiskClass.HIGH: 'high'>, <RiskClass.CRITICAL: 'critical'>)
    """
    for cls, threshold in CLASS_THRESHOLDS.items():
        if score >= threshold * coverage:
            return cls
    return RiskClass.LOW


def score_unit(
    key: str,
    name: str,
    values: Iterable[FactorValue],
    weights: Mapping[Factor, float],
) -> RiskScore:
    """Score one unit from its measured factor values.

    Factors in ``weights`` without a value are unavailable. ``score`` is
    exactly the sum of the contributions' points.
    """
    by_factor = {v.factor: v for v in values}
    contributions: list[Contribution] = []
    total_weight = 0.0
    available_weight = 0.0
    for factor, weight in weights.items():
        total_weight += weight
        fv = by_factor.get(factor)
        if fv is None or fv.value is None:
            contributions.append(
                Contribution(factor, False, None, 0.0, weight, 0.0,
                             fv.source if fv else "", dict(fv.detail) if fv else {})
            )
            continue
        available_weight += weight
        level = factor_level(factor, fv.value)
        contributions.append(
            Contribution(factor, True, float(fv.value), level, weight, weight * level,
                         fv.source, dict(fv.detail))
        )
    score = math.fsum(c.points for c in contributions)
    coverage = available_weight / total_weight if total_weight > 0 else 0.0
    return RiskScore(key, name, tuple(contributions), score, coverage,
                     risk_class(score, coverage))


def regional_class(rank: int, n: int) -> RiskClass:
    """The class of rank ``rank`` (1 = highest score) among ``n`` units: the quarter of the
    ranking it falls in, ``ceil(4 * rank / n)``.

    >>> [regional_class(r, 5).value for r in range(1, 6)]
    ['critical', 'high', 'medium', 'low', 'low']
    >>> [regional_class(r, 8).value for r in (1, 2, 3, 8)]
    ['critical', 'critical', 'high', 'low']
    """
    order = (RiskClass.CRITICAL, RiskClass.HIGH, RiskClass.MEDIUM, RiskClass.LOW)
    quarter = math.ceil(4 * rank / max(n, 1))
    return order[min(max(quarter, 1), 4) - 1]


def rank_scores(scores: Sequence[RiskScore]) -> list[RiskScore]:
    """Scores ranked from the highest (ties by key), with ``rank`` set from 1 and the
    ``regional_class`` of each (units with the same score share the class of the best
    rank among them)."""
    ordered = sorted(scores, key=lambda s: (-s.score, s.key))
    n = len(ordered)
    first_rank: dict[float, int] = {}
    for i, s in enumerate(ordered, start=1):
        first_rank.setdefault(round(s.score, 9), i)
    return [
        RiskScore(s.key, s.name, s.contributions, s.score, s.coverage, s.risk_class, i,
                  regional_class(first_rank[round(s.score, 9)], n))
        for i, s in enumerate(ordered, start=1)
    ]


# ------------------------------------------------------------------ grids


@dataclass(frozen=True)
class Grid:
    """A square-cell grid in a metric CRS: ``x0``, ``y1`` the top-left corner (m).

    Rows go south from ``y1``, columns east from ``x0``.
    """

    x0: float
    y1: float
    cell_m: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, minx: float, miny: float, maxx: float, maxy: float,
                 cell_m: float) -> Grid:
        """The smallest grid of ``cell_m`` cells from (minx, maxy) that covers the bounds."""
        if not cell_m > 0:
            raise ValueError("cell size must be > 0")
        nx = max(1, math.ceil((maxx - minx) / cell_m))
        ny = max(1, math.ceil((maxy - miny) / cell_m))
        return cls(float(minx), float(maxy), float(cell_m), nx, ny)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    def cell_of(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[
        NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]
    ]:
        """Row, column of each point and whether it falls inside the grid."""
        col = np.floor((np.asarray(x) - self.x0) / self.cell_m).astype(np.intp)
        row = np.floor((self.y1 - np.asarray(y)) / self.cell_m).astype(np.intp)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return row, col, inside

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """x and y of every cell centre, each shaped ``(ny, nx)``."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * self.cell_m
        ys = self.y1 - (np.arange(self.ny) + 0.5) * self.cell_m
        return np.meshgrid(xs, ys)

    def sum_points(self, x: NDArray[np.float64], y: NDArray[np.float64],
                   weights: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sum of ``weights`` of the points in each cell (points outside are left out)."""
        row, col, inside = self.cell_of(x, y)
        out = np.zeros(self.shape)
        np.add.at(out, (row[inside], col[inside]), np.asarray(weights, np.float64)[inside])
        return out


def pressure_surface(
    grid: Grid,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    area_ha: NDArray[np.float64],
    age_days: NDArray[np.float64],
    *,
    sigma_km: float,
    half_life_days: float = 365.0 * math.log(2.0),
    subcells: int = 4,
) -> NDArray[np.float64]:
    """Recency-weighted clearing area (ha) around each cell: the spread model.

    Each clearing (centroid ``x``, ``y`` in the grid's metric CRS) weighs
    ``area_ha x 2 ** (-age_days / half_life_days)`` (the default half-life
    gives ``exp(-age / 365 d)``). Weights are binned on a grid ``subcells``
    times finer, smoothed with a Gaussian of ``sigma_km`` and summed back per
    cell, so a clearing at the edge of a cell weighs more on the neighbour it
    touches. Clearings with a negative age (after the date scored) are left out.
    """
    age = np.asarray(age_days, np.float64)
    keep = age >= 0
    w = np.asarray(area_ha, np.float64) * np.exp2(-np.where(keep, age, 0.0) / half_life_days)
    w = np.where(keep & np.isfinite(w), w, 0.0)
    f = max(1, int(subcells))
    fine = Grid(grid.x0, grid.y1, grid.cell_m / f, grid.nx * f, grid.ny * f)
    binned = fine.sum_points(x, y, w)
    sigma_px = sigma_km * 1000.0 / fine.cell_m
    smooth = ndimage.gaussian_filter(binned, sigma_px, mode="constant", truncate=3.0)
    pooled: NDArray[np.float64] = smooth.reshape(grid.ny, f, grid.nx, f).sum(axis=(1, 3))
    return np.maximum(pooled, 0.0)


# -------------------------------------------------------------- back-test


def _capture_at(order_scores: NDArray[np.float64], order_future: NDArray[np.float64],
                k: int) -> float:
    """Future area in the top ``k`` units, ties at the cut shared evenly (expected value)."""
    if k <= 0:
        return 0.0
    n = len(order_scores)
    k = min(k, n)
    cut = order_scores[k - 1]
    above = order_scores > cut
    tied = order_scores == cut
    n_above = int(above.sum())
    taken = float(order_future[above].sum())
    n_tied = int(tied.sum())
    if n_tied:
        taken += float(order_future[tied].sum()) * (k - n_above) / n_tied
    return taken


def _auc(scores: NDArray[np.float64], positive: NDArray[np.bool_]) -> float | None:
    """ROC AUC (Mann-Whitney, ties counted half); None without both classes."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def capture_metrics(
    scores: NDArray[np.float64],
    future_area: NDArray[np.float64],
    *,
    top_percents: Sequence[int] = (1, 5, 10),
) -> dict[str, float | None]:
    """How well a ranking of units caught the next period's alerts.

    ``top{k}_capture``: share of the future alert area that falls in the top k %
    of units by score (``ceil(n k / 100)`` units; units tied at the cut share
    their area evenly, the expected value of a random tie-break); ``auc``: ROC
    AUC of the score for "the unit gets any alert". Shares are None when no
    future area exists.

    >>> capture_metrics(np.array([3.0, 2.0, 1.0, 0.0]), np.array([5.0, 0.0, 5.0, 0.0]),
    ...                 top_percents=(25, 50))
    {'top25_capture': 0.5, 'top50_capture': 0.5, 'auc': 0.75}
    """
    s = np.asarray(scores, np.float64).ravel()
    f = np.asarray(future_area, np.float64).ravel()
    if s.shape != f.shape:
        raise ValueError("scores and future area differ in size")
    s = np.where(np.isfinite(s), s, -np.inf)
    order = np.argsort(-s, kind="stable")
    os_, of = s[order], f[order]
    total = float(f.sum())
    out: dict[str, float | None] = {}
    for pct in top_percents:
        k = math.ceil(len(s) * pct / 100.0)
        out[f"top{pct}_capture"] = _capture_at(os_, of, k) / total if total > 0 else None
    out["auc"] = _auc(s, f > 0)
    return out
