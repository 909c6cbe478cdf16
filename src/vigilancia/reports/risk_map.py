"""The risk map: the units coloured by class, the corridors and known airstrips (PNG).

Render only: a :class:`~vigilancia.services.risk_export.RiskMap` in (the
assessment, the corridors and the airstrips, gathered by
:func:`~vigilancia.services.risk_export.risk_map`), PNG bytes out (matplotlib's Agg
canvas, no pyplot). :func:`~vigilancia.services.risk_export.export_risk` takes
:func:`render_risk_map` as its ``render_map`` (the shells pass it) and writes
``riesgo.png``. The map shows every unit coloured by its class, the corridors as
purple lines, the known airstrips as black triangles and the ten highest ranked
units numbered, with a legend, the date and the classes' counts in the title, and the
missing data in red.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import shapely

from vigilancia.domain.risk import Factor, RiskClass
from vigilancia.i18n import _
from vigilancia.services.risk_export import RiskMap
from vigilancia.services.texts.risk import class_name, factor_name

__all__ = ["CLASS_COLOURS", "render_risk_map"]

#: Map colours of the classes (colour-blind safe, from dark red to pale).
CLASS_COLOURS: dict[RiskClass, str] = {
    RiskClass.CRITICAL: "#b2182b",
    RiskClass.HIGH: "#ef8a62",
    RiskClass.MEDIUM: "#fddbc7",
    RiskClass.LOW: "#e0e0e0",
}


def render_risk_map(data: RiskMap) -> bytes:
    """PNG bytes of the risk map of ``data`` (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from shapely.plotting import plot_polygon

    fig = Figure(figsize=(9.0, 9.0), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    result = data.assessment
    geoms = [result.units[s.key].geometry for s in result.scores]
    minx, miny, maxx, maxy = shapely.total_bounds(geoms) if geoms else (0, 0, 1, 1)
    for s in reversed(result.scores):  # highest ranked drawn last, on top
        g = result.units[s.key].geometry
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "Polygon":
                plot_polygon(part, ax=ax, add_points=False, linewidth=0.4,
                             facecolor=CLASS_COLOURS[s.risk_class], edgecolor="#555555")
    corridors = data.corridors
    for c in corridors:
        for line in getattr(c, "geoms", [c]):
            xs, ys = line.xy
            ax.plot(xs, ys, color="#6a3d9a", linewidth=1.2, alpha=0.8)
    strips = data.airstrips
    if len(strips):
        pts = shapely.centroid(np.asarray(strips, dtype=object))
        ax.scatter(shapely.get_x(pts), shapely.get_y(pts), marker="^", s=28, color="black",
                   zorder=5)
    for s in result.scores[:10]:
        p = result.units[s.key].geometry.representative_point()
        ax.annotate(str(s.rank), (p.x, p.y), fontsize=9, fontweight="bold", ha="center",
                    va="center", color="black",
                    bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "black", "lw": 0.6})
    pad_x = (maxx - minx) * 0.03 or 0.01
    pad_y = (maxy - miny) * 0.03 or 0.01
    ax.set_xlim(minx - pad_x, maxx + pad_x)
    ax.set_ylim(miny - pad_y, maxy + pad_y)
    ax.set_aspect(1.0 / max(0.2, float(np.cos(np.radians((miny + maxy) / 2.0)))))
    ax.set_xlabel(_("Longitude"))
    ax.set_ylabel(_("Latitude"))
    handles: list[Any] = [
        Patch(facecolor=CLASS_COLOURS[c], edgecolor="#555555", label=class_name(c))
        for c in RiskClass
    ]
    if corridors:
        from matplotlib.lines import Line2D

        handles.append(Line2D([0], [0], color="#6a3d9a", lw=1.5,
                              label=factor_name(Factor.CORRIDORS)))
    if len(strips):
        from matplotlib.lines import Line2D

        handles.append(Line2D([0], [0], marker="^", color="black", lw=0,
                              label=factor_name(Factor.AIRSTRIPS)))
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    counts = result.class_counts()
    ax.set_title(_("Community risk as of {date}: {critical} critical, {high} high",
                   date=result.as_of.isoformat(), critical=counts.get("critical", 0),
                   high=counts.get("high", 0)))
    if result.missing:
        ax.text(0.01, 0.99, _("missing data: {factors}",
                              factors=", ".join(factor_name(f) for f in result.missing)),
                transform=ax.transAxes, fontsize=8, color="#b2182b", va="top", wrap=True,
                bbox={"fc": "white", "ec": "none", "alpha": 0.85})
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
