"""What every map of the reports shares: scale bar, north arrow, labels that do not
collide, and coordinates written for a GPS.

Maps are drawn in longitude/latitude with the axes' aspect set to ``1 / cos(latitude)``
(``kx`` below), so that a kilometre is as long east-west as north-south.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from vigilancia.i18n import number

__all__ = [
    "KM_PER_DEGREE",
    "draw_north_arrow",
    "draw_scale_bar",
    "lonlat_text",
    "place_labels",
    "scale_length",
    "utm_text",
]

#: Kilometres in one degree of latitude (and of longitude at the equator).
KM_PER_DEGREE = 111.32
#: Latitude bands of UTM grid references (8 degrees each from 80 S), as GPS units show.
_BANDS = "CDEFGHJKLMNPQRSTUVWX"


def scale_length(width_km: float) -> float:
    """A round length (km) for a scale bar about a quarter of ``width_km`` long.

    >>> scale_length(80.0), scale_length(9.0), scale_length(1300.0), scale_length(1.6)
    (20.0, 2.0, 200.0, 0.2)
    """
    target = max(width_km / 4.0, 1e-3)
    exponent = math.floor(math.log10(target))
    best = 10.0**exponent
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * 10.0**exponent <= target:
            best = step * 10.0**exponent
    return round(best, 6)


def draw_scale_bar(ax: Any, x0: float, x1: float, y0: float, y1: float, kx: float, *,
                   right: bool = False, fontsize: float = 8.0) -> None:
    """A black-and-white bar of a round length in kilometres at the bottom of the map
    (``x0``-``x1``, ``y0``-``y1``: its limits in degrees; ``kx``: cos(latitude)), on the
    left or the ``right``."""
    from matplotlib.patches import Rectangle

    width_km = (x1 - x0) * KM_PER_DEGREE * kx
    length_km = scale_length(width_km)
    length = length_km / (KM_PER_DEGREE * kx)
    margin = (x1 - x0) * 0.04
    left = x1 - margin - length if right else x0 + margin
    base = y0 + (y1 - y0) * 0.035
    height = (y1 - y0) * 0.008
    half = length / 2.0
    ax.add_patch(Rectangle((left - (x1 - x0) * 0.015, base - height * 2.2),
                           length + (x1 - x0) * 0.03, height * 8.5, facecolor="white",
                           edgecolor="none", alpha=0.85, zorder=8))
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(Rectangle((left + i * half, base), half, height, facecolor=colour,
                               edgecolor="black", linewidth=0.7, zorder=9))
    for x, label in ((left, "0"), (left + half, number(length_km / 2, 2)),
                     (left + length, f"{number(length_km, 2)} km")):
        ax.text(x, base + height * 1.6, label, ha="center", va="bottom", fontsize=fontsize,
                zorder=9)


def draw_north_arrow(ax: Any, fontsize: float = 12.0) -> None:
    """An arrow with an N in the top right corner of the map (north is up)."""
    ax.annotate("N", xy=(0.955, 0.965), xytext=(0.955, 0.875), xycoords="axes fraction",
                textcoords="axes fraction", ha="center", va="center", fontsize=fontsize,
                fontweight="bold", zorder=10,
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3,
                            "headwidth": 11, "headlength": 11},
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                      "alpha": 0.85})


def place_labels(anchors: Sequence[tuple[float, float]], size: float,
                 obstacles: Sequence[tuple[float, float]] = ()) -> list[tuple[float, float]]:
    """Positions for round labels of diameter ``size`` (same units as the points) at
    ``anchors``, in order: each at its anchor when that is free, else at the nearest free
    spot on growing rings around it, so that no two labels overlap.

    >>> place_labels([(0, 0), (0.1, 0), (5, 5)], 1.0)[1] != (0.1, 0)
    True
    """
    placed: list[tuple[float, float]] = list(obstacles)
    out: list[tuple[float, float]] = []
    gap = size * 1.05
    for ax, ay in anchors:
        spot = (ax, ay)
        if any(math.hypot(ax - px, ay - py) < gap for px, py in placed):
            spot = _free_spot(ax, ay, gap, placed)
        placed.append(spot)
        out.append(spot)
    return out


def _free_spot(ax: float, ay: float, gap: float,
               placed: Sequence[tuple[float, float]]) -> tuple[float, float]:
    for ring in range(1, 60):
        radius = ring * gap * 0.75
        steps = 8 * ring
        for k in range(steps):
            angle = 2 * math.pi * k / steps + math.pi / 2
            x, y = ax + radius * math.cos(angle), ay + radius * math.sin(angle)
            if all(math.hypot(x - px, y - py) >= gap for px, py in placed):
                return x, y
    return ax, ay


def lonlat_text(lon: float, lat: float) -> str:
    """Decimal degrees as GPS units and GIS take them: latitude first, five decimals
    (about a metre), always with a decimal point.

    >>> lonlat_text(-74.950123, -9.4712)
    '-9.47120, -74.95012'
    """
    return f"{lat:.5f}, {lon:.5f}"


def utm_text(lon: float, lat: float) -> str:
    """The UTM grid reference of a point (WGS 84): zone and latitude band, easting and
    northing in whole metres, as a GPS shows it.

    >>> utm_text(-74.95, -9.47)
    '18L 505488 E 8953185 N'
    """
    from vigilancia.io.crs import to_utm

    zone, _hemisphere, x, y = to_utm(lon, lat)
    band = _BANDS[min(max(int(math.floor((lat + 80.0) / 8.0)), 0), len(_BANDS) - 1)]
    return f"{zone}{band} {round(x)} E {round(y)} N"
