"""Pure parts of the trainable driver model: names, label policy, label resolution, reasons,
and the evaluation metrics."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilancia.domain.driver_metrics import score_predictions
from vigilancia.domain.driver_training import (
    MIN_LABELS,
    MIN_PER_CLASS,
    LabelRow,
    ReasonProfile,
    latest_labels,
    parse_driver,
    plan_training,
    valid_driver_names,
)
from vigilancia.domain.drivers import DRIVERS, Driver


@pytest.mark.parametrize(
    ("text", "driver"),
    [
        ("coca", Driver.COCA),
        ("Pista", Driver.AIRSTRIP),
        ("pista de aterrizaje", Driver.AIRSTRIP),
        ("AIRSTRIP", Driver.AIRSTRIP),
        ("Minería", Driver.MINING),
        ("mineria", Driver.MINING),
        ("camino", Driver.ROAD),
        ("road", Driver.ROAD),
        (" Agricultura ", Driver.AGRICULTURE),
        ("otro", Driver.OTHER),
        ("Other", Driver.OTHER),
    ],
)
def test_parse_driver_reads_english_and_spanish(text, driver):
    assert parse_driver(text) is driver


@pytest.mark.parametrize("text", ["palma", "", None, "coca?x", "12"])
def test_parse_driver_unknown_is_none(text):
    assert parse_driver(text) is None


def test_valid_names_list_every_driver_in_both_languages():
    names = valid_driver_names()
    for d in DRIVERS:
        assert d.value in names
    for es in ("pista", "minería", "camino", "agricultura", "otro"):
        assert es in names


def test_plan_needs_enough_labels_and_two_classes():
    few = plan_training([Driver.COCA] * 10 + [Driver.MINING] * 10)
    assert not few.ok and few.problem == "too_few_labels" and few.usable == 20
    one = plan_training([Driver.COCA] * 100 + [Driver.MINING] * (MIN_PER_CLASS - 1))
    assert not one.ok and one.problem == "too_few_classes"
    assert one.left_out == {Driver.MINING: MIN_PER_CLASS - 1}
    ok = plan_training(["coca"] * MIN_LABELS + ["mining"] * MIN_PER_CLASS + ["airstrip"] * 2)
    assert ok.ok and ok.drivers == (Driver.COCA, Driver.MINING)
    assert ok.left_out == {Driver.AIRSTRIP: 2} and ok.counts[Driver.AIRSTRIP] == 2
    assert ok.usable == MIN_LABELS + MIN_PER_CLASS


def test_latest_label_of_a_clearing_wins():
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    t1 = datetime(2025, 2, 1, tzinfo=UTC)
    rows = [
        LabelRow(1, Driver.COCA, "file:a", None, t0, id=1),
        LabelRow(1, Driver.OTHER, "file:b", None, t1, id=2),  # stored later
        LabelRow(2, Driver.MINING, "patrol:1", date(2025, 3, 1), t0, id=3),
        LabelRow(2, Driver.ROAD, "file:c", date(2024, 12, 1), t1, id=4),  # observed earlier
    ]
    best = latest_labels(rows)
    assert best[1].driver is Driver.OTHER
    assert best[2].driver is Driver.MINING


def test_reasons_name_the_features_that_separate_the_classes():
    rng = np.random.default_rng(0)
    n = 200
    y = [Driver.COCA if i % 2 else Driver.AIRSTRIP for i in range(n)]
    is_coca = np.array([d is Driver.COCA for d in y])
    x = np.column_stack(
        [
            np.where(is_coca, rng.uniform(0.3, 3, n), rng.uniform(20, 50, n)),  # separates
            rng.uniform(0, 180, n),  # noise
            np.where(is_coca, 100.0, 1000.0) + rng.normal(0, 10, n),  # separates too
        ]
    )
    profile = ReasonProfile.fit(
        ["elongation", "orientation_deg", "dist_river_m"], x, y,
        [Driver.COCA, Driver.AIRSTRIP], importance=np.array([1.0, 0.0, 0.5]),
    )
    probs = np.column_stack([is_coca.astype(float), (~is_coca).astype(float)])
    reasons = profile.reasons(x, probs)
    assert len(reasons) == n
    for i, rs in enumerate(reasons):
        assert 1 <= len(rs) <= 3
        assert rs[0].code == "feature"
        assert rs[0].params["name"] == "elongation"
        assert rs[0].params["value"] == x[i, 0]
        assert "orientation_deg" not in [r.params["name"] for r in rs]
    # the typical value quoted is the predicted class's median
    coca_rows = np.flatnonzero(is_coca)
    assert reasons[coca_rows[0]][0].params["typical"] == pytest.approx(
        float(np.median(x[is_coca, 0]))
    )
    # an unknown value is never a reason
    x2 = x[:1].copy()
    x2[0, 0] = np.nan
    rs = profile.reasons(x2, probs[:1])[0]
    assert all(r.params["name"] != "elongation" for r in rs)
    # and the profile survives a round trip through plain state
    again = ReasonProfile.from_state(profile.to_state())
    assert again.reasons(x[:5], probs[:5]) == reasons[:5]


def test_scores_by_hand():
    truth = ["coca", "coca", "coca", "airstrip", "mining", "mining"]
    pred = [Driver.COCA, Driver.COCA, Driver.AIRSTRIP, Driver.AIRSTRIP, Driver.MINING,
            Driver.COCA]
    p = np.zeros((6, len(DRIVERS)))
    p[np.arange(6), [DRIVERS.index(d) for d in pred]] = 0.9
    p += 0.02  # 0.1 spread over the other five drivers
    s = score_predictions(p, truth)
    coca = s.score("coca")
    assert (coca.precision, coca.recall, coca.support, coca.predicted) == (2 / 3, 2 / 3, 3, 3)
    air = s.score(Driver.AIRSTRIP)
    assert (air.precision, air.recall) == (0.5, 1.0)
    assert s.score("mining").recall == 0.5 and s.score("mining").precision == 1.0
    assert s.score("road").support == 0 and s.score("road").predicted == 0
    # macro over the drivers that have labels (coca, airstrip, mining)
    assert s.macro_recall == pytest.approx((2 / 3 + 1.0 + 0.5) / 3)
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.confusion.sum() == 6 and s.confusion[0, 1] == 1  # a coca called airstrip
    # Brier: right rows (0.92-1)^2 + 5*0.02^2; wrong rows 0.92^2 + 0.98^2 + 4*0.02^2
    right = (0.92 - 1) ** 2 + 5 * 0.02**2
    wrong = 0.92**2 + 0.98**2 + 4 * 0.02**2
    assert s.brier == pytest.approx((4 * right + 2 * wrong) / 6)
    top = [b for b in s.reliability if b.count]
    assert len(top) == 1 and top[0].count == 6 and top[0].observed == pytest.approx(4 / 6)
    assert s.ece == pytest.approx(abs(0.92 - 4 / 6))
    json.dumps(s.to_dict(), allow_nan=False)


def test_perfect_and_uniform_forecasts():
    truth = [d for d in DRIVERS for _ in range(3)]
    perfect = np.eye(len(DRIVERS))[[DRIVERS.index(d) for d in truth]]
    s = score_predictions(perfect, truth)
    assert s.brier == 0 and s.macro_f1 == 1 and s.ece == 0
    flat = np.full((len(truth), len(DRIVERS)), 1 / len(DRIVERS))
    assert score_predictions(flat, truth).brier == pytest.approx(5 / 6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, len(DRIVERS) - 1), min_size=1, max_size=40),
    st.integers(0, 2**32 - 1),
)
def test_score_invariants(truth_idx, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(len(DRIVERS)), size=len(truth_idx))
    s = score_predictions(p, [DRIVERS[i] for i in truth_idx])
    assert s.confusion.sum() == len(truth_idx)
    assert sum(b.count for b in s.reliability) == len(truth_idx)
    assert 0 <= s.brier <= 2 and 0 <= s.ece <= 1
    for v in (s.macro_precision, s.macro_recall, s.macro_f1, s.accuracy):
        assert 0 <= v <= 1
    for d in s.per_driver:
        assert d.support == int(s.confusion[DRIVERS.index(d.driver)].sum())
    json.dumps(s.to_dict(), allow_nan=False)
