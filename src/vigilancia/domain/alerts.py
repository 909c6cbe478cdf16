"""Alert products and their decoders, exactly as their publishers document them.

Every raster product is brought to one internal code per pixel, the **GFW
encoding**: ``confidence * 10000 + days since 2014-12-31`` (uint16, 0 = no
alert). Multi-band Earth Engine exports are normalised to it band-wise; the
hot path then filters date and confidence through two 65,536-entry lookup
tables (:func:`lookup_tables`) instead of decoding pixel by pixel.

Published examples (``../shared/data/README.md``):

>>> decode_gfw(20001)
(<Confidence.LOW: 1>, datetime.date(2015, 1, 1))
>>> decode_gfw(30055)
(<Confidence.HIGH: 2>, datetime.date(2015, 2, 24))
>>> decode_yydoy(21001)
datetime.date(2021, 1, 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

GFW_EPOCH = date(2014, 12, 31)
"""Day 0 of the GFW date encoding (value 1 is 2015-01-01)."""
GLAD_S2_EPOCH = date(2018, 12, 31)
"""Day 0 of GLAD-S2 ``obsDate``."""
UNIX_EPOCH = date(1970, 1, 1)
_GFW_EPOCH_UNIX = (GFW_EPOCH - UNIX_EPOCH).days
_GLAD_S2_SHIFT = (GLAD_S2_EPOCH - GFW_EPOCH).days  # 1461 days

MAX_GFW_DAYS = 9999
"""Largest day offset the GFW encoding can hold (2042-05-17)."""

INVALID = np.uint8(255)
"""Marker in the confidence lookup table for a value the product cannot take."""


class Confidence(IntEnum):
    """Alert confidence, common to every product (stored per clearing as pixel counts)."""

    LOW = 1
    HIGH = 2
    HIGHEST = 3

    @classmethod
    def parse(cls, text: str | Confidence) -> Confidence:
        if isinstance(text, Confidence):
            return text
        key = str(text).strip().lower()
        aliases = {
            "low": cls.LOW,
            "baja": cls.LOW,
            "high": cls.HIGH,
            "alta": cls.HIGH,
            "highest": cls.HIGHEST,
            "muy alta": cls.HIGHEST,
            "maxima": cls.HIGHEST,
        }
        if key not in aliases:
            raise ValueError(f"unknown confidence {text!r}: use low, high or highest")
        return aliases[key]


# GFW confidence digit -> Confidence
_GFW_CONF = {2: Confidence.LOW, 3: Confidence.HIGH, 4: Confidence.HIGHEST}


def decode_gfw(value: int) -> tuple[Confidence | None, date | None]:
    """Decode one GFW alert value (integrated, GLAD-L, GLAD-S2 or RADD as GFW serves them).

    Returns ``(None, None)`` for 0 (no alert). Raises ValueError for a value the
    encoding cannot produce.
    """
    if value == 0:
        return None, None
    conf_digit, days = divmod(int(value), 10000)
    if conf_digit not in _GFW_CONF or not 1 <= days <= MAX_GFW_DAYS:
        raise ValueError(f"{value} is not a GFW alert value (confidence*10000 + days)")
    return _GFW_CONF[conf_digit], GFW_EPOCH + timedelta(days=days)


def encode_gfw(confidence: Confidence, day: date) -> int:
    """Inverse of :func:`decode_gfw`."""
    days = (day - GFW_EPOCH).days
    if not 1 <= days <= MAX_GFW_DAYS:
        raise ValueError(f"{day} is outside the GFW encoding (2015-01-01 .. 2042-05-17)")
    digit = {v: k for k, v in _GFW_CONF.items()}[Confidence(confidence)]
    return digit * 10000 + days


def decode_yydoy(value: int) -> date:
    """RADD ``Date`` band: YYDOY, e.g. 21001 -> 2021-01-01."""
    yy, doy = divmod(int(value), 1000)
    start = date(2000 + yy, 1, 1)
    last = date(2000 + yy, 12, 31)
    if not 1 <= doy <= last.timetuple().tm_yday:
        raise ValueError(f"{value} is not a YYDOY date")
    return start + timedelta(days=doy - 1)


def encode_yydoy(day: date) -> int:
    return (day.year - 2000) * 1000 + day.timetuple().tm_yday


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts count: a closed date window and a minimum confidence."""

    since: date | None = None
    until: date | None = None
    min_confidence: Confidence = Confidence.LOW


@dataclass(frozen=True)
class InvalidValues:
    """Values a product cannot take, found while normalising (for error messages)."""

    band: str
    value: int
    row: int
    col: int
    count: int


class ProductError(ValueError):
    """Pixel values that break a product's encoding (the caller adds the file name)."""

    def __init__(self, product: str, found: InvalidValues, expected: str):
        self.product = product
        self.found = found
        self.expected = expected
        super().__init__(
            f"{product}: band {found.band} has {found.count} value(s) out of range, "
            f"first {found.value} at row {found.row}, column {found.col}; expected {expected}"
        )


@dataclass(frozen=True)
class RasterProduct:
    """A raster alert product: its name, its bands and how to normalise them to GFW codes."""

    name: str
    title: str
    bands: tuple[str, ...]  # band roles, in the order expected when descriptions are missing
    expected: str  # what valid values look like, for error messages
    max_value: int  # largest value of a single-band product (LUT size check)

    def normalise(
        self, bands: Mapping[str, NDArray[np.integer]], row0: int = 0
    ) -> NDArray[np.uint16]:
        """GFW codes (uint16) for one window; raises :class:`ProductError` on impossible values."""
        return _NORMALISERS[self.name](self, bands, row0)


def _first_bad(
    mask: NDArray[np.bool_], values: NDArray[np.integer], band: str, row0: int
) -> InvalidValues:
    idx = np.flatnonzero(mask)
    r, c = divmod(int(idx[0]), mask.shape[1])
    return InvalidValues(band, int(values[r, c]), row0 + r, c, int(idx.size))


def _norm_gfw(
    p: RasterProduct, b: Mapping[str, NDArray[np.integer]], row0: int
) -> NDArray[np.uint16]:
    a = b["alert"]
    if a.dtype == np.uint16:
        return a.astype(np.uint16, copy=False)  # validated by the lookup table in the hot loop
    bad = (a < 0) | (a > 65535)
    if bad.any():
        raise ProductError(p.name, _first_bad(bad, a, "1", row0), p.expected)
    return a.astype(np.uint16)


def _norm_radd(
    p: RasterProduct, b: Mapping[str, NDArray[np.integer]], row0: int
) -> NDArray[np.uint16]:
    alert = b["Alert"].astype(np.int32)
    yydoy = b["Date"].astype(np.int64)
    bad = ~np.isin(alert, (0, 2, 3))
    if bad.any():
        raise ProductError(p.name, _first_bad(bad, alert, "Alert", row0), "Alert 0, 2 or 3")
    on = alert > 0
    yy, doy = np.divmod(yydoy, 1000)
    badd = on & ((yy < 15) | (yy > 42) | (doy < 1) | (doy > 366))
    if badd.any():
        raise ProductError(
            p.name, _first_bad(badd, yydoy, "Date", row0), "Date as YYDOY, e.g. 21001"
        )
    year_start = np.array([(date(2000 + y, 1, 1) - GFW_EPOCH).days for y in range(0, 43)], np.int64)
    days = year_start[np.clip(yy, 0, 42)] + doy - 1
    digit = np.where(alert == 3, 3, 2)
    return np.where(on, digit * 10000 + days, 0).astype(np.uint16)


def _norm_glad_s2(
    p: RasterProduct, b: Mapping[str, NDArray[np.integer]], row0: int
) -> NDArray[np.uint16]:
    alert = b["alert"].astype(np.int32)
    obs = b["obsDate"].astype(np.int64)
    bad = (alert < 0) | (alert > 4)
    if bad.any():
        raise ProductError(p.name, _first_bad(bad, alert, "alert", row0), "alert 0..4")
    on = alert > 0
    badd = on & ((obs < 1) | (obs + _GLAD_S2_SHIFT > MAX_GFW_DAYS))
    if badd.any():
        raise ProductError(
            p.name, _first_bad(badd, obs, "obsDate", row0), "obsDate in days since 2018-12-31"
        )
    digit = np.where(alert >= 3, 3, 2)
    return np.where(on, digit * 10000 + obs + _GLAD_S2_SHIFT, 0).astype(np.uint16)


def _norm_glad_l(
    p: RasterProduct, b: Mapping[str, NDArray[np.integer]], row0: int
) -> NDArray[np.uint16]:
    """GLAD-L: pairs conf{YY}/alertDate{YY}; the earliest alert of the pixel wins."""
    years = sorted(int(k[4:]) for k in b if k.startswith("conf") and f"alertDate{k[4:]}" in b)
    if not years:
        raise ProductError(
            p.name, InvalidValues("conf", 0, row0, 0, 0), "bands conf{YY} and alertDate{YY}"
        )
    shape = next(iter(b.values())).shape
    out = np.zeros(shape, np.uint16)
    for yy in years:
        conf = b[f"conf{yy:02d}"].astype(np.int32)
        doy = b[f"alertDate{yy:02d}"].astype(np.int64)
        bad = ~np.isin(conf, (0, 2, 3))
        if bad.any():
            raise ProductError(
                p.name, _first_bad(bad, conf, f"conf{yy:02d}", row0), "conf 0, 2 or 3"
            )
        on = conf > 0
        badd = on & ((doy < 1) | (doy > 366))
        if badd.any():
            raise ProductError(
                p.name, _first_bad(badd, doy, f"alertDate{yy:02d}", row0), "alertDate = day of year"
            )
        days = (date(2000 + yy, 1, 1) - GFW_EPOCH).days + doy - 1
        code = np.where(conf == 3, 3, 2) * 10000 + days
        take = on & (out == 0)
        out[take] = code[take]
    return out


def _norm_hansen(
    p: RasterProduct, b: Mapping[str, NDArray[np.integer]], row0: int
) -> NDArray[np.uint16]:
    a = b["lossyear"]
    bad = (a < 0) | (a > 50)
    if bad.any():
        raise ProductError(p.name, _first_bad(bad, a, "lossyear", row0), p.expected)
    return a.astype(np.uint16)


_NORMALISERS = {
    "gfw": _norm_gfw,
    "radd-gee": _norm_radd,
    "glad-s2": _norm_glad_s2,
    "glad-l-gee": _norm_glad_l,
    "hansen": _norm_hansen,
}

RASTER_PRODUCTS: dict[str, RasterProduct] = {
    "gfw": RasterProduct(
        "gfw",
        "GFW alerts (integrated, GLAD-L, GLAD-S2, RADD)",
        ("alert",),
        "confidence*10000 + days since 2014-12-31 (2xxxx low, 3xxxx high, 4xxxx highest)",
        65535,
    ),
    "radd-gee": RasterProduct(
        "radd-gee",
        "RADD (Earth Engine export)",
        ("Alert", "Date"),
        "Alert 0/2/3 and Date YYDOY",
        65535,
    ),
    "glad-l-gee": RasterProduct(
        "glad-l-gee",
        "GLAD-L (Earth Engine export)",
        ("conf", "alertDate"),
        "conf{YY} 0/2/3 and alertDate{YY} day of year",
        65535,
    ),
    "glad-s2": RasterProduct(
        "glad-s2",
        "GLAD-S2",
        ("alert", "obsDate"),
        "alert 0..4 and obsDate in days since 2018-12-31",
        65535,
    ),
    "hansen": RasterProduct(
        "hansen",
        "Hansen Global Forest Change loss year",
        ("lossyear",),
        "lossyear 0..24 (loss in 2001..2024)",
        255,
    ),
}

VECTOR_PRODUCTS = ("mapbiomas",)
ALL_PRODUCTS = (*RASTER_PRODUCTS, *VECTOR_PRODUCTS)


def lookup_tables(product: str, flt: AlertFilter) -> tuple[NDArray[np.uint8], NDArray[np.int32]]:
    """Two 65,536-entry tables indexed by the normalised code of ``product``.

    ``conf[v]`` is 0 when ``v`` is no alert or is filtered out by ``flt``,
    1..3 (:class:`Confidence`) when it counts, and :data:`INVALID` when the
    product cannot produce ``v``. ``day[v]`` is the alert date in days since
    1970-01-01 (``datetime64[D]`` compatible).
    """
    v = np.arange(65536, dtype=np.int64)
    conf = np.zeros(65536, np.uint8)
    day = np.zeros(65536, np.int32)
    if product == "hansen":
        years = 2000 + v
        valid = v <= 50
        on = (v >= 1) & valid
        conf[on] = Confidence.HIGH
        # Hansen gives only the year: the date is 1 January of the loss year.
        for yv in range(1, 51):
            day[yv] = (date(2000 + yv, 1, 1) - UNIX_EPOCH).days
        conf[~valid] = INVALID
        del years
    else:
        digit, days = np.divmod(v, 10000)
        valid = (v == 0) | (np.isin(digit, (2, 3, 4)) & (days >= 1))
        on = valid & (v > 0)
        conf[on] = (digit[on] - 1).astype(np.uint8)
        day[on] = (_GFW_EPOCH_UNIX + days[on]).astype(np.int32)
        conf[~valid] = INVALID
    keep = conf != INVALID
    if flt.since is not None:
        keep_since = day >= (flt.since - UNIX_EPOCH).days
        conf[on & ~keep_since] = 0
    if flt.until is not None:
        keep_until = day <= (flt.until - UNIX_EPOCH).days
        conf[on & ~keep_until] = 0
    low = (conf > 0) & (conf < int(flt.min_confidence)) & keep
    conf[low] = 0
    return conf, day
