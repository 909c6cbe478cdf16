"""Satellite imagery around a place: scenes from a public STAC API and image chips read
from their cloud-optimised GeoTIFFs (or from files a user gives).

- :func:`search_scenes`: one search of a STAC API (pystac-client; Earth Search's
  ``sentinel-2-l2a`` collection by default) for the scenes that cover a box in a period,
  each with its date, cloud cover and the URL of its true-colour asset (``visual``: the
  8-bit RGB image at 10 m). The HTTP session is a parameter, so tests serve recorded
  answers and nothing reaches the network.
- :func:`read_chip`: the pixels of a raster (a scene's asset URL or a local file) inside
  a lon/lat box, warped to EPSG:4326 on a grid of the size asked, as 8-bit RGB.
- :func:`read_picture`: an image file that carries no georeference (a JPEG or PNG
  screenshot), as 8-bit RGB, shown as it is.

Network failures (no connection, a name that does not resolve, a timeout, an HTTP
error) raise :class:`ImageryUnavailable`, with the reason in words: callers that can do
without imagery turn it into a note. Reading waits at most ``timeout_s`` seconds per
request and does not retry, so an offline computer learns it at once.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from vigilancia.errors import InputError, UnreadableFileError
from vigilancia.i18n import _

if TYPE_CHECKING:
    import requests

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_STAC_URL",
    "Chip",
    "ImageryUnavailable",
    "Scene",
    "is_georeferenced",
    "read_chip",
    "read_picture",
    "search_scenes",
]

#: Earth Search (Element 84): Sentinel-2 L2A as cloud-optimised GeoTIFFs, no key needed.
DEFAULT_STAC_URL = "https://earth-search.aws.element84.com/v1"
DEFAULT_COLLECTION = "sentinel-2-l2a"
#: Asset keys of a true-colour image, in order of preference.
VISUAL_ASSETS = ("visual", "TCI", "tci", "rendered_preview")
#: Scenes read from one search at most (pages of 100).
MAX_SCENES = 400


class ImageryUnavailable(UnreadableFileError):
    """The imagery service or file could not be reached or read (the text says why)."""


@dataclass(frozen=True)
class Scene:
    """One satellite scene found by a search: its STAC item id and collection, when it was
    taken (UTC), its cloud cover (percent of the scene, None when not given), the platform
    (``sentinel-2a``...), its lon/lat box and the URL of its true-colour asset."""

    item_id: str
    collection: str
    acquired: datetime
    cloud_cover: float | None
    platform: str | None
    bbox: tuple[float, float, float, float]
    href: str

    def covers(self, bounds: tuple[float, float, float, float]) -> bool:
        """Whether the scene's box holds all of ``bounds`` (lon/lat)."""
        minx, miny, maxx, maxy = self.bbox
        return minx <= bounds[0] and miny <= bounds[1] and maxx >= bounds[2] \
            and maxy >= bounds[3]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"item_id": self.item_id, "collection": self.collection,
                "acquired": self.acquired, "cloud_cover": self.cloud_cover,
                "platform": self.platform, "bbox": list(self.bbox), "href": self.href}


@dataclass(frozen=True)
class Chip:
    """8-bit RGB pixels (rows, columns, 3) of a lon/lat box (``bounds``: west, south, east,
    north; None for a picture without georeference). ``sha256`` is the hash of the pixel
    bytes, so a report can name exactly what it showed."""

    rgb: NDArray[np.uint8]
    bounds: tuple[float, float, float, float] | None

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the pixels, row by row, RGB."""
        return hashlib.sha256(np.ascontiguousarray(self.rgb).tobytes()).hexdigest()

    @property
    def blank(self) -> bool:
        """Whether the chip holds no image (all pixels nodata or of one value)."""
        return bool(self.rgb.size == 0 or int(self.rgb.max()) == int(self.rgb.min()))


def _why(exc: BaseException) -> str:
    """Why a request failed, in words: no connection, no answer in time, an HTTP error."""
    import requests

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, requests.Timeout | TimeoutError) for e in chain) or "timed out" in text:
        return _("no answer in time")
    if any(k in text for k in ("NameResolution", "Name or service not known", "getaddrinfo",
                               "Temporary failure in name resolution", "resolve host")):
        return _("no internet connection (the server's name does not resolve)")
    if any(isinstance(e, requests.ConnectionError | ConnectionError) for e in chain):
        return _("no connection to the server: this computer seems to have no internet")
    status = getattr(exc, "status_code", None)
    if status:
        return _("the server answered with an error ({status})", status=status)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first[:160]


def search_scenes(
    url: str,
    *,
    bbox: tuple[float, float, float, float],
    start: date,
    end: date,
    collection: str = DEFAULT_COLLECTION,
    max_cloud: float | None = None,
    timeout_s: float = 10.0,
    session: requests.Session | None = None,
) -> list[Scene]:
    """The scenes of ``collection`` that meet ``bbox`` (lon/lat) between ``start`` and
    ``end`` (inclusive) with a cloud cover below ``max_cloud`` percent (all when None),
    oldest first; scenes without a true-colour asset are left out.

    :class:`ImageryUnavailable` when the API cannot be reached or answers with an error.
    """
    import requests
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO

    stac_io = StacApiIO(timeout=(min(timeout_s, 5.0), timeout_s), max_retries=0)
    if session is not None:
        stac_io.session = session
    query = None if max_cloud is None else {"eo:cloud_cover": {"lt": float(max_cloud)}}
    try:
        client = Client.open(url, stac_io=stac_io)
        search = client.search(
            collections=[collection], bbox=list(bbox),
            datetime=f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z",
            query=query, max_items=MAX_SCENES, limit=100,
        )
        items = list(search.items())
    except (APIError, requests.RequestException, OSError, ValueError) as exc:
        raise ImageryUnavailable(
            _("the imagery service could not be reached: {why}", why=_why(exc)),
            hint=_("connect to the internet and try again, give image files, or make the "
                   "report without imagery"),
            source=url,
        ) from exc
    scenes = []
    for item in items:
        asset = next((item.assets[k] for k in VISUAL_ASSETS if k in item.assets), None)
        when = item.datetime
        if asset is None or when is None or item.bbox is None:
            continue
        cloud = item.properties.get("eo:cloud_cover")
        scenes.append(Scene(
            item_id=item.id, collection=item.collection_id or collection, acquired=when,
            cloud_cover=None if cloud is None else float(cloud),
            platform=item.properties.get("platform"),
            bbox=(float(item.bbox[0]), float(item.bbox[1]), float(item.bbox[2]),
                  float(item.bbox[3])),
            href=asset.href,
        ))
    return sorted(scenes, key=lambda s: (s.acquired, s.item_id))


def _gdal_options(timeout_s: float) -> dict[str, Any]:
    return {
        "GDAL_HTTP_TIMEOUT": max(1, round(timeout_s)),
        "GDAL_HTTP_CONNECTTIMEOUT": max(1, round(min(timeout_s, 5.0))),
        "GDAL_HTTP_MAX_RETRY": 1,
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.jp2",
    }


def _to_rgb(bands: NDArray[Any], mask: NDArray[np.bool_] | None) -> NDArray[np.uint8]:
    """(bands, rows, cols) -> (rows, cols, 3) uint8; 16-bit reflectance is stretched."""
    rgb = bands[:3] if bands.shape[0] >= 3 else np.repeat(bands[:1], 3, axis=0)
    if rgb.dtype != np.uint8:
        data = rgb.astype(np.float64)
        valid = data[:, mask] if mask is not None and mask.any() else data.reshape(3, -1)
        lo, hi = (np.percentile(valid, (2, 98)) if valid.size else (0.0, 1.0))
        scale = 255.0 / max(hi - lo, 1e-9)
        rgb = np.clip((data - lo) * scale, 0, 255).astype(np.uint8)
    out = np.ascontiguousarray(np.moveaxis(rgb, 0, -1))
    if mask is not None:
        out[~mask] = 255  # no data shows as white
    return out


def read_chip(
    href: str | Path,
    bounds: tuple[float, float, float, float],
    *,
    size: tuple[int, int] = (400, 400),
    timeout_s: float = 20.0,
) -> Chip:
    """The pixels of the raster at ``href`` (URL or path) inside ``bounds`` (lon/lat), warped
    to EPSG:4326 at ``size`` (width, height) pixels, as RGB (see :class:`Chip`).

    :class:`ImageryUnavailable` when it cannot be read; :class:`InputError` when the raster
    has no georeference or does not cover ``bounds``.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import from_bounds

    name = str(href)
    width, height = size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.Env(**_gdal_options(timeout_s)), rasterio.open(name) as src:
                if src.crs is None:
                    raise InputError(
                        _("the image has no georeference, so the case cannot be placed on it"),
                        hint=_("give a GeoTIFF, or a picture to show without the case outline"),
                        source=name,
                    )
                with WarpedVRT(src, crs="EPSG:4326", resampling=Resampling.bilinear) as vrt:
                    west, south, east, north = vrt.bounds
                    if not (west <= bounds[0] and south <= bounds[1] and east >= bounds[2]
                            and north >= bounds[3]):
                        raise InputError(
                            _("the image does not cover the case"),
                            hint=_("give an image of the place of the case"),
                            source=name,
                        )
                    window = from_bounds(*bounds, transform=vrt.transform)
                    count = min(vrt.count, 3)
                    data = vrt.read(list(range(1, count + 1)), window=window,
                                    out_shape=(count, height, width),
                                    resampling=Resampling.bilinear)
                    mask = vrt.read_masks(1, window=window, out_shape=(height, width),
                                          resampling=Resampling.nearest) > 0
    except (RasterioError, OSError) as exc:
        raise ImageryUnavailable(
            _("the image could not be read: {why}", why=_why(exc)),
            hint=_("check the file, or the internet connection for online imagery"),
            source=name,
        ) from exc
    return Chip(_to_rgb(data, mask), tuple(float(v) for v in bounds))  # type: ignore[arg-type]


def read_picture(path: Path, *, max_side: int = 800) -> Chip:
    """An image file without georeference (JPEG, PNG...) as RGB, at most ``max_side`` pixels
    on its longer side."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            img = ImageOps.exif_transpose(opened).convert("RGB")
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            rgb = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageryUnavailable(
            _("the image could not be read: {why}", why=_why(exc)),
            hint=_("give a GeoTIFF, JPEG or PNG image"), source=str(path),
        ) from exc
    return Chip(np.ascontiguousarray(rgb), None)


def is_georeferenced(path: Path) -> bool:
    """Whether rasterio reads a coordinate system from the file (a GeoTIFF...)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(str(path)) as src:
                return src.crs is not None
    except (RasterioError, OSError):
        return False
