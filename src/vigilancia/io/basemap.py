"""Local basemap files: tiles read from a PMTiles (v3) or an MBTiles file.

A team offline for weeks brings its basemap on a disk: a Sentinel-2 or Planet NICFI
mosaic cut into tiles, as one ``.pmtiles`` or ``.mbtiles`` file. :func:`open_tiles`
opens either and hands out tiles by ``z/x/y`` (XYZ numbering; MBTiles stores rows
bottom-up, which is turned here) with their format (png, jpg, webp or pbf) and
compression.

>>> TileFile.media_type("webp")
'image/webp'
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType

from vigilancia.errors import UnreadableFileError
from vigilancia.i18n import _

__all__ = ["TileFile", "open_tiles"]

_MEDIA = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
          "webp": "image/webp", "pbf": "application/vnd.mapbox-vector-tile",
          "avif": "image/avif"}
_PMTILES_FORMAT = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp",
                   TileType.MVT: "pbf", TileType.AVIF: "avif"}


@dataclass
class TileFile:
    """An open tile file: its ``format`` (png, jpg, webp, pbf), zoom range, bounds
    (west, south, east, north) and whether tiles are gzip-compressed."""

    path: Path
    kind: str
    format: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None
    gzip: bool
    _read: Any
    _lock: threading.Lock

    @staticmethod
    def media_type(fmt: str) -> str:
        """The HTTP media type of a tile format."""
        return _MEDIA.get(fmt, "application/octet-stream")

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The bytes of tile ``z/x/y`` (XYZ), or None when the file has none."""
        with self._lock:
            data = self._read(z, x, y)
        return None if data is None else bytes(data)


def open_tiles(path: Path) -> TileFile:
    """Open a ``.pmtiles`` or ``.mbtiles`` file; :class:`UnreadableFileError` otherwise."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".pmtiles":
            return _pmtiles(p)
        if p.suffix.lower() == ".mbtiles":
            return _mbtiles(p)
    except (OSError, ValueError, KeyError, sqlite3.Error) as exc:
        raise UnreadableFileError(
            _("the basemap file could not be read"),
            hint=_("check that it is a PMTiles or MBTiles file, or set no basemap"),
            source=p.name,
        ) from exc
    raise UnreadableFileError(
        _("the basemap must be a .pmtiles or .mbtiles file, or an XYZ address"),
        hint=_("give the path of the file, or an address with {z}/{x}/{y}"), source=p.name)


def _pmtiles(path: Path) -> TileFile:
    fh = path.open("rb")
    reader = Reader(MmapSource(fh))
    header = reader.header()
    fmt = _PMTILES_FORMAT.get(header["tile_type"], "png")
    bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7,
              header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7)
    return TileFile(path, "pmtiles", fmt, int(header["min_zoom"]), int(header["max_zoom"]),
                    bounds, header["tile_compression"] == Compression.GZIP, reader.get,
                    threading.Lock())


def _mbtiles(path: Path) -> TileFile:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
    fmt = str(meta.get("format", "png")).lower()
    zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    bounds = None
    if meta.get("bounds"):
        w, s, e, n = (float(v) for v in str(meta["bounds"]).split(","))
        bounds = (w, s, e, n)

    def read(z: int, x: int, y: int) -> bytes | None:
        row = conn.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
            (z, x, (1 << z) - 1 - y)).fetchone()
        return None if row is None else bytes(row[0])

    return TileFile(path, "mbtiles", fmt, int(zooms[0] or 0), int(zooms[1] or 0), bounds,
                    fmt == "pbf", read, threading.Lock())

