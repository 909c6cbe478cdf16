"""Drawing maps with matplotlib (no pyplot): polygons and lines from shapely, named
features, and the reports' map views as PNG (the scale bar and the north arrow are those
of :mod:`~vigilancia.reports.layout`).

Shared by the package's printable map (:mod:`~vigilancia.reports.package_map`) and the
reports' maps (:func:`render_view`, a :class:`~vigilancia.services.report_maps.MapView`
in, PNG bytes out). Axes are lon/lat with the aspect of the latitude (1 / cos(lat)), so
distances read the same in both directions; the scale bar is in km at the map's centre.

PNGs carry no date or software tag: the same view always gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from vigilancia.i18n import _
from vigilancia.reports.layout import draw_north_arrow, draw_scale_bar
from vigilancia.services.report_maps import MapFeature, MapView

__all__ = [
    "CASE_COLOUR",
    "STYLES",
    "draw_view",
    "fill",
    "lines_of",
    "plot_lines",
    "png_bytes",
    "render_view",
]

#: The colour of the case (or of the month's new clearings) on every report map: a red
#: no other layer uses, so a reader (and a test) finds it at once.
CASE_COLOUR = "#e31a1c"
CASE_EDGE = "#67000d"
#: How each kind of feature is drawn: polygons (fill, edge, line width, line style,
#: label size) and lines (colour, width, style); z-order follows the table.
STYLES: dict[str, dict[str, Any]] = {
    "district": {"fill": "none", "edge": "#6b6b6b", "lw": 0.9, "ls": (0, (5, 3)),
                 "label": 6.5, "label_colour": "#4d4d4d"},
    "protected_area": {"fill": "#c7e9c0", "edge": "#238b45", "lw": 1.1, "ls": "-",
                       "label": 7.0, "label_colour": "#00441b", "alpha": 0.55},
    "reserve": {"fill": "#fdd0a2", "edge": "#d94801", "lw": 1.1, "ls": "-", "label": 7.0,
                "label_colour": "#7f2704", "alpha": 0.55},
    "community": {"fill": "#e5f5e0", "edge": "#1b7837", "lw": 1.3, "ls": "-", "label": 7.5,
                  "label_colour": "#00441b", "alpha": 0.7},
    "river": {"line": "#4393c3", "lw": 0.9, "ls": "-"},
    "road": {"line": "#737373", "lw": 1.0, "ls": "-"},
    "trail": {"line": "#8c510a", "lw": 0.8, "ls": (0, (3, 2))},
    "airstrip": {"line": "#000000", "lw": 2.2, "ls": "-"},
    "clearing": {"fill": CASE_COLOUR, "edge": CASE_EDGE, "lw": 0.6, "ls": "-", "alpha": 1.0},
    "other_clearing": {"fill": "#bdbdbd", "edge": "#636363", "lw": 0.4, "ls": "-",
                       "alpha": 0.9},
    "footprint": {"fill": "none", "edge": "#2166ac", "lw": 1.0, "ls": (0, (2, 1.5))},
}
_POLYGON_ORDER = ("district", "protected_area", "reserve", "community")
_LINE_ORDER = ("river", "road", "trail", "airstrip")


# ------------------------------------------------------------------ primitives


def lines_of(geom: BaseGeometry) -> list[np.ndarray]:
    """Coordinate arrays of every line (or polygon ring) of ``geom``."""
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "LineString":
            out.append(np.asarray(part.coords))
        elif part.geom_type == "Polygon":
            out.append(np.asarray(part.exterior.coords))
            out.extend(np.asarray(r.coords) for r in part.interiors)
        elif part.geom_type.startswith("Multi") or part.geom_type == "GeometryCollection":
            out.extend(lines_of(part))
    return out


def fill(ax: Any, geom: BaseGeometry, **style: Any) -> None:
    """Draw the polygons of ``geom`` (holes kept) with matplotlib patch ``style``."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon":
            if part.geom_type in ("MultiPolygon", "GeometryCollection"):
                fill(ax, part, **style)
            continue
        rings = [np.asarray(part.exterior.coords)] + [np.asarray(r.coords)
                                                      for r in part.interiors]
        verts = np.concatenate(rings)
        codes = np.concatenate([
            [MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY]
            for r in rings
        ])
        ax.add_patch(PathPatch(MplPath(verts, codes), **style))


def plot_lines(ax: Any, geoms: Iterable[BaseGeometry], **style: Any) -> bool:
    """Draw every line of ``geoms``; whether anything was drawn."""
    drawn = False
    for g in geoms:
        for xy in lines_of(g):
            ax.plot(xy[:, 0], xy[:, 1], **style)
            drawn = True
    return drawn


def png_bytes(fig: Any, *, dpi: int = 200) -> bytes:
    """The figure as PNG bytes, without date or software metadata."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


# ---------------------------------------------------------------- map views


def _kind_name(kind: str) -> str:
    names = {
        "district": lambda: _("District"),
        "protected_area": lambda: _("Protected area"),
        "reserve": lambda: _("Reserve"),
        "community": lambda: _("Community territory"),
        "river": lambda: _("River"),
        "road": lambda: _("Road"),
        "trail": lambda: _("Trail"),
        "airstrip": lambda: _("Known airstrip"),
        "footprint": lambda: _("Drone photo footprint"),
        "other_clearing": lambda: _("Other clearings"),
    }
    make = names.get(kind)
    return make() if make else kind


def _label_spot(geom: BaseGeometry, view: BaseGeometry) -> tuple[float, float] | None:
    inside = geom.intersection(view)
    if inside.is_empty:
        return None
    p = inside.representative_point()
    return float(p.x), float(p.y)


def draw_view(ax: Any, view: MapView, *, focus_label: str | None = None,
              marker: bool = True, labels: bool = True, legend: bool = True,
              fontscale: float = 1.0, legend_columns: int = 4) -> list[Any]:
    """Draw ``view`` on ``ax`` (features by kind, the focus in :data:`CASE_COLOUR`, the
    inset box, the points), with a scale bar and a north arrow; returns the legend's
    handles (drawn on the map when ``legend``)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    x0, y0, x1, y1 = view.bounds
    cy = (y0 + y1) / 2
    kx = max(0.2, math.cos(math.radians(cy)))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / kx, adjustable="box")
    ax.set_facecolor("#fbfbf8")
    ax.tick_params(labelsize=5.5 * fontscale, length=2)
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.grid(color="#e3e3e3", lw=0.4)
    frame = box(x0, y0, x1, y1)
    handles: list[Any] = []
    seen: set[str] = set()
    z = 1
    for kind in _POLYGON_ORDER + ("other_clearing",):
        for f in (f for f in view.features if f.kind == kind):
            st = STYLES[kind]
            bold = view.highlight is not None and f.name == view.highlight
            fill(ax, f.geometry, facecolor=st["fill"], edgecolor=st["edge"],
                 lw=st["lw"] * (2.0 if bold else 1.0), ls=st["ls"],
                 alpha=st.get("alpha", 1.0), zorder=z + (0.5 if bold else 0.0))
            if kind not in seen:
                seen.add(kind)
                handles.append(Patch(facecolor=st["fill"], edgecolor=st["edge"], lw=st["lw"],
                                     ls=st["ls"], label=_kind_name(kind)))
        z += 1
    for kind in _LINE_ORDER:
        st = STYLES[kind]
        if plot_lines(ax, [f.geometry for f in view.features if f.kind == kind],
                      color=st["line"], lw=st["lw"], ls=st["ls"], zorder=6):
            handles.append(Line2D([0], [0], color=st["line"], lw=st["lw"], ls=st["ls"],
                                  label=_kind_name(kind)))
    clearings = [f for f in view.features if f.kind == "clearing"]
    st = STYLES["clearing"]
    for f in clearings:
        fill(ax, f.geometry, facecolor=st["fill"], edgecolor=st["edge"], lw=st["lw"],
             alpha=st["alpha"], zorder=8)
    if view.focus is not None and not clearings:
        fill(ax, view.focus, facecolor=CASE_COLOUR, edgecolor=CASE_EDGE, lw=0.8, alpha=1.0,
             zorder=8)
    if view.focus is not None:
        handles.append(Patch(facecolor=CASE_COLOUR, edgecolor=CASE_EDGE,
                             label=focus_label or _("Case")))
        c = view.focus.centroid
        point = view.focus.geom_type == "Point" or view.focus.area == 0
        if marker or point:  # a ring that shows where the (maybe tiny) case is
            ax.plot([c.x], [c.y], marker="o", ms=16 * fontscale, mfc="none",
                    mec=CASE_COLOUR, mew=2.0, zorder=11)
        if point:
            ax.plot([c.x], [c.y], marker="o", ms=6 * fontscale, color=CASE_COLOUR,
                    mec=CASE_EDGE, zorder=11)
    feet = [f for f in view.features if f.kind == "footprint"]
    if feet:
        st = STYLES["footprint"]
        for f in feet:
            fill(ax, f.geometry, facecolor="none", edgecolor=st["edge"], lw=st["lw"],
                 ls=st["ls"], zorder=9)
        handles.append(Patch(facecolor="none", edgecolor=st["edge"], ls=st["ls"],
                             label=_kind_name("footprint")))
    for f in clearings:
        if f.label:
            spot = _label_spot(f.geometry, frame)
            if spot is not None:
                ax.annotate(f.label, spot, xytext=(5, 5), textcoords="offset points",
                            fontsize=5.5 * fontscale, color=CASE_EDGE, zorder=11)
    for p in (p for p in view.points if p.kind == "new_clearing"):
        ax.plot([p.geometry.x], [p.geometry.y], marker="o", ms=9 * fontscale, mfc="none",
                mec=CASE_COLOUR, mew=1.4, zorder=9)
    observed = [p for p in view.points if p.kind == "observation"]
    if observed:
        for p in observed:
            ax.plot([p.geometry.x], [p.geometry.y], marker="o", ms=4.5 * fontscale,
                    color="#2166ac", mec="white", mew=0.6, zorder=10)
        handles.append(Line2D([0], [0], marker="o", color="#2166ac", lw=0, ms=5,
                              label=_("Field observation")))
    numbered = [p for p in view.points if p.kind == "case"]
    for p in numbered:
        ax.annotate(p.label or "", (p.geometry.x, p.geometry.y), xytext=(7, 7),
                    textcoords="offset points", ha="center", va="center",
                    fontsize=5.5 * fontscale, fontweight="bold", color="white", zorder=12,
                    bbox={"boxstyle": "circle,pad=0.2", "fc": "#2166ac", "ec": "white",
                          "lw": 0.5})
    if numbered:
        handles.append(Line2D([0], [0], marker="o", color="#2166ac", lw=0, ms=6,
                              label=_("Case (its number)")))
    if view.inset is not None:
        ix0, iy0, ix1, iy1 = view.inset
        ax.add_patch(Rectangle((ix0, iy0), ix1 - ix0, iy1 - iy0, fill=False, ec="black",
                               lw=1.0, ls="--", zorder=12))
    if labels:
        _labels(ax, view.features, frame, fontscale, view.highlight)
    draw_scale_bar(ax, x0, x1, y0, y1, kx, fontsize=6.5 * fontscale)
    draw_north_arrow(ax, fontsize=11 * fontscale)
    if legend and handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.045),
                  ncol=min(legend_columns, len(handles)), fontsize=6 * fontscale,
                  frameon=False,
                  handlelength=1.6, columnspacing=1.2)
    return handles


def _labels(ax: Any, features: Iterable[MapFeature], frame: BaseGeometry,
            fontscale: float, highlight: str | None = None) -> None:
    """Names of the polygons inside the map, each once: the highlighted one first, then
    the larger ones, each where it overlaps no other polygon of its kind when it can,
    skipping a name that would sit on one already written."""
    placed: list[tuple[float, float]] = []
    x0, y0, x1, y1 = frame.bounds
    tol_x, tol_y = (x1 - x0) * 0.09, (y1 - y0) * 0.035
    view_area = frame.area
    items = [f for f in features if f.kind in _POLYGON_ORDER and f.name]
    named: dict[str, tuple[float, MapFeature]] = {}
    for f in items:
        name = f.name or ""
        visible = f.geometry.intersection(frame).area
        if visible <= 0 or (f.kind == "district" and visible < 0.03 * view_area
                            and name != highlight):
            continue
        if name not in named or visible > named[name][0]:
            named[name] = (visible, f)
    corner = [f for _a, f in named.values() if f.kind == "district"
              and f.geometry.intersection(frame).area > 0.9 * view_area]
    for i, f in enumerate(sorted(corner, key=lambda f: f.name or "")):
        st = STYLES["district"]
        ax.text(0.015, 0.985 - 0.045 * i, _("District {name}", name=f.name),
                transform=ax.transAxes, fontsize=st["label"] * fontscale, ha="left", va="top",
                color=st["label_colour"], style="italic", zorder=13,
                bbox={"fc": "white", "ec": "none", "alpha": 0.75, "pad": 0.8})
        named.pop(f.name or "", None)
    ordered = sorted(named.values(),
                     key=lambda v: (v[1].name != highlight, -v[0], v[1].name or ""))
    for _area, f in ordered:
        others = [g.geometry for g in items if g.kind == f.kind and g.name != f.name]
        spot = None
        if others:
            alone = f.geometry.difference(shapely.union_all(others))
            if not alone.is_empty and alone.intersection(frame).area > 0.15 * _area:
                spot = _label_spot(alone, frame)
        spot = spot or _label_spot(f.geometry, frame)
        if spot is None:
            continue
        if f.name != highlight and any(abs(spot[0] - x) < tol_x and abs(spot[1] - y) < tol_y
                                       for x, y in placed):
            continue
        placed.append(spot)
        st = STYLES[f.kind]
        ax.text(spot[0], spot[1], f.name, fontsize=st["label"] * fontscale, ha="center",
                va="center", color=st["label_colour"],
                style="italic" if f.kind == "district" else "normal",
                fontweight="bold" if f.kind == "community" else "normal", zorder=13,
                bbox={"fc": "white", "ec": "none", "alpha": 0.65, "pad": 0.6})


def render_view(view: MapView, *, width_mm: float, height_mm: float,
                focus_label: str | None = None, marker: bool = True,
                labels: bool = True, legend: bool = True, dpi: int = 200,
                fontscale: float = 1.0) -> bytes:
    """``view`` drawn on a figure of ``width_mm`` x ``height_mm``, as PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4))
    FigureCanvasAgg(fig)
    columns = max(1, int(width_mm // 42))
    below = 0.0 if not legend else min(0.3, 4.5 * (1 + 8 // columns) / height_mm * fontscale)
    ax = fig.add_axes((0.08, 0.045 + below, 0.9, 0.94 - below))
    draw_view(ax, view, focus_label=focus_label, marker=marker, labels=labels,
              legend=legend, fontscale=fontscale, legend_columns=columns)
    return png_bytes(fig, dpi=dpi)
