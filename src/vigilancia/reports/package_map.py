"""The printable map of an offline package (PDF, landscape A4 or letter).

Render only: :class:`~vigilancia.services.package.PackageMap` in, PDF bytes
out (matplotlib's PDF backend). :func:`~vigilancia.services.package.build_package`
takes :func:`render_package_map` as its ``render_map`` (the shells pass it), so the
service writes ``mapa.pdf`` without importing this layer.

The first page holds the title (community and date) and a line on the cases and the
plan; the map: the territory, rivers, roads and trails around it, the cases' clearings,
the patrol route and its start, the plan's stops as numbered circles in visiting order
(red when a stop is to be approached with care; numbers that would overlap are moved
aside on a leader line) and every other open case as a small dot, with a scale bar, a
north arrow and lon/lat ticks; the legend under the map; and, on the right, the plan
(stops, kilometres, hours, limit, start) followed by its table.

The table lists each stop in visiting order: its number, case code, priority, likely
driver, area, the leg that reaches it, why to take care, and where it is in decimal
degrees and as a UTM grid reference (WGS 84), as a GPS takes them. It goes on over as many
pages as it needs (two columns a page). After the stops come the open cases of higher
priority than a planned stop that the plan leaves out, each with the reason: it does not
fit the plan's distance, or it was opened after the plan. Without a plan, the
:data:`UNPLANNED_NUMBERED` highest-priority cases are numbered and listed instead. The
other open cases are counted, and are in ``casos.gpkg``, ``casos.gpx`` and ``casos.csv``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from vigilancia.i18n import _, ngettext, number
from vigilancia.reports.cartography import fill as _fill
from vigilancia.reports.cartography import plot_lines as _plot_lines
from vigilancia.reports.layout import (
    draw_north_arrow,
    draw_scale_bar,
    lonlat_text,
    place_labels,
    utm_text,
)
from vigilancia.services.package import PAPERS, PackageCase, PackageMap

__all__ = ["UNPLANNED_NUMBERED", "render_package_map"]

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
#: Without a plan, this many of the highest-priority cases are numbered and listed.
UNPLANNED_NUMBERED = 30
#: Cases of higher priority than a stop that the plan leaves out, listed with the reason
#: (the highest first); the others are counted.
LEFT_OUT_LISTED = 12
#: Text size (points) of the table, the height of one of its lines, and the characters
#: a line holds before it wraps (the narrowest column: the first page's, about 3.9 in).
FONT_PT = 7.0
LINE_PT = 9.2
WRAP_CHARS = 76


# ------------------------------------------------------------------ the table's rows


@dataclass(frozen=True)
class _Row:
    """One block of the table: its lines (text, colour, bold), drawn top to bottom; a line
    longer than :data:`WRAP_CHARS` goes on over the next ones."""

    lines: tuple[tuple[str, str, bool], ...]
    gap_pt: float = 3.0

    def __post_init__(self) -> None:
        import textwrap

        wrapped = tuple(
            (part, colour, bold)
            for text, colour, bold in self.lines
            for part in (textwrap.wrap(text, WRAP_CHARS, subsequent_indent="   ") or [""])
        )
        object.__setattr__(self, "lines", wrapped)

    @property
    def height_pt(self) -> float:
        return len(self.lines) * LINE_PT + self.gap_pt


def _numbered(data: PackageMap) -> list[PackageCase]:
    """The cases numbered on the map: the plan's stops, or without a plan the
    highest-priority cases."""
    stops = [pc for pc in data.cases if pc.stop is not None]
    if data.plan is not None or stops:
        return stops
    return list(data.cases[:UNPLANNED_NUMBERED])


def _case_lines(pc: PackageCase, label: str) -> tuple[tuple[str, str, bool], ...]:
    c = pc.case
    driver = pc.driver or _("driver unknown")
    if len(driver) > 30:
        driver = driver[:29] + "…"
    head = " · ".join([f"{label} {pc.code}", _("priority {p}", p=number(c.priority)),
                       driver, _("{ha} ha", ha=number(c.area_ha, 1))])
    where = f"{lonlat_text(c.lon, c.lat)}   UTM {utm_text(c.lon, c.lat)}"
    lines = [(head, "black", True), (where, "black", False)]
    if pc.stop is not None:
        leg = _("leg {km} km, about {hours} h; {total} km from the start",
                km=number(pc.stop.leg_km, 1), hours=number(pc.stop.leg_hours, 1),
                total=number(pc.stop.cumulative_km, 1))
        lines.append((leg, "#333333", False))
    if pc.care:
        lines.append((_("APPROACH WITH CARE: {reasons}", reasons=pc.care), COLOURS["care"],
                      True))
    return tuple(lines)


def _km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (km) between two lon/lat points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _left_out_reason(data: PackageMap, pc: PackageCase) -> str:
    """Why the plan leaves out an open case: it does not fit the plan's distance (too far
    on its own, or not on the way of the round), or it was opened after the plan."""
    plan = data.plan
    assert plan is not None
    limit = number(plan.max_km, 1)
    if pc.case.id in plan.skipped:
        km = _km_between(plan.start, (pc.case.lon, pc.case.lat))
        trip = 2 * km if plan.returns else km
        if trip > plan.max_km:
            if plan.returns:
                return _("does not fit: {km} km from the start, at least {trip} km there and "
                         "back, over the plan's {limit} km", km=number(km, 1),
                         trip=number(trip, 1), limit=limit)
            return _("does not fit: {km} km from the start, over the plan's {limit} km",
                     km=number(km, 1), limit=limit)
        return _("does not fit: adding it to the round would pass the plan's {limit} km",
                 limit=limit)
    if pc.case.created_at > plan.created_at:
        return _("opened after the plan ({date})", date=plan.created_at.date().isoformat())
    return _("not in the plan")


def _rows(data: PackageMap) -> list[_Row]:
    """The table: the plan's stops (or the numbered cases), the cases of higher priority
    left out and why, then how many others there are."""
    numbered = _numbered(data)
    plan = data.plan
    rows: list[_Row] = []
    if plan is not None:
        rows.append(_Row(((_("Stops of the patrol plan, in visiting order"), "black", True),),
                         gap_pt=2.0))
        if not numbered:
            rows.append(_Row(((_("No open case of the plan is left."), "black", False),)))
    elif numbered:
        rows.append(_Row(((_("No patrol plan: the cases of highest priority"), "black",
                           True),), gap_pt=2.0))
    for pc in numbered:
        rows.append(_Row(_case_lines(pc, f"{pc.number}.")))
    if plan is not None and plan.returns and numbered:
        rows.append(_Row(((_("Back to the start: {km} km, about {hours} h",
                             km=number(plan.return_km, 1),
                             hours=number(plan.return_hours, 1)), "#333333", False),)))
    shown = {pc.case.id for pc in numbered}
    lowest = min((pc.case.priority for pc in numbered), default=math.inf)
    if plan is not None:
        higher = [pc for pc in data.cases
                  if pc.case.id not in shown and pc.case.priority > lowest]
        if higher:
            rows.append(_Row(((ngettext(
                "{n} case of higher priority than a stop is not in the plan:",
                "{n} cases of higher priority than a stop are not in the plan:",
                len(higher)), "black", True),), gap_pt=2.0))
            for pc in higher[:LEFT_OUT_LISTED]:
                c = pc.case
                rows.append(_Row((
                    (" · ".join([pc.code, _("priority {p}", p=number(c.priority)),
                                 _left_out_reason(data, pc)]), "black", False),
                    (f"{lonlat_text(c.lon, c.lat)}   UTM {utm_text(c.lon, c.lat)}", "#333333",
                     False))))
            if len(higher) > LEFT_OUT_LISTED:
                rows.append(_Row(((ngettext(
                    "... and {n} more of higher priority, left out for the same reasons.",
                    "... and {n} more of higher priority, left out for the same reasons.",
                    len(higher) - LEFT_OUT_LISTED), "#333333", False),)))
    rest = sum(1 for pc in data.cases if pc.case.id not in shown)
    if rest:
        rows.append(_Row(((ngettext(
            "{n} open case not numbered here (a small dot on the map) is in casos.gpkg, "
            "casos.gpx and casos.csv.",
            "{n} open cases not numbered here (small dots on the map) are in casos.gpkg, "
            "casos.gpx and casos.csv.", rest), "#333333", False),)))
    if not data.cases:
        rows.append(_Row(((_("No open cases in this territory."), "black", False),)))
    return rows


# ------------------------------------------------------------------ drawing


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


def _draw_map(fig: Any, data: PackageMap, rect: tuple[float, float, float, float],
              width: float, height: float) -> list[Any]:
    """The map of the first page; returns the legend's handles."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax = fig.add_axes(rect)
    lat0 = float(data.territory.centroid.y)
    kx = max(0.2, math.cos(math.radians(lat0)))
    box_ratio = (rect[3] * height) / (rect[2] * width)
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
              lw=0.4, zorder=3)
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

    numbered = _numbered(data)
    ids = {pc.case.id for pc in numbered}
    others = [pc for pc in data.cases if pc.case.id not in ids]
    if others:
        ax.scatter([pc.case.lon for pc in others], [pc.case.lat for pc in others], s=9,
                   facecolor="white", edgecolor=COLOURS["case"], linewidths=0.7, zorder=7)
        handles.append(Line2D([0], [0], marker="o", color=COLOURS["case"], lw=0, ms=3.5,
                              markerfacecolor="white", label=_("Other open case")))
    _draw_numbers(fig, ax, numbered)
    planned = data.plan is not None or any(pc.stop is not None for pc in data.cases)
    if any(not pc.needs_care for pc in numbered):
        handles.append(Line2D([0], [0], marker="o", color=COLOURS["case"], lw=0, ms=7,
                              label=_("Stop (visiting order)") if planned
                              else _("Case (priority order)")))
    if any(pc.needs_care for pc in numbered):
        handles.append(Line2D([0], [0], marker="o", color=COLOURS["care"], lw=0, ms=7,
                              markeredgecolor="#7f0000", label=_("Approach with care")))
    draw_scale_bar(ax, x0, x1, y0, y1, kx, fontsize=7)
    draw_north_arrow(ax, fontsize=11)
    return handles


def _draw_numbers(fig: Any, ax: Any, numbered: Sequence[PackageCase]) -> None:
    """The numbered cases as circles; a number that would cover another is moved aside,
    on a leader line to its case."""
    if not numbered:
        return
    ax.apply_aspect()  # the axes' final box: screen positions are known
    to_screen = ax.transData.transform
    to_data = ax.transData.inverted().transform
    anchors = [tuple(float(v) for v in to_screen((pc.case.lon, pc.case.lat)))
               for pc in numbered]
    size = 13.0 * fig.dpi / 72.0  # a circle of about 13 points
    spots = place_labels([(a[0], a[1]) for a in anchors], size)
    for pc, (axp, ayp), (sx, sy) in zip(numbered, anchors, spots, strict=True):
        care = pc.needs_care
        px, py = to_data((sx, sy))
        if (sx, sy) != (axp, ayp):
            ax.plot([pc.case.lon, px], [pc.case.lat, py], color="black", lw=0.5, zorder=8)
            ax.plot([pc.case.lon], [pc.case.lat], marker="o", ms=1.8, color="black", zorder=8)
        ax.annotate(str(pc.number), (px, py), ha="center", va="center", fontsize=6.5,
                    fontweight="bold", color="white", zorder=9,
                    bbox={"boxstyle": "circle,pad=0.25",
                          "fc": COLOURS["care"] if care else COLOURS["case"],
                          "ec": "#7f0000" if care else COLOURS["case"], "lw": 0.9})


def _plan_summary(data: PackageMap) -> list[str]:
    plan = data.plan
    if plan is None:
        return [_("No patrol plan: cases by priority.")]
    stops = sum(1 for pc in data.cases if pc.stop is not None)
    lines = [ngettext("Patrol plan: {n} stop, {km} km, about {hours} h (limit {max} km)",
                      "Patrol plan: {n} stops, {km} km, about {hours} h (limit {max} km)",
                      stops, km=number(plan.total_km, 1), hours=number(plan.total_hours, 1),
                      max=number(plan.max_km, 1))]
    start = lonlat_text(*plan.start)
    lines.append(_("Start: {name} ({where})", name=plan.start_name, where=start)
                 if plan.start_name else _("Start: {where}", where=start))
    return lines


def _draw_rows(fig: Any, rows: Sequence[_Row], columns: Sequence[tuple[float, float]],
               top: float, bottom: float, height_in: float) -> int:
    """Draw ``rows`` down the ``columns`` (left, width; figure fractions) from ``top`` to
    ``bottom``; returns how many were drawn."""
    per_pt = 1.0 / (height_in * 72.0)
    drawn = 0
    for left, _column_width in columns:
        y = top
        while drawn < len(rows):
            row = rows[drawn]
            if y - row.height_pt * per_pt < bottom:
                break
            for text, colour, bold in row.lines:
                fig.text(left, y - LINE_PT * per_pt * 0.5, text, fontsize=FONT_PT,
                         color=colour, fontweight="bold" if bold else "normal",
                         va="center", ha="left")
                y -= LINE_PT * per_pt
            y -= row.gap_pt * per_pt
            drawn += 1
    return drawn


def render_package_map(data: PackageMap) -> bytes:
    """The PDF of ``data``: the map, then the plan's table over as many pages as it needs
    (see the module docstring)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_pdf import FigureCanvasPdf, PdfPages
    from matplotlib.figure import Figure

    width, height = PAPERS[data.paper]
    rows = _rows(data)
    pages: list[Any] = []

    fig = Figure(figsize=(width, height))
    FigureCanvasPdf(fig)
    fig.text(0.025, 0.962, data.title, fontsize=14, fontweight="bold", va="center")
    fig.text(0.025, 0.928, data.subtitle, fontsize=8.5, va="center")
    handles = _draw_map(fig, data, (0.045, 0.135, 0.56, 0.765), width, height)
    legend_ax = fig.add_axes((0.045, 0.015, 0.56, 0.075))
    legend_ax.set_axis_off()
    legend_ax.legend(handles=handles, loc="center", ncol=4, fontsize=7, frameon=False,
                     handlelength=1.8, columnspacing=1.2)
    summary = [_Row(tuple((line, "black", True) for line in _plan_summary(data)), gap_pt=6.0)]
    _draw_rows(fig, summary, [(0.645, 0.335)], 0.905, 0.06, height)
    top = 0.905 - summary[0].height_pt / (height * 72.0)
    drawn = _draw_rows(fig, rows, [(0.645, 0.335)], top, 0.06, height)
    pages.append(fig)

    while drawn < len(rows):
        fig = Figure(figsize=(width, height))
        FigureCanvasPdf(fig)
        fig.text(0.025, 0.962, _("{title}: the plan's table (continued)", title=data.title),
                 fontsize=11, fontweight="bold", va="center")
        drawn += _draw_rows(fig, rows[drawn:], [(0.035, 0.46), (0.52, 0.46)], 0.925, 0.06,
                            height)
        pages.append(fig)

    total = len(pages)
    for i, page in enumerate(pages, start=1):
        page.text(0.645 if i == 1 else 0.035, 0.025,
                  _("vigilancia · {date} · without names of monitors · page {page} of {pages}",
                    date=data.created.isoformat(), page=i, pages=total),
                  fontsize=6, color="#555555")
    buf = io.BytesIO()
    with rc_context({"pdf.fonttype": 42}), PdfPages(buf, metadata={
            "Title": data.title, "Creator": "vigilancia"}) as pdf:
        for page in pages:
            pdf.savefig(page)
    return buf.getvalue()
