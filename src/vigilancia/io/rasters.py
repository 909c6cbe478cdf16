"""Windowed reads of alert rasters: local GeoTIFFs, folders of tiles and remote COGs.

A source is a file, a folder of adjacent tiles (mosaicked through a VRT so that
a clearing crossing a tile edge stays whole) or an http(s) URL read through
GDAL's ``/vsicurl/``. Reads go strip by strip (full width, ``rows`` rows), with
the next strip decompressed in a background thread while the caller works on
the current one; a strip never needs the whole tile in memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from numpy.typing import NDArray
from pyproj import CRS
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.windows import Window

from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import _
from vigilancia.io.crs import parse_crs
from vigilancia.io.files import replace_bytes

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")


@dataclass(frozen=True)
class RasterInfo:
    """What a raster source is: size, grid, bands."""

    source: str  # what the user gave (path or URL)
    gdal_path: str  # what GDAL opens (may be /vsicurl/... or a VRT)
    width: int
    height: int
    crs: CRS
    transform: tuple[float, float, float, float, float, float]  # a, b, c, d, e, f
    dtype: str
    band_names: tuple[str, ...]  # descriptions, or "1", "2", ... when missing
    tiles: tuple[str, ...]  # files behind the source (one for a single file)

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _gdal_path(source: str) -> str:
    if source.startswith(("http://", "https://")):
        return "/vsicurl/" + source
    return source


def resolve(source: str, *, workdir: Path | None = None) -> RasterInfo:
    """Open ``source`` (file, folder of tiles or URL) and describe it, or fail clearly."""
    if source.startswith(("http://", "https://", "/vsi")):
        return _describe(source, _gdal_path(source), (source,))
    path = Path(source)
    if not path.exists():
        raise UnreadableFileError(_("file not found"), hint=_("check the path"), source=source)
    if path.is_dir():
        tiles = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in (".tif", ".tiff"))
        if not tiles:
            raise UnreadableFileError(
                _("the folder has no GeoTIFF tiles (.tif)"),
                hint=_("point to a .tif file or a folder of them"),
                source=source,
            )
        if len(tiles) == 1:
            return _describe(source, tiles[0], (tiles[0],))
        infos = [_describe(t, t, (t,)) for t in tiles]
        vrt = _mosaic_vrt(infos, workdir or path)
        return _describe(source, vrt, tuple(tiles))
    if path.stat().st_size == 0:
        raise UnreadableFileError(
            _("the file is empty (0 bytes)"), hint=_("download it again"), source=source
        )
    return _describe(source, str(path), (str(path),))


def _describe(source: str, gdal_path: str, tiles: tuple[str, ...]) -> RasterInfo:
    try:
        with rasterio.open(gdal_path) as ds:
            if ds.transform.b != 0 or ds.transform.d != 0:
                raise DataFormatError(
                    _("rotated rasters are not supported"),
                    hint=_("warp it to a north-up grid with gdalwarp"),
                    source=source,
                )
            crs = parse_crs(ds.crs.to_wkt() if ds.crs else None, source=source)
            names = tuple(d or str(i + 1) for i, d in enumerate(ds.descriptions))
            t = ds.transform
            return RasterInfo(
                source,
                gdal_path,
                ds.width,
                ds.height,
                crs,
                (t.a, t.b, t.c, t.d, t.e, t.f),
                ds.dtypes[0],
                names,
                tiles,
            )
    except RasterioIOError as exc:
        raise UnreadableFileError(
            _("not a readable raster: {detail}", detail=_short(exc)),
            hint=_("check that it is a complete GeoTIFF (it may be truncated or not a raster)"),
            source=source,
        ) from exc


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _mosaic_vrt(infos: list[RasterInfo], workdir: Path) -> str:
    """A VRT placing adjacent tiles of one grid side by side."""
    first = infos[0]
    a, _b, _c, _d, e, _f = first.transform
    for info in infos[1:]:
        if info.crs != first.crs or not np.allclose(info.transform[0::4], (a, e)):
            raise DataFormatError(
                _("tiles of one folder must share CRS and pixel size"),
                hint=_("put tiles of different products or grids in separate folders"),
                source=info.source,
            )
        if info.dtype != first.dtype or len(info.band_names) != len(first.band_names):
            raise DataFormatError(
                _("tiles of one folder must have the same bands"), source=info.source
            )
    minx = min(i.transform[2] for i in infos)
    maxy = max(i.transform[5] for i in infos)
    maxx = max(i.transform[2] + a * i.width for i in infos)
    miny = min(i.transform[5] + e * i.height for i in infos)
    width = int(round((maxx - minx) / a))
    height = int(round((miny - maxy) / e))
    bands = []
    for b, name in enumerate(first.band_names, start=1):
        srcs = []
        for i in infos:
            xoff = int(round((i.transform[2] - minx) / a))
            yoff = int(round((i.transform[5] - maxy) / e))
            srcs.append(
                "<SimpleSource>"
                f'<SourceFilename relativeToVRT="0">{escape(i.gdal_path)}</SourceFilename>'
                f"<SourceBand>{b}</SourceBand>"
                f'<SrcRect xOff="0" yOff="0" xSize="{i.width}" ySize="{i.height}"/>'
                f'<DstRect xOff="{xoff}" yOff="{yoff}" xSize="{i.width}" ySize="{i.height}"/>'
                "</SimpleSource>"
            )
        dt = {
            "uint8": "Byte",
            "uint16": "UInt16",
            "int16": "Int16",
            "uint32": "UInt32",
            "int32": "Int32",
        }.get(first.dtype, "UInt16")
        bands.append(
            f'<VRTRasterBand dataType="{dt}" band="{b}"><Description>{escape(name)}</Description>'
            f"<NoDataValue>0</NoDataValue>{''.join(srcs)}</VRTRasterBand>"
        )
    xml = (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f"<SRS>{escape(first.crs.to_wkt())}</SRS>"
        f"<GeoTransform>{minx!r}, {a!r}, 0.0, {maxy!r}, 0.0, {e!r}</GeoTransform>"
        f"{''.join(bands)}</VRTDataset>"
    )
    digest = hashlib.sha256(xml.encode()).hexdigest()[:16]
    out = Path(workdir) / f".vigilancia-mosaic-{digest}.vrt"
    if not out.exists():
        replace_bytes(out, xml.encode("utf-8"))  # under a temporary name, then moved
    return str(out)


def fingerprint(info: RasterInfo) -> str:
    """SHA-256 identifying the content of a source (file bytes; size and date for URLs)."""
    h = hashlib.sha256()
    for tile in info.tiles:
        if tile.startswith(("http://", "https://", "/vsi")):
            h.update(tile.encode())
            try:
                from rasterio.env import Env

                with Env(), rasterio.open(_gdal_path(tile)) as ds:
                    h.update(repr((ds.width, ds.height, ds.transform, ds.dtypes)).encode())
            except RasterioError:
                pass
            continue
        with open(tile, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


def read_strips(
    info: RasterInfo, bands: dict[str, int], *, rows: int = 400, threads: int = 2
) -> Iterator[tuple[int, dict[str, NDArray[np.integer]]]]:
    """Yield ``(row0, {role: array})`` for consecutive full-width strips of ``rows`` rows.

    ``bands`` maps a role (e.g. ``"alert"``) to a 1-based band index. The next
    strip is read in a background thread. Errors name the file and the rows.
    """
    env = rasterio.Env(
        GDAL_NUM_THREADS=str(max(1, threads)),
        GDAL_CACHEMAX=256,
        GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",
    )
    lock = threading.Lock()

    def read(ds: rasterio.DatasetReader, row0: int) -> dict[str, NDArray[np.integer]]:
        h = min(rows, info.height - row0)
        win = Window(0, row0, info.width, h)
        with lock:
            try:
                return {role: ds.read(idx, window=win) for role, idx in bands.items()}
            except RasterioError as exc:
                raise UnreadableFileError(
                    _(
                        "cannot read rows {a}-{b}: {detail}",
                        a=row0,
                        b=row0 + h - 1,
                        detail=_short(exc),
                    ),
                    hint=_("the file may be truncated or corrupt; download it again"),
                    source=info.source,
                ) from exc

    with env:
        try:
            ds = rasterio.open(info.gdal_path)
        except RasterioError as exc:
            raise UnreadableFileError(
                _("not a readable raster: {detail}", detail=_short(exc)), source=info.source
            ) from exc
        with ds, ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigilancia-read") as pool:
            starts = list(range(0, info.height, rows))
            # the reader thread words its errors in the caller's language: it runs each read
            # in a copy of the caller's context (a new thread starts with an empty one)
            pending: Future[dict[str, NDArray[np.integer]]] | None = (
                pool.submit(copy_context().run, read, ds, starts[0]) if starts else None
            )
            for k, row0 in enumerate(starts):
                assert pending is not None
                data = pending.result()
                pending = (pool.submit(copy_context().run, read, ds, starts[k + 1])
                           if k + 1 < len(starts) else None)
                yield row0, data
