"""Risk factors, scores and back-test metrics (pure)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilancia.domain.risk import (
    DEFAULT_WEIGHTS,
    Factor,
    FactorValue,
    Grid,
    RiskClass,
    capture_metrics,
    factor_level,
    merge_weights,
    pressure_surface,
    rank_scores,
    risk_class,
    score_unit,
)

values = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
weights = st.floats(min_value=0, max_value=100, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(Factor)), values),
       st.dictionaries(st.sampled_from(list(Factor)), weights, min_size=1))
def test_contributions_add_up_to_the_score(measured, weight_map):
    fvs = [FactorValue(f, v, f"source of {f.value}") for f, v in measured.items()]
    s = score_unit("u", "Unidad", fvs, weight_map)
    assert math.isclose(s.score, math.fsum(c.points for c in s.contributions), abs_tol=1e-9)
    assert {c.factor for c in s.contributions} == set(weight_map)
    for c in s.contributions:
        assert 0.0 <= c.level <= 1.0
        assert math.isclose(c.points, c.weight * c.level, abs_tol=1e-12)
        if c.available:
            assert c.source == f"source of {c.factor.value}"  # every factor names its data
        else:
            assert c.points == 0.0 and c.value is None
    total = sum(weight_map.values())
    avail = sum(w for f, w in weight_map.items() if measured.get(f) is not None)
    assert math.isclose(s.coverage, avail / total if total else 0.0, abs_tol=1e-12)
    assert 0.0 <= s.score <= total + 1e-9


def test_missing_data_is_reported_not_scored_as_zero_risk():
    w = {Factor.RECENT_CLEARINGS: 50.0, Factor.CORRIDORS: 50.0}
    full = score_unit("a", "A", [FactorValue(Factor.RECENT_CLEARINGS, 7.0, "alertas"),
                                 FactorValue(Factor.CORRIDORS, 1e9, "corredores")], w)
    partial = score_unit("b", "B", [FactorValue(Factor.RECENT_CLEARINGS, 7.0, "alertas")], w)
    assert [c.factor for c in partial.missing] == [Factor.CORRIDORS]
    assert partial.coverage == 0.5 and full.coverage == 1.0
    assert math.isclose(partial.score, full.score, abs_tol=1e-6)
    # the same points at half coverage reach a higher class: thresholds scale with coverage
    assert full.risk_class is RiskClass.MEDIUM and partial.risk_class is RiskClass.CRITICAL


def test_levels_follow_the_documented_curves():
    assert factor_level(Factor.PRESSURE_LOCAL, 0.0) == 0.0
    assert factor_level(Factor.PRESSURE_LOCAL, 1000.0) == pytest.approx(1.0)
    assert factor_level(Factor.PRESSURE_LOCAL, 1e6) == 1.0
    assert factor_level(Factor.RECENT_CLEARINGS, 10.0) == pytest.approx(1 - math.exp(-1))
    assert factor_level(Factor.TREND, 1.0) == 0.0  # no change
    assert factor_level(Factor.TREND, 0.25) == 0.0  # falling is not risk
    assert factor_level(Factor.TREND, 2.0) == pytest.approx(0.5)
    assert factor_level(Factor.CORRIDORS, 5.0) == pytest.approx(math.exp(-1))
    assert factor_level(Factor.ISOLATION, 0.0) == 1.0
    with pytest.raises(ValueError, match="NaN"):
        factor_level(Factor.COCA, float("nan"))


def test_weights_merge_and_reject_unknown_factors():
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(100.0)
    merged = merge_weights({"tenure": 0, "violence": 20.5})
    assert merged[Factor.TENURE] == 0.0 and merged[Factor.VIOLENCE] == 20.5
    assert merged[Factor.CORRIDORS] == DEFAULT_WEIGHTS[Factor.CORRIDORS]
    with pytest.raises(ValueError, match="unknown risk factor 'coka'"):
        merge_weights({"coka": 3})
    with pytest.raises(ValueError, match=">= 0"):
        merge_weights({"coca": -1})


def test_classes_and_ranking():
    assert risk_class(45.0, 1.0) is RiskClass.CRITICAL
    assert risk_class(29.9, 1.0) is RiskClass.MEDIUM
    assert risk_class(0.0, 1.0) is RiskClass.LOW
    w = {Factor.RECENT_CLEARINGS: 100.0}
    scores = [score_unit(k, k, [FactorValue(Factor.RECENT_CLEARINGS, n, "a")], w)
              for k, n in (("b", 3.0), ("a", 3.0), ("c", 30.0))]
    ranked = rank_scores(scores)
    assert [(s.key, s.rank) for s in ranked] == [("c", 1), ("a", 2), ("b", 3)]


# ------------------------------------------------------------------ grid and pressure


def test_grid_cells_and_sums():
    g = Grid.covering(0.0, 0.0, 4500.0, 2000.0, 1000.0)
    assert g.shape == (2, 5)
    row, col, inside = g.cell_of(np.array([10.0, 4499.0, -1.0]), np.array([1999.0, 1.0, 5.0]))
    assert row.tolist()[:2] == [0, 1] and col.tolist()[:2] == [0, 4]
    assert inside.tolist() == [True, True, False]
    s = g.sum_points(np.array([10.0, 20.0, 4499.0]), np.array([1999.0, 1990.0, 1.0]),
                     np.array([1.0, 2.0, 5.0]))
    assert s[0, 0] == 3.0 and s[1, 4] == 5.0 and s.sum() == 8.0


def test_pressure_keeps_mass_decays_with_age_and_ignores_the_future():
    g = Grid.covering(0.0, 0.0, 40_000.0, 40_000.0, 2000.0)
    x, y = np.array([20_000.0, 20_500.0]), np.array([20_000.0, 19_000.0])
    area = np.array([10.0, 4.0])
    fresh = pressure_surface(g, x, y, area, np.array([0.0, 0.0]), sigma_km=1.0)
    assert fresh.sum() == pytest.approx(14.0, rel=1e-6)  # far from the edges, nothing is lost
    row, col, _ok = g.cell_of(x[:1], y[:1])
    assert fresh.max() == fresh[row[0], col[0]]  # hottest where the clearings are
    old = pressure_surface(g, x, y, area, np.array([365.0, 365.0]), sigma_km=1.0)
    assert old.sum() == pytest.approx(14.0 * math.exp(-1), rel=1e-6)
    future = pressure_surface(g, x, y, area, np.array([-1.0, 0.0]), sigma_km=1.0)
    assert future.sum() == pytest.approx(4.0, rel=1e-6)
    wide = pressure_surface(g, x, y, area, np.zeros(2), sigma_km=6.0)
    assert wide.max() < fresh.max()  # the regional kernel spreads the same mass


# ------------------------------------------------------------------ back-test metrics


def test_capture_metrics_perfect_random_and_ties():
    rng = np.random.default_rng(3)
    future = np.where(rng.random(1000) < 0.05, rng.uniform(1, 50, 1000), 0.0)
    perfect = capture_metrics(future, future)
    assert perfect["auc"] == pytest.approx(1.0)
    top10 = np.sort(future)[::-1][:10].sum() / future.sum()
    assert perfect["top1_capture"] == pytest.approx(top10)
    flat = capture_metrics(np.zeros(1000), future)  # all tied: expected share of a random pick
    assert flat["top1_capture"] == pytest.approx(0.01)
    assert flat["top10_capture"] == pytest.approx(0.10)
    assert flat["auc"] == pytest.approx(0.5)
    none = capture_metrics(np.arange(5.0), np.zeros(5))
    assert none["top1_capture"] is None and none["auc"] is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 10, allow_nan=False), st.floats(0, 10, allow_nan=False)),
                min_size=2, max_size=60))
def test_capture_grows_with_k_and_stays_a_share(pairs):
    s = np.array([p[0] for p in pairs])
    f = np.array([p[1] for p in pairs])
    m = capture_metrics(s, f, top_percents=(1, 5, 10, 50, 100))
    if f.sum() == 0:
        return
    shares = [m[f"top{k}_capture"] for k in (1, 5, 10, 50, 100)]
    assert all(v is not None and -1e-9 <= v <= 1 + 1e-9 for v in shares)
    assert all(a <= b + 1e-9 for a, b in zip(shares, shares[1:], strict=False))
    assert shares[-1] == pytest.approx(1.0)
