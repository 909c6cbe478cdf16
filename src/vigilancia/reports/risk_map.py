"""The risk map: every unit numbered by rank and named beside the map (PNG).

Render only: a :class:`~vigilancia.services.risk_export.RiskMap` in (the
assessment, the corridors and the airstrips, gathered by
:func:`~vigilancia.services.risk_export.risk_map`), PNG bytes out (matplotlib's Agg
canvas, no pyplot). :func:`~vigilancia.services.risk_export.export_risk` takes
:func:`render_risk_map` as its ``render_map`` (the shells pass it) and writes
``riesgo.png``.

What the map shows:

- the title names the kind of unit (communities, districts, grid cells) and the date;
- each unit is coloured by its *regional* class, the quarter of the ranking it falls in
  (:func:`vigilancia.domain.risk.regional_class`), so that the map tells apart units that
  all pass the same absolute threshold; the list beside the map gives each unit's rank,
  name, score and *absolute* class;
- each unit carries its rank number inside it; a number that would cover another is
  moved aside along a thin leader line
  (:func:`vigilancia.reports.layout.place_labels`). Up to :data:`MAX_LISTED` units are
  numbered and listed; the list says how many more the table holds;
- the trafficking corridors (purple lines) and known airstrips (black triangles);
- a scale bar in kilometres and a north arrow;
- the factors whose data is missing, in red.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from vigilancia.domain.risk import CLASS_THRESHOLDS, Factor, RiskClass
from vigilancia.i18n import _, number
from vigilancia.reports.layout import draw_north_arrow, draw_scale_bar, place_labels
from vigilancia.services.risk_export import RiskMap
from vigilancia.services.texts.risk import class_name, factor_name, risk_title

__all__ = ["CLASS_COLOURS", "MAX_LISTED", "render_risk_map"]

#: Map colours of the classes (colour-blind safe, from dark red to pale).
CLASS_COLOURS: dict[RiskClass, str] = {
    RiskClass.CRITICAL: "#b2182b",
    RiskClass.HIGH: "#ef8a62",
    RiskClass.MEDIUM: "#fddbc7",
    RiskClass.LOW: "#e0e0e0",
}
#: Units numbered on the map and named in the list, at most (the highest ranked).
MAX_LISTED = 60
def render_risk_map(data: RiskMap) -> bytes:
    """PNG bytes of the risk map of ``data`` (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    result = data.assessment
    listed = result.scores[:MAX_LISTED]
    fig = Figure(figsize=(13.0, 9.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 2, width_ratios=(2.6, 1.0))
    ax = fig.add_subplot(grid[0, 0])
    side = fig.add_subplot(grid[0, 1])
    side.set_axis_off()

    geoms = [result.units[s.key].geometry for s in result.scores]
    minx, miny, maxx, maxy = shapely.total_bounds(geoms) if geoms else (0, 0, 1, 1)
    pad_x = (maxx - minx) * 0.04 or 0.01
    pad_y = (maxy - miny) * 0.04 or 0.01
    x0, x1, y0, y1 = minx - pad_x, maxx + pad_x, miny - pad_y, maxy + pad_y
    mid_lat = (y0 + y1) / 2.0
    cos_lat = max(0.2, float(np.cos(np.radians(mid_lat))))

    _draw_units(ax, data)
    _draw_context(ax, data)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / cos_lat)
    ax.set_xlabel(_("Longitude"))
    ax.set_ylabel(_("Latitude"))
    fig.canvas.draw()  # sizes known: labels are placed in screen units
    _draw_numbers(ax, data, listed)
    draw_scale_bar(ax, x0, x1, y0, y1, cos_lat, right=True)
    draw_north_arrow(ax)
    y = _draw_list(side, data, listed)
    _draw_legend(side, data, y)

    fig.suptitle(risk_title(result.unit_kinds(), result.as_of.isoformat()), fontsize=14,
                 fontweight="bold")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _regional(score: Any) -> RiskClass:
    return score.regional_class or score.risk_class


def _draw_units(ax: Any, data: RiskMap) -> None:
    from shapely.plotting import plot_polygon

    result = data.assessment
    for s in reversed(result.scores):  # highest ranked drawn last, on top
        g = result.units[s.key].geometry
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "Polygon":
                plot_polygon(part, ax=ax, add_points=False, linewidth=0.6,
                             facecolor=CLASS_COLOURS[_regional(s)], edgecolor="#404040")


def _draw_context(ax: Any, data: RiskMap) -> None:
    for c in data.corridors:
        for line in getattr(c, "geoms", [c]):
            xs, ys = line.xy
            ax.plot(xs, ys, color="#6a3d9a", linewidth=0.9, alpha=0.55, zorder=3)
    if len(data.airstrips):
        pts = shapely.centroid(np.asarray(data.airstrips, dtype=object))
        ax.scatter(shapely.get_x(pts), shapely.get_y(pts), marker="^", s=26, color="black",
                   zorder=5)


def _draw_numbers(ax: Any, data: RiskMap, listed: Sequence[Any]) -> None:
    """The rank of each listed unit inside it; moved aside, with a leader line, where it
    would cover another number."""
    result = data.assessment
    anchors_data = [result.units[s.key].geometry.representative_point() for s in listed]
    to_screen = ax.transData.transform
    to_data = ax.transData.inverted().transform
    anchors = [tuple(to_screen((p.x, p.y))) for p in anchors_data]
    size = 20.0  # label diameter, pixels
    spots = place_labels(anchors, size)
    for s, (ax_px, ay_px), (sx, sy) in zip(listed, anchors, spots, strict=True):
        px, py = to_data((sx, sy))
        if (sx, sy) != (ax_px, ay_px):
            qx, qy = to_data((ax_px, ay_px))
            ax.plot([qx, px], [qy, py], color="black", linewidth=0.6, zorder=6)
            ax.plot([qx], [qy], marker="o", markersize=2, color="black", zorder=6)
        ax.annotate(str(s.rank), (px, py), fontsize=8 if s.rank < 100 else 7,
                    fontweight="bold", ha="center", va="center", color="black", zorder=7,
                    bbox={"boxstyle": "circle,pad=0.25", "fc": "white", "ec": "black",
                          "lw": 0.7})


def _draw_legend(side: Any, data: RiskMap, top: float) -> None:
    """The legend below the list (axes fraction ``top``), then the note on the classes and
    the missing data."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(facecolor=CLASS_COLOURS[c], edgecolor="#404040", label=label)
        for c, label in zip(RiskClass, (
            _("first quarter of the ranking"), _("second quarter"), _("third quarter"),
            _("last quarter")), strict=True)
    ]
    if data.corridors:
        handles.append(Line2D([0], [0], color="#6a3d9a", lw=1.5,
                              label=factor_name(Factor.CORRIDORS)))
    if len(data.airstrips):
        handles.append(Line2D([0], [0], marker="^", color="black", lw=0,
                              label=_("known airstrips")))
    legend = side.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, top),
                         fontsize=8, frameon=False, alignment="left",
                         title=_("Colour: place in this ranking"), title_fontsize=8)
    side.figure.canvas.draw()
    box = legend.get_window_extent().transformed(side.transAxes.inverted())
    result = data.assessment
    note = _("Points: 0-100. Absolute classes: critical from {critical}, high from {high}, "
             "medium from {medium} (lower where data is missing). The colour ranks these "
             "units among themselves: where every unit is critical, it still says which to "
             "look at first.",
             critical=number(CLASS_THRESHOLDS[RiskClass.CRITICAL]),
             high=number(CLASS_THRESHOLDS[RiskClass.HIGH]),
             medium=number(CLASS_THRESHOLDS[RiskClass.MEDIUM]))
    text = side.text(0.0, box.y0 - 0.02, note, fontsize=7.5, va="top", wrap=True,
                     color="#333333", transform=side.transAxes)
    if result.missing:
        side.figure.canvas.draw()
        below = text.get_window_extent().transformed(side.transAxes.inverted()).y0
        side.text(0.0, below - 0.02, _("missing data: {factors}", factors=", ".join(
            factor_name(f) for f in result.missing)), fontsize=7.5, va="top", wrap=True,
            color="#b2182b", transform=side.transAxes)


def _draw_list(side: Any, data: RiskMap, listed: Sequence[Any]) -> float:
    """The numbered units: rank, name, score and absolute class, coloured by the regional
    class as on the map; returns where the list ends (axes fraction)."""
    from matplotlib.patches import Rectangle

    result = data.assessment
    rows = len(listed) + (1 if len(result.scores) > len(listed) else 0)
    step = min(0.045, 0.86 / max(rows, 1))
    font = 9 if step >= 0.03 else 7 if step >= 0.018 else 6
    y = 0.97
    side.text(0.0, y, _("Rank, name, score (absolute class)"), fontsize=9,
              fontweight="bold", va="top", transform=side.transAxes)
    y -= step * 1.3
    for s in listed:
        side.add_patch(Rectangle((0.0, y - step * 0.75), 0.05, step * 0.7,
                                 facecolor=CLASS_COLOURS[_regional(s)], edgecolor="#404040",
                                 linewidth=0.5, transform=side.transAxes))
        name = s.name if len(s.name) <= 30 else s.name[:29] + "…"
        side.text(0.07, y - step * 0.4, f"{s.rank}. {name}", fontsize=font, va="center",
                  transform=side.transAxes)
        side.text(0.97, y - step * 0.4,
                  f"{number(s.score)} · {class_name(s.risk_class)}", fontsize=font,
                  va="center", ha="right", transform=side.transAxes)
        y -= step
    more = len(result.scores) - len(listed)
    if more > 0:
        side.text(0.0, y - step * 0.4,
                  _("... and {n} more in riesgo.csv", n=number(more)), fontsize=font,
                  va="center", style="italic", transform=side.transAxes)
        y -= step
    return y - step * 0.5
