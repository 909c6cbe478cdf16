"""The one-page printable map of an offline package (PDF, landscape A4 or letter).

Render only: :class:`~vigilancia.services.package.PackageMap` in, PDF bytes
out (matplotlib's PDF backend). :func:`~vigilancia.services.package.build_package`
takes :func:`render_package_map` as its ``render_map`` (the shells pass it), so the
service writes ``mapa.pdf`` without importing this layer. The page holds:

- the title (community and date) and a line on the cases and the plan;
- the map: the territory, rivers, roads and trails around it, the cases'
  clearings, the patrol route and its start, and every case as a numbered
  circle (its visiting order; red when it is to be approached with care,
  hollow when it is not in the plan), with a scale bar, a north arrow and
  lon/lat ticks;
- the legend under the map;
- a table of the cases on the right (number, code, likely driver, ha,
  priority, care), cut with a line saying how many more when they do not fit.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import shapely

from vigilancia.i18n import _, ngettext
from vigilancia.reports.cartography import fill as _fill
from vigilancia.reports.cartography import north_arrow as _north_arrow
from vigilancia.reports.cartography import plot_lines as _plot_lines
from vigilancia.reports.cartography import scale_bar as _scale_bar
from vigilancia.services.package import PAPERS, PackageMap
from vigilancia.services.texts.drivers import driver_name
from vigilancia.services.texts.drivers import number_text as number

__all__ = ["render_package_map"]

COLOURS = {
    "territory_edge": "#1b7837",
    "territory_fill": "#d9f0d3",
    "clearing_edge": "#b2182b",
    "clearing_fill": "#ef8a62",
    "route": "#6a3d9a",
    "case": "#2166ac",
    "care": "#d7301f",
    "river": "#4393c3",
    "road": "#7f7f7f",
    "trail": "#8c510a",
}
#: Smallest table row height (points) before rows are cut.
MIN_ROW_PT = 7.2


def _extent(data: PackageMap, box_ratio: float, kx: float) -> tuple[float, float, float, float]:
    """Map limits around the territory, cases and route, padded and shaped like the axes box
    (``box_ratio``: height / width of the box; ``kx``: cos(latitude))."""
    geoms = [data.territory] + [shapely.Point(pc.case.lon, pc.case.lat) for pc in data.cases]
    if data.route is not None:
        geoms.append(data.route)
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(
        np.array(geoms, dtype=object)))
    w = max((maxx - minx) * kx, 1e-3)
    h = max(maxy - miny, 1e-3)
    w, h = w * 1.08, h * 1.08
    if h / w > box_ratio:
        w = h / box_ratio
    else:
        h = w * box_ratio
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return cx - w / kx / 2, cx + w / kx / 2, cy - h / 2, cy + h / 2


def _table(fig: Any, rect: tuple[float, float, float, float], data: PackageMap,
           height_in: float) -> None:
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    cases = data.cases
    avail_pt = height_in * 72
    mixed = any(pc.stop is None for pc in cases) and any(pc.stop for pc in cases)
    notes = 1 if mixed else 0
    rows = len(cases) + 1 + notes
    row_pt = min(13.0, avail_pt / max(rows, 1))
    shown = len(cases)
    if row_pt < MIN_ROW_PT:
        row_pt = MIN_ROW_PT
        shown = int(avail_pt // row_pt) - 2 - notes  # header, the "more" line, the note
    font = max(5.2, min(8.0, row_pt * 0.72))
    step = row_pt / avail_pt
    cols = [  # x, alignment, heading
        (0.0, "left", _("No.")),
        (0.09, "left", _("Code")),
        (0.28, "left", _("Likely driver")),
        (0.74, "right", "ha"),
        (0.87, "right", _("Prior.")),
        (0.89, "left", _("Care")),
    ]
    y = 1.0 - step / 2
    for x, align, head in cols:
        ax.text(x, y, head, ha=align, va="center", fontsize=font, fontweight="bold")
    ax.plot([0, 1], [1.0 - step, 1.0 - step], color="black", lw=0.6)
    yes = _("yes")
    for pc in cases[:shown]:
        y -= step
        colour = COLOURS["care"] if pc.needs_care else "black"
        driver = "-" if pc.case.driver is None else driver_name(pc.case.driver)
        if len(driver) > 24:
            driver = driver[:23] + "…"
        number_text = str(pc.number) if pc.stop is not None else f"({pc.number})"
        values = [number_text, pc.code, driver, number(pc.case.area_ha, 1),
                  number(pc.case.priority, 0), yes if pc.needs_care else ""]
        for (x, align, _head), value in zip(cols, values, strict=True):
            ax.text(x, y, value, ha=align, va="center", fontsize=font, color=colour)
    if shown < len(cases):
        y -= step
        ax.text(0.0, y, ngettext("... and {n} more case (see casos.gpkg or casos.gpx)",
                                 "... and {n} more cases (see casos.gpkg or casos.gpx)",
                                 len(cases) - shown), ha="left", va="center", fontsize=font,
                style="italic")
    if mixed:
        y -= step
        ax.text(0.0, y, _("(n): not in the patrol plan"), ha="left", va="center",
                fontsize=font, style="italic")
    if not cases:
        ax.text(0.0, 1.0 - 1.5 * step, _("No open cases in this territory."), ha="left",
                va="center", fontsize=font)


def render_package_map(data: PackageMap) -> bytes:
    """The one-page PDF map of ``data`` (see the module docstring)."""
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    width, height = PAPERS[data.paper]
    fig = Figure(figsize=(width, height))
    FigureCanvasPdf(fig)
    fig.text(0.025, 0.962, data.title, fontsize=14, fontweight="bold", va="center")
    fig.text(0.025, 0.928, data.subtitle, fontsize=8.5, va="center")
    map_rect = (0.045, 0.135, 0.56, 0.765)
    ax = fig.add_axes(map_rect)
    lat0 = float(data.territory.centroid.y)
    kx = max(0.2, math.cos(math.radians(lat0)))
    box_ratio = (map_rect[3] * height) / (map_rect[2] * width)
    x0, x1, y0, y1 = _extent(data, box_ratio, kx)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / kx, adjustable="box")
    ax.set_facecolor("#fbfbf8")
    ax.tick_params(labelsize=6, length=2)
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.grid(color="#dddddd", lw=0.4)

    handles: list[Any] = []
    _fill(ax, data.territory, facecolor=COLOURS["territory_fill"], alpha=0.6,
          edgecolor=COLOURS["territory_edge"], lw=1.6, zorder=1)
    handles.append(Patch(facecolor=COLOURS["territory_fill"], edgecolor=COLOURS["territory_edge"],
                         label=_("Territory of {community}", community=data.community)))
    if _plot_lines(ax, data.rivers, color=COLOURS["river"], lw=0.9, zorder=2):
        handles.append(Line2D([0], [0], color=COLOURS["river"], lw=1.2, label=_("River")))
    if _plot_lines(ax, data.roads, color=COLOURS["road"], lw=1.1, zorder=2):
        handles.append(Line2D([0], [0], color=COLOURS["road"], lw=1.2, label=_("Road")))
    if _plot_lines(ax, data.trails, color=COLOURS["trail"], lw=0.8, ls="--", zorder=2):
        handles.append(Line2D([0], [0], color=COLOURS["trail"], lw=1.0, ls="--",
                              label=_("Trail")))
    clearings = [pc.clearings for pc in data.cases if pc.clearings is not None]
    for g in clearings:
        _fill(ax, g, facecolor=COLOURS["clearing_fill"], edgecolor=COLOURS["clearing_edge"],
              lw=0.5, zorder=3)
    if clearings:
        handles.append(Patch(facecolor=COLOURS["clearing_fill"],
                             edgecolor=COLOURS["clearing_edge"], label=_("Clearings")))
    if data.route is not None and _plot_lines(ax, [data.route], color=COLOURS["route"], lw=2.0,
                                              alpha=0.85, zorder=4):
        handles.append(Line2D([0], [0], color=COLOURS["route"], lw=2.0,
                              label=_("Patrol route")))
    if data.start is not None:
        ax.plot([data.start[0]], [data.start[1]], marker="s", ms=8, color="black", zorder=6)
        handles.append(Line2D([0], [0], marker="s", color="black", lw=0, ms=6,
                              label=_("Start")))
    kinds = set()
    for pc in data.cases:
        care = pc.needs_care
        planned = pc.stop is not None
        kinds.add((planned, care))
        face = COLOURS["care"] if care else (COLOURS["case"] if planned else "white")
        text = "white" if (care or planned) else COLOURS["case"]
        edge = "#7f0000" if care else COLOURS["case"]
        ax.annotate(str(pc.number), (pc.case.lon, pc.case.lat), ha="center", va="center",
                    fontsize=6.5, fontweight="bold", color=text, zorder=8,
                    bbox={"boxstyle": "circle,pad=0.25", "fc": face, "ec": edge, "lw": 0.9})
    if (True, False) in kinds:
        handles.append(Line2D([0], [0], marker="o", color=COLOURS["case"], lw=0, ms=7,
                              label=_("Case (visiting order)")))
    if any(care for _planned, care in kinds):
        handles.append(Line2D([0], [0], marker="o", color=COLOURS["care"], lw=0, ms=7,
                              markeredgecolor="#7f0000", label=_("Approach with care")))
    if (False, False) in kinds:
        handles.append(Line2D([0], [0], marker="o", color=COLOURS["case"], lw=0, ms=7,
                              markerfacecolor="white", label=_("Case not in the plan")))
    _scale_bar(ax, x0, x1, y0, y1, kx)
    _north_arrow(ax)

    legend_ax = fig.add_axes((0.045, 0.015, 0.56, 0.075))
    legend_ax.set_axis_off()
    legend_ax.legend(handles=handles, loc="center", ncol=4, fontsize=7, frameon=False,
                     handlelength=1.8, columnspacing=1.2)
    table_rect = (0.645, 0.06, 0.335, 0.84)
    _table(fig, table_rect, data, table_rect[3] * height)
    fig.text(0.645, 0.025,
             _("vigilancia · {date} · without names of monitors", date=data.created.isoformat()),
             fontsize=6, color="#555555")
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", metadata={"Title": data.title, "Creator": "vigilancia"})
    return buf.getvalue()
