"""The built-in driver models register through the registry explicitly, never on import."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from vigilancia.domain.drivers import MODELS, register_model
from vigilancia.domain.rules import RulesModel
from vigilancia.services.driver_models import (
    BUILTIN_MODELS,
    load_model,
    register_builtin_models,
    rules_model,
)
from vigilancia.services.gbm import GBMDriverModel


def test_importing_the_models_registers_nothing():
    code = ("import vigilancia.domain.rules, vigilancia.services.gbm, "
            "vigilancia.services.classify, vigilancia.services.classifier, vigilancia.cli\n"
            "from vigilancia.domain.drivers import MODELS\n"
            "print(sorted(MODELS))\n"
            "from vigilancia.services.driver_models import register_builtin_models\n"
            "register_builtin_models()\n"
            "print(sorted(MODELS))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:2] == ["[]", "['gbm', 'rules']"]


def test_registering_the_built_ins_again_and_from_threads_is_harmless():
    saved = dict(MODELS)
    try:
        MODELS.clear()
        threads = [threading.Thread(target=register_builtin_models) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        register_builtin_models()
        assert MODELS == BUILTIN_MODELS
        assert MODELS["gbm"] == GBMDriverModel.from_bytes  # stored models load by kind
        assert isinstance(rules_model(), RulesModel)
        with pytest.raises(ValueError, match="already registered"):
            register_model("rules", lambda: RulesModel())  # a plugin may not take the name
    finally:
        MODELS.clear()
        MODELS.update(saved)


def test_a_plugin_registered_first_keeps_its_name():
    saved = dict(MODELS)
    try:
        MODELS.clear()
        register_model("gbm", lambda blob: RulesModel())
        register_builtin_models()
        assert isinstance(load_model("gbm", b"anything"), RulesModel)
        assert MODELS["rules"] is RulesModel
    finally:
        MODELS.clear()
        MODELS.update(saved)

