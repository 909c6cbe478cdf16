"""What patrols bring back: field observations, the files they came in, and photo geometry.

PURE: stdlib, numpy and shapely. The importers in :mod:`vigilancia.io.field` turn
CoMapeo, ODK/Kobo, GPX, KML and photo files into :class:`FieldImport` objects:
every record as a :class:`FieldObservation` (geometry in EPSG:4326 lon/lat, time
in UTC) and every file read as a :class:`FieldFile` with its SHA-256 and size,
so that the services can keep the originals byte for byte.

The verdict codes of a verification visit (:class:`Verdict`) are the choices of
the XLSForm that vigilancia ships, and what cases are verified with.

Photo geometry: :func:`dms_to_decimal` reads EXIF degrees-minutes-seconds and
:func:`nadir_footprint` estimates the ground covered by a drone photo taken
straight down (pinhole camera over flat ground).

>>> dms_to_decimal(9, 22, 48.0, "S")
-9.38
>>> fp = nadir_footprint(-74.96, -9.38, altitude_m=100, focal_mm=8.8,
...                      sensor_w_mm=13.2, sensor_h_mm=8.8, yaw_deg=0)
>>> round(footprint_size_m(100, 8.8, 13.2, 8.8)[0], 1)
150.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = [
    "NADIR_TOLERANCE_DEG",
    "VERDICTS",
    "FieldFile",
    "FieldImport",
    "FieldObservation",
    "FileRole",
    "ObservationKind",
    "Verdict",
    "decimal_to_dms",
    "dms_to_decimal",
    "footprint_size_m",
    "is_nadir",
    "nadir_footprint",
    "offset_lonlat",
]

# WGS84 ellipsoid, for metres <-> degrees near a point.
_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3

#: A gimbal pitch within this many degrees of -90 counts as a nadir (straight-down) photo.
NADIR_TOLERANCE_DEG = 5.0


class Verdict(StrEnum):
    """What the patrol found at a case: the choices of the verification-visit form."""

    COCA_CONFIRMED = "coca_confirmed"
    AIRSTRIP_CONFIRMED = "airstrip_confirmed"
    MINING = "mining"
    LOGGING = "logging"
    ROAD = "road"
    AGRICULTURE = "agriculture"
    NATURAL_CAUSE = "natural_cause"
    FALSE_ALARM = "false_alarm"
    NOT_REACHED = "not_reached"


#: Verdict codes in form order.
VERDICTS: tuple[Verdict, ...] = tuple(Verdict)


class ObservationKind(StrEnum):
    """What kind of record an observation is."""

    WAYPOINT = "waypoint"  # a GPX waypoint or a KML point placemark
    TRACK = "track"  # a recorded track or a drawn line
    POINT = "point"  # a CoMapeo/Mapeo observation
    AREA = "area"  # a drawn polygon (KML)
    PHOTO = "photo"  # a geotagged phone or drone photo
    FORM = "form"  # one submission of an ODK/Kobo form


class FileRole(StrEnum):
    """Why a file was read."""

    ORIGINAL = "original"  # the file or archive the user gave
    DATA = "data"  # the records inside an archive or folder (geojson, csv, kml)
    ATTACHMENT = "attachment"  # a photo, audio or video an observation refers to


@dataclass(frozen=True)
class FieldFile:
    """One file an importer read, identified by its bytes.

    ``name`` is how observations refer to it: the file name for a file given
    directly, or the path inside the export (``media/1712345.jpg``). ``path`` is
    the file on disk that holds the bytes; ``member`` is the entry inside it when
    ``path`` is a ZIP archive. ``sha256`` (hex) and ``size`` (bytes) are those of
    the bytes themselves, never of a re-encoded copy.
    """

    name: str
    path: str
    sha256: str
    size: int
    role: FileRole
    member: str | None = None


@dataclass(frozen=True)
class FieldObservation:
    """One record brought back from the field.

    - ``source_format``: the importer that read it (``comapeo``, ``odk``, ``gpx``,
      ``kml``, ``photo``); ``source_file``: the path as given;
      ``record_id``: its id inside that file (a CoMapeo docId, an ODK instanceID,
      ``track 2``, the photo file name ...).
    - ``geometry``: Point, LineString or Polygon in EPSG:4326 (lon, lat), or None
      when the record has no location.
    - ``time``: when it was observed, timezone-aware UTC (None when unknown or
      when the file gave a local time without its UTC offset);
      ``end_time`` for tracks and forms.
    - ``altitude_m``: metres above sea level (GPS), or None;
      ``accuracy_m``: the horizontal accuracy the device reported, or None.
    - ``attributes``: everything else the file said, read-only.
    - ``verdict``: the verdict answered in a verification form, when there is one;
      ``notes``: free text written by the monitor.
    - ``attachments``: names of the files it refers to (:attr:`FieldFile.name`
      when the file was found).
    - ``footprint``: for a nadir drone photo, the ground it covers (lon/lat polygon).
    """

    source_format: str
    source_file: str
    record_id: str
    kind: ObservationKind
    geometry: BaseGeometry | None
    time: datetime | None = None
    altitude_m: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)
    verdict: Verdict | None = None
    notes: str | None = None
    attachments: tuple[str, ...] = ()
    footprint: Polygon | None = None
    end_time: datetime | None = None
    accuracy_m: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.attributes, MappingProxyType):
            object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        for name in ("time", "end_time"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")
        if self.geometry is not None and not isinstance(
            self.geometry, Point | LineString | Polygon
        ):
            raise TypeError(f"geometry must be a Point, LineString or Polygon: {self.geometry}")


@dataclass(frozen=True)
class FieldImport:
    """What one importer read from one path: observations, files and warnings.

    ``warnings`` are user texts about things that did not stop the import (an
    attachment listed but missing, a photo time without its UTC offset ...).
    """

    format: str
    source: str
    observations: tuple[FieldObservation, ...]
    files: tuple[FieldFile, ...]
    warnings: tuple[str, ...] = ()

    def file(self, name: str) -> FieldFile | None:
        """The file an observation refers to by ``name``, or None."""
        return next((f for f in self.files if f.name == name), None)


# --------------------------------------------------------------------------------------
# Degrees
# --------------------------------------------------------------------------------------


def dms_to_decimal(degrees: float, minutes: float, seconds: float, ref: str = "") -> float:
    """Decimal degrees from degrees, minutes, seconds and a hemisphere (N, S, E or W).

    South and west are negative. A negative ``degrees`` is honoured too (some
    writers store the sign there and leave ``ref`` empty).

    >>> round(dms_to_decimal(74, 57, 36.0, "W"), 6)
    -74.96
    """
    value = abs(degrees) + minutes / 60.0 + seconds / 3600.0
    negative = degrees < 0 or ref.strip().upper()[:1] in ("S", "W")
    return -value if negative else value


def decimal_to_dms(value: float, *, axis: str = "lat") -> tuple[int, int, float, str]:
    """Degrees, minutes, seconds and hemisphere of a decimal latitude (``axis="lat"``) or longitude.

    >>> decimal_to_dms(-9.38)
    (9, 22, 48.0, 'S')
    """
    ref = ("N" if value >= 0 else "S") if axis == "lat" else ("E" if value >= 0 else "W")
    total = round(abs(value) * 3600.0, 6)
    degrees = int(total // 3600)
    minutes = int((total - degrees * 3600) // 60)
    seconds = round(total - degrees * 3600 - minutes * 60, 6)
    return degrees, minutes, seconds, ref


def offset_lonlat(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m`` metres east and ``north_m`` metres north of (lon, lat).

    Uses the WGS84 radii of curvature at ``lat`` (a local tangent plane): the
    distance is within 0.01 % of the geodesic one for offsets up to a kilometre.
    """
    phi = math.radians(lat)
    w = 1.0 - _WGS84_E2 * math.sin(phi) ** 2
    meridian = _WGS84_A * (1.0 - _WGS84_E2) / w**1.5  # radius of curvature north-south
    normal = _WGS84_A / math.sqrt(w)  # east-west
    dlat = math.degrees(north_m / meridian)
    dlon = math.degrees(east_m / (normal * math.cos(phi)))
    return lon + dlon, lat + dlat


# --------------------------------------------------------------------------------------
# Drone photo footprint
# --------------------------------------------------------------------------------------


def is_nadir(gimbal_pitch_deg: float | None, tolerance_deg: float = NADIR_TOLERANCE_DEG) -> bool:
    """Whether a gimbal pitch (degrees, -90 = straight down) is a nadir photo."""
    return gimbal_pitch_deg is not None and abs(gimbal_pitch_deg + 90.0) <= tolerance_deg


def footprint_size_m(
    altitude_m: float, focal_mm: float, sensor_w_mm: float, sensor_h_mm: float
) -> tuple[float, float]:
    """Ground width and height (m) covered by a nadir photo: pinhole model, flat ground.

    width = sensor width x altitude / focal length (and the same for height).

    >>> footprint_size_m(100, 8.8, 13.2, 8.8)
    (150.0, 100.0)
    """
    if focal_mm <= 0 or altitude_m <= 0:
        raise ValueError("focal length and altitude must be positive")
    return sensor_w_mm * altitude_m / focal_mm, sensor_h_mm * altitude_m / focal_mm


def nadir_footprint(
    lon: float,
    lat: float,
    *,
    altitude_m: float,
    focal_mm: float,
    sensor_w_mm: float,
    sensor_h_mm: float,
    yaw_deg: float = 0.0,
) -> Polygon:
    """The ground rectangle (lon/lat polygon) seen by a camera pointing straight down.

    ``altitude_m`` is the height above the ground (a drone's relative altitude
    over its take-off point, assuming flat terrain); ``yaw_deg`` is the heading
    of the top of the image, clockwise from north. Corners in order: top-left,
    top-right, bottom-right, bottom-left of the image.
    """
    width, height = footprint_size_m(altitude_m, focal_mm, sensor_w_mm, sensor_h_mm)
    psi = math.radians(yaw_deg)
    fwd = (math.sin(psi), math.cos(psi))  # image up, in (east, north)
    right = (math.cos(psi), -math.sin(psi))  # image right
    corners = []
    for sx, sy in ((-1, 1), (1, 1), (1, -1), (-1, -1)):
        east = sx * width / 2 * right[0] + sy * height / 2 * fwd[0]
        north = sx * width / 2 * right[1] + sy * height / 2 * fwd[1]
        corners.append(offset_lonlat(lon, lat, east, north))
    return Polygon(corners)
