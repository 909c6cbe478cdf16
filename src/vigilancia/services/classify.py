"""The likely driver of stored clearings: features, model, predictions written back.

:func:`classify_clearings` computes the feature table of the chosen clearings
(:func:`vigilancia.services.features.clearing_features`), predicts with the
workspace's active trained model, or with the transparent rules when none has
been trained, and stores every clearing's driver, its probability, all drivers'
probabilities, the reasons and the model version in one transaction. Running it
again replaces the predictions (e.g. after training a better model).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from vigilancia.domain.drivers import DRIVERS, DriverModel
from vigilancia.io.store import WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.driver_models import active_driver_model

__all__ = ["CLASSIFY_STAGE", "ClassifyResult", "classify_clearings"]

#: The stage of :func:`classify_clearings`'s progress.
CLASSIFY_STAGE = "classify"


@dataclass(frozen=True)
class ClassifyResult:
    """What one classification run wrote: clearings, model and clearings per driver."""

    clearings: int
    model_version: str
    by_driver: dict[str, int]
    mean_completeness: float

    def counts(self) -> dict[str, int]:
        """Clearings per driver, most frequent first, drivers with none left out (the order
        of ``store.clearings.by_driver``)."""
        return {d: n for d, n in sorted(self.by_driver.items(), key=lambda kv: (-kv[1], kv[0]))
                if n}

    def to_dict(self) -> dict[str, Any]:
        return {
            "clearings": self.clearings,
            "model_version": self.model_version,
            "by_driver": dict(self.by_driver),
            "mean_completeness": round(self.mean_completeness, 3),
        }


def classify_clearings(
    store: WorkspaceStore,
    *,
    batch_ids: Sequence[int] | None = None,
    model: DriverModel | None = None,
    progress: Progress | None = None,
    then: Callable[[Connection], None] | None = None,
) -> ClassifyResult:
    """Predict and store the likely driver of the clearings of ``batch_ids`` (all when None).

    The clearings are measured and predicted one part at a time
    (:func:`~vigilancia.services.features.iter_clearing_features`), so memory
    stays bounded; every prediction is written in one transaction (all or
    nothing). ``progress("classify", done, total)`` is called after each part;
    ``then(conn)`` runs last in the same transaction (what must commit with the
    predictions, e.g. the monitor's record that the step finished).
    """
    from vigilancia.services.features import iter_clearing_features

    chosen = model or active_driver_model(store)
    names = [str(d) for d in DRIVERS]
    counts: Counter[str] = Counter()
    done = 0
    completeness = 0.0
    with store.transaction() as conn:
        tick = progress or no_progress
        parts = iter_clearing_features(
            store, batch_ids=batch_ids, conn=conn,
            progress=lambda _stage, done, total: tick(CLASSIFY_STAGE, done, total),
        )
        for ids, table in parts:
            preds = chosen.predict(table)
            drivers = [str(d) for d in preds.driver]
            rounded = np.round(preds.probabilities, 4).tolist()
            positive = (preds.probabilities > 0).tolist()
            store.clearings.set_drivers(
                conn,
                ids,
                drivers,
                preds.probability,
                [{d: v for d, v, keep in zip(names, row, pos, strict=True) if keep}
                 for row, pos in zip(rounded, positive, strict=True)],
                [[{"code": r.code, "params": r.params} for r in reasons]
                 for reasons in preds.reasons],
                preds.model_version,
            )
            counts.update(drivers)
            completeness += float(np.sum(preds.completeness))
            done += len(ids)
        if then is not None:
            then(conn)
    return ClassifyResult(
        clearings=done,
        model_version=chosen.version,
        by_driver={d: counts.get(d, 0) for d in names},
        mean_completeness=completeness / done if done else 0.0,
    )
