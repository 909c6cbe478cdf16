"""OpenStreetMap extracts (``.osm.pbf`` or ``.osm`` XML) as context layers.

GDAL's OSM driver (through pyogrio) exposes an extract as the layers
``points``, ``lines``, ``multilinestrings``, ``multipolygons`` and
``other_relations``; some tags are columns (``highway``, ``waterway`` on lines;
``highway``, ``place`` on points) and the others are packed into
``other_tags`` (``"aeroway"=>"runway","surface"=>"grass"``). :func:`read_osm`
reads the features of one kind of context layer: the roads (``highway``), the
waterways (``waterway``), the runways and aerodromes (``aeroway``)... Each
feature keeps ``osm_id``, ``name``, ``ref`` and the tag that says what it is,
which becomes its class (``track``, ``stream``, ``runway``).

>>> layer = read_osm("peru-latest.osm.pbf", "road")  # doctest: +SKIP
>>> layer.features[0].properties  # doctest: +SKIP
{'osm_id': '4301', 'name': 'Carretera Federico Basadre', 'ref': 'PE-18C', 'highway': 'trunk'}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from vigilancia.errors import InputError, UnreadableFileError
from vigilancia.i18n import _
from vigilancia.io.crs import WGS84, parse_crs, transform_geometries
from vigilancia.io.vectors import Feature, VectorLayer, feature_label, file_sha256

__all__ = ["OSM_SELECTION", "is_osm", "osm_kinds", "parse_other_tags", "read_osm"]

#: Tag values that are not travelled or not features of the kind.
_SKIP_HIGHWAY = ("proposed", "construction", "abandoned", "platform", "raceway", "corridor",
                 "elevator", "bus_stop", "razed")
_SKIP_WATERWAY = ("dam", "weir", "lock_gate", "waterfall", "dock", "boatyard", "fuel",
                  "riverbank")
_TRAIL_HIGHWAY = ("path", "footway", "bridleway", "steps", "track")

#: For each context kind: (OSM layer, tag, values kept or None for any, values left out).
OSM_SELECTION: dict[str, tuple[tuple[str, str, tuple[str, ...] | None, tuple[str, ...]], ...]] = {
    "road": (("lines", "highway", None, _SKIP_HIGHWAY),),
    "trail": (("lines", "highway", _TRAIL_HIGHWAY, ()),),
    "river": (("lines", "waterway", None, _SKIP_WATERWAY),),
    "airstrip": (
        ("lines", "aeroway", ("runway", "airstrip"), ()),
        ("points", "aeroway", ("aerodrome", "airstrip", "runway", "airfield"), ()),
    ),
    "settlement": (
        ("points", "place", ("city", "town", "village", "hamlet", "isolated_dwelling"), ()),
    ),
}

#: Tags that GDAL's default osmconf.ini writes as columns, per layer.
_COLUMNS = {
    "points": ("name", "barrier", "highway", "ref", "address", "is_in", "place", "man_made"),
    "lines": ("name", "highway", "waterway", "aerialway", "barrier", "man_made", "railway"),
}

_OTHER_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def is_osm(source: str | Path) -> bool:
    """Whether ``source`` is named like an OSM extract (``.osm``, ``.osm.pbf``, ``.pbf``)."""
    name = str(source).lower()
    return name.endswith((".osm", ".pbf"))


def osm_kinds() -> tuple[str, ...]:
    """The context kinds an OSM extract can be imported as."""
    return tuple(OSM_SELECTION)


def parse_other_tags(text: Any) -> dict[str, str]:
    """The tags packed in GDAL's ``other_tags`` column.

    >>> parse_other_tags('"aeroway"=>"runway","surface"=>"grass"')
    {'aeroway': 'runway', 'surface': 'grass'}
    """
    if not isinstance(text, str) or not text:
        return {}
    return {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _OTHER_TAG.findall(text)}


def read_osm(path: str | Path, kind: str) -> VectorLayer:
    """The features of an OSM extract that make a context layer of ``kind`` (EPSG:4326).

    Raises :class:`InputError` for a kind that OSM extracts are not read as,
    and :class:`UnreadableFileError` for a missing file or one GDAL cannot read
    as OSM.
    """
    import pyogrio

    src = str(path)
    p = Path(path)
    if kind not in OSM_SELECTION:
        raise InputError(
            _(
                "an OpenStreetMap extract can be imported as: {kinds}",
                kinds=", ".join(OSM_SELECTION),
            ),
            hint=_("for another kind, pick the OSM layer with the layer option"),
            source=src,
        )
    if not p.is_file():
        raise UnreadableFileError(
            _("file not found"), hint=_("check the path and the file name"), source=src
        )
    if "OSM" not in pyogrio.list_drivers():
        raise UnreadableFileError(
            _("this installation of GDAL cannot read OpenStreetMap files"),
            hint=_("convert the extract to GeoPackage (ogr2ogr) and import that"),
            source=src,
        )
    features: list[Feature] = []
    ids: list[str | None] = []
    for layer, tag, keep, skip in OSM_SELECTION[kind]:
        in_columns = tag in _COLUMNS.get(layer, ())
        where = f"{tag} IS NOT NULL" if in_columns else f"other_tags LIKE '%\"{tag}\"=>%'"
        try:
            info = pyogrio.read_info(p, layer=layer)
            wanted = [c for c in ("osm_id", "name", "ref", tag, "other_tags")
                      if c in list(info["fields"])]
            meta, table = pyogrio.raw.read_arrow(p, layer=layer, where=where, columns=wanted)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise UnreadableFileError(
                _("the file cannot be read as an OpenStreetMap extract"),
                hint=_("check that it is an OpenStreetMap extract (.osm.pbf or .osm)"),
                source=src,
            ) from exc
        geom_col = meta.get("geometry_name") or "wkb_geometry"
        geoms = shapely.from_wkb(np.asarray(table.column(geom_col).to_pylist(), dtype=object),
                                 on_invalid="ignore")
        crs = parse_crs(meta.get("crs") or "EPSG:4326", source=src)
        if not (crs == WGS84 or crs.equals(WGS84, ignore_axis_order=True)):
            geoms = transform_geometries(geoms, crs, WGS84)
        rows = table.drop_columns([geom_col]).to_pylist()
        for geom, row in zip(geoms, rows, strict=True):
            value = row.get(tag) if in_columns else parse_other_tags(row.get("other_tags")).get(tag)
            if value is None or (keep is not None and value not in keep) or value in skip:
                continue
            if geom is None or geom.is_empty:
                continue
            props = {"osm_id": row.get("osm_id"), "name": row.get("name")}
            if row.get("ref"):
                props["ref"] = row["ref"]
            props[tag] = value
            features.append(Feature(geom, props, feature_label(len(features) + 1, props["osm_id"])))
            ids.append(None if props["osm_id"] is None else str(props["osm_id"]))
    return VectorLayer(
        features=features,
        crs=WGS84,
        repairs=[],
        source=src,
        layer=None,
        ids=ids,
        sha256=file_sha256(p),
    )
