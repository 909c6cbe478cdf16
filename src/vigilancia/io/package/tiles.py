"""A PMTiles (v3) vector tileset of the package, for offline maps.

Layers of :class:`MapFeature` are cut into Mapbox Vector Tiles (MVT 2,
``mapbox-vector-tile``) on the Web Mercator grid (EPSG:3857, XYZ tiles), gzip
compressed, and written with the ``pmtiles`` package's writer into one file
that QGIS (3.32 and later: vector tile layer), MapLibre and the PMTiles viewer
open without a server.

- Only tiles that hold something are written; identical tiles (a territory's
  interior at high zoom) are stored once (the PMTiles directory repeats them).
- Lines and polygons are simplified to half a tile pixel at each zoom; a polygon
  too small for a zoom disappears there (its point layer still shows it).
- Size is bounded: when the territory's box would need more than ``max_tiles``
  tiles at ``max_zoom``, the highest zoom is lowered until it fits (map apps
  over-zoom the last level).

>>> lonlat_to_world(0.0, 0.0)
(0.5, 0.5)
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from vigilancia.io.files import temp_file
from vigilancia.io.package.common import MapFeature

__all__ = ["MAX_TILES", "TileLayer", "TilesetResult", "lonlat_to_world", "write_pmtiles"]

#: Most tiles the highest zoom level may span (its zoom is lowered to fit).
MAX_TILES = 16_384
#: MVT tile extent (coordinate units per tile side) and the buffer around each tile.
EXTENT = 4096
BUFFER = 64
_MAX_LAT = 85.0511287798


@dataclass(frozen=True)
class TileLayer:
    """One vector layer: its name (``source-layer`` in styles), features, the zooms it is
    in (``min_zoom``; None for every zoom of the tileset) and a description."""

    name: str
    features: Sequence[MapFeature]
    description: str = ""
    min_zoom: int | None = None


@dataclass(frozen=True)
class TilesetResult:
    """What :func:`write_pmtiles` wrote: tiles addressed, distinct tile contents, zooms."""

    path: Path
    tiles: int
    unique_tiles: int
    min_zoom: int
    max_zoom: int


def lonlat_to_world(lon: float, lat: float) -> tuple[float, float]:
    """Lon/lat to Web Mercator "world" coordinates: 0-1 from west to east and north to south."""
    x, y = _world(np.array([[lon, lat]], dtype=np.float64))[0]
    return float(x), float(y)


def _world(coords: np.ndarray) -> np.ndarray:
    lon = coords[:, 0]
    lat = np.clip(coords[:, 1], -_MAX_LAT, _MAX_LAT)
    x = (lon + 180.0) / 360.0
    s = np.sin(np.radians(lat))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)
    return np.column_stack([x, y])


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    n = 1 << z
    minx, miny, maxx, maxy = bounds
    x0 = max(0, int(math.floor(minx * n)))
    y0 = max(0, int(math.floor(miny * n)))
    x1 = min(n - 1, int(math.floor(maxx * n)))
    y1 = min(n - 1, int(math.floor(maxy * n)))
    return x0, y0, x1, y1


def _count(bounds: tuple[float, float, float, float], z: int) -> int:
    x0, y0, x1, y1 = _tile_range(bounds, z)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def _field_type(values: list[Any]) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {bool}:
        return "Boolean"
    if kinds and kinds <= {int, float}:
        return "Number"
    return "String"


def write_pmtiles(
    path: Path,
    layers: Sequence[TileLayer],
    *,
    name: str,
    description: str = "",
    attribution: str = "",
    min_zoom: int = 8,
    max_zoom: int = 16,
    max_tiles: int = MAX_TILES,
) -> TilesetResult:
    """Write ``layers`` as a PMTiles file of gzip MVT tiles from ``min_zoom`` to ``max_zoom``
    (lowered to keep within ``max_tiles``; see the module docstring)."""
    world: list[list[BaseGeometry]] = []
    for layer in layers:
        geoms = np.array([f.geometry for f in layer.features], dtype=object)
        world.append(list(shapely.transform(geoms, _world)) if len(geoms) else [])
    everything = [g for gs in world for g in gs]
    if not everything:
        raise ValueError("a tileset needs at least one feature")
    b = shapely.total_bounds(np.array(everything, dtype=object))
    bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    top = max_zoom
    while top > min_zoom and _count(bounds, top) > max_tiles:
        top -= 1
    pad = BUFFER / EXTENT
    trees = [shapely.STRtree(np.array(gs, dtype=object)) if gs else None for gs in world]
    cache: dict[tuple[int, ...], bytes] = {}
    fd, tmp = temp_file(path.parent, label=path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = Writer(fh)
            written = 0
            for z in range(min_zoom, top + 1):
                n = 1 << z
                tol = 0.5 / (n * EXTENT)
                simple = [
                    [shapely.simplify(g, tol, preserve_topology=True)
                     if g.geom_type not in ("Point", "MultiPoint") else g for g in gs]
                    for gs in world
                ]
                x0, y0, x1, y1 = _tile_range(bounds, z)
                tiles: list[tuple[int, bytes]] = []
                for tx in range(x0, x1 + 1):
                    for ty in range(y0, y1 + 1):
                        data = _tile(layers, simple, trees, z, tx, ty, n, pad, cache)
                        if data is not None:
                            tiles.append((zxy_to_tileid(z, tx, ty), data))
                tiles.sort(key=lambda t: t[0])
                for tile_id, data in tiles:
                    writer.write_tile(tile_id, data)
                written += len(tiles)
            if not written:
                raise ValueError("no tile holds a feature")
            lon0, lat0, lon1, lat1 = shapely.total_bounds(
                np.array([f.geometry for la in layers for f in la.features], dtype=object))
            header = {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": int(lon0 * 1e7), "min_lat_e7": int(lat0 * 1e7),
                "max_lon_e7": int(math.ceil(lon1 * 1e7)), "max_lat_e7": int(math.ceil(lat1 * 1e7)),
                "center_zoom": max(min_zoom, min(top, 12)),
                "center_lon_e7": int((lon0 + lon1) / 2 * 1e7),
                "center_lat_e7": int((lat0 + lat1) / 2 * 1e7),
            }
            metadata = {
                "name": name,
                "description": description,
                "attribution": attribution,
                "type": "overlay",
                "version": "1",
                "format": "pbf",
                "generator": "vigilancia",
                "vector_layers": [
                    {
                        "id": la.name,
                        "description": la.description,
                        "minzoom": max(min_zoom, la.min_zoom or min_zoom),
                        "maxzoom": top,
                        "fields": {
                            key: _field_type([f.properties.get(key) for f in la.features])
                            for key in dict.fromkeys(k for f in la.features for k in f.properties)
                        },
                    }
                    for la in layers if la.features
                ],
            }
            writer.finalize(header, metadata)
            unique = len(writer.hash_to_offset)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return TilesetResult(path, written, unique, min_zoom, top)


def _same_dimension(geom: BaseGeometry, dim: int) -> BaseGeometry | None:
    """The parts of a clipped geometry of the original's dimension (a polygon cut along a
    tile edge can leave lines and points), or None when there are none."""
    if geom.is_empty:
        return None
    if geom.geom_type != "GeometryCollection":
        return geom if shapely.get_dimensions(geom) == dim else None
    parts = [p for p in shapely.get_parts(geom) if shapely.get_dimensions(p) == dim]
    if not parts:
        return None
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _tile(
    layers: Sequence[TileLayer],
    simple: list[list[BaseGeometry]],
    trees: list[shapely.STRtree | None],
    z: int, tx: int, ty: int, n: int, pad: float,
    cache: dict[tuple[int, ...], bytes],
) -> bytes | None:
    """The gzip MVT bytes of tile z/tx/ty, or None when nothing is in it."""
    clip = box((tx - pad) / n, (ty - pad) / n, (tx + 1 + pad) / n, (ty + 1 + pad) / n)
    found: list[tuple[int, list[tuple[int, BaseGeometry | None]]]] = []
    key: list[int] = []
    whole = True
    for li, (layer, tree) in enumerate(zip(layers, trees, strict=True)):
        if tree is None or (layer.min_zoom is not None and z < layer.min_zoom):
            continue
        hits = sorted(int(i) for i in tree.query(clip, predicate="intersects"))
        parts: list[tuple[int, BaseGeometry | None]] = []
        for i in hits:
            g = simple[li][i]
            if g.geom_type in ("Polygon", "MultiPolygon") and g.contains(clip):
                parts.append((i, None))  # the whole tile: same content for every such tile
                key.extend((li, i))
                continue
            whole = False
            part = _same_dimension(g.intersection(clip), shapely.get_dimensions(g))
            if part is not None:
                parts.append((i, part))
        if parts:
            found.append((li, parts))
    if not found:
        return None
    if whole and tuple(key) in cache:
        return cache[tuple(key)]
    scale = n * EXTENT
    full = box(-BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)

    def to_tile(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([xy[:, 0] * scale - tx * EXTENT, xy[:, 1] * scale - ty * EXTENT])

    encoded_layers = []
    for li, parts in found:
        layer = layers[li]
        features = []
        for i, part in parts:
            geom = full if part is None else shapely.transform(part, to_tile)
            features.append({"geometry": geom, "properties": dict(layer.features[i].properties),
                             "id": i + 1})
        encoded_layers.append({"name": layer.name, "features": features})
    raw = mapbox_vector_tile.encode(
        encoded_layers,
        default_options={"extents": EXTENT, "y_coord_down": True,
                         "on_invalid_geometry": on_invalid_geometry_make_valid},
    )
    data = gzip.compress(raw, mtime=0)
    if whole:
        cache[tuple(key)] = data
    return data
