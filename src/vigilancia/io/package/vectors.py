"""GeoPackage layers and GeoJSON files of the package (QGIS, ArcGIS, any GIS).

>>> from shapely.geometry import Point
>>> fc = feature_collection([MapFeature(Point(-75.0, -9.5), {"codigo": "C-0001"})])
>>> fc["features"][0]["geometry"]
{'type': 'Point', 'coordinates': [-75.0, -9.5]}
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vigilancia.errors import VigilanciaError
from vigilancia.i18n import _
from vigilancia.io.files import replace_bytes, temp_dir
from vigilancia.io.package.common import MapFeature, geojson_geometry, rounded

__all__ = ["feature_collection", "write_geojson", "write_gpkg"]


def write_gpkg(path: Path, layers: Mapping[str, Sequence[MapFeature]]) -> Path:
    """Write one GeoPackage with a layer per entry of ``layers`` (EPSG:4326), in order.

    Layers without features are left out. Polygon layers mixing single and multi
    parts are written as multi. The file is built under a temporary name and moved
    into place.
    """
    import geopandas as gpd
    import pyogrio

    tmpdir = temp_dir(path.parent, label=path.name)
    try:
        tmp = tmpdir / path.name
        for name, features in layers.items():
            if not features:
                continue
            frame = gpd.GeoDataFrame(
                [dict(f.properties) for f in features],
                geometry=[rounded(f.geometry) for f in features],
                crs="EPSG:4326",
            )
            try:
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
            except (OSError, RuntimeError) as exc:  # pyogrio errors derive from RuntimeError
                raise VigilanciaError(
                    _("the export could not be written"),
                    hint=_("check that the disk is not full and that the folder may be written"),
                    source=str(path),
                ) from exc
        if tmp.exists():
            tmp.replace(path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def feature_collection(features: Sequence[MapFeature], name: str | None = None) -> dict[str, Any]:
    """A GeoJSON (RFC 7946) FeatureCollection of ``features``; geometries may be of mixed types."""
    fc: dict[str, Any] = {"type": "FeatureCollection"}
    if name:
        fc["name"] = name
    fc["features"] = [
        {"type": "Feature", "properties": dict(f.properties),
         "geometry": geojson_geometry(f.geometry)}
        for f in features
    ]
    return fc


def write_geojson(path: Path, features: Sequence[MapFeature], name: str | None = None) -> Path:
    """Write ``features`` as one GeoJSON FeatureCollection (UTF-8, lon/lat)."""
    text = json.dumps(feature_collection(features, name), ensure_ascii=False,
                      separators=(",", ":"))
    return replace_bytes(path, text.encode("utf-8"))
