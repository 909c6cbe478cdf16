"""Alert decoding, exactly as the publishers document it (../shared/data/README.md)."""

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilancia.domain.alerts import (
    INVALID,
    RASTER_PRODUCTS,
    AlertFilter,
    Confidence,
    ProductError,
    decode_gfw,
    decode_yydoy,
    encode_gfw,
    encode_yydoy,
    lookup_tables,
)


@pytest.mark.parametrize(
    ("value", "conf", "day"),
    [
        (20001, Confidence.LOW, date(2015, 1, 1)),
        (30055, Confidence.HIGH, date(2015, 2, 24)),
        (21847, Confidence.LOW, date(2020, 1, 21)),
        (40001, Confidence.HIGHEST, date(2015, 1, 1)),
    ],
)
def test_gfw_published_examples(value, conf, day):
    assert decode_gfw(value) == (conf, day)


def test_yydoy_published_example():
    assert decode_yydoy(21001) == date(2021, 1, 1)
    assert decode_yydoy(20366) == date(2020, 12, 31)  # leap year
    with pytest.raises(ValueError):
        decode_yydoy(21366)


@pytest.mark.parametrize("value", [1, 10001, 19999, 20000, 50001, 65535])
def test_gfw_rejects_impossible_values(value):
    with pytest.raises(ValueError):
        decode_gfw(value)


@given(st.sampled_from(list(Confidence)), st.dates(date(2015, 1, 1), date(2042, 5, 17)))
def test_gfw_round_trip(conf, day):
    assert decode_gfw(encode_gfw(conf, day)) == (conf, day)


@given(st.dates(date(2015, 1, 1), date(2042, 12, 31)))
def test_yydoy_round_trip(day):
    assert decode_yydoy(encode_yydoy(day)) == day


@given(st.integers(0, 65535))
def test_lookup_table_agrees_with_decoder(value):
    conf, day = lookup_tables("gfw", AlertFilter())
    try:
        c, d = decode_gfw(value)
    except ValueError:
        assert conf[value] == INVALID
        return
    if c is None:
        assert conf[value] == 0
    else:
        assert conf[value] == int(c)
        assert np.datetime64(d, "D").astype(np.int64) == day[value]


def test_lookup_table_filters_window_and_confidence():
    flt = AlertFilter(
        since=date(2020, 1, 1), until=date(2020, 12, 31), min_confidence=Confidence.HIGH
    )
    conf, _ = lookup_tables("gfw", flt)
    assert conf[encode_gfw(Confidence.HIGH, date(2020, 6, 1))] == 2
    assert conf[encode_gfw(Confidence.HIGHEST, date(2020, 1, 1))] == 3
    assert conf[encode_gfw(Confidence.LOW, date(2020, 6, 1))] == 0  # below min confidence
    assert conf[encode_gfw(Confidence.HIGH, date(2019, 12, 31))] == 0  # before since
    assert conf[encode_gfw(Confidence.HIGH, date(2021, 1, 1))] == 0  # after until
    assert conf[12345] == INVALID  # never filtered away: still reported


def test_hansen_loss_year():
    conf, day = lookup_tables("hansen", AlertFilter(since=date(2010, 1, 1)))
    assert conf[0] == 0 and conf[5] == 0  # 2005 is before since
    assert conf[24] == Confidence.HIGH
    assert day[24] == (date(2024, 1, 1) - date(1970, 1, 1)).days
    assert conf[200] == INVALID


def _codes(product, bands):
    return RASTER_PRODUCTS[product].normalise({k: np.array(v) for k, v in bands.items()})


def test_radd_earth_engine_export():
    codes = _codes("radd-gee", {"Alert": [[0, 2, 3]], "Date": [[0, 21001, 22032]]})
    assert codes[0, 0] == 0
    assert decode_gfw(int(codes[0, 1])) == (Confidence.LOW, date(2021, 1, 1))
    assert decode_gfw(int(codes[0, 2])) == (Confidence.HIGH, date(2022, 2, 1))


def test_glad_s2_export():
    codes = _codes("glad-s2", {"alert": [[0, 1, 2, 3, 4]], "obsDate": [[0, 1, 10, 100, 366]]})
    start = date(2018, 12, 31)
    assert [decode_gfw(int(v)) for v in codes[0]] == [
        (None, None),
        (Confidence.LOW, start + timedelta(1)),
        (Confidence.LOW, start + timedelta(10)),
        (Confidence.HIGH, start + timedelta(100)),
        (Confidence.HIGH, start + timedelta(366)),
    ]


def test_glad_l_export_keeps_earliest_year():
    codes = _codes(
        "glad-l-gee",
        {
            "conf21": [[2, 0]],
            "alertDate21": [[40, 0]],
            "conf22": [[3, 3]],
            "alertDate22": [[10, 32]],
        },
    )
    assert decode_gfw(int(codes[0, 0])) == (Confidence.LOW, date(2021, 2, 9))
    assert decode_gfw(int(codes[0, 1])) == (Confidence.HIGH, date(2022, 2, 1))


@pytest.mark.parametrize(
    ("product", "bands", "band"),
    [
        ("radd-gee", {"Alert": [[0, 7]], "Date": [[0, 21001]]}, "Alert"),
        ("radd-gee", {"Alert": [[2]], "Date": [[21400]]}, "Date"),
        ("glad-s2", {"alert": [[9]], "obsDate": [[3]]}, "alert"),
        ("glad-l-gee", {"conf21": [[5]], "alertDate21": [[3]]}, "conf21"),
    ],
)
def test_impossible_band_values_are_named(product, bands, band):
    with pytest.raises(ProductError) as err:
        _codes(product, bands)
    assert err.value.found.band == band
