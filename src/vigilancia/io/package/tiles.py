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
import struct
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

from vigilancia.domain.tiling import world_xy
from vigilancia.io.files import temp_file
from vigilancia.io.package.common import MapFeature

__all__ = [
    "MAX_TILES",
    "TileLayer",
    "TilesetResult",
    "encode_tile",
    "lonlat_to_world",
    "write_pmtiles",
]

#: Most tiles the highest zoom level may span (its zoom is lowered to fit).
MAX_TILES = 16_384
#: MVT tile extent (coordinate units per tile side) and the buffer around each tile.
EXTENT = 4096
BUFFER = 64


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
    return np.column_stack(world_xy(coords[:, 0], coords[:, 1]))


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


def encode_tile(
    layers: Sequence[tuple[str, Sequence[BaseGeometry], Sequence[dict[str, Any]]]],
    z: int,
    x: int,
    y: int,
    *,
    ids: Sequence[Sequence[int]] | None = None,
) -> bytes:
    """One Mapbox Vector Tile (uncompressed bytes) of tile ``z/x/y`` for a web map.

    ``layers``: ``(name, geometries in lon/lat, properties)`` per layer; ``ids``: the
    feature id of each geometry per layer (MVT ids; None numbers them from 1).
    Points are written as they are; lines and polygons are cut to the tile (with a
    buffer of :data:`BUFFER` units) and simplified to half a tile unit. Geometries
    that fall outside the tile are left out.
    """
    n = 1 << z
    scale = n * EXTENT
    lo, hi = -BUFFER, EXTENT + BUFFER

    def to_tile(coords: np.ndarray) -> np.ndarray:
        world = _world(coords)
        return np.column_stack([world[:, 0] * scale - x * EXTENT, world[:, 1] * scale - y * EXTENT])

    encoded = []
    fast: list[bytes] = []
    for li, (name, geoms, props) in enumerate(layers):
        if not len(geoms):
            continue
        arr = shapely.transform(np.asarray(geoms, dtype=object), to_tile)
        kinds = shapely.get_type_id(arr)
        fids = ids[li] if ids is not None else range(1, len(arr) + 1)
        if bool(np.all(kinds == 0)):  # points only: written here, without a feature object
            xy = np.rint(shapely.get_coordinates(arr)).astype(np.int64)
            fast.append(_points_layer(name, xy, props, fids))
            continue
        points = np.isin(kinds, (0, 4))
        clipped = np.where(points, arr, shapely.clip_by_rect(arr, lo, lo, hi, hi))
        simple = np.where(points, clipped, shapely.simplify(clipped, 0.5, preserve_topology=True))
        features = [
            {"geometry": g, "properties": p, "id": int(fid)}
            for g, p, fid in zip(simple.tolist(), props, fids, strict=True)
            if g is not None and not g.is_empty
        ]
        if features:
            encoded.append({"name": name, "features": features})
    if not encoded:
        return b"".join(fast)
    return b"".join(fast) + bytes(mapbox_vector_tile.encode(
        encoded,
        default_options={"extents": EXTENT, "y_coord_down": True,
                         "on_invalid_geometry": on_invalid_geometry_make_valid},
    ))


# Mapbox Vector Tile 2.1 (protobuf) written by hand for point layers: a tile of a thousand
# points takes a few milliseconds instead of tens (measured in bench/api_load.py). A tile is
# the concatenation of its layers (field 3 of ``Tile``), so these join the others' bytes.


def _slow_varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1  # negative int64 values as ten bytes, as protobuf does
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


#: The varints of 0..16383 (one or two bytes), looked up rather than computed.
_SMALL = [_slow_varint(n) for n in range(1 << 14)]


def _varint(n: int) -> bytes:
    return _SMALL[n] if 0 <= n < 16384 else _slow_varint(n)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _value(v: Any) -> bytes:
    """A ``Tile.Value`` message."""
    if isinstance(v, bool):
        return b"\x38" + (b"\x01" if v else b"\x00")  # bool_value (7)
    if isinstance(v, int | np.integer):
        v = int(v)
        return (b"\x28" + _varint(v)) if v >= 0 else (b"\x30" + _varint(_zigzag(v)))
    if isinstance(v, float | np.floating):
        return b"\x19" + struct.pack("<d", float(v))  # double_value (3)
    return _field(1, str(v).encode("utf-8"))  # string_value (1)


def _points_layer(name: str, xy: np.ndarray, props: Sequence[dict[str, Any]],
                  ids: Sequence[int] | range) -> bytes:
    """One ``Tile.Layer`` of points (tile coordinates ``xy``), as ``Tile`` field 3."""
    keys: dict[str, int] = {}
    values: dict[tuple[type, Any], int] = {}
    pairs: dict[tuple[str, type, Any], bytes] = {}  # (key, value) -> its two tag varints
    features = bytearray()
    for (x, y), p, fid in zip(xy.tolist(), props, ids, strict=True):
        tags = []
        for k, v in p.items():
            if v is None:
                continue
            pair = pairs.get((k, type(v), v))
            if pair is None:
                ki = keys.setdefault(k, len(keys))
                vi = values.setdefault((type(v), v), len(values))
                pair = pairs[(k, type(v), v)] = _varint(ki) + _varint(vi)
            tags.append(pair)
        tag_bytes = b"".join(tags)
        geom = b"\x09" + _varint(_zigzag(x)) + _varint(_zigzag(y))  # MoveTo(1) x, y
        feature = b"".join((b"\x08", _varint(int(fid)), b"\x12", _varint(len(tag_bytes)),
                            tag_bytes, b"\x18\x01\x22", _SMALL[len(geom)], geom))
        features += b"\x12" + _varint(len(feature)) + feature
    layer = (b"\x78\x02" + _field(1, name.encode("utf-8")) + bytes(features)
             + b"".join(_field(3, k.encode("utf-8")) for k in keys)
             + b"".join(_field(4, _value(v)) for (_t, v) in values)
             + b"\x28" + _varint(EXTENT))
    return _field(3, layer)
