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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vigilancia.domain.drivers import DRIVERS, DriverModel
from vigilancia.io.store import WorkspaceStore

__all__ = ["ClassifyResult", "active_model", "classify_clearings"]


@dataclass(frozen=True)
class ClassifyResult:
    """What one classification run wrote: clearings, model and clearings per driver."""

    clearings: int
    model_version: str
    by_driver: dict[str, int]
    mean_completeness: float

    def counts(self) -> dict[str, int]:
        """Clearings per driver, most frequent first, drivers with none left out (the order
        of :meth:`WorkspaceStore.driver_counts`)."""
        return {d: n for d, n in sorted(self.by_driver.items(), key=lambda kv: (-kv[1], kv[0]))
                if n}

    def to_dict(self) -> dict[str, Any]:
        return {
            "clearings": self.clearings,
            "model_version": self.model_version,
            "by_driver": dict(self.by_driver),
            "mean_completeness": round(self.mean_completeness, 3),
        }


def active_model(store: WorkspaceStore) -> DriverModel:
    """The workspace's active trained model, or the rules when none has been trained."""
    from vigilancia.services.classifier import active_driver_model

    return active_driver_model(store)


def classify_clearings(
    store: WorkspaceStore,
    *,
    batch_ids: Sequence[int] | None = None,
    model: DriverModel | None = None,
) -> ClassifyResult:
    """Predict and store the likely driver of the clearings of ``batch_ids`` (all when None)."""
    from vigilancia.services.features import clearing_features

    ids, table = clearing_features(store, batch_ids=batch_ids)
    chosen = model or active_model(store)
    if len(ids) == 0:
        return ClassifyResult(0, chosen.version, {str(d): 0 for d in DRIVERS}, 0.0)
    preds = chosen.predict(table)
    drivers = [str(d) for d in preds.driver]
    with store.transaction() as conn:
        store.set_driver_predictions(
            conn,
            ids,
            drivers,
            preds.probability,
            [
                {str(d): round(float(p), 4) for d, p in zip(DRIVERS, row, strict=True) if p > 0}
                for row in preds.probabilities
            ],
            [
                [{"code": r.code, "params": dict(r.params)} for r in reasons]
                for reasons in preds.reasons
            ],
            preds.model_version,
        )
    counts = Counter(drivers)
    return ClassifyResult(
        clearings=len(ids),
        model_version=preds.model_version,
        by_driver={str(d): counts.get(str(d), 0) for d in DRIVERS},
        mean_completeness=float(np.mean(preds.completeness)),
    )
