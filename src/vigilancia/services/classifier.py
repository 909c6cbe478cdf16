"""The driver classifier's use cases: train, evaluate and report on the workspace's model.

:func:`train` (labels in the workspace, plus an optional label file imported
first; stores, activates and re-classifies the stored clearings),
:func:`evaluate` (against a label file or the stored labels, with a learning
curve) and :func:`classifier_status`. The model itself is
:class:`~vigilancia.services.gbm.GBMDriverModel`; which model predicts is
:func:`~vigilancia.services.driver_models.active_driver_model`. Features of stored
clearings come from :func:`vigilancia.services.features.clearing_features`; the chart
of an evaluation is drawn by :func:`vigilancia.reports.classifier_chart.render_chart`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.driver_metrics import DriverScores, score_predictions
from vigilancia.domain.driver_training import (
    MIN_LABELS,
    MIN_PER_CLASS,
    latest_labels,
    plan_training,
)
from vigilancia.domain.drivers import Driver, DriverModel
from vigilancia.errors import InputError, action
from vigilancia.i18n import _
from vigilancia.services.classify import classify_clearings
from vigilancia.services.driver_models import load_model, rules_model
from vigilancia.services.gbm import (
    KIND,
    CurvePoint,
    GBMParams,
    cross_validated_probabilities,
    fit_driver_model,
    label_error,
    learning_curve,
    library_versions,
    stratified_order,
    take_rows,
)

if TYPE_CHECKING:
    from vigilancia.io.store import WorkspaceStore

__all__ = [
    "CURVE_SIZES",
    "ClassifierStatus",
    "Evaluation",
    "TrainResult",
    "classifier_status",
    "evaluate",
    "train",
]


def _features_for(store: WorkspaceStore, ids: Sequence[int]) -> dict[str, NDArray[np.float64]]:
    """Feature table of the stored clearings ``ids``, rows in the order of ``ids``."""
    from vigilancia.services.features import clearing_features

    want = np.asarray(list(ids), dtype=np.int64)
    got_ids, table = clearing_features(store, clearing_ids=want)
    pos = {int(v): i for i, v in enumerate(np.asarray(got_ids, np.int64).tolist())}
    missing = [int(v) for v in want.tolist() if int(v) not in pos]
    if missing:  # labels cascade away with their clearings: this is a broken workspace
        raise ValueError(f"no features for clearings {missing[:5]}")
    rows = np.array([pos[int(v)] for v in want.tolist()], dtype=np.int64)
    return {k: np.asarray(v, np.float64)[rows] for k, v in table.items()}


def _stored_labels(store: WorkspaceStore) -> tuple[list[int], list[Driver]]:
    best = latest_labels(store.labels.list())
    ids = sorted(best)
    return ids, [best[i].driver for i in ids]


def _params_of(record: Any) -> GBMParams:
    """The hyper-parameters a stored model was trained with, as requested (``auto`` and
    ``None`` unresolved, so that a cross-validation fold resolves them for its own size)."""
    stored = dict(record.params or {})
    requested = stored.get("requested") or stored
    known = set(GBMParams.__dataclass_fields__)
    return GBMParams(**{k: v for k, v in requested.items() if k in known})


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` did.

    ``version`` of the now active model; ``reused`` when a model with the same
    version was already stored (it is re-activated, nothing added);
    ``n_labels`` labels learnt from, per driver in ``counts``; ``left_out``:
    drivers with too few labels to learn; ``metrics``: cross-validated scores
    (``method: "cross-validation"``); ``imported``: labels added from the
    file; ``reclassified``: stored clearings whose driver was predicted again
    with the new model.
    """

    version: str
    reused: bool
    n_labels: int
    counts: dict[str, int]
    left_out: dict[str, int]
    params: dict[str, Any]
    metrics: dict[str, Any]
    imported: int = 0
    reclassified: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["params"] = {k: v for k, v in self.params.items() if k != "clearing_ids"}
        return out


def train(
    store: WorkspaceStore,
    *,
    labels_path: str | Path | None = None,
    params: GBMParams | None = None,
    reclassify: bool = True,
) -> TrainResult:
    """Train on the workspace's labels (after importing ``labels_path`` if given), store, activate.

    Labels: one per clearing, the latest (see
    :func:`~vigilancia.domain.driver_training.latest_labels`). Raises
    :class:`InputError` when there are too few: no model is stored and the
    rules stay in charge (a label file given is still imported). The stored
    ``metrics`` are cross-validated. With ``reclassify`` every stored clearing
    is then predicted again by the new model
    (:func:`vigilancia.services.classify.classify_clearings`).
    """
    imported = 0
    if labels_path is not None:
        from vigilancia.services.labels import import_labels

        imported = import_labels(store, labels_path).added
    ids, y = _stored_labels(store)
    plan = plan_training(y)
    if not plan.ok:
        raise label_error(plan)
    table = _features_for(store, ids)
    model = fit_driver_model(table, y, params)
    counts = {d.value: plan.counts[d] for d in plan.drivers}
    left_out = {d.value: n for d, n in plan.left_out.items()}
    existing = {m.version: m for m in store.models.list()}
    reused = model.version in existing
    if reused:
        with store.transaction() as conn:
            store.models.activate(conn, model.version)
        rec = existing[model.version]
        saved_params, metrics = dict(rec.params), dict(rec.metrics)
    else:
        probs, scored = cross_validated_probabilities(table, y, params)
        truth = [d for d, s in zip(y, scored, strict=True) if s]
        metrics = {"method": "cross-validation",
                   **score_predictions(probs[scored], truth).to_dict()}
        saved_params = {
            **asdict(model.params),
            "requested": asdict(params or GBMParams()),
            "features": list(model.names),
            "classes": [c.value for c in model.classes],
            "counts": counts,
            "left_out": left_out,
            "versions": library_versions(),
            "clearing_ids": [i for i, d in zip(ids, y, strict=True) if d in plan.drivers],
        }
        with store.transaction() as conn:
            store.models.add(
                conn,
                version=model.version,
                kind=KIND,
                n_labels=model.n_labels,
                params=saved_params,
                metrics=metrics,
                blob=model.to_bytes(),
                activate=True,
            )
    reclassified = 0
    if reclassify:
        reclassified = classify_clearings(store, model=model).clearings
    return TrainResult(model.version, reused, model.n_labels, counts, left_out, saved_params,
                       metrics, imported, reclassified)


@dataclass(frozen=True)
class ClassifierStatus:
    """The active model (None: the rules), every stored model, and the labels per driver.

    ``labels``: labelled clearings per driver (latest label of each clearing);
    ``can_train``: whether they meet the minimum.
    """

    active: dict[str, Any] | None
    models: list[dict[str, Any]]
    labels: dict[str, int]
    labelled_clearings: int
    can_train: bool
    rules_version: str
    min_labels: int = MIN_LABELS
    min_per_class: int = MIN_PER_CLASS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _model_dict(rec: Any) -> dict[str, Any]:
    return {
        "version": rec.version,
        "kind": rec.kind,
        "created_at": rec.created_at.isoformat(timespec="seconds"),
        "n_labels": rec.n_labels,
        "active": rec.active,
        "params": {k: v for k, v in (rec.params or {}).items() if k != "clearing_ids"},
        "metrics": dict(rec.metrics or {}),
    }


def classifier_status(store: WorkspaceStore) -> ClassifierStatus:
    """What predicts drivers in this workspace, what it learnt from, and how well it does."""
    models = [_model_dict(m) for m in store.models.list()]
    active = next((m for m in models if m["active"]), None)
    _ids, y = _stored_labels(store)
    plan = plan_training(y)
    return ClassifierStatus(
        active=active,
        models=models,
        labels={d.value: n for d, n in plan.counts.items()},
        labelled_clearings=len(y),
        can_train=plan.ok,
        rules_version=rules_model().version,
    )


@dataclass(frozen=True)
class Evaluation:
    """Scores of the active model (or the rules) against labels.

    ``method``: ``"holdout"`` (labels from a file, predicted by the active
    model), ``"cross-validation"`` (the stored labels a trained model learnt
    from, each predicted by a model trained without it) or ``"direct"`` (the
    rules against the stored labels). ``in_training``: clearings of the label
    file that the active model learnt from (they make holdout scores
    optimistic). ``curve``: the learning curve (empty when the labels are too
    few).
    """

    model_version: str
    model_kind: str
    method: str
    labels_source: str
    scores: DriverScores
    in_training: int = 0
    curve: list[CurvePoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: model, method, scores (see ``DriverScores.to_dict``) and the curve."""
        return {
            "model_version": self.model_version,
            "model_kind": self.model_kind,
            "method": self.method,
            "labels_source": self.labels_source,
            "in_training": self.in_training,
            **self.scores.to_dict(),
            "learning_curve": [
                {
                    "labels": p.n_labels,
                    "precision": _round(p.scores.macro_precision),
                    "recall": _round(p.scores.macro_recall),
                    "f1": _round(p.scores.macro_f1),
                    "brier": _round(p.scores.brier),
                }
                for p in self.curve
            ],
        }


def _round(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 4)


#: Training sizes of the learning curve (those below the number of labels, then all of them).
CURVE_SIZES = (30, 50, 100, 200, 400, 800, 1600, 3200)


def evaluate(
    store: WorkspaceStore,
    labels_path: str | Path | None = None,
    *,
    curve: bool = True,
) -> Evaluation:
    """Score the active model (the rules when none) against labels.

    With ``labels_path`` the file's labels are read and matched to the stored
    clearings (not stored) and predicted by the active model: a holdout test
    when the file holds labels the model never saw (``in_training`` counts
    those it did). The learning curve then trains on the stored labels not in
    the file and scores on the file's. Without it the stored labels are used: a
    trained model is scored out-of-fold (5-fold cross-validation of the same
    training, so that no clearing is scored by a model that saw its label), the
    rules directly; the learning curve holds out a stratified quarter.
    """
    rec = store.models.active()
    if labels_path is not None:
        from vigilancia.services.labels import read_labels

        read = read_labels(store, labels_path)
        ids = [r.clearing_id for r in read.rows]
        y = [r.driver for r in read.rows]
        source = str(labels_path)
    else:
        ids, y = _stored_labels(store)
        source = "workspace"
    if not ids:
        raise InputError(
            _("there are no labels to evaluate against"),
            hint=_("import labels, or give a file of labels"),
            source=source,
            inputs="labels_path",
            actions=action("labels.import"),
        )
    table = _features_for(store, ids)
    params = GBMParams()
    in_training = 0
    model: DriverModel
    if rec is not None and rec.blob is not None:
        model = load_model(rec.kind, rec.blob)
        kind = rec.kind
        params = _params_of(rec)
        # (the ids it learnt from, as they are now: a later download may have merged some)
        trained_on = set(store.series.resolve(
            [int(v) for v in rec.params.get("clearing_ids", [])]).tolist())
        in_training = len(trained_on & set(ids)) if labels_path is not None else 0
    else:
        model = rules_model()
        kind = "rules"
    if labels_path is None and kind != "rules":
        if not plan_training(y).ok:
            raise label_error(plan_training(y))
        probs, scored = cross_validated_probabilities(table, y, params)
        scores = score_predictions(probs[scored], [d for d, s in zip(y, scored, strict=True) if s])
        method = "cross-validation"
    else:
        scores = score_predictions(model.predict(table).probabilities, y)
        method = "holdout" if labels_path is not None else "direct"
    points: list[CurvePoint] = []
    if curve:
        points = _curve_for(store, ids, y, table, labels_path is not None, params)
    return Evaluation(model.version, kind, method, source, scores, in_training, points)


def _curve_for(
    store: WorkspaceStore,
    ids: Sequence[int],
    y: Sequence[Driver],
    table: dict[str, NDArray[np.float64]],
    holdout: bool,
    params: GBMParams,
) -> list[CurvePoint]:
    if holdout:
        stored_ids, stored_y = _stored_labels(store)
        test_ids = set(ids)
        pool = [(i, d) for i, d in zip(stored_ids, stored_y, strict=True) if i not in test_ids]
        train_y = [d for _i, d in pool]
        if not plan_training(train_y).ok:
            return []
        train_x = _features_for(store, [i for i, _d in pool])
        test_x, test_y = table, list(y)
    else:
        order = stratified_order(list(y), seed=0)
        cut = len(order) // 4
        train_rows = order[cut:]
        test_rows = np.sort(order[:cut])
        train_y = [y[i] for i in train_rows]
        if cut == 0 or not plan_training(train_y).ok:
            return []
        train_x, test_x = take_rows(table, train_rows), take_rows(table, test_rows)
        test_y = [y[i] for i in test_rows]
    sizes = [s for s in CURVE_SIZES if s < len(train_y)] + [len(train_y)]
    return learning_curve(train_x, train_y, test_x, test_y, sizes, params=params)
