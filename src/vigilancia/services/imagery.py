"""Before and after images of a case for its report: from a STAC API, from files the user
gives, or none, with a note that says which and why.

- ``auto``: one search of the STAC API of the settings (``imagery_stac_url``,
  ``imagery_collection``; Earth Search's Sentinel-2 L2A by default) over the case's
  chip box, from ``imagery_days`` before the first alert to as many after the last one.
  The *before* image is the least cloudy scene (below ``imagery_max_cloud`` %) taken
  before the first alert, the latest among equals; the *after* image the least cloudy
  one taken on or after the last alert, the earliest among equals. Only scenes whose box
  holds the whole chip are used. When the service cannot be reached (no internet: the
  search fails at once) or finds nothing, the result has no images and a note saying
  why; the report is still made.
- ``files``: one or more image files. GeoTIFFs (any CRS) are cut to the chip box and
  warped to lon/lat, so the case's outline is drawn on them; pictures without
  georeference are shown as they are. Two files are *before* and *after* in the order
  given (or by the date in their TIFF tags when both have one). A file that cannot be
  read, or a GeoTIFF that does not cover the case, is an error: the user asked for it.
- ``none``: no images, and a note that none were asked for.

The chip box is a square around the case, at least 1.5 km wide and 1.6 times the case's
extent, so the surroundings show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shapely.geometry.base import BaseGeometry

from vigilancia.config import Settings
from vigilancia.errors import InputError
from vigilancia.i18n import _
from vigilancia.io.field.common import file_digest
from vigilancia.io.sources.stac import (
    Chip,
    ImageryUnavailable,
    Scene,
    is_georeferenced,
    read_chip,
    read_picture,
    search_scenes,
)
from vigilancia.services.reporting import DEGREE_DIGITS

if TYPE_CHECKING:
    import requests

__all__ = ["IMAGERY_MODES", "Imagery", "ImageryChip", "case_imagery", "chip_bounds"]

IMAGERY_MODES = ("auto", "none", "files")
#: Smallest width (m) of the chip box, and its size relative to the case's extent.
MIN_CHIP_M = 1500.0
CHIP_MARGIN = 1.6
#: Pixels of a chip (width, height): 10 m Sentinel-2 pixels over 1.5 km are 150.
CHIP_PX = (360, 360)


@dataclass(frozen=True)
class ImageryChip:
    """One image shown in the report: ``role`` (before, after, image), where it comes from
    (``origin``: the STAC collection or "file"), when it was taken (None when unknown),
    the scene (item id, platform, cloud cover) or the file (name and SHA-256), and its
    pixels (:class:`~vigilancia.io.sources.stac.Chip`)."""

    role: str
    origin: str
    acquired: datetime | None
    chip: Chip
    item_id: str | None = None
    platform: str | None = None
    cloud_cover: float | None = None
    file_name: str | None = None
    file_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: what the image is and the SHA-256 of its pixels."""
        bounds = None if self.chip.bounds is None else [
            round(v, DEGREE_DIGITS) for v in self.chip.bounds]
        return {"role": self.role, "origin": self.origin, "acquired": self.acquired,
                "item_id": self.item_id, "platform": self.platform,
                "cloud_cover": None if self.cloud_cover is None else round(self.cloud_cover, 2),
                "file_name": self.file_name, "file_sha256": self.file_sha256,
                "pixels_sha256": self.chip.sha256, "bounds": bounds,
                "size": [int(self.chip.rgb.shape[1]), int(self.chip.rgb.shape[0])]}


@dataclass(frozen=True)
class Imagery:
    """The images of a case report and how they were chosen: ``mode`` (auto, files, none),
    the images, the STAC API searched (auto), and ``note``: a sentence for the reader when
    an image is missing (why), None when both are there."""

    mode: str
    chips: tuple[ImageryChip, ...]
    note: str | None
    stac_url: str | None = None
    collection: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"mode": self.mode, "chips": list(self.chips), "note": self.note,
                "stac_url": self.stac_url, "collection": self.collection}


def chip_bounds(shape: BaseGeometry) -> tuple[float, float, float, float]:
    """The chip box (lon/lat) around a case's shape: a square at least
    :data:`MIN_CHIP_M` wide and :data:`CHIP_MARGIN` times the shape's extent."""
    minx, miny, maxx, maxy = shape.bounds
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    m_lat = 110_574.0
    m_lon = 111_320.0 * max(0.2, math.cos(math.radians(cy)))
    extent = max((maxx - minx) * m_lon, (maxy - miny) * m_lat)
    half = max(MIN_CHIP_M, CHIP_MARGIN * extent) / 2.0
    dx, dy = half / m_lon, half / m_lat
    return (round(cx - dx, DEGREE_DIGITS), round(cy - dy, DEGREE_DIGITS),
            round(cx + dx, DEGREE_DIGITS), round(cy + dy, DEGREE_DIGITS))


def _best(scenes: Sequence[Scene], *, latest: bool) -> Scene | None:
    if not scenes:
        return None
    far = datetime.max.replace(tzinfo=UTC)

    def key(s: Scene) -> tuple[float, float]:
        cloud = 101.0 if s.cloud_cover is None else s.cloud_cover
        t = s.acquired.timestamp() if s.acquired < far else 0.0
        return (round(cloud, 1), -t if latest else t)

    return min(scenes, key=key)


def _from_stac(settings: Settings, bounds: tuple[float, float, float, float],
               first: date, last: date, today: date,
               session: requests.Session | None) -> Imagery:
    url, collection = settings.imagery_stac_url, settings.imagery_collection
    days = timedelta(days=settings.imagery_days)
    start, end = first - days, min(last + days, today)
    try:
        scenes = search_scenes(url, bbox=bounds, start=start, end=max(end, start),
                               collection=collection, max_cloud=settings.imagery_max_cloud,
                               timeout_s=settings.imagery_timeout_s, session=session)
    except ImageryUnavailable as exc:
        return Imagery("auto", (), _("No satellite images: {why}.", why=exc.message),
                       url, collection)
    usable = [s for s in scenes if s.covers(bounds)]
    before = _best([s for s in usable if s.acquired.date() < first], latest=True)
    after = _best([s for s in usable if s.acquired.date() >= last], latest=False)
    chips: list[ImageryChip] = []
    missing: list[str] = []
    for role, scene in (("before", before), ("after", after)):
        if scene is None:
            missing.append(
                _("no scene before the first alert with less than {cloud} % clouds in the "
                  "{days} days before it", cloud=f"{settings.imagery_max_cloud:g}",
                  days=settings.imagery_days) if role == "before" else
                _("no scene after the last alert with less than {cloud} % clouds yet",
                  cloud=f"{settings.imagery_max_cloud:g}"))
            continue
        try:
            chip = read_chip(scene.href, bounds, size=CHIP_PX,
                             timeout_s=settings.imagery_timeout_s)
        except (ImageryUnavailable, InputError) as exc:
            missing.append(_("scene {item} could not be read: {why}", item=scene.item_id,
                             why=exc.message))
            continue
        chips.append(ImageryChip(role=role, origin=scene.collection, acquired=scene.acquired,
                                 chip=chip, item_id=scene.item_id, platform=scene.platform,
                                 cloud_cover=scene.cloud_cover))
    note = None if not missing else _("Satellite images incomplete: {what}.",
                                      what="; ".join(missing))
    return Imagery("auto", tuple(chips), note, url, collection)


def _tiff_date(path: Path) -> datetime | None:
    """The acquisition time a GeoTIFF's tags give (TIFFTAG_DATETIME and the like)."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(str(path)) as src:
                tags = src.tags()
    except (RasterioError, OSError):
        return None
    for key in ("ACQUISITION_DATETIME", "ACQUISITIONDATETIME", "DATETIME", "TIFFTAG_DATETIME"):
        text = tags.get(key)
        if not text:
            continue
        for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(text.strip().rstrip("Z")[:19], fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    return None


def _from_files(files: Sequence[Path], bounds: tuple[float, float, float, float]) -> Imagery:
    if len(files) > 2:
        raise InputError(_("give at most two images: before and after"), inputs="imagery")
    made: list[tuple[datetime | None, ImageryChip]] = []
    for path in files:
        path = Path(path)
        if not path.is_file():
            raise InputError(_("the image file does not exist"), hint=_("check the path"),
                             source=str(path), inputs="imagery")
        sha, _size = file_digest(path)
        if is_georeferenced(path):
            chip = read_chip(path, bounds, size=CHIP_PX)
        else:
            chip = read_picture(path)
        when = _tiff_date(path)
        made.append((when, ImageryChip(role="image", origin="file", acquired=when, chip=chip,
                                       file_name=path.name, file_sha256=sha)))
    if len(made) == 2:
        if made[0][0] is not None and made[1][0] is not None and made[1][0] < made[0][0]:
            made.reverse()
        chips = tuple(replace(c, role=role)
                      for role, (_w, c) in zip(("before", "after"), made, strict=True))
        note = None
    else:
        chips = (made[0][1],)
        note = _("One image was given; there is no before and after comparison.")
    return Imagery("files", chips, note)


def case_imagery(
    settings: Settings,
    shape: BaseGeometry,
    *,
    first_alert: date | None,
    last_alert: date | None,
    mode: str = "auto",
    files: Sequence[Path] = (),
    today: date | None = None,
    session: requests.Session | None = None,
) -> Imagery:
    """The images of a case whose clearings (or point) are ``shape`` (lon/lat); see the
    module text. ``session``: the HTTP session of the STAC search (tests pass one that
    serves recorded answers)."""
    if files:
        mode = "files"
    if mode not in IMAGERY_MODES:
        raise InputError(_("unknown imagery choice {value!r}", value=mode),
                         hint=_("use auto, none, or give image files"), inputs="imagery")
    bounds = chip_bounds(shape)
    if mode == "none":
        return Imagery("none", (), _("No satellite images were asked for this report."))
    if mode == "files":
        if not files:
            raise InputError(_("no image files were given"), inputs="imagery")
        return _from_files(files, bounds)
    if first_alert is None or last_alert is None:
        return Imagery("auto", (), _("No satellite images: the case has no alert dates to "
                                     "look around."))
    return _from_stac(settings, bounds, first_alert, last_alert,
                      today or datetime.now(UTC).date(), session)
