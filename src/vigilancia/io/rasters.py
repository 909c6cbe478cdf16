"""Windowed reads of alert rasters: local GeoTIFFs, folders of tiles and remote COGs.

A source is a file, a folder of adjacent tiles (mosaicked through a VRT so that
a clearing crossing a tile edge stays whole) or an http(s) URL read through
GDAL's ``/vsicurl/``. Reads go strip by strip (full width, ``rows`` rows), with
the next strip decompressed in a background thread while the caller works on
the current one; a strip never needs the whole tile in memory. A source can be
narrowed to the window that crosses an area of interest (:func:`window_within`):
then only that window's blocks are read.

A file is checked before it is read: a grid that does not fit its coordinate
system (degrees labelled as metres, or the reverse) and a GeoTIFF cut short
(its blocks run past the end of the file) are refused with what is wrong and
how to fix it. What GDAL says on the way (warnings, errors) never reaches the
terminal: it is collected (:func:`gdal_messages`) and turned into those messages.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import dataclass, replace
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
from vigilancia.io.crs import WGS84, parse_crs, transformer

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")
#: Pixel sizes an alert raster can have: from 1 m (metres) to 1 degree.
SMALLEST_PIXEL_M = 0.5
LARGEST_PIXEL_DEG = 1.0
#: How far (degrees) a projected raster may reach beyond its CRS's area of use.
AREA_OF_USE_MARGIN_DEG = 10.0


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
    # where the window described here starts in the file (0, 0: the whole file)
    col_off: int = 0
    row_off: int = 0

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """The extent (minx, miny, maxx, maxy) in lon/lat degrees."""
        a, _b, c, _d, e, f = self.transform
        xs = np.linspace(c, c + a * self.width, 21)
        ys = np.linspace(f, f + e * self.height, 21)
        gx = np.concatenate([xs, xs, np.full(21, xs[0]), np.full(21, xs[-1])])
        gy = np.concatenate([np.full(21, ys[0]), np.full(21, ys[-1]), ys, ys])
        if self.crs != WGS84:
            gx, gy = (np.asarray(v) for v in transformer(self.crs, WGS84).transform(gx, gy))
        return float(np.min(gx)), float(np.min(gy)), float(np.max(gx)), float(np.max(gy))


@contextmanager
def gdal_messages(*, with_warnings: bool = True) -> Iterator[list[str]]:
    """Collect what GDAL says inside the block (rasterio's log records and, with
    ``with_warnings``, Python warnings) instead of letting it reach the terminal; the
    list fills as the block runs. (Warnings are process-wide state: leave them out around
    a block that yields to other code.)"""
    seen: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    log = logging.getLogger("rasterio")
    handler = _Collect(logging.DEBUG)
    was = log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        if not with_warnings:
            yield seen
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield seen
        seen.extend(str(w.message) for w in caught)
    finally:
        log.removeHandler(handler)
        log.propagate = was


def window_within(
    info: RasterInfo, bounds: tuple[float, float, float, float]
) -> RasterInfo | None:
    """``info`` narrowed to the pixels that cross ``bounds`` (lon/lat; minx, miny, maxx,
    maxy), or None when the raster does not reach them. Reads of the result read only
    that window of the file."""
    minx, miny, maxx, maxy = bounds
    xs = np.concatenate([np.linspace(minx, maxx, 21), np.linspace(minx, maxx, 21),
                         np.full(21, minx), np.full(21, maxx)])
    ys = np.concatenate([np.full(21, miny), np.full(21, maxy), np.linspace(miny, maxy, 21),
                         np.linspace(miny, maxy, 21)])
    if info.crs != WGS84:
        xs, ys = (np.asarray(v) for v in transformer(WGS84, info.crs).transform(xs, ys))
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return None
    a, _b, c, _d, e, f = info.transform
    cols = (xs[ok] - c) / a
    rows = (ys[ok] - f) / e
    c0 = max(0, math.floor(float(cols.min())))
    c1 = min(info.width, math.ceil(float(cols.max())))
    r0 = max(0, math.floor(float(rows.min())))
    r1 = min(info.height, math.ceil(float(rows.max())))
    if c0 >= c1 or r0 >= r1:
        return None
    if (c0, r0, c1, r1) == (0, 0, info.width, info.height):
        return info
    return replace(
        info, width=c1 - c0, height=r1 - r0,
        transform=(a, 0.0, c + a * c0, 0.0, e, f + e * r0),
        col_off=info.col_off + c0, row_off=info.row_off + r0,
    )


def _gdal_path(source: str) -> str:
    if source.startswith(("http://", "https://")):
        return "/vsicurl/" + source
    return source


def resolve(source: str) -> RasterInfo:
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
        vrt = _mosaic_vrt(infos)
        return _describe(source, vrt, tuple(tiles))
    if path.stat().st_size == 0:
        raise UnreadableFileError(
            _("the file is empty (0 bytes)"), hint=_("download it again"), source=source
        )
    return _describe(source, str(path), (str(path),))


def _describe(source: str, gdal_path: str, tiles: tuple[str, ...]) -> RasterInfo:
    with gdal_messages() as said:
        try:
            with rasterio.open(gdal_path) as ds:
                if ds.transform.b != 0 or ds.transform.d != 0:
                    raise DataFormatError(
                        _("rotated rasters are not supported"),
                        hint=_("warp it to a north-up grid with gdalwarp"),
                        source=source,
                    )
                _check_complete(ds, gdal_path, source, said)
                crs = parse_crs(ds.crs.to_wkt() if ds.crs else None, source=source)
                names = tuple(d or str(i + 1) for i, d in enumerate(ds.descriptions))
                t = ds.transform
                info = RasterInfo(
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
            if _is_tiff(gdal_path):
                raise _damaged(source, gdal_path) from exc
            raise UnreadableFileError(
                _("not a readable raster: {detail}", detail=_short(exc)),
                hint=_("check that it is a complete GeoTIFF (it may be truncated or not a raster)"),
                source=source,
            ) from exc
    _check_grid(info)
    return info


def _is_tiff(path: str) -> bool:
    """Whether a local file starts as a TIFF does (classic or BigTIFF, either byte order)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _damaged(source: str, path: str) -> UnreadableFileError:
    size = Path(path).stat().st_size if Path(path).exists() else 0
    return UnreadableFileError(
        _("the GeoTIFF is truncated or damaged: GDAL cannot read it ({size} bytes)",
          size=f"{size:,}"),
        hint=_("download or export the file again; the download was probably cut off"),
        source=source,
    )


def _check_complete(ds: rasterio.DatasetReader, path: str, source: str, said: list[str]) -> None:
    """Refuse a local GeoTIFF cut short: a block that runs past the end of the file, or
    tags GDAL could not read (the header itself is cut)."""
    if ds.driver != "GTiff" or not os.path.isfile(path):
        return
    size = os.path.getsize(path)
    end = 0
    bh, bw = ds.block_shapes[0]
    nx, ny = -(-ds.width // bw), -(-ds.height // bh)
    for b in ds.indexes:
        for y in range(ny):
            for x in range(nx):
                off = ds.get_tag_item(f"BLOCK_OFFSET_{x}_{y}", "TIFF", bidx=b)
                n = ds.get_tag_item(f"BLOCK_SIZE_{x}_{y}", "TIFF", bidx=b)
                if off and n:
                    end = max(end, int(off) + int(n))
    if end > size or any("IO error" in m or "Read error" in m for m in said):
        raise UnreadableFileError(
            _("the GeoTIFF is truncated: the file has {size} bytes but its data goes on to "
              "byte {end}", size=f"{size:,}", end=f"{max(end, size + 1):,}"),
            hint=_("download or export the file again; the download was probably cut off"),
            source=source,
        )


def _check_grid(info: RasterInfo) -> None:
    """Refuse a grid that does not fit its coordinate system: degrees in a projected CRS
    (pixels a fraction of a millimetre wide, a corner off the CRS's area), or metres in a
    geographic one (pixels of hundreds of degrees, corners beyond the poles)."""
    a, _b, c, _d, e, f = info.transform
    crs = info.crs
    x1, y1 = c + a * info.width, f + e * info.height
    name = crs.name or crs.to_string()
    code = crs.to_epsg()
    label = f"EPSG:{code} ({name})" if code else name
    if crs.is_geographic:
        fits = (abs(a) <= LARGEST_PIXEL_DEG and abs(e) <= LARGEST_PIXEL_DEG
                and all(-180.5 <= v <= 360.5 for v in (c, x1))
                and all(-90.5 <= v <= 90.5 for v in (f, y1)))
        if not fits:
            raise DataFormatError(
                _("the grid does not fit its coordinate system {crs}: pixels of {size} degrees "
                  "and a corner at ({x}, {y}) look like metres, not degrees",
                  crs=label, size=f"{abs(a):.6g}", x=f"{c:.6g}", y=f"{f:.6g}"),
                hint=_("give the file its real coordinate system (in QGIS: Layer > Set CRS; "
                       "or gdal_edit.py -a_srs with the projected CRS it was made in) and run "
                       "it again"),
                source=info.source,
            )
        return
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    tiny = abs(a) * unit < SMALLEST_PIXEL_M or abs(e) * unit < SMALLEST_PIXEL_M
    outside = False
    area = crs.area_of_use
    if area is not None and not tiny:
        try:
            lon, lat = transformer(crs, WGS84).transform([c, x1, c, x1], [f, f, y1, y1])
        except Exception:  # noqa: BLE001 (a point the projection cannot take)
            lon, lat = [math.nan], [math.nan]
        m = AREA_OF_USE_MARGIN_DEG
        outside = not all(
            math.isfinite(x) and math.isfinite(y)
            and area.west - m <= x <= area.east + m and area.south - m <= y <= area.north + m
            for x, y in zip(lon, lat, strict=True)
        )
    if tiny or outside:
        raise DataFormatError(
            _("the grid does not fit its coordinate system {crs}: pixels of {size} m and a "
              "corner at ({x}, {y}) look like degrees (longitude, latitude), not metres",
              crs=label, size=f"{abs(a) * unit:.6g}", x=f"{c:.6g}", y=f"{f:.6g}"),
            hint=_("give the file its real coordinate system (in QGIS: Layer > Set CRS; or "
                   "gdal_edit.py -a_srs EPSG:4326 for longitude and latitude) and run it again"),
            source=info.source,
        )


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _mosaic_vrt(infos: list[RasterInfo]) -> str:
    """A VRT placing adjacent tiles of one grid side by side, as XML text: GDAL opens it
    as it is, so no file is written (nothing to leave behind when a run is killed)."""
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
    return xml


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
        win = Window(info.col_off, info.row_off + row0, info.width, h)
        with lock:
            try:
                return {role: ds.read(idx, window=win) for role, idx in bands.items()}
            except RasterioError as exc:
                raise UnreadableFileError(
                    _(
                        "the file is damaged: rows {a}-{b} cannot be read",
                        a=info.row_off + row0,
                        b=info.row_off + row0 + h - 1,
                    ),
                    hint=_("the file may be truncated or corrupt; download it again"),
                    source=info.source,
                ) from exc

    with env, gdal_messages(with_warnings=False):
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
