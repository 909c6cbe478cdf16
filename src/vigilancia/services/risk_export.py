"""Write a risk assessment: ranked table (CSV, JSON), GeoPackage layer and a map (PNG).

Files, in one folder:

- ``riesgo.csv``: one row per unit by rank (UTF-8 with BOM for Excel): rank,
  name, unit, score, class, coverage, the explanation and each factor's points
  (empty when its data is missing), plus ``lon``/``lat`` of a point inside;
- ``riesgo.json``: the same with every contribution (value, level, weight,
  points, source, detail) and the missing layers;
- ``riesgo.gpkg``: layer ``riesgo`` with the unit polygons and the table's
  columns (EPSG:4326), for QGIS;
- ``riesgo.png``: the units coloured by class, the corridors and known
  airstrips, the ten highest ranked numbered.

Each file is written under a temporary name and moved into place.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from vigilancia.domain.context import ContextKind
from vigilancia.domain.risk import Factor, RiskClass
from vigilancia.i18n import _
from vigilancia.io.files import replace_bytes
from vigilancia.io.store.workspace import WorkspaceStore
from vigilancia.results import to_json
from vigilancia.services.export import write_layer
from vigilancia.services.risk import RiskAssessment
from vigilancia.services.risk_text import class_name, explain, factor_name

if TYPE_CHECKING:
    import geopandas

__all__ = ["CLASS_COLOURS", "RiskFiles", "export_risk"]

#: Map colours of the classes (colour-blind safe, from dark red to pale).
CLASS_COLOURS: dict[RiskClass, str] = {
    RiskClass.CRITICAL: "#b2182b",
    RiskClass.HIGH: "#ef8a62",
    RiskClass.MEDIUM: "#fddbc7",
    RiskClass.LOW: "#e0e0e0",
}


@dataclass(frozen=True)
class RiskFiles:
    """The files :func:`export_risk` wrote."""

    csv: Path
    json: Path
    gpkg: Path
    png: Path

    def to_dict(self) -> dict[str, Any]:
        """The paths by kind: ``csv``, ``json``, ``gpkg``, ``png``."""
        return {"csv": self.csv, "json": self.json, "gpkg": self.gpkg, "png": self.png}


def _frame(result: RiskAssessment) -> geopandas.GeoDataFrame:
    import geopandas as gpd

    rows = []
    geoms = []
    for s in result.scores:
        unit = result.units[s.key]
        p = unit.geometry.representative_point()
        row = {
            "rank": s.rank,
            "name": s.name,
            "unit": unit.kind,
            "territory_id": unit.territory_id,
            "score": round(s.score, 2),
            "risk_class": s.risk_class.value,
            "class_name": class_name(s.risk_class),
            "coverage": round(s.coverage, 3),
            "explanation": explain(s),
            "missing": ", ".join(c.factor.value for c in s.missing) or None,
        }
        by = {c.factor: c for c in s.contributions}
        for f in Factor:
            c = by.get(f)
            row[f"p_{f.value}"] = round(c.points, 2) if c is not None and c.available else None
        row["as_of"] = result.as_of.isoformat()
        row["lon"] = round(p.x, 6)
        row["lat"] = round(p.y, 6)
        rows.append(row)
        geoms.append(unit.geometry)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")



def export_risk(result: RiskAssessment, store: WorkspaceStore, output: Path) -> RiskFiles:
    """Write the CSV, JSON, GeoPackage and map of ``result`` into the folder ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    frame = _frame(result)
    files = RiskFiles(output / "riesgo.csv", output / "riesgo.json", output / "riesgo.gpkg",
                      output / "riesgo.png")
    table = frame.drop(columns="geometry")
    replace_bytes(files.csv, table.to_csv(index=False).encode("utf-8-sig"))
    replace_bytes(files.json, to_json(result).encode("utf-8"))
    files.gpkg.unlink(missing_ok=True)
    write_layer(frame, files.gpkg, "gpkg", "riesgo")
    replace_bytes(files.png, render_map(result, store))
    return files


def render_map(result: RiskAssessment, store: WorkspaceStore) -> bytes:
    """PNG bytes of the risk map (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from shapely.plotting import plot_polygon

    fig = Figure(figsize=(9.0, 9.0), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    geoms = [result.units[s.key].geometry for s in result.scores]
    minx, miny, maxx, maxy = shapely.total_bounds(geoms) if geoms else (0, 0, 1, 1)
    for s in reversed(result.scores):  # highest ranked drawn last, on top
        g = result.units[s.key].geometry
        for part in getattr(g, "geoms", [g]):
            if part.geom_type == "Polygon":
                plot_polygon(part, ax=ax, add_points=False, linewidth=0.4,
                             facecolor=CLASS_COLOURS[s.risk_class], edgecolor="#555555")
    corridors = store.corridors()
    for c in corridors:
        for line in getattr(c.geometry, "geoms", [c.geometry]):
            xs, ys = line.xy
            ax.plot(xs, ys, color="#6a3d9a", linewidth=1.2, alpha=0.8)
    strips = store.context_features([ContextKind.AIRSTRIP],
                                    bounds=(float(minx), float(miny), float(maxx), float(maxy)))
    if len(strips):
        pts = shapely.centroid(np.asarray(strips.geometry, dtype=object))
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
