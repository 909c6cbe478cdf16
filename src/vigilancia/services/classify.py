"""The likely driver of stored clearings: features, model, predictions written back.

:func:`classify_clearings` computes the feature table of the chosen clearings
(:func:`vigilancia.services.features.iter_feature_parts`), predicts with the
workspace's active trained model, or with the transparent rules when none has
been trained, and stores every clearing's driver, its probability, all drivers'
probabilities, the reasons and the model version in one transaction. Running it
again replaces the predictions (e.g. after training a better model).

Where a context layer does not cover a clearing, the reasons end with a note
that says so (:func:`~vigilancia.domain.drivers.note_coverage`).

Runways: alerts seldom show a runway whole, so its clearings one by one look
like short strips or patches. In the same transaction the patches that line up
are joined into runway candidates
(:func:`~vigilancia.domain.airstrips.runway_candidates`; :class:`RunwayCollector`),
and each candidate is scored as a whole by the transparent rules (whose strip,
branch and known-airstrip terms were written for runways; a trained model learns
from single clearings). The clearings of a candidate are then judged with it
(:func:`store_runway_drivers`): each takes the candidate's prediction (driver,
probabilities, a reason naming the strip they are part of, then the candidate's
reasons, and the rules' version). So the clearings of a *likely* runway (airstrip
its most likely driver) are airstrips, and a straight piece of a branching track,
which the whole candidate shows to be a track, is not called an airstrip on its
own. Members from other batches (a runway cleared over several weeks) are updated
too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from vigilancia.domain.airstrips import RunwayCandidate
from vigilancia.domain.drivers import (
    DRIVERS,
    Driver,
    DriverModel,
    DriverPredictions,
    Reason,
    note_coverage,
)
from vigilancia.io.store import WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.driver_models import active_driver_model, rules_model

if TYPE_CHECKING:
    from vigilancia.services.features import RunwayPart

__all__ = [
    "CLASSIFY_STAGE",
    "ClassifyResult",
    "RunwayCollector",
    "classify_clearings",
    "store_runway_drivers",
]

#: The stage of :func:`classify_clearings`'s progress.
CLASSIFY_STAGE = "classify"

_AIRSTRIP = DRIVERS.index(Driver.AIRSTRIP)


@dataclass(frozen=True)
class ClassifyResult:
    """What one classification run wrote: clearings, model and clearings per driver.

    ``runways``: likely runway candidates found; ``runway_clearings``: clearings
    (of any batch) that took the airstrip driver from one of them.
    """

    clearings: int
    model_version: str
    by_driver: dict[str, int]
    mean_completeness: float
    runways: int = 0
    runway_clearings: int = 0

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
            "runways": self.runways,
            "runway_clearings": self.runway_clearings,
        }


class RunwayCollector:
    """Runway candidates gathered over the parts of one run, each clearing in one at most.

    :meth:`add` takes a part's :class:`~vigilancia.services.features.RunwayPart`;
    a candidate that shares a clearing with one taken before is left out (the
    parts overlap at their edges). :meth:`predict` scores them all with the
    rules, with the coverage notes.
    """

    def __init__(self) -> None:
        self.candidates: list[RunwayCandidate] = []
        self.crs: list[Any] = []
        self._tables: list[dict[str, NDArray[np.float64]]] = []
        self._uncovered: list[dict[str, NDArray[np.bool_]]] = []
        self._taken: set[int] = set()

    def __len__(self) -> int:
        return len(self.candidates)

    def add(self, part: RunwayPart | None) -> None:
        if part is None or not part.candidates:
            return
        keep = []
        for k, cand in enumerate(part.candidates):
            if self._taken.isdisjoint(cand.members):
                self._taken.update(cand.members)
                keep.append(k)
        if not keep:
            return
        rows = np.asarray(keep, np.int64)
        self.candidates.extend(part.candidates[k] for k in keep)
        self.crs.extend([part.crs] * len(keep))
        self._tables.append({name: col[rows] for name, col in part.table.items()})
        self._uncovered.append({kind: flags[rows] for kind, flags in part.uncovered.items()})

    def table(self) -> dict[str, NDArray[np.float64]]:
        """The candidates' feature table (one row per candidate, in :attr:`candidates` order)."""
        from vigilancia.domain.airstrips import candidate_features

        if not self._tables:
            return candidate_features([])
        return {name: np.concatenate([t[name] for t in self._tables]) for name in self._tables[0]}

    def uncovered(self) -> dict[str, NDArray[np.bool_]]:
        """Per layer kind, whether each candidate lies outside its coverage."""
        kinds = dict.fromkeys(k for u in self._uncovered for k in u)
        return {k: np.concatenate([u.get(k, np.zeros(len(t["area_ha"]), bool))
                                   for u, t in zip(self._uncovered, self._tables, strict=True)])
                for k in kinds}

    def predict(self) -> DriverPredictions:
        """The rules' prediction for each candidate, with the coverage notes."""
        return note_coverage(rules_model().predict(self.table()), self.uncovered())


def likely_runways(predictions: DriverPredictions) -> NDArray[np.bool_]:
    """Which candidates are likely runways: airstrip is their most likely driver."""
    if not len(predictions):
        return np.zeros(0, bool)
    return np.asarray(np.argmax(predictions.probabilities, axis=1) == _AIRSTRIP)


def store_runway_drivers(
    store: WorkspaceStore, conn: Any, found: RunwayCollector, predictions: DriverPredictions
) -> dict[int, str]:
    """Give the clearings of each candidate the candidate's prediction; returns the driver
    each clearing took, by id.

    The reasons start with ``Reason("runway_candidate", {"count", "length_m"})``
    when the candidate joins several clearings, then the candidate's own.
    """
    ids: list[int] = []
    drivers: list[str] = []
    probs: list[dict[str, float]] = []
    reasons: list[list[dict[str, Any]]] = []
    best: list[float] = []
    winners = [str(d) for d in predictions.driver]
    for k, cand in enumerate(found.candidates):
        row = np.round(predictions.probabilities[k], 4).tolist()
        prob = {str(d): v for d, v in zip(DRIVERS, row, strict=True) if v > 0}
        why = list(predictions.reasons[k])
        if len(cand.members) > 1:
            why.insert(0, Reason("runway_candidate", {"count": float(len(cand.members)),
                                                      "length_m": float(round(cand.length_m))}))
        coded = [{"code": r.code, "params": dict(r.params)} for r in why]
        for member in cand.members:
            ids.append(int(member))
            drivers.append(winners[k])
            probs.append(prob)
            reasons.append(coded)
            best.append(float(predictions.probability[k]))
    if ids:
        store.clearings.set_drivers(conn, np.asarray(ids, np.int64), drivers, np.asarray(best),
                                    probs, reasons, predictions.model_version)
    return dict(zip(ids, drivers, strict=True))


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
    (:func:`~vigilancia.services.features.iter_feature_parts`), so memory
    stays bounded; then the clearings of runway candidates take their
    candidate's prediction (see the module docstring). Everything is written
    in one transaction (all or nothing). ``progress("classify", done, total)``
    is called after each part; ``then(conn)`` runs last in the same transaction
    (what must commit with the predictions, e.g. the monitor's record that the
    step finished).
    """
    from vigilancia.services.features import iter_feature_parts

    chosen = model or active_driver_model(store)
    names = [str(d) for d in DRIVERS]
    counts: Counter[str] = Counter()
    done = 0
    completeness = 0.0
    found = RunwayCollector()
    with store.transaction() as conn:
        tick = progress or no_progress
        parts = iter_feature_parts(
            store, batch_ids=batch_ids, conn=conn, runways=True,
            progress=lambda _stage, done, total: tick(CLASSIFY_STAGE, done, total),
        )
        for part in parts:
            preds = note_coverage(chosen.predict(part.table), part.uncovered)
            drivers = [str(d) for d in preds.driver]
            rounded = np.round(preds.probabilities, 4).tolist()
            positive = (preds.probabilities > 0).tolist()
            store.clearings.set_drivers(
                conn,
                part.ids,
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
            done += len(part.ids)
            found.add(part.runways)
        runways = found.predict()
        before = _classified_drivers(store, conn, found, batch_ids)
        after = store_runway_drivers(store, conn, found, runways)
        if then is not None:
            then(conn)
    for cid, driver in before.items():  # the classified clearings that took their strip's
        counts[driver] -= 1
        counts[after[cid]] += 1
    return ClassifyResult(
        clearings=done,
        model_version=chosen.version,
        by_driver={d: counts.get(d, 0) for d in names},
        mean_completeness=completeness / done if done else 0.0,
        runways=int(likely_runways(runways).sum()),
        runway_clearings=sum(d == Driver.AIRSTRIP.value for d in after.values()),
    )


def _classified_drivers(
    store: WorkspaceStore, conn: Any, found: RunwayCollector, batch_ids: Sequence[int] | None
) -> dict[int, str]:
    """The drivers just predicted for the classified clearings (of ``batch_ids``) that are
    members of a candidate, by id."""
    ids = [m for cand in found.candidates for m in cand.members]
    if not ids:
        return {}
    cols = store.clearings.columns(clearing_ids=ids, conn=conn)
    chosen = np.ones(len(cols), bool) if batch_ids is None else np.isin(
        cols.batch_id, np.asarray(list(batch_ids), np.int64))
    return {int(i): str(d) for i, d in zip(cols.id[chosen].tolist(),
                                           cols.driver[chosen].tolist(), strict=True)
            if d is not None}
