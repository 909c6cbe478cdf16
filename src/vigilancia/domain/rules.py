"""The default driver model: transparent rules with documented, cited thresholds.

PURE: numpy only. :class:`RulesModel` turns a feature table (see
:mod:`vigilancia.domain.drivers`) into a probability per driver, the two or
three reasons that decided it, and the share of context it could use.

How it scores
-------------
Every driver starts from a bias (its log-odds before evidence) and collects
*evidence terms*. A term measures one pattern with smooth logistic ramps, never
a hard cut-off, as a strength ``r`` in [0, 1]:

- a **two-sided** term adds ``weight * (2r - 1)``: from ``-weight`` (clearly not
  the pattern) through 0 (on the ramp's midpoint) to ``+weight``;
- a **one-sided** term adds ``weight * r``: it can only support its driver (being
  far from every known airstrip is no evidence against a new runway).

The logits are turned into probabilities with a softmax (rows sum to 1).

**Missing values are never evidence.** A term whose features are unknown (NaN,
or a column absent from the table) adds exactly 0. A term reading the nearest
of two layers (e.g. river or road) keeps only its supporting side when one of
them is unknown: a known river 600 m away supports "near a river or road", but
a known river 5 km away says nothing while the road layer is missing. So
blanking any feature moves every term's contribution towards 0, never past
it: missing context flattens the affected scores and never raises them, and
``completeness`` (the share of :data:`CONTEXT_FEATURES` that was known) says
how much the prediction could rest on. A distance is unknown where the
workspace has no layer of that kind, and where its layers do not cover the
clearing (:mod:`vigilancia.services.features`): a road file of one department
says nothing about roads in the next, so a clearing there is never "far from
roads".

Thresholds and their grounds
----------------------------
Facts quoted from issue 3 (field knowledge and reporting; runway lengths from
the real centre-lines in ``../shared/data/airstrips/runways_peru.geojson``):

- coca plots in the Peruvian lowlands are mostly small, irregular clearings of
  about **0.3-3 ha**, often in **clusters**, **near streams**, and **far from towns
  and roads**;
- narco runways are **straight strips**, typically **400-1,500 m** long (the real
  ones run from **377 to 3,128 m**) and about **15-50 m wide**, often
  **re-cleared**; of 67 runways verified in Ucayali, Huánuco and Pasco, **52 were
  within 1 km of a river or road**;
- new clearings **concentrate around existing runways** (88 of 154 runways in
  the shared data touch a MapBiomas alert);
- mining: large clearings **near rivers** in known mining areas; roads and
  logging: **long, thin, branching or along roads**; agriculture: **large compact
  blocks near roads and settlements**.

Where the facts give no number ("near", "far", "large") the thresholds below
are this project's assumptions, marked *assumed*, to be replaced by the
trained model's calibration (issue 3, scope 4). Widths include the alert
pixel footprint: at 0.00025 degrees (about 27.7 m, the GFW grid) a 15-50 m
strip is one or two pixels wide, and pixels sticking out of its edges widen
its minimum rotated rectangle (``width_m``) by up to a pixel on each side, so
the strip rule measures width as ``area / length`` and uses ``width_m`` only
to check straightness.

Terms (driver, weight, two-sided ``±`` or one-sided ``+``; ramps as midpoint
(scale); "x" multiplies ramps):

- airstrip ``straight_strip`` ±5: length rises at 250 m (40) and falls at
  3,400 m (150) x area/length falls at 60 m (6) x length/(area/length) rises at
  6 (1) x ``width_m`` falls at 130 m (12). Runways 377-3,128 m (250 m: up to a
  third of the shortest missed at its ends), 15-50 m wide plus a pixel, long
  for their width, straight.
- airstrip ``near_river``/``near_road`` ±0.5: the nearer of river and road falls
  at 1 km (200 m). 52 of 67 verified runways were within 1 km of a river or
  road: weak evidence (most clearings are near rivers too).
- airstrip ``known_airstrip`` +3: distance to a known airstrip falls at 150 m
  (40 m): the clearing lies on a known runway (re-clearing).
- airstrip ``recleared`` +1: re-cleared x ``straight_strip`` strength: "often
  re-cleared".
- coca ``small_patch`` ±1.5: area rises at 0.3 ha and falls at 3 ha (0.3 in ln
  ha) x length/(area/length) falls at 5 (1): "0.3-3 ha", a patch, not a strip.
- coca ``irregular_shape`` ±0.7: rectangularity falls at 0.7 (0.06) x
  elongation falls at 5 (1): "irregular" (an ellipse fills 0.785 of its
  rectangle, a field about 0.9; assumed).
- coca ``clustered`` ±0.8: other clearings within 1 km rise at 2.5 (0.8): "in
  clusters" (assumed count).
- coca ``near_river`` ±0.6: river falls at 500 m (150 m): "near streams"
  (assumed 500 m).
- coca ``far_from_road`` ±0.8: road rises at 3 km (700 m); ``far_from_settlement``
  ±0.5: settlement rises at 5 km (1 km): "far from towns and roads" (assumed).
- coca ``near_airstrip`` +0.7: known airstrip falls at 5 km (1 km), for
  clearings that are not strips: "clearings concentrate around existing
  runways" (88 of 154 touch a MapBiomas alert; 5 km assumed).
- mining ``large_clearing`` ±0.8: area rises at 3 ha (0.4 in ln ha): large,
  above the coca range.
- mining ``near_river`` ±1.5: river falls at 300 m (100 m): alluvial mining
  "near rivers" (assumed 300 m). No layer of mining areas exists yet, so mining
  rests on size and rivers; its bias is low.
- mining ``cleared_nearby`` +0.8: hectares cleared within 1 km rise at 10 ha
  (3 ha): a mining area clears much around it (assumed).
- road ``winding_track``/``long_strip`` ±3: length rises at 500 m (100) x
  thickness 2 x area/perimeter falls at 45 m (8) x (rectangularity falls at
  0.35 (0.06): winding or branching, or length rises at 3,600 m (200 m) with
  ``width_m`` below 75 m: straight but longer than any known runway): "long,
  thin, branching".
- road ``branching_track`` +8: ``branches`` (see below) rise at 0.5 (0.15) x
  area/length falls at 60 m: a thin strip that forks or bends into other thin
  strips is a track, whatever its straight stretch looks like.
- road ``near_road``/``near_trail`` +1: the nearer of road and trail falls at
  150 m (50 m) x thin: "along roads".
- agriculture ``compact_block`` ±1.5: area rises at 3 ha (0.35 in ln ha) x
  rectangularity rises at 0.55 (0.08) x elongation falls at 6 (1.5): "large
  compact blocks".
- agriculture ``near_road``/``near_settlement`` ±0.8: the nearer of road and
  settlement falls at 2 km (500 m): "near roads and settlements" (assumed 2 km).
- other ``tiny_patch`` +2: area falls at 0.2 ha (0.3 in ln ha): below the coca
  range, one or two alert pixels (0.077 ha each).

Biases: coca 0, agriculture 0, other 0, road -0.5, mining -1, airstrip -1.5
(runways and mines are rarer than fields and coca plots; assumed).

Besides :data:`~vigilancia.domain.drivers.FEATURES` the rules read
:data:`EXTRA_FEATURES` when a table has them: ``branches``, the number of thin
strips forking or bending off a clearing
(:func:`vigilancia.domain.airstrips.runway_candidates` gives it for runway
candidates). Absent, it is unknown like any other feature.

>>> import numpy as np
>>> strip = {"length_m": np.array([820.0]), "width_m": np.array([30.0]),
...          "elongation": np.array([27.3]), "area_ha": np.array([2.4]),
...          "dist_river_m": np.array([600.0])}
>>> p = RulesModel().predict(strip)
>>> str(p.driver[0]), p.reasons[0][0].code
('airstrip', 'straight_strip')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.drivers import (
    DRIVERS,
    Driver,
    DriverPredictions,
    FeatureTable,
    Reason,
)

__all__ = [
    "CONTEXT_FEATURES",
    "EXTRA_FEATURES",
    "RULES_VERSION",
    "TERMS",
    "Evidence",
    "RulesModel",
    "Term",
]

FloatArray = NDArray[np.float64]

RULES_VERSION = "rules-1"

#: Context features the rules read; ``completeness`` is the share of them known.
CONTEXT_FEATURES: tuple[str, ...] = (
    "dist_river_m",
    "dist_road_m",
    "dist_trail_m",
    "dist_settlement_m",
    "dist_airstrip_m",
    "clearings_1km",
    "cleared_ha_1km",
    "recleared",
)

#: Read when present, beyond :data:`~vigilancia.domain.drivers.FEATURES`.
EXTRA_FEATURES: tuple[str, ...] = ("branches",)

#: Log-odds of each driver before any evidence. Runways and mining are rarer than
#: farming and coca among forest clearings, so they start lower (assumed).
BIAS: dict[Driver, float] = {
    Driver.COCA: 0.0,
    Driver.AIRSTRIP: -1.5,
    Driver.MINING: -1.0,
    Driver.ROAD: -0.5,
    Driver.AGRICULTURE: 0.0,
    Driver.OTHER: 0.0,
}

#: A reason is kept when its term added at least this much to the winner's logit.
MIN_REASON = 0.15
#: Below this completeness a "little context" reason is added when there is room.
LOW_COMPLETENESS = 0.5


# ------------------------------------------------------------------ ramps


def _logistic(z: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))
    return out


def rise(x: FloatArray, mid: float, scale: float) -> FloatArray:
    """Smooth step from 0 to 1, 0.5 at ``mid``; ``scale`` is the width (0.27 to 0.73
    over ``mid +- scale``). NaN stays NaN."""
    return _logistic((x - mid) / scale)


def fall(x: FloatArray, mid: float, scale: float) -> FloatArray:
    """Smooth step from 1 to 0, 0.5 at ``mid``. NaN stays NaN."""
    return _logistic((mid - x) / scale)


def _ln(x: FloatArray) -> FloatArray:
    """Natural log of positive values; NaN where unknown or not positive."""
    with np.errstate(all="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


# ------------------------------------------------------------------ features


class _Columns:
    """Read access to a feature table as float64 columns: absent columns are all NaN
    (unknown); infinite values are kept (infinitely far)."""

    def __init__(self, table: FeatureTable) -> None:
        self.n = _rows(table)
        self._table = table
        self._cache: dict[str, FloatArray] = {}

    def __getitem__(self, name: str) -> FloatArray:
        if name not in self._cache:
            raw = self._table.get(name)
            if raw is None:
                col = np.full(self.n, np.nan)
            else:
                col = np.array(raw, np.float64).reshape(-1)  # a copy; +-inf kept
                if len(col) != self.n:
                    raise ValueError(f"feature {name!r} has {len(col)} values, not {self.n}")
            self._cache[name] = col
        return self._cache[name]

    def derived(self, fn: Callable[[_Columns], FloatArray]) -> FloatArray:
        """``fn(self)``, computed once: reasons read derived columns row by row."""
        key = f"<{fn.__name__}>"
        if key not in self._cache:
            self._cache[key] = fn(self)
        return self._cache[key]

    def nearest(self, *names: str) -> tuple[FloatArray, NDArray[np.bool_]]:
        """Distance to the nearest of several layers (NaN when none is known) and whether
        all of them were known."""
        cols = np.stack([self[n] for n in names])
        known = ~np.isnan(cols)
        d = np.where(known.any(axis=0), np.min(np.where(known, cols, np.inf), axis=0),
                     np.nan)
        return np.asarray(d, np.float64), np.asarray(known.all(axis=0), bool)

    def which_nearest(self, i: int, *names: str) -> str:
        vals = [self[n][i] for n in names]
        best = min(range(len(names)), key=lambda k: np.inf if np.isnan(vals[k]) else vals[k])
        return names[best]


def _rows(table: FeatureTable) -> int:
    for v in table.values():
        return len(np.asarray(v).reshape(-1))
    return 0


# ------------------------------------------------------------------ terms


@dataclass(frozen=True)
class Term:
    """One piece of evidence for one driver (see the module docstring)."""

    key: str  # unique name
    driver: Driver
    weight: float  # log-odds at full strength
    two_sided: bool
    strength: Callable[[_Columns], tuple[FloatArray, NDArray[np.bool_]]]
    # (r in [0, 1] or NaN, whether a low r may count against the driver)
    reason: Callable[[_Columns, int], Reason]


def _all_known(c: _Columns) -> NDArray[np.bool_]:
    return np.ones(c.n, bool)


# Reason numbers are finite floats (JSON-safe); an infinite value is spelt out.


def _m(x: float) -> float | str:
    """Metres for a reason: whole metres (tens above 1 km)."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return float(round(x, -1) if abs(x) >= 1000 else round(x))


def _ha(x: float) -> float | str:
    x = float(x)
    return round(x, 2) if math.isfinite(x) else str(x)


def _count(x: float) -> float | str:
    x = float(x)
    return float(round(x)) if math.isfinite(x) else str(x)


# shape -----------------------------------------------------------------


def _mean_width(c: _Columns) -> FloatArray:
    """Area / length (m): the mean width of a strip, robust to pixels sticking out of its
    edges (which widen its minimum rotated rectangle). Computed once per set of columns."""
    return c.derived(_area_over_length)


def _area_over_length(c: _Columns) -> FloatArray:
    with np.errstate(all="ignore"):
        length = c["length_m"]
        return np.where(length > 0, c["area_ha"] * 1e4 / length, np.nan)


def _slender(c: _Columns) -> FloatArray:
    """Length / mean width = length**2 / area: about 1.3 for a disc, 2.5 for a 2:1 ellipse,
    25 for an 800 m x 32 m strip; robust to ragged edges, unlike ``elongation``."""
    mean_w = _mean_width(c)
    with np.errstate(all="ignore"):
        return np.where(mean_w > 0, c["length_m"] / mean_w, np.nan)


def _strip(c: _Columns) -> FloatArray:
    """Straight strip: runway length (377-3,128 m real; the midpoint at 250 m leaves
    room for ends the alerts missed); mean width 15-50 m plus a pixel of footprint; long
    for its width; and straight: its minimum rotated rectangle stays narrow (ragged
    edges may add about a pixel on each side, a bend or a branch much more)."""
    length = c["length_m"]
    return (rise(length, 250.0, 40.0) * fall(length, 3400.0, 150.0)
            * fall(_mean_width(c), 60.0, 6.0) * rise(_slender(c), 6.0, 1.0)
            * fall(c["width_m"], 130.0, 12.0))


def _thickness(c: _Columns) -> FloatArray:
    """2 x area / perimeter (m): about the width of a thin shape, the radius of a disc."""
    with np.errstate(all="ignore"):
        p = c["perimeter_m"]
        return np.where(p > 0, 2.0 * c["area_ha"] * 1e4 / p, np.nan)


def _track(c: _Columns) -> FloatArray:
    """Long and thin, and winding/branching (fills little of its rectangle) or straight
    but longer than any runway (3,128 m)."""
    length = c["length_m"]
    thin = fall(_thickness(c), 45.0, 8.0)
    winding = fall(c["rectangularity"], 0.35, 0.06)
    too_long = rise(length, 3600.0, 200.0) * fall(c["width_m"], 75.0, 6.0)
    shape = np.maximum(winding, too_long)  # NaN when either is unknown
    return rise(length, 500.0, 100.0) * thin * shape


def _block(c: _Columns) -> FloatArray:
    return (rise(_ln(c["area_ha"]), np.log(3.0), 0.35) * rise(c["rectangularity"], 0.55, 0.08)
            * fall(c["elongation"], 6.0, 1.5))


def _small(c: _Columns) -> FloatArray:
    """A patch of 0.3-3 ha, not a strip (length / mean width below about 5)."""
    ln = _ln(c["area_ha"])
    return rise(ln, np.log(0.3), 0.3) * fall(ln, np.log(3.0), 0.3) * fall(_slender(c), 5.0, 1.0)


def _irregular(c: _Columns) -> FloatArray:
    return fall(c["rectangularity"], 0.7, 0.06) * fall(c["elongation"], 5.0, 1.0)


def _shape(f: Callable[[_Columns], FloatArray]) -> Callable[
        [_Columns], tuple[FloatArray, NDArray[np.bool_]]]:
    return lambda c: (f(c), _all_known(c))


def _near_any(names: tuple[str, ...], mid: float, scale: float) -> Callable[
        [_Columns], tuple[FloatArray, NDArray[np.bool_]]]:
    """Near the nearest of ``names``: may count against only when all of them are known."""

    def strength(c: _Columns) -> tuple[FloatArray, NDArray[np.bool_]]:
        d, all_known = c.nearest(*names)
        return fall(d, mid, scale), all_known

    return strength


def _distance_reason(code_for: dict[str, str], names: tuple[str, ...]) -> Callable[
        [_Columns, int], Reason]:
    def reason(c: _Columns, i: int) -> Reason:
        name = c.which_nearest(i, *names)
        return Reason(code_for[name], {"distance_m": _m(float(c[name][i]))})

    return reason


_NEAR = {"dist_river_m": "near_river", "dist_road_m": "near_road",
         "dist_trail_m": "near_trail", "dist_settlement_m": "near_settlement"}


def _one(name: str, mid: float, scale: float, *, falling: bool) -> Callable[
        [_Columns], tuple[FloatArray, NDArray[np.bool_]]]:
    ramp = fall if falling else rise
    return lambda c: (ramp(c[name], mid, scale), _all_known(c))


def _dist(code: str, name: str) -> Callable[[_Columns, int], Reason]:
    return lambda c, i: Reason(code, {"distance_m": _m(float(c[name][i]))})


TERMS: tuple[Term, ...] = (
    # --- airstrip
    Term("straight_strip", Driver.AIRSTRIP, 5.0, True, _shape(_strip),
         lambda c, i: Reason("straight_strip", {"length_m": _m(c["length_m"][i]),
                                                "width_m": _m(_mean_width(c)[i])})),
    # 52 of 67 verified runways lie within 1 km of a river or road: weak evidence.
    Term("airstrip_near_river_or_road", Driver.AIRSTRIP, 0.5, True,
         _near_any(("dist_river_m", "dist_road_m"), 1000.0, 200.0),
         _distance_reason(_NEAR, ("dist_river_m", "dist_road_m"))),
    Term("known_airstrip", Driver.AIRSTRIP, 3.0, False,
         _one("dist_airstrip_m", 150.0, 40.0, falling=True),
         _dist("known_airstrip", "dist_airstrip_m")),
    Term("recleared_strip", Driver.AIRSTRIP, 1.0, False,
         lambda c: (np.clip(c["recleared"], 0, 1) * _strip(c), _all_known(c)),
         lambda c, i: Reason("recleared")),
    # --- coca
    Term("small_patch", Driver.COCA, 1.5, True, _shape(_small),
         lambda c, i: Reason("small_patch", {"area_ha": _ha(c["area_ha"][i])})),
    Term("irregular_shape", Driver.COCA, 0.7, True, _shape(_irregular),
         lambda c, i: Reason("irregular_shape")),
    Term("clustered", Driver.COCA, 0.8, True, _one("clearings_1km", 2.5, 0.8, falling=False),
         lambda c, i: Reason("clustered", {"count": _count(c["clearings_1km"][i])})),
    Term("coca_near_stream", Driver.COCA, 0.6, True,
         _one("dist_river_m", 500.0, 150.0, falling=True), _dist("near_river", "dist_river_m")),
    Term("far_from_road", Driver.COCA, 0.8, True,
         _one("dist_road_m", 3000.0, 700.0, falling=False),
         _dist("far_from_road", "dist_road_m")),
    Term("far_from_settlement", Driver.COCA, 0.5, True,
         _one("dist_settlement_m", 5000.0, 1000.0, falling=False),
         _dist("far_from_settlement", "dist_settlement_m")),
    Term("coca_near_airstrip", Driver.COCA, 0.7, False,
         lambda c: (fall(c["dist_airstrip_m"], 5000.0, 1000.0)
                    * (1.0 - _strip(c)), _all_known(c)),
         _dist("near_airstrip", "dist_airstrip_m")),
    # --- mining
    Term("large_clearing", Driver.MINING, 0.8, True,
         _shape(lambda c: rise(_ln(c["area_ha"]), np.log(3.0), 0.4)),
         lambda c, i: Reason("large_clearing", {"area_ha": _ha(c["area_ha"][i])})),
    Term("mining_riverside", Driver.MINING, 1.5, True,
         _one("dist_river_m", 300.0, 100.0, falling=True), _dist("near_river", "dist_river_m")),
    Term("cleared_nearby", Driver.MINING, 0.8, False,
         _one("cleared_ha_1km", 10.0, 3.0, falling=False),
         lambda c, i: Reason("cleared_nearby", {"area_ha": _ha(c["cleared_ha_1km"][i])})),
    # --- roads and logging
    Term("track", Driver.ROAD, 3.0, True, _shape(_track),
         lambda c, i: Reason(
             "long_strip" if c["length_m"][i] > 3600.0 and c["rectangularity"][i] > 0.35
             else "winding_track", {"length_m": _m(c["length_m"][i])})),
    Term("along_road", Driver.ROAD, 1.0, False,
         lambda c: (fall(c.nearest("dist_road_m", "dist_trail_m")[0], 150.0, 50.0)
                    * fall(_thickness(c), 45.0, 8.0), _all_known(c)),
         _distance_reason(_NEAR, ("dist_road_m", "dist_trail_m"))),
    Term("branching", Driver.ROAD, 8.0, False,
         lambda c: (rise(c["branches"], 0.5, 0.15) * fall(_mean_width(c), 60.0, 6.0),
                    _all_known(c)),
         lambda c, i: Reason("branching_track", {"count": _count(c["branches"][i])})),
    # --- agriculture
    Term("compact_block", Driver.AGRICULTURE, 1.5, True, _shape(_block),
         lambda c, i: Reason("compact_block", {"area_ha": _ha(c["area_ha"][i])})),
    Term("farm_near_road_or_town", Driver.AGRICULTURE, 0.8, True,
         _near_any(("dist_road_m", "dist_settlement_m"), 2000.0, 500.0),
         _distance_reason(_NEAR, ("dist_road_m", "dist_settlement_m"))),
    # --- other
    Term("tiny_patch", Driver.OTHER, 2.0, False,
         _shape(lambda c: fall(_ln(c["area_ha"]), np.log(0.2), 0.3)),
         lambda c, i: Reason("tiny_patch", {"area_ha": _ha(c["area_ha"][i])})),
)


# ------------------------------------------------------------------ model


@dataclass(frozen=True)
class Evidence:
    """What the rules saw: ``contributions`` (n, len(TERMS)) in log-odds, 0 where a term's
    features were unknown; ``logits`` (n, len(DRIVERS)); ``completeness`` (n,)."""

    contributions: FloatArray
    logits: FloatArray
    completeness: FloatArray


class RulesModel:
    """Transparent rules (see the module docstring); registered as ``"rules"``."""

    version = RULES_VERSION

    def __init__(self, terms: tuple[Term, ...] = TERMS) -> None:
        self.terms = terms
        self._driver_col = np.array([DRIVERS.index(t.driver) for t in terms], np.int64)
        self._onehot = np.zeros((len(terms), len(DRIVERS)))
        self._onehot[np.arange(len(terms)), self._driver_col] = 1.0
        self._bias = np.array([BIAS[d] for d in DRIVERS])

    def evidence(self, features: FeatureTable) -> Evidence:
        """Per-term contributions and per-driver logits (vectorised over clearings)."""
        return self._evidence(_Columns(features))

    def _evidence(self, c: _Columns) -> Evidence:
        contrib = np.zeros((c.n, len(self.terms)))
        for k, term in enumerate(self.terms):
            r, may_oppose = term.strength(c)
            r = np.clip(r, 0.0, 1.0)
            if term.two_sided:
                e = 2.0 * r - 1.0
                e = np.where(may_oppose, e, np.maximum(e, 0.0))
            else:
                e = r
            contrib[:, k] = term.weight * np.nan_to_num(e, nan=0.0)
        logits = self._bias[None, :] + contrib @ self._onehot
        known = np.stack([~np.isnan(c[name]) for name in CONTEXT_FEATURES], axis=1)
        return Evidence(contrib, logits, known.mean(axis=1) if c.n else np.empty(0))

    def predict(self, features: FeatureTable) -> DriverPredictions:
        """Probabilities (softmax of the logits), reasons and completeness."""
        c = _Columns(features)  # (the terms and the reasons read the same columns)
        ev = self._evidence(c)
        z = ev.logits - ev.logits.max(axis=1, keepdims=True) if len(ev.logits) else ev.logits
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True) if len(p) else 1.0
        return DriverPredictions(
            probabilities=p,
            reasons=self._reasons(c, ev, p),
            completeness=ev.completeness,
            model_version=self.version,
        )

    def _reasons(self, c: _Columns, ev: Evidence, p: FloatArray) -> list[tuple[Reason, ...]]:
        """The winner's strongest supporting terms (at most 3, each adding at least
        :data:`MIN_REASON`), then "little context" when completeness is low."""
        if not len(p):
            return []
        win = np.argmax(p, axis=1)
        own = np.where(self._driver_col[None, :] == win[:, None], ev.contributions, -np.inf)
        order = np.argsort(-own, axis=1, kind="stable")[:, :3]
        top = np.take_along_axis(own, order, axis=1)
        out: list[tuple[Reason, ...]] = []
        low = (ev.completeness < LOW_COMPLETENESS).tolist()
        share = np.round(ev.completeness, 2).tolist()
        terms = self.terms
        for i, (ks, vs) in enumerate(zip(order.tolist(), top.tolist(), strict=True)):
            reasons = [terms[k].reason(c, i) for k, v in zip(ks, vs, strict=True)
                       if v >= MIN_REASON]
            if not reasons:
                reasons.append(Reason("no_clear_pattern"))
            if len(reasons) < 3 and low[i]:
                reasons.append(Reason("little_context", {"share_known": share[i]}))
            out.append(tuple(reasons))
        return out

