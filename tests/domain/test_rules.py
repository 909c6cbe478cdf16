"""The transparent rules model: canonical clearings, missing context, and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilancia.domain.drivers import DRIVERS, FEATURES, MODELS, Driver, empty_features
from vigilancia.domain.rules import CONTEXT_FEATURES, RULES_VERSION, TERMS, RulesModel
from vigilancia.services.driver_models import register_builtin_models

MODEL = RulesModel()


def table(**columns: float) -> dict[str, np.ndarray]:
    """A one-clearing feature table: the given values, every other feature unknown."""
    t = empty_features(1)
    for name, value in columns.items():
        t[name] = np.array([value], np.float64)
    return t


def shape(area_ha: float, length_m: float, width_m: float, perimeter_m: float) -> dict[str, float]:
    """Shape features consistent with each other (as the clearing measures give them)."""
    a = area_ha * 1e4
    return {
        "area_ha": area_ha,
        "length_m": length_m,
        "width_m": width_m,
        "perimeter_m": perimeter_m,
        "elongation": length_m / width_m,
        "compactness": 4 * math.pi * a / perimeter_m**2,
        "rectangularity": a / (length_m * width_m),
    }


RUNWAY = shape(2.46, 820.0, 30.0, 1700.0)
COCA_PATCH = shape(1.0, 140.0, 110.0, 520.0)  # fills 65 % of its rectangle: irregular
FIELD = shape(20.0, 560.0, 380.0, 1900.0)  # 94 % of its rectangle: a compact block
TRACK = shape(6.0, 1800.0, 700.0, 5200.0)  # 2.6 km of 23 m track winding in a 1.8 km box
PIXEL = shape(0.077, 27.7, 27.7, 110.8)


def best(t: dict[str, np.ndarray]) -> tuple[Driver, float, list[str]]:
    p = MODEL.predict(t)
    return p.driver[0], float(p.probability[0]), [r.code for r in p.reasons[0]]


def test_registered_as_rules_with_a_version():
    register_builtin_models()
    model = MODELS["rules"]()
    assert isinstance(model, RulesModel)
    assert model.version == RULES_VERSION == "rules-1"
    assert MODEL.predict(table(**RUNWAY)).model_version == "rules-1"


def test_runway_like_strip_is_an_airstrip_because_it_is_a_straight_strip():
    p = MODEL.predict(table(**RUNWAY, dist_river_m=600.0, dist_road_m=4000.0))
    assert p.driver[0] == Driver.AIRSTRIP
    assert p.probability[0] > 0.8
    first = p.reasons[0][0]
    assert first.code == "straight_strip"
    assert first.params == {"length_m": 820.0, "width_m": 30.0}
    assert "near_river" in [r.code for r in p.reasons[0]]
    assert 2 <= len(p.reasons[0]) <= 3


def test_one_hectare_irregular_patch_near_a_stream_far_from_roads_is_coca():
    t = table(**COCA_PATCH, dist_river_m=150.0, dist_road_m=8000.0, dist_settlement_m=12000.0,
              clearings_1km=7.0)
    driver, prob, codes = best(t)
    assert driver == Driver.COCA
    assert prob > 0.7
    assert 2 <= len(codes) <= 3
    assert set(codes) <= {"small_patch", "clustered", "near_river", "far_from_road",
                          "far_from_settlement", "irregular_shape"}


def test_the_same_patch_near_a_town_and_a_road_is_less_likely_coca():
    remote = table(**COCA_PATCH, dist_river_m=150.0, dist_road_m=8000.0,
                   dist_settlement_m=12000.0, clearings_1km=7.0)
    town = table(**COCA_PATCH, dist_river_m=150.0, dist_road_m=200.0, dist_settlement_m=500.0,
                 clearings_1km=7.0)
    coca = DRIVERS.index(Driver.COCA)
    assert MODEL.predict(town).probabilities[0, coca] < MODEL.predict(remote).probabilities[0,
                                                                                          coca]


@pytest.mark.parametrize(
    ("features", "driver", "code"),
    [
        ({**FIELD, "dist_road_m": 300.0, "dist_settlement_m": 1500.0}, Driver.AGRICULTURE,
         "compact_block"),
        ({**TRACK, "dist_road_m": 80.0}, Driver.ROAD, "winding_track"),
        ({**shape(25.0, 900.0, 400.0, 3000.0), "dist_river_m": 50.0, "cleared_ha_1km": 60.0},
         Driver.MINING, "near_river"),
        (PIXEL, Driver.OTHER, "tiny_patch"),
        ({**RUNWAY, "dist_airstrip_m": 20.0, "recleared": 1.0}, Driver.AIRSTRIP,
         "straight_strip"),
    ],
)
def test_canonical_clearings(features, driver, code):
    got, _prob, codes = best(table(**features))
    assert got == driver
    assert code in codes


def test_missing_layers_lower_completeness_and_do_not_fail():
    full = table(**COCA_PATCH, dist_river_m=150.0, dist_road_m=8000.0, dist_trail_m=900.0,
                 dist_settlement_m=12000.0, dist_airstrip_m=3000.0, clearings_1km=7.0,
                 cleared_ha_1km=6.0, recleared=0.0)
    some = dict(full, dist_road_m=np.array([np.nan]), dist_settlement_m=np.array([np.nan]))
    shape_only = {k: v for k, v in full.items() if k not in CONTEXT_FEATURES}  # layers absent
    c_full, c_some, c_none = (float(MODEL.predict(t).completeness[0])
                              for t in (full, some, shape_only))
    assert c_full == 1.0
    assert c_none == 0.0
    assert c_full > c_some > c_none
    p = MODEL.predict(shape_only)
    assert p.probabilities[0].sum() == pytest.approx(1.0)
    assert p.reasons[0][-1].code == "little_context"
    # without the context, coca rests on the shape alone: less sure, still the best guess
    coca = DRIVERS.index(Driver.COCA)
    assert p.driver[0] == Driver.COCA
    assert p.probabilities[0, coca] < MODEL.predict(full).probabilities[0, coca]


def test_absent_columns_are_the_same_as_unknown_ones():
    partial = {k: np.array([v]) for k, v in RUNWAY.items()}
    padded = table(**RUNWAY)
    a, b = MODEL.predict(partial), MODEL.predict(padded)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    assert a.reasons == b.reasons


def test_empty_table_and_bad_lengths():
    p = MODEL.predict(empty_features(0))
    assert len(p) == 0 and p.probabilities.shape == (0, len(DRIVERS))
    assert len(MODEL.predict({})) == 0
    with pytest.raises(ValueError, match="length_m"):
        MODEL.predict({"area_ha": np.ones(3), "length_m": np.ones(2)})


def test_rows_are_predicted_independently():
    rows = [RUNWAY, COCA_PATCH, FIELD, TRACK, PIXEL]
    together = {name: np.array([r.get(name, np.nan) for r in rows]) for name in FEATURES}
    p = MODEL.predict(together)
    for i, r in enumerate(rows):
        alone = MODEL.predict(table(**r))
        np.testing.assert_allclose(p.probabilities[i], alone.probabilities[0])
        assert p.reasons[i] == alone.reasons[0]


# ------------------------------------------------------------------ invariants

value = st.one_of(
    st.just(math.nan),
    st.floats(min_value=-10.0, max_value=1e6, allow_nan=False),
    st.just(math.inf),
)


@st.composite
def tables(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 6))
    return {name: np.array(draw(st.lists(value, min_size=n, max_size=n))) for name in
            (*FEATURES, "branches")}


@settings(max_examples=150, deadline=None)
@given(tables())
def test_probabilities_are_a_distribution_and_reasons_are_two_or_three(t):
    p = MODEL.predict(t)
    assert np.isfinite(p.probabilities).all()
    assert (p.probabilities >= 0).all() and (p.probabilities <= 1).all()
    np.testing.assert_allclose(p.probabilities.sum(axis=1), 1.0)
    assert ((p.completeness >= 0) & (p.completeness <= 1)).all()
    for reasons in p.reasons:
        assert 1 <= len(reasons) <= 3
        for r in reasons:
            assert all(isinstance(v, str) or (isinstance(v, float) and math.isfinite(v))
                       for v in r.params.values())


@settings(max_examples=150, deadline=None)
@given(tables(), st.data())
def test_missing_values_flatten_every_term_and_never_raise_it(t, data):
    """Blanking features moves each term's contribution towards 0, never past it, and
    never raises completeness."""
    blank = data.draw(st.sets(st.sampled_from((*FEATURES, "branches")), min_size=1))
    t2 = {k: (np.full_like(v, np.nan) if k in blank else v) for k, v in t.items()}
    before, after = MODEL.evidence(t), MODEL.evidence(t2)
    c0, c1 = before.contributions, after.contributions
    assert (np.abs(c1) <= np.abs(c0) + 1e-12).all()
    assert (c1 * c0 >= -1e-12).all()
    assert (after.completeness <= before.completeness + 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(tables())
def test_unknown_terms_add_nothing(t):
    none = {k: np.full_like(v, np.nan) for k, v in t.items()}
    ev = MODEL.evidence(none)
    assert (ev.contributions == 0).all()
    assert (ev.completeness == 0).all()
    assert len(TERMS) == ev.contributions.shape[1]
