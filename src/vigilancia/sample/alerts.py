"""The sample region's alert raster: GFW-encoded pixels of synthetic clearings, and its truth.

:func:`paint_alerts` paints coca-like patches (0.3-3 ha, in clusters near streams),
runway-like strips (400-1,500 m long, 1-2 pixels wide, some fragmented), a few large
clearings (50-300 ha) near roads that grow outwards over time, two pairs of patches
that touch only diagonally and single-pixel low-confidence noise, and records what each
feature is (:class:`Truth`). :func:`write_alerts` writes the GeoTIFF (uint16,
``confidence * 10000 + days since 2014-12-31``, tiled :data:`~.frame.BLOCK` x
:data:`~.frame.BLOCK`, DEFLATE, EPSG:4326, nodata 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.windows import Window

from vigilancia.sample.frame import (
    BLOCK,
    DAY_END,
    DAY_START,
    DEFAULT_SIZE,
    GFW_EPOCH,
    ORIGIN_LAT,
    ORIGIN_LON,
    PIXEL_DEG,
    FloatArray,
    Frame,
    IntArray,
    UInt16Array,
    coord_list,
    densify,
    feature,
)
from vigilancia.sample.vectors import Vectors

# ---------------------------------------------------------------------------
# raster


@dataclass
class Truth:
    features: list[dict[str, Any]]


def _day_iso(day: int) -> str:
    return (GFW_EPOCH + timedelta(days=int(day))).isoformat()


def _confidence(
    rng: np.random.Generator, p_low: FloatArray, p_highest: FloatArray
) -> NDArray[np.uint16]:
    """Per-pixel confidence 2/3/4 from per-pixel probabilities of low and highest."""
    u = rng.random(len(p_low))
    conf = np.full(len(p_low), 3, np.uint16)
    conf[u < p_low] = 2
    conf[u > 1.0 - p_highest] = 4
    return conf


def _paint(
    value: UInt16Array, rows: IntArray, cols: IntArray, days: IntArray, conf: NDArray[np.uint16]
) -> None:
    n = value.shape[0]
    ok = (rows >= 0) & (rows < n) & (cols >= 0) & (cols < n)
    days = np.clip(days, DAY_START, DAY_END)
    value[rows[ok], cols[ok]] = (conf[ok].astype(np.uint32) * 10_000 + days[ok]).astype(np.uint16)


def _clear_box(value: UInt16Array, r0: int, c0: int, r1: int, c1: int) -> None:
    n = value.shape[0]
    value[max(r0, 0) : min(r1, n), max(c0, 0) : min(c1, n)] = 0


def _coca(
    rng: np.random.Generator,
    frame: Frame,
    value: UInt16Array,
    streams_px: FloatArray,
    truth: Truth,
) -> None:
    """Small irregular patches (4-40 px, 0.3-3 ha) grown by random walks, in clusters
    5-40 px from streams."""
    size = frame.size
    scale2 = (size / DEFAULT_SIZE) ** 2
    n_clusters = max(4, round(70 * scale2))
    anchors = streams_px[rng.integers(0, len(streams_px), n_clusters)]
    ang = rng.uniform(0, 2 * np.pi, n_clusters)
    dist = rng.uniform(5, 40, n_clusters)
    centres = anchors + np.column_stack([np.cos(ang), np.sin(ang)]) * dist[:, None]
    per = rng.integers(2, 11, n_clusters)
    cl_id = np.repeat(np.arange(n_clusters), per)
    n_patch = len(cl_id)
    patch_c = centres[cl_id] + rng.normal(0.0, 14.0, (n_patch, 2))
    target = np.clip(np.round(rng.lognormal(math.log(12), 0.6, n_patch)), 4, 40).astype(np.int64)
    steps = 4 * 40
    moves = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], np.int64)
    walk = moves[rng.integers(0, 4, (n_patch, steps))]
    walk[:, 0] = 0
    pos = np.cumsum(walk, axis=1)  # (n_patch, steps, 2) offsets (dx, dy)
    cols = np.round(patch_c[:, 0]).astype(np.int64)[:, None] + pos[..., 0]
    rows = np.round(patch_c[:, 1]).astype(np.int64)[:, None] + pos[..., 1]
    pid = np.repeat(np.arange(n_patch), steps)
    span = 2 * steps + 1
    key = pid * span * span + (pos[..., 1].ravel() + steps) * span + pos[..., 0].ravel() + steps
    _, first = np.unique(key, return_index=True)
    first.sort()  # first visits, in patch then step order
    fp = pid[first]
    starts = np.searchsorted(fp, np.arange(n_patch))
    rank = np.arange(len(first)) - starts[fp]
    keep = first[rank < target[fp]]
    kp = pid[keep]
    r = rows.ravel()[keep]
    c = cols.ravel()[keep]

    day0 = rng.integers(DAY_START, DAY_END - 20, n_patch)
    npx = np.bincount(kp, minlength=n_patch)
    age = (DAY_END - day0) / (DAY_END - DAY_START)
    p_low_patch = np.clip(0.6 - 0.35 * npx / 40 - 0.25 * age, 0.05, 0.9)
    p_top_patch = np.clip(0.05 + 0.25 * npx / 40 + 0.15 * age, 0.0, 0.5)
    days = day0[kp] + rng.integers(0, 15, len(kp))
    conf = _confidence(rng, p_low_patch[kp], p_top_patch[kp])
    _paint(value, r, c, days, conf)

    lonlat = frame.px_to_lonlat(patch_c + 0.5)
    for i in range(n_patch):
        truth.features.append(
            feature(
                {"type": "Point", "coordinates": coord_list(lonlat[i : i + 1])[0]},
                {
                    "tipo": "parche_coca",
                    "causa": "coca",
                    "grupo": int(cl_id[i]),
                    "pixeles": int(npx[i]),
                    "area_ha": round(float(npx[i] * frame.pixel_ha), 3),
                    "fecha_inicio": _day_iso(int(day0[i])),
                    "fecha_fin": _day_iso(int(day0[i]) + 14),
                },
            )
        )


def _clearings(
    rng: np.random.Generator,
    frame: Frame,
    value: UInt16Array,
    roads_px: list[FloatArray],
    truth: Truth,
) -> None:
    """Large irregular clearings (50-300 ha) beside roads, growing outwards over time.
    The first one is centred on a 400-px block column edge crossed by the main road."""
    size = frame.size
    n = max(3, round(5 * (size / DEFAULT_SIZE) ** 2))
    main = roads_px[0]
    inside = main[
        (main[:, 0] > BLOCK * 0.5)
        & (main[:, 0] < size - BLOCK * 0.5)
        & (main[:, 1] > 60)
        & (main[:, 1] < size - 60)
    ]
    for k in range(n):
        area_ha = rng.uniform(50, 300) if k else rng.uniform(120, 250)
        r0 = math.sqrt(area_ha / frame.pixel_ha / math.pi)
        if k == 0 and len(inside):
            # where the main road crosses a block column edge
            edge_cols = np.arange(BLOCK, size, BLOCK)
            d = np.abs(inside[:, 0][:, None] - edge_cols[None, :])
            i, j = np.unravel_index(np.argmin(d), d.shape)
            anchor = np.array([float(edge_cols[j]), inside[i, 1]])
            side = 1.0 if anchor[1] + r0 + 12 < size else -1.0
            centre = anchor + np.array([0.0, side * (r0 * 0.8 + 10)])
        else:
            road = roads_px[int(rng.integers(0, len(roads_px)))]
            p = road[int(rng.integers(len(road) // 8, len(road) * 7 // 8))]
            ang = rng.uniform(0, 2 * np.pi)
            centre = p + (r0 * 0.9 + rng.uniform(5, 20)) * np.array([math.cos(ang), math.sin(ang)])
        centre = np.clip(centre, r0, size - r0)
        ext = int(math.ceil(r0 * 1.8)) + 2
        cr, cc = int(round(centre[1])), int(round(centre[0]))
        yy, xx = np.mgrid[cr - ext : cr + ext + 1, cc - ext : cc + ext + 1]
        dy = yy + 0.5 - centre[1]
        dx = xx + 0.5 - centre[0]
        rho = np.hypot(dx, dy)
        theta = np.arctan2(dy, dx)
        rad = np.ones_like(theta)
        for h in range(2, 6):
            rad += rng.uniform(0.0, 0.16) * np.cos(h * theta + rng.uniform(0, 6.3))
        rad *= r0
        rel = rho / rad
        inside_px = rel <= 1.0 + rng.normal(0.0, 0.03, rel.shape)
        span = int(rng.integers(90, 420))
        start = int(rng.integers(DAY_START, DAY_END - span))
        rel_in = np.clip(rel[inside_px], 0.0, 1.0)
        days = (start + rel_in * span + rng.integers(0, 12, rel_in.size)).astype(np.int64)
        conf = _confidence(rng, 0.05 + 0.45 * rel_in, 0.45 * (1.0 - rel_in))
        rows = yy[inside_px].astype(np.int64)
        cols = xx[inside_px].astype(np.int64)
        _paint(value, rows, cols, days, conf)
        crosses = bool(
            (rows // BLOCK).min() != (rows // BLOCK).max()
            or (cols // BLOCK).min() != (cols // BLOCK).max()
        )
        truth.features.append(
            feature(
                {"type": "Point",
                 "coordinates": coord_list(frame.px_to_lonlat(centre[None, :]))[0]},
                {
                    "tipo": "desbosque_grande",
                    "causa": "agricultura",
                    "pixeles": int(rows.size),
                    "area_ha": round(float(rows.size * frame.pixel_ha), 2),
                    "fecha_inicio": _day_iso(start),
                    "fecha_fin": _day_iso(min(start + span + 11, DAY_END)),
                    "cruza_borde_de_bloque": crosses,
                },
            )
        )


def _runways(
    rng: np.random.Generator,
    frame: Frame,
    value: UInt16Array,
    roads_px: list[FloatArray],
    truth: Truth,
) -> list[tuple[FloatArray, int, float, int]]:
    """Straight strips 400-1,500 m long and 1-2 px wide, away from roads; some have a
    gap. Returns (end points in px, year, length m, active flag) per runway."""
    size = frame.size
    n = max(3, round(8 * (size / DEFAULT_SIZE) ** 2))
    pw, ph = frame.pixel_m
    px_m = (pw + ph) / 2
    road_pts = np.concatenate([densify(r, 8.0) for r in roads_px])
    made: list[tuple[FloatArray, int, float, int]] = []
    centres: list[FloatArray] = []
    tries = 0
    while len(made) < n and tries < 500:
        tries += 1
        length_m = float(rng.uniform(400, 1500))
        lpx = length_m / px_m
        theta = float(rng.uniform(0, np.pi))
        width = int(rng.integers(1, 3))
        margin = lpx / 2 + 8
        if size - 2 * margin < 1:
            continue
        c = rng.uniform(margin, size - margin, 2)
        if np.min(np.hypot(*(road_pts - c).T)) < 100 * min(1.0, size / DEFAULT_SIZE) + lpx / 2:
            continue
        if any(np.hypot(*(c - o)) < lpx + 40 for o in centres):
            continue
        direction = np.array([math.cos(theta), math.sin(theta)])
        normal = np.array([-direction[1], direction[0]])
        # carve a margin so the strip stays its own component
        half = int(math.ceil(lpx / 2)) + 5
        cr, cc = int(c[1]), int(c[0])
        yy, xx = np.mgrid[cr - half : cr + half + 1, cc - half : cc + half + 1]
        rel = np.stack([xx + 0.5 - c[0], yy + 0.5 - c[1]], axis=-1)
        along = rel @ direction
        across = rel @ normal
        near = (np.abs(along) <= lpx / 2 + 3) & (np.abs(across) <= width + 3)
        inb = (yy >= 0) & (yy < size) & (xx >= 0) & (xx < size)
        value[yy[near & inb], xx[near & inb]] = 0

        t = np.arange(-lpx / 2, lpx / 2, 0.5)
        if rng.random() < 0.5:  # fragmented: a gap of 2-4 px somewhere in the middle
            g = rng.uniform(-lpx / 4, lpx / 4)
            t = t[(t < g) | (t > g + rng.uniform(2, 4))]
        pts = np.concatenate([c + t[:, None] * direction + w * normal for w in range(width)])
        ij = np.unique(np.floor(pts).astype(np.int64), axis=0)
        start = int(rng.integers(DAY_START, DAY_END - 60))
        days = start + rng.integers(0, 45, len(ij))
        conf = _confidence(rng, np.full(len(ij), 0.15), np.full(len(ij), 0.3))
        _paint(value, ij[:, 1], ij[:, 0], days, conf)

        ends = np.stack([c - direction * lpx / 2, c + direction * lpx / 2])
        year = int(rng.integers(2016, 2024))
        active = int(rng.integers(0, 3))
        made.append((ends, year, length_m, active))
        centres.append(c)
        truth.features.append(
            feature(
                {"type": "LineString", "coordinates": coord_list(frame.px_to_lonlat(ends))},
                {
                    "tipo": "pista",
                    "causa": "pista",
                    "pixeles": len(ij),
                    "largo_m": round(length_m, 1),
                    "ancho_px": width,
                    "fecha_inicio": _day_iso(start),
                    "fecha_fin": _day_iso(start + 44),
                },
            )
        )
    return made


def _diagonal_pairs(
    rng: np.random.Generator, frame: Frame, value: UInt16Array, truth: Truth
) -> None:
    """Two pairs of 3x3 patches that touch only at a corner: one clearing with
    8-connectivity, two with 4-connectivity."""
    size = frame.size
    for _ in range(2):
        for _try in range(200):  # a spot with nothing around, so the pair stays alone
            r = int(rng.integers(20, size - 30))
            c = int(rng.integers(20, size - 30))
            if not value[r - 3 : r + 9, c - 3 : c + 9].any():
                break
        _clear_box(value, r - 3, c - 3, r + 9, c + 9)
        d1 = int(rng.integers(DAY_START, DAY_END - 200))
        d2 = d1 + int(rng.integers(60, 180))
        for dr, day in ((0, d1), (3, d2)):
            yy, xx = np.mgrid[r + dr : r + dr + 3, c + dr : c + dr + 3]
            k = yy.size
            _paint(
                value,
                yy.ravel().astype(np.int64),
                xx.ravel().astype(np.int64),
                np.full(k, day, np.int64),
                np.full(k, 3, np.uint16),
            )
        corner = frame.px_to_lonlat(np.array([[c + 3.0, r + 3.0]]))
        truth.features.append(
            feature(
                {"type": "Point", "coordinates": coord_list(corner)[0]},
                {
                    "tipo": "par_diagonal",
                    "causa": "otra",
                    "pixeles": 18,
                    "fila": r,
                    "columna": c,
                    "fecha_inicio": _day_iso(d1),
                    "fecha_fin": _day_iso(d2),
                },
            )
        )


def _noise(rng: np.random.Generator, value: UInt16Array) -> None:
    """Scattered single pixels of low confidence (about 1 in 10,000 pixels)."""
    size = value.shape[0]
    n = max(10, round(size * size / 10_000))
    rows = rng.integers(0, size, n)
    cols = rng.integers(0, size, n)
    days = rng.integers(DAY_START, DAY_END + 1, n)
    _paint(value, rows, cols, days, np.full(n, 2, np.uint16))


def write_alerts(path: Path, frame: Frame, value: UInt16Array) -> None:
    profile = {
        "driver": "GTiff",
        "dtype": "uint16",
        "count": 1,
        "width": frame.size,
        "height": frame.size,
        "crs": "EPSG:4326",
        "transform": Affine(PIXEL_DEG, 0.0, ORIGIN_LON, 0.0, -PIXEL_DEG, ORIGIN_LAT),
        "nodata": 0,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
    }
    with rasterio.Env(GDAL_NUM_THREADS="1"), rasterio.open(path, "w", **profile) as dst:
        dst.update_tags(
            PRODUCT="gfw_integrated_alerts (sintético, región de muestra)",
            ENCODING="confidence*10000 + days since 2014-12-31; 2 low, 3 high, 4 highest",
        )
        for r0 in range(0, frame.size, BLOCK):
            for c0 in range(0, frame.size, BLOCK):
                h = min(BLOCK, frame.size - r0)
                w = min(BLOCK, frame.size - c0)
                dst.write(value[r0 : r0 + h, c0 : c0 + w], 1, window=Window(c0, r0, w, h))


# ---------------------------------------------------------------------------


def paint_alerts(
    rngs: Sequence[np.random.Generator], frame: Frame, vec: Vectors
) -> tuple[UInt16Array, Truth, list[tuple[FloatArray, int, float, int]]]:
    """The alert pixels of the region: noise, coca patches near the streams, large
    clearings near the roads, runways and diagonal pairs, drawn with the five generators
    of ``rngs`` in that order. Returns the GFW-encoded pixels (``size`` x ``size``), the
    ground truth and the runways (end points in px, year, length m, active flag)."""
    size = frame.size
    value = np.zeros((size, size), np.uint16)
    truth = Truth([])
    streams_px = np.concatenate(
        [densify(frame.uv_to_px(line), 2.0) for _, _, line in vec.rivers[1:]]
    )
    streams_px = streams_px[
        (streams_px[:, 0] >= 0)
        & (streams_px[:, 0] < size)
        & (streams_px[:, 1] >= 0)
        & (streams_px[:, 1] < size)
    ]
    roads_px = [frame.uv_to_px(line) for *_, line in vec.roads]
    _noise(rngs[0], value)
    _coca(rngs[1], frame, value, streams_px, truth)
    _clearings(rngs[2], frame, value, roads_px, truth)
    runways = _runways(rngs[3], frame, value, roads_px, truth)
    _diagonal_pairs(rngs[4], frame, value, truth)
    return value, truth, runways
