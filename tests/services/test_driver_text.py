"""Driver predictions in words, in Spanish (default) and English."""

from __future__ import annotations

import numpy as np
import pytest

from vigilancia.domain.drivers import DRIVERS, FEATURES, Driver, Reason, empty_features
from vigilancia.domain.rules import TERMS, RulesModel, _Columns
from vigilancia.i18n import set_language
from vigilancia.services.texts.drivers import driver_name, prediction_text, reason_text

RUNWAY_REASONS = [Reason("straight_strip", {"length_m": 820.0, "width_m": 30.0}),
                  Reason("near_river", {"distance_m": 600.0})]


def test_the_issue_example_in_spanish_by_default():
    assert prediction_text(Driver.AIRSTRIP, 0.87, RUNWAY_REASONS) == (
        "franja recta de 820 m × 30 m, a 600 m de un río: probable pista de aterrizaje (87 %)"
    )


def test_the_issue_example_in_english():
    set_language("en")
    assert prediction_text(Driver.AIRSTRIP, 0.87, RUNWAY_REASONS) == (
        "straight strip 820 m × 30 m, 600 m from a river: likely airstrip (87%)"
    )


@pytest.mark.parametrize(
    ("probability", "es", "en"),
    [(0.9, "probable cultivo de coca", "likely coca plot"),
     (0.5, "posible cultivo de coca", "possibly coca plot"),
     (0.3, "incierto, quizá cultivo de coca", "uncertain, perhaps coca plot")],
)
def test_verdict_words_follow_the_probability(probability, es, en):
    assert prediction_text(Driver.COCA, probability) == f"{es} ({round(probability * 100)} %)"
    set_language("en")
    assert prediction_text("coca", probability) == f"{en} ({round(probability * 100)}%)"


def test_numbers_use_the_language_conventions():
    r = Reason("far_from_road", {"distance_m": 12340.0})
    assert reason_text(r) == "lejos de carreteras (12.340 m)"
    assert reason_text(Reason("small_patch", {"area_ha": 1.46})) == "parcela pequeña de 1,5 ha"
    set_language("en")
    assert reason_text(r) == "far from roads (12,340 m)"
    assert reason_text(Reason("large_clearing", {"area_ha": 23.6})) == "large clearing of 24 ha"


def test_every_driver_has_a_name_in_both_languages():
    es = [driver_name(d) for d in DRIVERS]
    set_language("en")
    en = [driver_name(d) for d in DRIVERS]
    assert len(set(es)) == len(set(en)) == len(DRIVERS)
    assert es != en


def _all_rule_reasons() -> list[Reason]:
    """Every reason the rules can give, from a table where every term can fire."""
    t = empty_features(2)
    values = {"area_ha": 2.5, "length_m": 4000.0, "width_m": 40.0, "perimeter_m": 8000.0,
              "elongation": 100.0, "compactness": 0.05, "rectangularity": 0.6,
              "dist_river_m": 300.0, "dist_road_m": 100.0, "dist_trail_m": 50.0,
              "dist_settlement_m": 700.0, "dist_airstrip_m": 40.0, "clearings_1km": 4.0,
              "cleared_ha_1km": 12.0, "recleared": 1.0, "branches": 2.0}
    for name, v in values.items():
        t[name] = np.array([v, v * 3])
    t["dist_settlement_m"] = np.array([700.0, 150.0])  # the second: a settlement is nearer
    c = _Columns(t)
    reasons = [term.reason(c, i) for term in TERMS for i in range(2)]
    return [*reasons, Reason("no_clear_pattern"), Reason("little_context", {"share_known": 0.25})]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_rule_reason_reads_as_words(lang):
    set_language(lang)
    reasons = _all_rule_reasons()
    assert {r.code for r in reasons} >= {"straight_strip", "near_river", "near_road",
                                        "near_trail", "near_settlement", "known_airstrip",
                                        "recleared", "small_patch", "irregular_shape",
                                        "clustered", "far_from_road", "far_from_settlement",
                                        "near_airstrip", "large_clearing", "cleared_nearby",
                                        "long_strip", "branching_track", "compact_block",
                                        "tiny_patch"}
    for r in reasons:
        text = reason_text(r)
        assert r.code not in text and "{" not in text and "?" not in text, (r, text)


def test_predictions_of_the_rules_read_in_spanish():
    t = {name: np.array([v]) for name, v in {
        "area_ha": 2.46, "length_m": 820.0, "width_m": 30.0, "perimeter_m": 1700.0,
        "elongation": 27.3, "compactness": 0.1, "rectangularity": 1.0,
        "dist_river_m": 600.0, "dist_road_m": 4000.0}.items()}
    p = RulesModel().predict(t)
    text = prediction_text(p.driver[0], float(p.probability[0]), p.reasons[0])
    assert text.startswith("franja recta de 820 m × 30 m, a 600 m de un río")
    assert "probable pista de aterrizaje" in text


def test_trained_model_feature_reasons_and_unknown_codes():
    r = Reason("feature", {"name": "dist_river_m", "value": 640.0, "typical": 310.0})
    assert reason_text(r) == "distancia a un río: 640 m (típico: 310 m)"
    set_language("en")
    assert reason_text(r) == "distance to a river: 640 m (typical: 310 m)"
    flag = Reason("feature", {"name": "recleared", "value": 1.0, "typical": 0.0})
    assert reason_text(flag) == "cleared before at the same place: yes (typical: no)"
    assert reason_text(Reason("plugin_code", {"score": 0.5, "tag": "x"})) == (
        "plugin_code (score 0.5, tag x)")
    assert reason_text(Reason("plugin_code")) == "plugin_code"
    assert all(reason_text(Reason("feature", {"name": n, "value": 1.0, "typical": 2.0}))
               for n in FEATURES)
