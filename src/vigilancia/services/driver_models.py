"""The driver models a workspace predicts with: the built-ins, registered explicitly, and the
active one.

The registry is :data:`vigilancia.domain.drivers.MODELS` (model factories by name).
The built-in models, the transparent rules (:class:`~vigilancia.domain.rules.RulesModel`)
and the trained gradient boosting (:class:`~vigilancia.services.gbm.GBMDriverModel`,
kind ``"gbm"``), register through the same
:func:`~vigilancia.domain.drivers.register_model` as plugins, in
:func:`register_builtin_models`, and never as a side effect of importing a module.
Every function here that reads the registry calls it first (it is idempotent and
thread-safe), so callers need not.

>>> rules_model().version
'rules-1'
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from vigilancia.domain.drivers import MODELS, DriverModel, register_model
from vigilancia.domain.rules import RulesModel
from vigilancia.services.gbm import KIND as GBM_KIND
from vigilancia.services.gbm import GBMDriverModel

if TYPE_CHECKING:
    from vigilancia.io.store import WorkspaceStore

__all__ = [
    "BUILTIN_MODELS",
    "active_driver_model",
    "load_model",
    "register_builtin_models",
    "rules_model",
]

#: The built-in model factories by registry name: the rules take no argument, a trained
#: model is built from its stored bytes.
BUILTIN_MODELS: dict[str, Callable[..., DriverModel]] = {
    "rules": RulesModel,
    GBM_KIND: GBMDriverModel.from_bytes,
}

_LOCK = threading.Lock()


def register_builtin_models() -> None:
    """Register every model of :data:`BUILTIN_MODELS` not registered yet (a name a plugin
    registered first keeps the plugin's factory)."""
    with _LOCK:
        for name, factory in BUILTIN_MODELS.items():
            if name not in MODELS:
                register_model(name, factory)


def rules_model() -> DriverModel:
    """The transparent rules model, from the registry."""
    register_builtin_models()
    return MODELS["rules"]()


def load_model(kind: str, blob: bytes) -> DriverModel:
    """A stored model of ``kind`` (``"gbm"``, or a plugin's) built from its bytes."""
    register_builtin_models()
    return MODELS[kind](blob)


def active_driver_model(store: WorkspaceStore) -> DriverModel:
    """The workspace's active trained model, or the rules model when none is active."""
    rec = store.models.active()
    if rec is None or rec.blob is None:
        return rules_model()
    return load_model(rec.kind, rec.blob)
