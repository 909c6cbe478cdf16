"""Labelling, first stage: strips of alert pixels to runs, and runs joined by union-find.

Each strip of rows is reduced to horizontal *runs* of accepted pixels with a fused
lookup-table filter (a pixel is decoded once; rows of zeros are skipped four pixels at
a time), with the first and last alert day and the count of each confidence level per
run. Runs of neighbouring rows that touch, diagonals included, are joined into
8-connected components with union-find (:func:`link_runs`, :func:`component_roots`).
Coordinates are pixel (column, row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from vigilancia.domain.alerts import INVALID


@njit(cache=True, nogil=True)
def _scan(codes, words, conf_lut, day_lut, row0, cap):  # pragma: no cover - compiled
    """``words``: the same rows seen as uint64 (4 pixels each; width 0 when not available),
    so that runs of zeros, most of a tile, are skipped 4 pixels at a time."""
    h, w = codes.shape
    nw = words.shape[1]
    rows = np.empty(cap, np.int32)
    c0 = np.empty(cap, np.int32)
    c1 = np.empty(cap, np.int32)
    dmin = np.empty(cap, np.int32)
    dmax = np.empty(cap, np.int32)
    cnt = np.zeros((cap, 3), np.int32)
    n = 0
    bad = 0
    bad_r = -1
    bad_c = -1
    bad_v = 0
    for i in range(h):
        line = codes[i]
        wl = words[i]
        j = 0
        while j < w:
            v = line[j]
            if v == 0:
                if (j & 3) == 0:
                    q = j >> 2
                    # 32 pixels (a cache line) at a time while they are all zero
                    while q + 8 <= nw and (
                        wl[q] | wl[q + 1] | wl[q + 2] | wl[q + 3]
                        | wl[q + 4] | wl[q + 5] | wl[q + 6] | wl[q + 7]
                    ) == 0:
                        q += 8
                    while q < nw and wl[q] == 0:
                        q += 1
                    if (q << 2) > j:
                        j = q << 2
                        continue
                j += 1
                continue
            k = conf_lut[v]
            if k == 0:
                j += 1
                continue
            if k == 255:
                if bad == 0:
                    bad_r = row0 + i
                    bad_c = j
                    bad_v = v
                bad += 1
                j += 1
                continue
            if n == cap:
                return -1, rows, c0, c1, dmin, dmax, cnt, bad, bad_r, bad_c, bad_v
            start = j
            d = day_lut[v]
            lo = d
            hi = d
            a1 = 0
            a2 = 0
            a3 = 0
            while True:
                if k == 1:
                    a1 += 1
                elif k == 2:
                    a2 += 1
                else:
                    a3 += 1
                if d < lo:
                    lo = d
                if d > hi:
                    hi = d
                j += 1
                if j >= w:
                    break
                v = line[j]
                if v == 0:
                    break
                k = conf_lut[v]
                if k == 0 or k == 255:
                    break
                d = day_lut[v]
            rows[n] = row0 + i
            c0[n] = start
            c1[n] = j
            dmin[n] = lo
            dmax[n] = hi
            cnt[n, 0] = a1
            cnt[n, 1] = a2
            cnt[n, 2] = a3
            n += 1
    return n, rows, c0, c1, dmin, dmax, cnt, bad, bad_r, bad_c, bad_v


@dataclass
class Runs:
    """Horizontal runs of accepted pixels; ``c1`` is exclusive. Sorted by (row, c0)."""

    row: NDArray[np.int32]
    c0: NDArray[np.int32]
    c1: NDArray[np.int32]
    dmin: NDArray[np.int32]  # earliest alert day in the run (days since 1970-01-01)
    dmax: NDArray[np.int32]
    counts: NDArray[np.int32]  # (n, 3): pixels per confidence low, high, highest

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def empty(cls) -> Runs:
        i4 = np.empty(0, np.int32)
        return cls(i4, i4, i4, i4, i4, np.empty((0, 3), np.int32))

    @classmethod
    def concat(cls, parts: list[Runs]) -> Runs:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("row", "c0", "c1", "dmin", "dmax", "counts")
            )
        )

    def take(self, idx: NDArray[np.intp]) -> Runs:
        return Runs(
            self.row[idx],
            self.c0[idx],
            self.c1[idx],
            self.dmin[idx],
            self.dmax[idx],
            self.counts[idx],
        )


@dataclass(frozen=True)
class BadPixels:
    """Pixels whose value the product cannot take (first one, for the error message)."""

    count: int
    row: int
    col: int
    value: int


def scan_strip(
    codes: NDArray[np.integer], conf_lut: NDArray[np.uint8], day_lut: NDArray[np.int32], row0: int
) -> tuple[Runs, BadPixels | None]:
    """Runs of the pixels of ``codes`` (rows ``row0``...) that pass the lookup tables.

    ``conf_lut``/``day_lut`` come from :func:`vigilancia.domain.alerts.lookup_tables`.
    Releases the GIL, so two threads can scan two halves of a strip.
    """
    if codes.size == 0:
        return Runs.empty(), None
    codes = np.ascontiguousarray(codes)
    if codes.dtype == np.uint16 and codes.shape[1] % 4 == 0:
        words = codes.view(np.uint64)
    else:
        words = np.zeros((codes.shape[0], 0), np.uint64)
    cap = max(1024, codes.size // 64)
    while True:
        n, rows, c0, c1, dmin, dmax, cnt, bad, br, bc, bv = _scan(
            codes, words, conf_lut, day_lut, row0, cap
        )
        if n >= 0:
            break
        cap *= 4
    runs = Runs(
        rows[:n].copy(),
        c0[:n].copy(),
        c1[:n].copy(),
        dmin[:n].copy(),
        dmax[:n].copy(),
        cnt[:n].copy(),
    )
    return runs, (BadPixels(int(bad), int(br), int(bc), int(bv)) if bad else None)


assert INVALID == 255  # the kernel tests the literal


@njit(cache=True, nogil=True)
def _find(parent, x):  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def link_runs(row, c0, c1, parent, start, end):  # pragma: no cover - compiled
    """Join runs [start, end) with the 8-adjacent runs of the row above (which may be < start)."""
    i = start
    while i < end:
        r = row[i]
        j = i
        while j < end and row[j] == r:
            j += 1
        p_end = i
        p = i - 1
        while p >= 0 and row[p] == r - 1:
            p -= 1
        p_start = p + 1
        a = p_start
        for k in range(i, j):
            while a < p_end and c1[a] < c0[k]:
                a += 1
            b = a
            while b < p_end and c0[b] <= c1[k]:
                ra = _find(parent, k)
                rb = _find(parent, b)
                if ra != rb:
                    if ra < rb:
                        parent[rb] = ra
                    else:
                        parent[ra] = rb
                b += 1
        i = j


@njit(cache=True, nogil=True)
def component_roots(parent):  # pragma: no cover - compiled
    out = np.empty(parent.size, np.int64)
    for i in range(parent.size):
        out[i] = _find(parent, i)
    return out
