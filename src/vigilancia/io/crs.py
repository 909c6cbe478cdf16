"""Coordinate reference systems: parsing user CRSs and a local metric frame.

Areas and distances are computed in a Lambert azimuthal equal-area projection
centred on the data (``local_equal_area``): areas are exact and lengths within
0.1% up to 5 degrees from the centre, which covers any monitoring region.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from vigilancia.errors import DataFormatError
from vigilancia.i18n import _

WGS84 = CRS.from_epsg(4326)


def parse_crs(value: object, *, source: str) -> CRS:
    """A pyproj CRS from anything rasterio/pyogrio report, or a clear error naming ``source``."""
    if value is None or value == "":
        raise DataFormatError(
            _("the file has no coordinate reference system"),
            hint=_("assign one in QGIS (Layer > Set CRS) or with gdal_edit.py -a_srs EPSG:4326"),
            source=source,
        )
    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise DataFormatError(
            _("unknown coordinate reference system: {crs}", crs=str(value)[:80]),
            hint=_("reproject the file to EPSG:4326 or another EPSG code"),
            source=source,
        ) from exc
    if not (crs.is_geographic or crs.is_projected):
        raise DataFormatError(
            _("unknown coordinate reference system: {crs}", crs=crs.name),
            hint=_("reproject the file to EPSG:4326 or another EPSG code"),
            source=source,
        )
    return crs


@lru_cache(maxsize=64)
def local_equal_area(lon0: float, lat0: float) -> CRS:
    """Lambert azimuthal equal-area CRS centred on (lon0, lat0), in metres."""
    return CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +x_0=0 +y_0=0 "
        "+ellps=WGS84 +units=m +no_defs"
    )


@lru_cache(maxsize=64)
def transformer(src: CRS, dst: CRS) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transform_geometries(geoms: Sequence[object] | np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """Reproject an array of shapely geometries (vectorised over all coordinates)."""
    arr = np.asarray(geoms, dtype=object)
    if src == dst or len(arr) == 0:
        return arr
    tr = transformer(src, dst)

    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(arr, _xy)


def centre_of(bounds: tuple[float, float, float, float]) -> tuple[float, float]:
    """Centre (lon, lat) of a lon/lat bounding box, rounded so that runs reuse one frame."""
    minx, miny, maxx, maxy = bounds
    return round((minx + maxx) / 2, 3), round((miny + maxy) / 2, 3)


def utm_zone(lon: float, lat: float) -> tuple[int, str, int]:
    """The UTM zone a point falls in: (zone number, hemisphere "N" or "S", EPSG code of
    WGS 84 / UTM).

    Zones are the plain 6-degree ones (Peru spans 17S, 18S and 19S); the Norwegian and
    Svalbard exceptions do not apply in South America.

    >>> utm_zone(-74.96, -9.38), utm_zone(-70.5, -12.6)
    ((18, 'S', 32718), (19, 'S', 32719))
    """
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    south = lat < 0
    return zone, "S" if south else "N", (32700 if south else 32600) + zone


def to_utm(lon: float, lat: float) -> tuple[int, str, float, float]:
    """A lon/lat point (degrees) in the UTM zone it falls in: (zone, hemisphere, easting m,
    northing m), through pyproj.

    >>> zone, hemisphere, e, n = to_utm(-74.96, -9.38)
    >>> zone, hemisphere, round(e), round(n)
    (18, 'S', 504392, 8963135)
    """
    zone, hemisphere, epsg = utm_zone(lon, lat)
    x, y = transformer(WGS84, CRS.from_epsg(epsg)).transform(lon, lat)
    return zone, hemisphere, float(x), float(y)
