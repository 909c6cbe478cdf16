"""The web map's basemap: none by default, a remote XYZ/WMTS address, or a local file.

``VIGILANCIA_BASEMAP`` chooses it:

- unset: no basemap (the map draws the workspace's own layers on a plain background,
  so nothing is fetched from outside);
- an ``http(s)`` address with ``{z}``, ``{x}`` and ``{y}`` (XYZ, or a WMTS REST
  template written that way): the browser fetches those tiles itself;
- a ``.pmtiles`` or ``.mbtiles`` file on the server (a mosaic downloaded once): the
  app serves its tiles at ``/api/basemap/tiles/{z}/{x}/{y}``.

:func:`basemap_info` tells the map which; :func:`basemap_tile` reads a local tile.

>>> basemap_info(Settings()).to_dict()["kind"]
'none'
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilancia.config import Settings
from vigilancia.errors import InputError, NotFoundError, StoreError
from vigilancia.i18n import _
from vigilancia.io.basemap import TileFile, open_tiles

__all__ = ["BasemapInfo", "BasemapTile", "LOCAL_TILES_URL", "basemap_info", "basemap_tile"]

#: Where the app serves the tiles of a local basemap file.
LOCAL_TILES_URL = "/api/basemap/tiles/{z}/{x}/{y}"

_open: dict[str, TileFile] = {}
_open_lock = threading.Lock()


@dataclass(frozen=True)
class BasemapInfo:
    """What the map needs to draw the basemap: ``kind`` (none, remote, local), the tile
    address template, the tile format (png, jpg, webp, pbf), zooms and bounds."""

    kind: str
    tiles: str | None = None
    format: str | None = None
    min_zoom: int = 0
    max_zoom: int = 22
    bounds: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "tiles": self.tiles, "format": self.format,
                "min_zoom": self.min_zoom, "max_zoom": self.max_zoom,
                "bounds": None if self.bounds is None else list(self.bounds)}


@dataclass(frozen=True)
class BasemapTile:
    """One tile of a local basemap: its bytes, media type and content encoding."""

    data: bytes
    media_type: str
    encoding: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the size, not the bytes)."""
        return {"bytes": len(self.data), "media_type": self.media_type}


def _local(settings: Settings) -> TileFile | None:
    value = (settings.basemap or "").strip()
    if not value or "://" in value:
        return None
    path = Path(value).expanduser()
    key = str(path.resolve())
    with _open_lock:
        found = _open.get(key)
        if found is None:
            if not path.is_file():
                raise StoreError(_("the basemap file does not exist"),
                                 hint=_("check VIGILANCIA_BASEMAP"), source=path.name)
            found = _open[key] = open_tiles(path)
    return found


def basemap_info(settings: Settings) -> BasemapInfo:
    """Which basemap the map draws (see the module text)."""
    value = (settings.basemap or "").strip()
    if not value:
        return BasemapInfo("none")
    if "://" in value:
        if not value.startswith(("http://", "https://")) or not all(
                k in value for k in ("{z}", "{x}", "{y}")):
            raise StoreError(_("the basemap address is not an XYZ address"),
                             hint=_("give an http(s) address with {z}, {x} and {y} in "
                                    "VIGILANCIA_BASEMAP, or a local file, or nothing"))
        return BasemapInfo("remote", tiles=value)
    tiles = _local(settings)
    assert tiles is not None
    return BasemapInfo("local", tiles=LOCAL_TILES_URL, format=tiles.format,
                       min_zoom=tiles.min_zoom, max_zoom=tiles.max_zoom, bounds=tiles.bounds)


def basemap_tile(settings: Settings, z: int, x: int, y: int) -> BasemapTile:
    """Tile ``z/x/y`` of the local basemap file; :class:`NotFoundError` when the file has
    none there or there is no local basemap."""
    if not (0 <= z <= 30 and 0 <= x < (1 << z) and 0 <= y < (1 << z)):
        raise InputError(_("There is no map tile {z}/{x}/{y}", z=z, x=x, y=y))
    tiles = _local(settings)
    if tiles is None:
        raise NotFoundError(_("This server has no local basemap"))
    data = tiles.tile(z, x, y)
    if data is None:
        raise NotFoundError(_("The basemap has no tile {z}/{x}/{y}", z=z, x=x, y=y))
    return BasemapTile(data, TileFile.media_type(tiles.format), "gzip" if tiles.gzip else None)
