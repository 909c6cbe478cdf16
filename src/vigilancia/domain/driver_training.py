"""What a trainable driver model needs that is pure: label names, label policy, reasons.

PURE: numpy and stdlib. The scikit-learn model itself lives in
:mod:`vigilancia.services.gbm`; this module holds the rules it follows.

- :func:`parse_driver` reads a driver class as people write it, in English or
  Spanish, with or without accents (``"Minería"`` → :attr:`Driver.MINING`).
- :func:`plan_training` applies the minimum-label policy: a class needs at least
  :data:`MIN_PER_CLASS` labels to be learnt, training needs at least
  :data:`MIN_LABELS` usable labels in at least two such classes; otherwise the
  workspace stays with the rules model.
- :func:`latest_labels` keeps one label per clearing when several sources
  labelled it (the most recent one wins).
- :class:`ReasonProfile` explains a prediction by *contrast*: for every feature it
  knows how the training clearings of each class spread over the feature's
  deciles, and how much the model relies on the feature (permutation
  importance). The reasons for a clearing predicted as class ``a`` with
  runner-up ``b`` are the features whose value is most typical of ``a``
  compared with ``b``: ``importance * log(share of a's clearings in the value's
  decile / share of b's)``, largest first (a naive-Bayes weight of evidence per
  feature, so a value in the middle of a's range and outside b's scores high,
  one that both classes share scores 0).

>>> parse_driver("Pista de aterrizaje")
<Driver.AIRSTRIP: 'airstrip'>
>>> plan_training(["coca"] * 20 + ["mining"] * 12 + ["airstrip"] * 2).drivers
(<Driver.COCA: 'coca'>, <Driver.MINING: 'mining'>)
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.codes import spanish_codes
from vigilancia.domain.drivers import DRIVERS, Driver, Reason

__all__ = [
    "DRIVER_ALIASES",
    "MIN_LABELS",
    "MIN_PER_CLASS",
    "DECILES",
    "QUANTILES",
    "REASON_CODE",
    "LabelPlan",
    "LabelRow",
    "ReasonProfile",
    "latest_labels",
    "parse_driver",
    "plan_training",
    "valid_driver_names",
]

#: Fewest usable labels (in classes that reach :data:`MIN_PER_CLASS`) to train a model.
#: Below it a 5-fold calibration has fewer than 6 labels per fold: probabilities
#: would be noise, so the rules stay in charge.
MIN_LABELS = 30
#: Fewest labels a driver needs to be learnt; drivers with fewer are left out
#: of training (the trained model gives them probability 0) and reported. Five
#: is the number of calibration folds: each fold must see every class once.
MIN_PER_CLASS = 5
#: Quantile grid (0, 1%, ..., 100%) on which :class:`ReasonProfile` places values.
QUANTILES = 101
#: Bins of each feature's distribution in which :class:`ReasonProfile` compares classes.
DECILES = 10
#: :class:`Reason` code of the trained model: ``params`` are ``name`` (a feature
#: of :data:`~vigilancia.domain.drivers.FEATURES`), ``value`` (the clearing's
#: value, in the feature's unit) and ``typical`` (the median of that feature
#: among the training clearings of the predicted driver).
REASON_CODE = "feature"

#: Names accepted for each driver (compared without case, accents, spaces or hyphens).
DRIVER_ALIASES: Mapping[Driver, tuple[str, ...]] = {
    Driver.COCA: ("coca", "cocal", "cultivo de coca"),
    Driver.AIRSTRIP: (
        "airstrip",
        "runway",
        "pista",
        "pista de aterrizaje",
        "pista clandestina",
        "aerodromo",
    ),
    Driver.MINING: ("mining", "mineria", "mina", "mineria ilegal"),
    Driver.ROAD: ("road", "logging", "camino", "carretera", "trocha", "tala", "via"),
    Driver.AGRICULTURE: (
        "agriculture",
        "agricultura",
        "chacra",
        "agropecuario",
        "ganaderia",
        "pasture",
        "pasto",
    ),
    Driver.OTHER: ("other", "otro", "otros", "otra", "natural"),
}


def _norm(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in plain if ch.isalnum())


_LOOKUP: dict[str, Driver] = {
    **{_norm(alias): driver for driver, aliases in DRIVER_ALIASES.items() for alias in aliases},
    **{_norm(code): driver for driver, code in spanish_codes(Driver).items()},
}


def parse_driver(text: object) -> Driver | None:
    """The :class:`Driver` named by ``text`` (English or Spanish), or None when unknown.

    >>> parse_driver(" MINERÍA "), parse_driver("camino"), parse_driver("palm oil")
    (<Driver.MINING: 'mining'>, <Driver.ROAD: 'road'>, None)
    """
    if text is None:
        return None
    return _LOOKUP.get(_norm(str(text)))


def valid_driver_names() -> str:
    """The accepted names, English/Spanish, for error hints.

    >>> valid_driver_names()
    'coca, airstrip/pista, mining/minería, road/camino, agriculture/agricultura, other/otro'
    """
    return ", ".join(
        d.value if d.value == es else f"{d.value}/{es}" for d, es in _SPANISH.items()
    )


_SPANISH: Mapping[Driver, str] = {
    Driver.COCA: "coca",
    Driver.AIRSTRIP: "pista",
    Driver.MINING: "minería",
    Driver.ROAD: "camino",
    Driver.AGRICULTURE: "agricultura",
    Driver.OTHER: "otro",
}


@dataclass(frozen=True)
class LabelPlan:
    """What the minimum-label policy makes of a set of labels.

    ``counts``: labels per driver (all drivers, 0 where none). ``drivers``: the
    drivers with at least :data:`MIN_PER_CLASS` labels, in :data:`DRIVERS`
    order (the classes a model would learn). ``left_out``: drivers that have
    labels but too few. ``usable``: labels of ``drivers``. ``ok``: whether a
    model may be trained; ``problem``: why not (``"too_few_labels"`` or
    ``"too_few_classes"``), None when ``ok``.
    """

    counts: Mapping[Driver, int]
    drivers: tuple[Driver, ...]
    left_out: Mapping[Driver, int]
    usable: int
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def plan_training(
    labels: Iterable[Driver | str],
    *,
    min_labels: int = MIN_LABELS,
    min_per_class: int = MIN_PER_CLASS,
) -> LabelPlan:
    """Apply the minimum-label policy to ``labels`` (one driver per labelled clearing)."""
    counter = Counter(Driver(v) for v in labels)
    counts = {d: int(counter.get(d, 0)) for d in DRIVERS}
    drivers = tuple(d for d in DRIVERS if counts[d] >= min_per_class)
    left_out = {d: n for d, n in counts.items() if 0 < n < min_per_class}
    usable = sum(counts[d] for d in drivers)
    problem = None
    if len(drivers) < 2:
        problem = "too_few_classes"
    elif usable < min_labels:
        problem = "too_few_labels"
    return LabelPlan(counts, drivers, left_out, usable, problem)


@dataclass(frozen=True)
class LabelRow:
    """One label: the clearing, its driver, where it came from (``"file:<name>@<hash>"``,
    ``"patrol:<id>"``) and when it was observed and stored (``id``/``created_at`` are
    set by the store)."""

    clearing_id: int
    driver: Driver
    source: str
    observed_at: date | None = None
    created_at: datetime | None = None
    id: int = 0
    note: str | None = None


def latest_labels(rows: Iterable[LabelRow]) -> dict[int, LabelRow]:
    """One label per clearing: the most recently observed, then the most recently stored.

    A patrol verdict observed in the field after an imported label overrides
    it; a re-labelled clearing takes the newer label. Labels without an
    observation date count as observed when they were stored.

    >>> a = LabelRow(7, Driver.COCA, "file:a", date(2024, 1, 5), id=1)
    >>> b = LabelRow(7, Driver.OTHER, "patrol:3", date(2024, 3, 1), id=2)
    >>> latest_labels([b, a])[7].driver
    <Driver.OTHER: 'other'>
    """
    best: dict[int, LabelRow] = {}
    for row in rows:
        cur = best.get(row.clearing_id)
        if cur is None or _label_key(row) > _label_key(cur):
            best[row.clearing_id] = row
    return best


def _label_key(row: LabelRow) -> tuple[date, datetime, int]:
    created = row.created_at or datetime.min
    created = created.replace(tzinfo=None)
    observed = row.observed_at or created.date()
    return observed, created, row.id


# -------------------------------------------------------------------- reasons


@dataclass(frozen=True)
class ReasonProfile:
    """How the trained model's reasons are found (see the module docstring).

    ``names``: the model's features, in its column order. ``edges``: (F,
    :data:`QUANTILES`) quantiles of each feature among the training clearings
    (NaN rows where a feature was never known). ``class_share``: (K, F,
    :data:`DECILES`) share of each class's training clearings (with a known
    value) in each decile of each feature, smoothed by adding one clearing to
    every decile. ``class_value``: (K, F) median of each feature among each
    class's training clearings, in the feature's unit. ``importance``: (F,)
    permutation importance (rise in log loss when the feature is shuffled),
    clipped at 0.
    """

    names: tuple[str, ...]
    classes: tuple[Driver, ...]
    edges: NDArray[np.float64]
    class_share: NDArray[np.float64]
    class_value: NDArray[np.float64]
    importance: NDArray[np.float64]
    max_reasons: int = 3
    min_reasons: int = 2

    @classmethod
    def fit(
        cls,
        names: Sequence[str],
        x: NDArray[np.float64],
        y: Sequence[Driver],
        classes: Sequence[Driver],
        importance: NDArray[np.float64],
    ) -> ReasonProfile:
        """Build the profile from the training matrix ``x`` (n, F) and labels ``y``."""
        x = np.asarray(x, np.float64)
        n_feat = x.shape[1]
        grid = np.linspace(0.0, 1.0, QUANTILES)
        edges = np.full((n_feat, QUANTILES), np.nan)
        for j in range(n_feat):
            col = x[:, j]
            known = col[~np.isnan(col)]
            if len(known):
                edges[j] = np.quantile(known, grid)
        deciles = _deciles(_quantiles(x, edges))
        yy = np.asarray([Driver(v).value for v in y], dtype=object)
        k = len(classes)
        share = np.full((k, n_feat, DECILES), 1.0 / DECILES)
        value = np.full((k, n_feat), np.nan)
        for i, d in enumerate(classes):
            rows = yy == Driver(d).value
            for j in range(n_feat):
                bins = deciles[rows, j]
                bins = bins[bins >= 0]
                counts = np.bincount(bins, minlength=DECILES).astype(np.float64)
                share[i, j] = (counts + 1.0) / (counts.sum() + DECILES)
                raw = x[rows, j]
                if np.any(~np.isnan(raw)):
                    value[i, j] = float(np.nanmedian(raw))
        imp = np.clip(np.nan_to_num(np.asarray(importance, np.float64)), 0.0, None)
        if imp.sum() <= 0:
            imp = np.ones(n_feat)
        return cls(tuple(names), tuple(Driver(c) for c in classes), edges, share, value, imp)

    def to_state(self) -> dict[str, Any]:
        """Plain arrays and lists (for storing the profile with the model)."""
        return {
            "names": list(self.names),
            "classes": [d.value for d in self.classes],
            "edges": self.edges,
            "class_share": self.class_share,
            "class_value": self.class_value,
            "importance": self.importance,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ReasonProfile:
        return cls(
            tuple(str(v) for v in state["names"]),
            tuple(Driver(v) for v in state["classes"]),
            np.asarray(state["edges"], np.float64),
            np.asarray(state["class_share"], np.float64),
            np.asarray(state["class_value"], np.float64),
            np.asarray(state["importance"], np.float64),
        )

    def reasons(
        self, x: NDArray[np.float64], probabilities: NDArray[np.float64]
    ) -> list[tuple[Reason, ...]]:
        """The two or three features behind each row's prediction, most decisive first.

        ``x``: (n, F) in :attr:`names` order; ``probabilities``: (n, K) in
        :attr:`classes` order. Features with a positive score come first (at
        most :attr:`max_reasons`); when fewer than :attr:`min_reasons` are
        positive, the best of the rest complete them. Unknown (NaN) values are
        never reasons.
        """
        x = np.asarray(x, np.float64)
        n = len(x)
        if n == 0:
            return []
        bins = _deciles(_quantiles(x, self.edges))  # (n, F), -1 where unknown
        probs = np.asarray(probabilities, np.float64)
        order = np.argsort(-probs, axis=1, kind="stable")
        top = order[:, 0]
        second = order[:, 1] if probs.shape[1] > 1 else order[:, 0]
        safe = np.clip(bins, 0, DECILES - 1)
        feat = np.arange(bins.shape[1])[None, :]
        log_a = np.log(self.class_share[top[:, None], feat, safe])
        log_b = np.log(self.class_share[second[:, None], feat, safe])
        score = self.importance[None, :] * (log_a - log_b)
        score = np.where(bins < 0, -np.inf, score)
        ranked = np.argsort(-score, axis=1, kind="stable")
        out: list[tuple[Reason, ...]] = []
        for i in range(n):
            chosen: list[int] = []
            for j in ranked[i]:
                s = score[i, j]
                if not math.isfinite(s) or (s <= 0 and len(chosen) >= self.min_reasons):
                    break
                chosen.append(int(j))
                if len(chosen) >= self.max_reasons:
                    break
            cls_i = int(top[i])
            out.append(
                tuple(
                    Reason(
                        REASON_CODE,
                        {
                            "name": self.names[j],
                            "value": float(x[i, j]),
                            "typical": float(self.class_value[cls_i, j]),
                        },
                    )
                    for j in chosen
                )
            )
        return out


def _deciles(q: NDArray[np.float64]) -> NDArray[np.int64]:
    """Decile (0-9) of each quantile; -1 where unknown."""
    out = np.full(q.shape, -1, np.int64)
    known = ~np.isnan(q)
    out[known] = np.clip((q[known] * DECILES).astype(np.int64), 0, DECILES - 1)
    return out


def _quantiles(x: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each value's quantile (0-1) in its feature's training distribution (NaN stays NaN).

    A value equal to a run of edges (a 0/1 flag, a clipped distance) takes the
    middle of the run, so that ties do not all land on the lowest quantile.
    """
    q = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        e = edges[j]
        if np.isnan(e).any():
            continue
        col = x[:, j]
        known = ~np.isnan(col)
        lo = np.searchsorted(e, col[known], side="left")
        hi = np.searchsorted(e, col[known], side="right")
        q[known, j] = (lo + hi) / (2.0 * len(e))
    return q
