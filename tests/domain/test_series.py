"""A product's clearings as a series: marks found in the runs, decisions on each download."""

from __future__ import annotations

import numpy as np

from vigilancia.domain.alerts import AlertFilter, lookup_tables
from vigilancia.domain.labelling import Labeller, geometry_wkb, projected_grid, runs_at, scan_strip
from vigilancia.domain.series import (
    Decision,
    NewValues,
    SeriesMatcher,
    SeriesState,
    decide_codes,
    match_codes,
)

D = np.datetime64


def _label(a: np.ndarray, marks=None):
    conf, day = lookup_tables("gfw", AlertFilter())
    lab = Labeller(projected_grid(30.0, 30.0, *a.shape))
    runs, _bad = scan_strip(a, conf, day, 0)
    hit = lab.push(runs, a.shape[0] - 1, marks)
    comps, _ov, found = lab.finish_marked()
    return comps, found, hit


def test_marks_fall_on_the_runs_that_cover_them():
    a = np.zeros((6, 8), np.uint16)
    a[1, 1:4] = 30001
    a[4, 5:7] = 30001
    conf, day = lookup_tables("gfw", AlertFilter())
    runs, _ = scan_strip(a, conf, day, 0)
    at = runs_at(runs, np.array([1, 1, 4, 4, 0]), np.array([1, 3, 5, 7, 0]), 8)
    assert at.tolist() == [0, 0, 1, -1, -1]


def test_labeller_hands_out_each_mark_with_its_component():
    a = np.zeros((8, 8), np.uint16)
    a[1:3, 1:3] = 30001
    a[5:7, 4:7] = 30001
    marks = (np.array([1, 6, 0]), np.array([2, 6, 7]), np.array([10, 20, 30]))
    comps, found, hit = _label(a, marks)
    assert sorted(hit.tolist()) == [10, 20]  # the mark on an empty pixel fell on nothing
    by_tag = dict(zip(found.tag.tolist(), found.comp.tolist(), strict=True))
    assert comps.first_row[by_tag[10]] == 1 and comps.first_row[by_tag[20]] == 5


def test_components_take_keeps_their_rings():
    rng = np.random.default_rng(3)
    a = np.where(rng.random((40, 40)) < 0.15, 30001, 0).astype(np.uint16)
    comps, _found, _hit = _label(a)
    pick = np.array([0, 3, len(comps) - 1])
    sub = comps.take(pick)
    transform = (30.0, 0.0, 0.0, 0.0, -30.0, 0.0)
    whole, _ = geometry_wkb(comps, transform)
    part, _ = geometry_wkb(sub, transform)
    assert [bytes(v) for v in part] == [bytes(whole[i]) for i in pick]
    assert sub.pixel_count.tolist() == comps.pixel_count[pick].tolist()


def _state(n: int, counts, pixels, first, last) -> SeriesState:
    return SeriesState(
        id=np.arange(1, n + 1, dtype=np.int64), pixel_count=np.array(counts, np.int64),
        pixels=np.array(pixels, np.int64), first_date=np.array(first, "datetime64[D]"),
        last_date=np.array(last, "datetime64[D]"), area_ha=np.array(counts, float) * 0.09,
        bounds=np.tile([0.0, 0.0, 1.0, 1.0], (n, 1)), centroid=np.zeros((n, 2)))


def _new(counts, pixels, first, last) -> NewValues:
    n = len(counts)
    return NewValues(np.array(counts, np.int64), np.array(pixels, np.int64),
                     np.array(first, "datetime64[D]"), np.array(last, "datetime64[D]"),
                     np.array(counts, float) * 0.09, np.tile([0.0, 0.0, 1.0, 1.0], (n, 1)),
                     np.zeros((n, 2)))


def test_matcher_decides_unchanged_grown_upgraded_merged_and_new():
    stored = _state(5, [4, 4, 6, 3, 3], [[4, 0, 0], [4, 0, 0], [2, 4, 0], [3, 0, 0], [0, 3, 0]],
                    ["2023-01-01"] * 5, ["2023-01-02"] * 5)
    m = SeriesMatcher(stored)
    m.note_hits(np.array([0, 1, 2, 3, 4]))
    new = _new([4, 7, 4, 8, 2],
               [[4, 0, 0], [4, 3, 0], [0, 4, 0], [2, 6, 0], [0, 2, 0]],
               ["2023-01-01", "2023-01-01", "2023-01-01", "2023-01-01", "2024-01-01"],
               ["2023-01-02", "2024-02-01", "2023-01-02", "2024-02-01", "2024-01-02"])
    # comp 0 is stored 0; comp 1 grew from 1; comp 2 is 3, upgraded; comp 3 joins 2 and 4
    d = m.decide(new, np.array([0, 1, 2, 3, 3]), np.array([0, 1, 3, 2, 4]),
                 np.array([], np.int64), np.array([], np.int64))
    assert d.target.tolist() == [1, 2, 4, 3, -1]
    assert d.unchanged.tolist() == [True, False, False, False, False]
    assert d.change[1] == "grown,dates"
    assert d.change[2] == "grown,confidence"  # 3 px stored, 4 now: one new, three upgraded
    assert d.upgraded[2] == 3
    assert d.change[3].startswith("merged")
    assert d.merged.tolist() == [5] and d.into.tolist() == [3]
    assert d.new.tolist() == [False, False, False, False, True]


def test_a_component_without_a_stored_anchor_claims_the_clearing_it_lies_in():
    stored = _state(2, [9, 9], [[9, 0, 0], [9, 0, 0]], ["2023-01-01"] * 2, ["2023-01-01"] * 2)
    m = SeriesMatcher(stored)
    m.note_hits(np.array([1]))  # stored 0 lost its anchor pixel, stored 1 did not
    assert m.unclaimed(np.array([0, 1])).tolist() == [True, False]
    new = _new([3, 3], [[3, 0, 0]] * 2, ["2023-01-01"] * 2, ["2023-01-01"] * 2)
    d = m.decide(new, np.array([], np.int64), np.array([], np.int64),
                 np.array([0, 1, 1]), np.array([0, 0, 1]))
    assert d.target.tolist() == [1, -1]  # one claim per stored clearing; hit anchors win
    assert d.change[0] == "shrunk"


def test_vector_alerts_are_matched_by_code():
    comp, pos = match_codes(np.array(["a", "b", None], object),
                            np.array(["b", "c", "a"], object))
    assert comp.tolist() == [0, 2] and pos.tolist() == [1, 0]
    stored = _state(3, [0, 0, 0], [[0, 0, 0]] * 3, ["2023-01-01"] * 3, ["2023-01-01"] * 3)
    new = _new([0, 0, 0], [[0, 0, 0]] * 3, ["2023-01-01", "2024-01-01", "2023-01-01"],
               ["2023-01-01", "2024-01-01", "2023-01-01"])
    d = decide_codes(stored, new, comp, pos)
    assert isinstance(d, Decision)
    assert d.target.tolist() == [2, -1, 1] and d.unchanged.tolist() == [True, False, True]
