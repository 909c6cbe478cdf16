"""The trainable driver model: gradient boosting with calibrated probabilities, and its use cases.

The model
---------
:class:`GBMDriverModel` is scikit-learn's ``HistGradientBoostingClassifier``
(which treats NaN, i.e. a context layer that was never imported, as its own
branch of every split) inside ``CalibratedClassifierCV``: the boosted trees are
fit on all labels, and a calibrator maps their scores to probabilities, fit on
5-fold out-of-fold scores (stratified, seeded). Below :data:`ISOTONIC_MIN_LABELS`
labels the calibrator is temperature scaling (one parameter for all drivers),
from there isotonic regression (scikit-learn advises isotonic only with about a
thousand labels or more). Temperature replaced the one-vs-rest sigmoid on
measurement: on the synthetic set of ``bench/driver_labels.py`` (held-out 2,000
clearings) it gave Brier 0.308 against 0.353 with 100 labels and 0.206 against
0.210 with 400, with equal precision and recall; isotonic gave the best
calibration error from 1,600 labels (ECE 0.020 against 0.050).

Every step is seeded, so the same labels and features give the same model and
the same :attr:`~GBMDriverModel.version`: ``gbm-`` and 12 hex digits of the
SHA-256 of the feature names, the feature values, the labels, the parameters and
the versions of scikit-learn and numpy.

It implements :class:`~vigilancia.domain.drivers.DriverModel`: probabilities in
:data:`~vigilancia.domain.drivers.DRIVERS` order (drivers it never learnt get 0),
``completeness`` = share of all :data:`~vigilancia.domain.drivers.FEATURES` that are
known (non-NaN; a workspace without a river layer never reaches 1), and
two or three reasons per clearing, ``Reason("feature", {"name", "value",
"typical"})``, chosen by contrast with the class medians weighted by permutation
importance (:class:`~vigilancia.domain.driver_training.ReasonProfile`).
Features known for fewer than :data:`MIN_KNOWN` training clearings are left out
of the model.

Too few labels (:func:`~vigilancia.domain.driver_training.plan_training`:
fewer than 30 usable, or fewer than two drivers with 5 each) and training is
refused with an :class:`~vigilancia.errors.InputError`; the workspace keeps
predicting with the rules (``MODELS["rules"]``).

Persistence
-----------
A trained model is stored in the workspace (``classifier_models``): version,
kind ``"gbm"``, labels, parameters, cross-validated metrics and the model itself
serialised with ``skops.io`` (no pickle). Loading accepts only the types of
:data:`TRUSTED_TYPES` (scikit-learn's calibration, boosting and isotonic
classes); bytes that hold anything else are refused, so a tampered workspace
cannot run code. One model is active at a time; :func:`active_driver_model`
returns it, or the rules when there is none.

Use cases
---------
:func:`train` (labels in the workspace, plus an optional label file imported
first; stores, activates and re-classifies the stored clearings),
:func:`evaluate` (against a label file or the stored labels, with a learning
curve) and :func:`classifier_status`. Features of stored clearings come from
:func:`vigilancia.services.features.clearing_features`; the chart is drawn by
:mod:`vigilancia.services.classifier_chart`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.driver_metrics import DriverScores, score_predictions
from vigilancia.domain.driver_training import (
    MIN_LABELS,
    MIN_PER_CLASS,
    LabelPlan,
    ReasonProfile,
    latest_labels,
    plan_training,
)
from vigilancia.domain.drivers import (
    DRIVERS,
    FEATURES,
    MODELS,
    Driver,
    DriverModel,
    DriverPredictions,
    FeatureTable,
    register_model,
)
from vigilancia.errors import InputError, StoreError, action
from vigilancia.i18n import _

if TYPE_CHECKING:
    from vigilancia.io.store import WorkspaceStore

__all__ = [
    "ISOTONIC_MIN_LABELS",
    "KIND",
    "TRUSTED_TYPES",
    "ClassifierStatus",
    "CurvePoint",
    "Evaluation",
    "GBMDriverModel",
    "GBMParams",
    "TrainResult",
    "active_driver_model",
    "classifier_status",
    "cross_validated_probabilities",
    "evaluate",
    "fit_driver_model",
    "learning_curve",
    "stratified_order",
    "train",
]

#: ``classifier_models.kind`` of this model.
KIND = "gbm"
#: Labels from which the calibration is isotonic (below: sigmoid, which needs less data).
ISOTONIC_MIN_LABELS = 1000
#: Fewest training clearings for which a feature must be known for the model to use it:
#: rarer ones teach nothing, and scikit-learn 1.9 fails on a column that is entirely
#: unknown in a calibration fold.
MIN_KNOWN = 20
#: Version of the stored layout (the dict serialised with skops).
FORMAT = 1
#: Types :func:`GBMDriverModel.from_bytes` lets skops build, beyond skops's own defaults.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.model_selection._split.StratifiedKFold",
)

# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class GBMParams:
    """Hyper-parameters of the boosted trees and their calibration (all recorded with the model).

    ``min_samples_leaf=None`` takes ``n_labels // 25`` clipped to 5-20, so that
    30 labels still make trees of a few leaves. ``calibration="auto"`` is
    temperature scaling below :data:`ISOTONIC_MIN_LABELS` labels and isotonic
    from there (``"sigmoid"``, one-vs-rest Platt scaling, can be chosen).
    """

    learning_rate: float = 0.15
    max_iter: int = 60
    max_leaf_nodes: int = 15
    min_samples_leaf: int | None = None
    l2_regularization: float = 1.0
    calibration: str = "auto"
    folds: int = 5
    seed: int = 0
    importance_repeats: int = 3

    def resolved(self, n_labels: int) -> GBMParams:
        """These parameters with ``auto``/``None`` replaced by what ``n_labels`` labels get."""
        leaf = self.min_samples_leaf
        if leaf is None:
            leaf = int(min(20, max(5, n_labels // 25)))
        method = self.calibration
        if method == "auto":
            method = "isotonic" if n_labels >= ISOTONIC_MIN_LABELS else "temperature"
        if method not in ("sigmoid", "isotonic", "temperature"):
            raise ValueError(f"calibration must be auto, sigmoid or isotonic, not {method!r}")
        return GBMParams(
            self.learning_rate, self.max_iter, self.max_leaf_nodes, leaf,
            self.l2_regularization, method, self.folds, self.seed, self.importance_repeats,
        )


def _matrix(features: FeatureTable, names: Sequence[str]) -> NDArray[np.float64]:
    """(n, F) float64 in ``names`` order; a column missing from the table is all NaN."""
    n = _table_len(features)
    x = np.full((n, len(names)), np.nan)
    for j, name in enumerate(names):
        if name in features:
            col = np.asarray(features[name], np.float64)
            if len(col) != n:
                raise ValueError(f"feature {name!r} has {len(col)} values, not {n}")
            x[:, j] = col
    x[~np.isfinite(x)] = np.nan  # inf (a distance to nothing) is unknown too
    return x


def _completeness(features: FeatureTable, n: int) -> NDArray[np.float64]:
    """Share of the :data:`FEATURES` known (finite) for each clearing: 1 with every layer."""
    known = np.zeros(n)
    for name in FEATURES:
        if name in features:
            known += np.isfinite(np.asarray(features[name], np.float64))
    return np.asarray(known / len(FEATURES), np.float64)


def _table_len(features: FeatureTable) -> int:
    lengths = {len(v) for v in features.values()}
    if len(lengths) > 1:
        raise ValueError(f"feature columns of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _versions() -> dict[str, str]:
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__}


def model_version(
    names: Sequence[str], x: NDArray[np.float64], labels: Sequence[Driver], params: GBMParams
) -> str:
    """``gbm-`` + 12 hex digits identifying what a training run learns from and with."""
    h = hashlib.sha256()
    canon = np.ascontiguousarray(np.where(np.isnan(x), np.nan, x), dtype="<f8")
    head = {
        "format": FORMAT,
        "features": list(names),
        "labels": [Driver(v).value for v in labels],
        "params": asdict(params),
        "versions": _versions(),
    }
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(canon.tobytes())
    return f"{KIND}-{h.hexdigest()[:12]}"


class GBMDriverModel:
    """A trained driver model (see the module docstring). Build it with :func:`fit_driver_model`.

    >>> import sys; sys.path.insert(0, "bench")  # doctest: +SKIP
    >>> from driver_labels import generate  # doctest: +SKIP
    >>> table, labels, _ = generate(300, seed=1)  # doctest: +SKIP
    >>> model = fit_driver_model(table, labels)  # doctest: +SKIP
    >>> model.predict(table).driver[:3]  # doctest: +SKIP
    """

    kind = KIND

    def __init__(
        self,
        estimator: Any,
        names: Sequence[str],
        classes: Sequence[Driver],
        profile: ReasonProfile,
        version: str,
        params: GBMParams,
        n_labels: int,
    ) -> None:
        self.estimator = estimator
        self.names = tuple(names)
        self.classes = tuple(Driver(c) for c in classes)
        self.profile = profile
        self.version = version
        self.params = params
        self.n_labels = int(n_labels)
        self._columns = np.array([DRIVERS.index(c) for c in self.classes], dtype=np.int64)

    def predict_proba(self, features: FeatureTable) -> NDArray[np.float64]:
        """(n, len(DRIVERS)) probabilities; drivers the model never learnt get 0."""
        return self._proba(_matrix(features, self.names))

    def _proba(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros((len(x), len(DRIVERS)))
        if len(x):
            order = [list(self.estimator.classes_).index(c.value) for c in self.classes]
            with _one_thread():
                p = np.asarray(self.estimator.predict_proba(x), np.float64)[:, order]
            out[:, self._columns] = p / p.sum(axis=1, keepdims=True)
        return out

    def predict(self, features: FeatureTable) -> DriverPredictions:
        x = _matrix(features, self.names)
        probs = self._proba(x)
        reasons = self.profile.reasons(x, probs[:, self._columns])
        return DriverPredictions(probs, reasons, _completeness(features, len(x)), self.version)

    # -------------------------------------------------------------- storage

    def to_bytes(self) -> bytes:
        """The model as skops bytes (zip, deflated): no pickle."""
        import skops.io as sio

        state = {
            "format": FORMAT,
            "kind": KIND,
            "version": self.version,
            "estimator": self.estimator,
            "names": list(self.names),
            "classes": [c.value for c in self.classes],
            "profile": self.profile.to_state(),
            "params": asdict(self.params),
            "n_labels": self.n_labels,
        }
        return bytes(sio.dumps(state, compression=zipfile.ZIP_DEFLATED))

    @classmethod
    def from_bytes(cls, blob: bytes, *, source: str = "classifier_models") -> GBMDriverModel:
        """Load bytes written by :meth:`to_bytes`, building only :data:`TRUSTED_TYPES`.

        Raises :class:`StoreError` when the bytes are not a model of this kind
        or hold any other type.
        """
        import skops.io as sio

        try:
            untrusted = set(sio.get_untrusted_types(data=blob))
        except Exception as exc:  # noqa: BLE001 (skops raises many kinds on bad bytes)
            raise _bad_model(source) from exc
        extra = sorted(untrusted - set(TRUSTED_TYPES))
        if extra:
            raise StoreError(
                _("the stored model holds types vigilancia does not trust: {types}",
                  types=", ".join(extra[:5])),
                hint=_("train the model again"),
                source=source,
                actions=action("classifier.train"),
            )
        try:
            state = sio.loads(blob, trusted=sorted(untrusted))
        except Exception as exc:  # noqa: BLE001
            raise _bad_model(source) from exc
        if not isinstance(state, dict) or state.get("kind") != KIND or state.get(
            "format"
        ) != FORMAT:
            raise _bad_model(source)
        params = GBMParams(**state["params"])
        return cls(
            state["estimator"],
            state["names"],
            state["classes"],
            ReasonProfile.from_state(state["profile"]),
            str(state["version"]),
            params,
            int(state["n_labels"]),
        )


def _bad_model(source: str) -> StoreError:
    return StoreError(
        _("the stored model could not be read"),
        hint=_("train the model again"),
        source=source,
        actions=action("classifier.train"),
    )


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run scikit-learn's OpenMP loops on one thread.

    The boosting loops start a thread team per tree; with a few hundred labels
    the work per tree is tiny, and on a laptop whose cores are busy the teams
    wait on each other: one fit measured 14 s with 2 threads against 0.7 s with
    one (400 labels, 2 shared cores).
    """
    import sklearn.ensemble  # noqa: F401 (loads the OpenMP runtime the limit applies to)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


#: Rows at most used to measure permutation importance (a seeded sample above it).
IMPORTANCE_ROWS = 2000


def _permutation_importance(
    est: Any, x: NDArray[np.float64], y: NDArray[np.object_], repeats: int, seed: int
) -> NDArray[np.float64]:
    """Mean rise in log loss when each feature's column is shuffled (``repeats`` times).

    The same measure as ``sklearn.inspection.permutation_importance`` with
    ``scoring="neg_log_loss"``, computed with one prediction over every shuffled
    copy stacked (one call instead of features x repeats).
    """
    rng = np.random.default_rng(seed)
    n, n_feat = x.shape
    if n > IMPORTANCE_ROWS:
        keep = np.sort(rng.choice(n, IMPORTANCE_ROWS, replace=False))
        x, y, n = x[keep], y[keep], IMPORTANCE_ROWS
    truth = np.searchsorted(np.asarray(est.classes_, dtype=object), y)
    copies = np.repeat(x[None, :, :], n_feat * repeats, axis=0)  # (F*R, n, F)
    for j in range(n_feat):
        for r in range(repeats):
            copies[j * repeats + r, :, j] = x[rng.permutation(n), j]
    stacked = np.concatenate([x[None], copies]).reshape(-1, n_feat)
    p = np.asarray(est.predict_proba(stacked), np.float64)
    right = p[np.arange(len(p)), np.tile(truth, n_feat * repeats + 1)]
    loss = -np.log(np.clip(right, 1e-15, 1.0)).reshape(n_feat * repeats + 1, n).mean(axis=1)
    return np.asarray((loss[1:].reshape(n_feat, repeats).mean(axis=1) - loss[0]), np.float64)


def _estimator(params: GBMParams) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    base = HistGradientBoostingClassifier(
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf or 20,
        l2_regularization=params.l2_regularization,
        early_stopping=False,
        random_state=params.seed,
    )
    folds = StratifiedKFold(n_splits=params.folds, shuffle=True, random_state=params.seed)
    return CalibratedClassifierCV(base, method=params.calibration, cv=folds, ensemble=False)


def _label_error(plan: LabelPlan) -> InputError:
    from vigilancia.services.driver_text import driver_name

    counts = ", ".join(f"{driver_name(d)} {n}" for d, n in plan.counts.items() if n) or "0"
    if plan.problem == "too_few_classes":
        msg = _(
            "too few labels to train: at least 2 drivers need {k} labels each "
            "(labels per driver: {counts})",
            k=MIN_PER_CLASS,
            counts=counts,
        )
    else:
        msg = _(
            "too few labels to train: {n} usable, at least {m} are needed "
            "(labels per driver: {counts})",
            n=plan.usable,
            m=MIN_LABELS,
            counts=counts,
        )
    return InputError(
        msg,
        hint=_("predictions stay with the rules model; import more labels, or add patrol "
               "verdicts"),
        actions=action("labels.import"),
    )


def fit_driver_model(
    features: FeatureTable,
    labels: Sequence[Driver | str],
    params: GBMParams | None = None,
) -> GBMDriverModel:
    """Train on a feature table and one driver per row (see the module docstring).

    Drivers with fewer than :data:`MIN_PER_CLASS` labels are left out (the model
    gives them probability 0). Raises :class:`InputError` when the labels do not
    meet the minimum (:func:`~vigilancia.domain.driver_training.plan_training`).
    """
    y_all = [Driver(v) for v in labels]
    n = _table_len(features)
    if len(y_all) != n:
        raise ValueError(f"{len(y_all)} labels for {n} rows of features")
    plan = plan_training(y_all)
    if not plan.ok:
        raise _label_error(plan)
    keep = np.array([d in plan.drivers for d in y_all], dtype=bool)
    x_all = _matrix(features, FEATURES)[keep]
    known = (~np.isnan(x_all)).sum(axis=0)
    names = tuple(f for f, k in zip(FEATURES, known, strict=True) if k >= MIN_KNOWN)
    x = x_all[:, known >= MIN_KNOWN]
    y = [d for d, k in zip(y_all, keep, strict=True) if k]
    p = (params or GBMParams()).resolved(len(y))
    est = _estimator(p)
    y_arr = np.array([d.value for d in y], dtype=object)
    with _one_thread():
        est.fit(x, y_arr)
        imp = _permutation_importance(est, x, y_arr, p.importance_repeats, p.seed)
    classes = [d for d in DRIVERS if d in plan.drivers]
    profile = ReasonProfile.fit(names, x, y, classes, np.asarray(imp, np.float64))
    version = model_version(names, x, y, p)
    return GBMDriverModel(est, names, classes, profile, version, p, len(y))


def cross_validated_probabilities(
    features: FeatureTable,
    labels: Sequence[Driver | str],
    params: GBMParams | None = None,
    *,
    folds: int = 5,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Out-of-fold probabilities (n, len(DRIVERS)) of the whole training procedure.

    Each fold's rows are predicted by a model trained (with calibration) on the
    other folds, so the scores say how the model does on clearings it has not
    seen. Rows of drivers with too few labels to learn are predicted too (they
    count against the model, which gives their driver probability 0). Returns
    the probabilities and a mask of the rows scored (all, unless a fold's
    training part falls below the minimum).
    """
    import warnings

    from sklearn.model_selection import StratifiedKFold

    y = [Driver(v) for v in labels]
    n = len(y)
    plan = plan_training(y)
    if not plan.ok:
        raise _label_error(plan)
    p = params or GBMParams()
    # drivers too rare to learn share one stratum, so that the folds stay stratified
    strata = np.array([d.value if d in plan.drivers else "" for d in y], dtype=object)
    probs = np.zeros((n, len(DRIVERS)))
    scored = np.zeros(n, dtype=bool)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=p.seed)
    with warnings.catch_warnings():  # a rare stratum may have fewer rows than folds
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(n), strata))
    for tr, te in splits:
        if not plan_training([y[i] for i in tr]).ok:
            continue
        model = fit_driver_model(_take(features, tr), [y[i] for i in tr], p)
        probs[te] = model.predict_proba(_take(features, te))
        scored[te] = True
    return probs, scored


def _take(features: FeatureTable, rows: NDArray[np.int64]) -> dict[str, NDArray[np.float64]]:
    return {k: np.asarray(v, np.float64)[rows] for k, v in features.items()}


@dataclass(frozen=True)
class CurvePoint:
    """Scores on the held-out set of a model trained on the first ``n_labels`` labels."""

    n_labels: int
    scores: DriverScores


def learning_curve(
    train_features: FeatureTable,
    train_labels: Sequence[Driver | str],
    test_features: FeatureTable,
    test_labels: Sequence[Driver | str],
    sizes: Sequence[int],
    *,
    params: GBMParams | None = None,
    seed: int = 0,
) -> list[CurvePoint]:
    """How the model improves as labels accumulate: train on growing subsets, score on a test set.

    The training labels are shuffled once (seeded, stratified so that every
    prefix keeps the drivers' shares); the model of size ``s`` learns from the
    first ``s``. Sizes larger than the pool, or too small for the minimum, are
    skipped.
    """
    y = [Driver(v) for v in train_labels]
    order = stratified_order(y, seed)
    out = []
    for s in sorted(set(int(v) for v in sizes)):
        if s > len(y):
            continue
        rows = order[:s]
        sub_y = [y[i] for i in rows]
        if not plan_training(sub_y).ok:
            continue
        model = fit_driver_model(_take(train_features, rows), sub_y, params)
        out.append(CurvePoint(s, score_predictions(model.predict_proba(test_features),
                                                   list(test_labels))))
    return out


def stratified_order(y: Sequence[Driver], seed: int) -> NDArray[np.int64]:
    """A shuffle of ``range(len(y))`` whose every prefix holds each driver in proportion."""
    rng = np.random.default_rng(seed)
    keys = np.empty(len(y))
    for d in set(y):
        rows = np.flatnonzero(np.array([v == d for v in y]))
        rng.shuffle(rows)
        # spread each driver's rows evenly over (0, 1): prefixes keep the shares
        keys[rows] = (np.arange(len(rows)) + rng.uniform(0.0, 1.0)) / len(rows)
    return np.argsort(keys, kind="stable").astype(np.int64)


def _metrics_dict(scores: DriverScores, *, method: str) -> dict[str, Any]:
    return {"method": method, **scores.to_dict()}


def _rules_model() -> DriverModel:
    """The transparent rules model from the registry (registered by ``domain.rules``)."""
    if "rules" not in MODELS:
        import vigilancia.domain.rules  # noqa: F401 (registers "rules")
    return MODELS["rules"]()


def _load_gbm(blob: bytes) -> GBMDriverModel:
    return GBMDriverModel.from_bytes(blob)


if KIND not in MODELS:
    register_model(KIND, _load_gbm)


# ----------------------------------------------------------------- use cases


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
    best = latest_labels(store.labels())
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
        raise _label_error(plan)
    table = _features_for(store, ids)
    model = fit_driver_model(table, y, params)
    counts = {d.value: plan.counts[d] for d in plan.drivers}
    left_out = {d.value: n for d, n in plan.left_out.items()}
    existing = {m.version: m for m in store.list_models()}
    reused = model.version in existing
    if reused:
        with store.transaction() as conn:
            store.activate_model(conn, model.version)
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
            "versions": _versions(),
            "clearing_ids": [i for i, d in zip(ids, y, strict=True) if d in plan.drivers],
        }
        with store.transaction() as conn:
            store.save_model(
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
        from vigilancia.services.classify import classify_clearings

        reclassified = classify_clearings(store, model=model).clearings
    return TrainResult(model.version, reused, model.n_labels, counts, left_out, saved_params,
                       metrics, imported, reclassified)


def active_driver_model(store: WorkspaceStore) -> DriverModel:
    """The workspace's active trained model, or the rules model when none is active."""
    rec = store.active_model()
    if rec is None or rec.blob is None:
        return _rules_model()
    return MODELS[rec.kind](rec.blob)


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
    models = [_model_dict(m) for m in store.list_models()]
    active = next((m for m in models if m["active"]), None)
    _ids, y = _stored_labels(store)
    plan = plan_training(y)
    return ClassifierStatus(
        active=active,
        models=models,
        labels={d.value: n for d, n in plan.counts.items()},
        labelled_clearings=len(y),
        can_train=plan.ok,
        rules_version=_rules_model().version,
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
    rec = store.active_model()
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
        model = MODELS[rec.kind](rec.blob)
        kind = rec.kind
        params = _params_of(rec)
        trained_on = {int(v) for v in rec.params.get("clearing_ids", [])}
        in_training = len(trained_on & set(ids)) if labels_path is not None else 0
    else:
        model = _rules_model()
        kind = "rules"
    if labels_path is None and kind != "rules":
        if not plan_training(y).ok:
            raise _label_error(plan_training(y))
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
        train_x, test_x = _take(table, train_rows), _take(table, test_rows)
        test_y = [y[i] for i in test_rows]
    sizes = [s for s in CURVE_SIZES if s < len(train_y)] + [len(train_y)]
    return learning_curve(train_x, train_y, test_x, test_y, sizes, params=params)
