"""Likely driver of a clearing: the classes, the features, reasons and predictions.

PURE: numpy only. A *feature table* is columnar: one float64 array per name of
:data:`FEATURES`, all of the same length (one entry per clearing), NaN where a
value is unknown (e.g. no river layer imported). Units are in the names: ``_m``
metres, ``_ha`` hectares, ``_deg`` degrees, ``_days`` days; counts and 0/1 flags
are floats too.

A model turns a feature table into :class:`DriverPredictions`: one probability
per :class:`Driver` and clearing (rows sum to 1), the two or three
:class:`Reason` objects that decided each prediction, and the model's version.
Reasons are language-neutral (a code and its numbers); the services render them
in the user's language.

Where a context layer does not cover a clearing, its distance to that kind is
unknown (NaN) and the models treat it so; :func:`note_coverage` then ends the
clearing's reasons with a note naming those layers (``not_covered``), whatever
the model.

Models register in :data:`MODELS` by name, built-ins through the same
:func:`register_model` as plugins: the services register the built-in models
explicitly (:func:`vigilancia.services.driver_models.register_builtin_models`), never
as a side effect of importing a module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DRIVERS",
    "FEATURES",
    "MODELS",
    "Driver",
    "DriverModel",
    "DriverPredictions",
    "FeatureTable",
    "Reason",
    "COVERAGE_KINDS",
    "empty_features",
    "note_coverage",
    "register_model",
]


class Driver(StrEnum):
    """What most likely cleared the forest."""

    COCA = "coca"
    AIRSTRIP = "airstrip"
    MINING = "mining"
    ROAD = "road"  # roads, logging tracks and skid trails
    AGRICULTURE = "agriculture"
    OTHER = "other"


#: The drivers in the column order of :attr:`DriverPredictions.probabilities`.
DRIVERS: tuple[Driver, ...] = tuple(Driver)

#: Feature names, grouped: shape, context (distances to imported layers), density,
#: territory position and time. Missing layers give NaN, never an error.
FEATURES: tuple[str, ...] = (
    # shape (from the clearing itself)
    "area_ha",
    "perimeter_m",
    "length_m",
    "width_m",
    "elongation",  # length / width of the minimum rotated rectangle
    "compactness",  # 4 pi A / P^2
    "rectangularity",  # area / (length * width): 1 for a clean strip or block
    "orientation_deg",
    # context: distance from the clearing's polygon to the nearest feature of a kind
    "dist_river_m",
    "dist_road_m",
    "dist_trail_m",
    "dist_settlement_m",
    "dist_airstrip_m",
    "dist_border_m",
    "dist_protected_area_m",
    # density: other clearings of the workspace whose centroid is within a radius
    "clearings_1km",
    "clearings_2km",
    "clearings_5km",
    "cleared_ha_1km",  # their area (ha)
    # position relative to territories
    "inside_territory",  # 1 inside a community or reserve, else 0
    "boundary_distance_m",
    # time
    "span_days",  # last minus first alert date
    "recleared",  # 1 where an earlier batch already had a clearing at the same place
)

FeatureTable = Mapping[str, NDArray[np.float64]]
"""Columns named as :data:`FEATURES` (a model may use a subset)."""


def empty_features(n: int) -> dict[str, NDArray[np.float64]]:
    """A feature table of ``n`` clearings with every value unknown (NaN)."""
    return {name: np.full(n, np.nan) for name in FEATURES}


@dataclass(frozen=True)
class Reason:
    """Why a model leaned one way, without words: ``code`` and the numbers it quotes.

    >>> Reason("straight_strip", {"length_m": 820.0, "width_m": 30.0}).code
    'straight_strip'
    """

    code: str
    params: Mapping[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class DriverPredictions:
    """Predictions for ``n`` clearings.

    ``probabilities``: (n, len(DRIVERS)) in the order of :data:`DRIVERS`, rows
    summing to 1. ``reasons[i]``: the two or three reasons behind clearing
    ``i``'s prediction, most decisive first (then, where a layer does not cover
    the clearing, the note of :func:`note_coverage`). ``completeness``: share (0-1) of
    the context the model would use that was known; low values mean less
    trustworthy predictions. ``model_version``: which model made them.
    """

    probabilities: NDArray[np.float64]
    reasons: list[tuple[Reason, ...]]
    completeness: NDArray[np.float64]
    model_version: str

    def __len__(self) -> int:
        return len(self.probabilities)

    @property
    def driver(self) -> NDArray[np.object_]:
        """The most likely :class:`Driver` of each clearing."""
        out = np.empty(len(self), dtype=object)
        if len(self):
            out[:] = [DRIVERS[i] for i in np.argmax(self.probabilities, axis=1)]
        return out

    @property
    def probability(self) -> NDArray[np.float64]:
        """The probability of the most likely driver."""
        if not len(self):
            return np.empty(0, np.float64)
        return np.asarray(self.probabilities.max(axis=1), np.float64)


#: Kinds of context layer whose distance features may be unknown for lack of coverage, in
#: the order a ``not_covered`` note names them (values of
#: :class:`~vigilancia.domain.context.ContextKind`).
COVERAGE_KINDS: tuple[str, ...] = ("river", "road", "trail", "settlement", "airstrip", "border")


def note_coverage(
    predictions: DriverPredictions, uncovered: Mapping[str, NDArray[np.bool_]]
) -> DriverPredictions:
    """``predictions`` whose reasons end with a note where a layer does not cover a clearing.

    ``uncovered`` maps a layer kind (``"road"``...) to whether each clearing lies
    outside its coverage. The note is ``Reason("not_covered", {"layers":
    "road,river"})``, the kinds in :data:`COVERAGE_KINDS` order; clearings that
    every layer covers keep their reasons.

    >>> p = DriverPredictions(np.array([[1.0, 0, 0, 0, 0, 0]] * 2),
    ...                       [(Reason("small_patch"),)] * 2, np.ones(2), "rules-1")
    >>> [r.code for r in note_coverage(p, {"road": np.array([True, False])}).reasons[0]]
    ['small_patch', 'not_covered']
    """
    kinds = [k for k in COVERAGE_KINDS if k in uncovered and np.any(uncovered[k])]
    if not kinds:
        return predictions
    flags = np.stack([np.asarray(uncovered[k], bool).reshape(-1) for k in kinds], axis=1)
    reasons = list(predictions.reasons)
    for i in np.flatnonzero(flags.any(axis=1)).tolist():
        layers = ",".join(k for k, hit in zip(kinds, flags[i].tolist(), strict=True) if hit)
        reasons[i] = (*reasons[i], Reason("not_covered", {"layers": layers}))
    return replace(predictions, reasons=reasons)


class DriverModel(Protocol):
    """Anything that predicts drivers from a feature table."""

    version: str

    def predict(self, features: FeatureTable) -> DriverPredictions: ...


#: Model factories by name ("rules", and trained models).
MODELS: dict[str, Callable[..., DriverModel]] = {}


def register_model(name: str, factory: Callable[..., DriverModel]) -> None:
    """Make a model available by ``name`` (built-ins and plugins alike)."""
    if name in MODELS:
        raise ValueError(f"a driver model named {name!r} is already registered")
    MODELS[name] = factory
