"""Case status machine, verdict mapping, priority and grouping."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilancia.domain.cases import (
    OPEN_STATUSES,
    PRIORITY_WEIGHTS,
    TRANSITIONS,
    CaseStatus,
    TransitionError,
    case_priority,
    check_transition,
    group_points,
    status_after_verdict,
    verdict_driver,
)
from vigilancia.domain.drivers import Driver
from vigilancia.domain.field import Verdict

S = CaseStatus


def test_main_path_and_dismissal_are_allowed():
    path = [S.NEW, S.ASSIGNED, S.IN_FIELD, S.VERIFIED, S.REPORTED, S.CLOSED]
    for a, b in zip(path, path[1:], strict=False):
        check_transition(a, b)
    for open_status in OPEN_STATUSES:
        check_transition(open_status, S.DISMISSED)
    check_transition(S.CLOSED, S.NEW)  # reopen
    check_transition(S.DISMISSED, S.NEW)


@pytest.mark.parametrize(("a", "b"), [
    (S.CLOSED, S.VERIFIED), (S.REPORTED, S.NEW), (S.VERIFIED, S.IN_FIELD),
    (S.NEW, S.REPORTED), (S.NEW, S.CLOSED), (S.DISMISSED, S.VERIFIED), (S.NEW, S.NEW),
])
def test_refused_moves(a, b):
    with pytest.raises(TransitionError, match=f"{a.value} cannot become {b.value}"):
        check_transition(a, b)


def test_every_status_has_rules_and_closed_ones_only_reopen():
    assert set(TRANSITIONS) == set(CaseStatus)
    assert TRANSITIONS[S.CLOSED] == {S.NEW}
    assert TRANSITIONS[S.DISMISSED] == {S.NEW}


def test_verdicts_map_to_driver_labels():
    assert verdict_driver(Verdict.COCA_CONFIRMED) is Driver.COCA
    assert verdict_driver(Verdict.AIRSTRIP_CONFIRMED) is Driver.AIRSTRIP
    assert verdict_driver(Verdict.LOGGING) is Driver.ROAD
    assert verdict_driver(Verdict.NATURAL_CAUSE) is Driver.OTHER
    assert verdict_driver(Verdict.FALSE_ALARM) is None
    assert verdict_driver(Verdict.NOT_REACHED) is None
    assert all(verdict_driver(v) is None or isinstance(verdict_driver(v), Driver)
               for v in Verdict)


def test_not_reached_hands_the_case_back():
    assert status_after_verdict(Verdict.NOT_REACHED, assigned=True) is S.ASSIGNED
    assert status_after_verdict(Verdict.NOT_REACHED, assigned=False) is S.NEW
    assert status_after_verdict(Verdict.MINING, assigned=False) is S.VERIFIED


def test_priority_without_driver_or_risk_uses_recency_and_size():
    p, terms = case_priority(area_ha=0.0, last_alert=date(2024, 3, 1), as_of=date(2024, 4, 30))
    # 60 days: recency at half; 0 ha: no size; rescaled to the 50 points available
    assert [t.name for t in terms] == ["recency", "size"]
    assert p == pytest.approx(0.5 * 30 * 100 / 50)


def test_priority_with_every_term_and_driver_urgency():
    coca, _ = case_priority(area_ha=5, last_alert=date(2024, 4, 1), as_of=date(2024, 4, 1),
                            driver=Driver.COCA, driver_probability=0.9, risk_score=50)
    farm, _ = case_priority(area_ha=5, last_alert=date(2024, 4, 1), as_of=date(2024, 4, 1),
                            driver=Driver.AGRICULTURE, driver_probability=0.9, risk_score=50)
    assert coca > farm
    size = PRIORITY_WEIGHTS["size"] * math.log1p(5) / math.log1p(20)
    assert coca == pytest.approx(30 + size + 30 * 0.9 + 20 * 0.5)


@settings(max_examples=200, deadline=None)
@given(area=st.floats(0, 5000), age=st.integers(0, 4000),
       prob=st.one_of(st.none(), st.floats(0, 1)), risk=st.one_of(st.none(), st.floats(0, 100)),
       driver=st.sampled_from(list(Driver)))
def test_priority_is_bounded_and_terms_add_up(area, age, prob, risk, driver):
    as_of = date(2024, 12, 31)
    last = date.fromordinal(as_of.toordinal() - age)
    p, terms = case_priority(area_ha=area, last_alert=last, as_of=as_of,
                             driver=driver if prob is not None else None,
                             driver_probability=prob, risk_score=risk)
    assert 0.0 <= p <= 100.0 + 1e-9
    assert p == pytest.approx(sum(t.points for t in terms))
    assert [t.points for t in terms] == sorted((t.points for t in terms), reverse=True)


def test_group_points_chains_and_splits():
    x = [0, 400, 800, 5000, 5300, 20000]
    y = [0, 0, 0, 0, 0, 0]
    assert group_points(x, y, 500).tolist() == [0, 0, 0, 1, 1, 2]
    assert group_points(x, y, 300).tolist() == [0, 1, 2, 3, 3, 4]
    assert group_points([], [], 500).tolist() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5000), st.floats(0, 5000)), min_size=1, max_size=40),
       st.floats(10, 2000))
def test_group_points_matches_brute_force(points, gap):
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    labels = group_points(x, y, gap)
    # brute-force connected components of the "within gap" graph
    n = len(x)
    comp = list(range(n))
    changed = True
    while changed:
        changed = False
        for i in range(n):
            for j in range(n):
                if (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 <= gap * gap and comp[j] < comp[i]:
                    comp[i] = comp[j]
                    changed = True
    for i in range(n):
        for j in range(n):
            assert (labels[i] == labels[j]) == (comp[i] == comp[j])
