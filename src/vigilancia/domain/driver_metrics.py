"""How good driver predictions are: precision, recall, F1, confusion and calibration.

PURE: numpy only. :func:`score_predictions` compares predicted probabilities
(n, len(DRIVERS), in :data:`~vigilancia.domain.drivers.DRIVERS` order) with the
true drivers and returns a :class:`DriverScores` that serialises to JSON.

Definitions (the usual ones, written out because reports quote them):

- per driver ``d``: precision = TP / (TP + FP) (0 when ``d`` is never
  predicted), recall = TP / (TP + FN), F1 = their harmonic mean (0 when both
  are 0); the predicted driver is the most probable one;
- macro averages: the plain mean over the drivers that have at least one true
  label (drivers absent from the labels cannot be judged);
- confusion matrix: rows are the true drivers, columns the predicted ones, both
  in :data:`DRIVERS` order;
- Brier score: the multi-class form, mean over clearings of
  ``sum_d (p_d - [d is true])^2``; 0 is perfect, 2 the worst possible, and
  always answering "1/6 each" scores 5/6;
- reliability: clearings grouped by the probability of their predicted driver
  (10 equal bins over 0-1); in each bin the mean probability against the share
  that was right. A calibrated model has them equal; ECE (expected calibration
  error) is their count-weighted mean absolute difference.

>>> import numpy as np
>>> p = np.eye(6)[[0, 0, 1, 2]]
>>> s = score_predictions(p, ["coca", "coca", "airstrip", "coca"])
>>> round(s.accuracy, 2), round(s.macro_recall, 2), round(s.brier, 2)
(0.75, 0.83, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.drivers import DRIVERS, Driver

__all__ = ["RELIABILITY_BINS", "DriverScore", "DriverScores", "ReliabilityBin", "score_predictions"]

#: Number of equal-width probability bins of the reliability summary.
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class DriverScore:
    """Precision, recall and F1 of one driver; ``support`` true labels, ``predicted`` guesses."""

    driver: Driver
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True)
class ReliabilityBin:
    """Clearings whose top probability fell in ``[lower, upper)`` (the last bin includes 1)."""

    lower: float
    upper: float
    count: int
    mean_probability: float  # NaN when the bin is empty
    observed: float  # share right; NaN when empty


@dataclass(frozen=True)
class DriverScores:
    """Scores of ``n`` predictions against true labels (see the module docstring)."""

    n: int
    per_driver: tuple[DriverScore, ...]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    accuracy: float
    confusion: NDArray[np.int64]
    brier: float
    ece: float
    reliability: tuple[ReliabilityBin, ...]

    def score(self, driver: Driver | str) -> DriverScore:
        """The scores of one driver."""
        return self.per_driver[DRIVERS.index(Driver(driver))]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None; figures rounded to 4 decimals)."""
        return {
            "n": self.n,
            "accuracy": _r(self.accuracy),
            "macro": {
                "precision": _r(self.macro_precision),
                "recall": _r(self.macro_recall),
                "f1": _r(self.macro_f1),
            },
            "per_driver": {
                s.driver.value: {
                    "precision": _r(s.precision),
                    "recall": _r(s.recall),
                    "f1": _r(s.f1),
                    "support": s.support,
                    "predicted": s.predicted,
                }
                for s in self.per_driver
            },
            "confusion": {
                "labels": [d.value for d in DRIVERS],
                "rows": "true",
                "columns": "predicted",
                "matrix": self.confusion.astype(int).tolist(),
            },
            "calibration": {
                "brier": _r(self.brier),
                "ece": _r(self.ece),
                "bins": [
                    {
                        "lower": _r(b.lower),
                        "upper": _r(b.upper),
                        "count": b.count,
                        "mean_probability": _r(b.mean_probability),
                        "observed": _r(b.observed),
                    }
                    for b in self.reliability
                ],
            },
        }


def _r(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def score_predictions(
    probabilities: NDArray[np.float64],
    truth: Sequence[Driver | str],
    *,
    bins: int = RELIABILITY_BINS,
) -> DriverScores:
    """Score predicted probabilities (n, len(DRIVERS)) against the true drivers."""
    p = np.asarray(probabilities, np.float64).reshape(-1, len(DRIVERS))
    n = len(p)
    if len(truth) != n:
        raise ValueError(f"{len(truth)} true labels for {n} predictions")
    k = len(DRIVERS)
    true_idx = np.array([DRIVERS.index(Driver(t)) for t in truth], dtype=np.int64)
    pred_idx = np.argmax(p, axis=1) if n else np.empty(0, np.int64)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (true_idx, pred_idx), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    judged = support > 0
    per = tuple(
        DriverScore(d, float(precision[i]), float(recall[i]), float(f1[i]),
                    int(support[i]), int(predicted[i]))
        for i, d in enumerate(DRIVERS)
    )
    onehot = np.zeros_like(p)
    if n:
        onehot[np.arange(n), true_idx] = 1.0
    brier = float(np.mean(np.sum((p - onehot) ** 2, axis=1))) if n else float("nan")
    conf = p.max(axis=1) if n else np.empty(0)
    right = (pred_idx == true_idx).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    rel = []
    ece = 0.0
    for b in range(bins):
        sel = which == b
        cnt = int(sel.sum())
        mean_p = float(conf[sel].mean()) if cnt else float("nan")
        obs = float(right[sel].mean()) if cnt else float("nan")
        if cnt:
            ece += cnt / n * abs(mean_p - obs)
        rel.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), cnt, mean_p, obs))
    return DriverScores(
        n=n,
        per_driver=per,
        macro_precision=float(precision[judged].mean()) if judged.any() else float("nan"),
        macro_recall=float(recall[judged].mean()) if judged.any() else float("nan"),
        macro_f1=float(f1[judged].mean()) if judged.any() else float("nan"),
        accuracy=float(right.mean()) if n else float("nan"),
        confusion=confusion,
        brier=brier,
        ece=float(ece) if n else float("nan"),
        reliability=tuple(rel),
    )
