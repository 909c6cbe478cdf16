"""The trainable driver model: gradient boosting with calibrated probabilities.

The model
---------
:class:`GBMDriverModel` is scikit-learn's ``HistGradientBoostingClassifier``
(which treats NaN, i.e. a context layer that was never imported or that does
not cover the clearing, as its own branch of every split) inside
``CalibratedClassifierCV``: the boosted trees are fit on all labels, and a
calibrator maps their scores to probabilities, fit on 5-fold out-of-fold scores
(stratified, seeded). Below :data:`ISOTONIC_MIN_LABELS`
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
predicting with the rules (:func:`vigilancia.services.driver_models.rules_model`).

Persistence
-----------
A trained model is stored in the workspace (``classifier_models``): version,
kind ``"gbm"``, labels, parameters, cross-validated metrics and the model itself
serialised with ``skops.io`` (no pickle). Loading accepts only the types of
:data:`TRUSTED_TYPES` (scikit-learn's calibration, boosting and isotonic
classes); bytes that hold anything else are refused, so a tampered workspace
cannot run code. The model is the built-in kind :data:`KIND` of the registry
of :mod:`vigilancia.domain.drivers`, registered by
:func:`vigilancia.services.driver_models.register_builtin_models`, which loads
stored models by kind. One model is active at a time;
:func:`vigilancia.services.driver_models.active_driver_model` returns it, or the
rules when there is none.

The use cases (train, evaluate, status) are in :mod:`vigilancia.services.classifier`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.domain.driver_metrics import DriverScores, score_predictions
from vigilancia.domain.driver_training import (
    MIN_LABELS,
    MIN_PER_CLASS,
    LabelPlan,
    ReasonProfile,
    plan_training,
)
from vigilancia.domain.drivers import (
    DRIVERS,
    FEATURES,
    Driver,
    DriverPredictions,
    FeatureTable,
)
from vigilancia.errors import InputError, StoreError, action
from vigilancia.i18n import _

__all__ = [
    "ISOTONIC_MIN_LABELS",
    "KIND",
    "TRUSTED_TYPES",
    "CurvePoint",
    "GBMDriverModel",
    "GBMParams",
    "cross_validated_probabilities",
    "fit_driver_model",
    "label_error",
    "library_versions",
    "learning_curve",
    "model_version",
    "stratified_order",
    "take_rows",
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


def library_versions() -> dict[str, str]:
    """The versions of scikit-learn and numpy (part of a model's version)."""
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
        "versions": library_versions(),
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


def label_error(plan: LabelPlan) -> InputError:
    """Why training is refused: the labels per driver against the minimum."""
    from vigilancia.services.texts.drivers import driver_name

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
        raise label_error(plan)
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
        raise label_error(plan)
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
        model = fit_driver_model(take_rows(features, tr), [y[i] for i in tr], p)
        probs[te] = model.predict_proba(take_rows(features, te))
        scored[te] = True
    return probs, scored


def take_rows(features: FeatureTable, rows: NDArray[np.int64]) -> dict[str, NDArray[np.float64]]:
    """The rows ``rows`` of every column of ``features``."""
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
        model = fit_driver_model(take_rows(train_features, rows), sub_y, params)
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
