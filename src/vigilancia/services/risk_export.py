"""Write a risk assessment: ranked table (CSV, JSON), GeoPackage layer and a map (PNG).

Files, in one folder:

- ``riesgo.csv``: one row per unit by rank (UTF-8 with BOM for Excel): rank,
  name, unit, score, class (absolute, by the score's thresholds), regional class (by
  rank among the units: see :mod:`vigilancia.domain.risk`), coverage, the explanation
  and each factor's points (empty when its data is missing), plus ``lon``/``lat`` of a
  point inside; column names and codes in the user's language
  (:mod:`vigilancia.services.texts.columns`: ``puesto``, ``clase`` = ``critico``...);
- ``riesgo.json``: the same with every contribution (value, level, weight,
  points, source, detail) and the missing layers;
- ``riesgo.gpkg``: layer ``riesgo`` (``risk`` in English) with the unit polygons and
  the table's columns (EPSG:4326), for QGIS;
- ``riesgo.png``: the units coloured by regional class, numbered by rank with their
  names listed beside the map, the corridors and known airstrips, a scale bar and a
  north arrow (:mod:`vigilancia.reports.risk_map`). :func:`risk_map` gathers what it
  shows into a :class:`RiskMap`, and the ``render_map`` the caller passes (a
  :data:`RiskMapRenderer`, :func:`vigilancia.reports.risk_map.render_risk_map` in
  the shells) draws it: the reports layer sits above the services, which never
  import it.

Each file is written under a temporary name and moved into place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.context import ContextKind
from vigilancia.domain.risk import Factor
from vigilancia.io.files import replace_bytes
from vigilancia.io.store.workspace import WorkspaceStore
from vigilancia.results import to_json
from vigilancia.services.export import write_layer
from vigilancia.services.risk import RiskAssessment
from vigilancia.services.texts.columns import layer_name, localise
from vigilancia.services.texts.risk import class_name, explain

if TYPE_CHECKING:
    import geopandas

__all__ = ["RiskFiles", "RiskMap", "RiskMapRenderer", "export_risk", "risk_map"]


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


@dataclass(frozen=True)
class RiskMap:
    """What the risk map shows, gathered from the store (all lon/lat, EPSG:4326).

    ``assessment``: the units, their scores, classes and ranks; ``corridors``: the
    stored trafficking corridors (lines); ``airstrips``: the known airstrips (points or
    lines) whose box meets the box of the scored units.
    """

    assessment: RiskAssessment
    corridors: tuple[BaseGeometry, ...]
    airstrips: tuple[BaseGeometry, ...]


RiskMapRenderer = Callable[[RiskMap], bytes]
"""Draws the risk map: a :class:`RiskMap` in, PNG bytes out
(:func:`vigilancia.reports.risk_map.render_risk_map`)."""


def risk_map(result: RiskAssessment, store: WorkspaceStore) -> RiskMap:
    """What the map of ``result`` shows: its units, the stored corridors and the known
    airstrips within the units' box (degrees)."""
    geoms = [result.units[s.key].geometry for s in result.scores]
    minx, miny, maxx, maxy = shapely.total_bounds(geoms) if geoms else (0, 0, 1, 1)
    corridors = tuple(c.geometry for c in store.corridors.list())
    strips = store.context.features([ContextKind.AIRSTRIP],
                                    bounds=(float(minx), float(miny), float(maxx), float(maxy)))
    return RiskMap(result, corridors, tuple(strips.geometry))


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
            "regional_class": None if s.regional_class is None else s.regional_class.value,
            "regional_class_name": None if s.regional_class is None
            else class_name(s.regional_class),
            "coverage": round(s.coverage, 3),
            "explanation": explain(s),
            "missing": ", ".join(c.factor.value for c in s.missing) or None,
        }
        by = {c.factor: c for c in s.contributions}
        for f in Factor:
            c = by.get(f)
            row[f"points_{f.value}"] = (round(c.points, 2) if c is not None and c.available
                                        else None)
        row["as_of"] = result.as_of.isoformat()
        row["lon"] = round(p.x, 6)
        row["lat"] = round(p.y, 6)
        rows.append(row)
        geoms.append(unit.geometry)
    return localise(gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326"))



def export_risk(result: RiskAssessment, store: WorkspaceStore, output: Path, *,
                render_map: RiskMapRenderer) -> RiskFiles:
    """Write the CSV, JSON, GeoPackage and map of ``result`` into the folder ``output``;
    ``render_map`` draws the map (see :data:`RiskMapRenderer`)."""
    output.mkdir(parents=True, exist_ok=True)
    frame = _frame(result)
    files = RiskFiles(output / "riesgo.csv", output / "riesgo.json", output / "riesgo.gpkg",
                      output / "riesgo.png")
    table = frame.drop(columns="geometry")
    replace_bytes(files.csv, table.to_csv(index=False).encode("utf-8-sig"))
    replace_bytes(files.json, to_json(result).encode("utf-8"))
    files.gpkg.unlink(missing_ok=True)
    write_layer(frame, files.gpkg, "gpkg", layer_name("risk"))
    replace_bytes(files.png, render_map(risk_map(result, store)))
    return files
