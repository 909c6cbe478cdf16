"""Phone and drone photos (JPEG): EXIF position, time and camera; DJI XMP; nadir footprint.

Read with Pillow, never re-encoded: the photo's SHA-256 is that of the file.

- **EXIF**: GPS latitude/longitude with their hemisphere refs, GPS altitude
  (below sea level when AltitudeRef is 1), DateTimeOriginal with
  OffsetTimeOriginal/OffsetTime (else the GPS date and time stamp, which is UTC),
  camera make and model, focal length and its 35 mm equivalent, focal-plane
  resolution, image direction.
- **DJI XMP** (``drone-dji:`` attributes or elements): RelativeAltitude,
  AbsoluteAltitude, GimbalPitchDegree, GimbalYawDegree, GimbalRollDegree,
  FlightYawDegree, FlightPitchDegree, FlightRollDegree. The packet is parsed
  through defusedxml.
- **Footprint**: when the gimbal points straight down (pitch within 5 degrees of
  -90), the ground rectangle is estimated with the pinhole model
  (:func:`vigilancia.domain.field.nadir_footprint`) from the relative altitude,
  the focal length and the sensor size, rotated by the gimbal yaw (else the
  flight yaw). The sensor size comes from the EXIF focal-plane resolution when
  the camera wrote it, else from :data:`DJI_SENSORS` by camera model, else from
  the 35 mm equivalent focal length. The relative altitude is over the take-off
  point, so the estimate assumes flat ground at take-off height.

A truncated or damaged JPEG is an error naming the file.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from shapely.geometry import Point

from vigilancia.domain.field import (
    FieldImport,
    FieldObservation,
    ObservationKind,
    dms_to_decimal,
    is_nadir,
    nadir_footprint,
)
from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import _
from vigilancia.io.field.common import (
    ImportOptions,
    check_lonlat,
    local_name,
    open_bundle,
    parse_time,
    parse_xml,
)
from vigilancia.io.field.registry import Probe, register_importer

__all__ = ["DJI_SENSORS", "PhotoImporter", "read_xmp_dji", "sensor_size_mm"]

#: Nominal sensor width and height (mm) of DJI cameras, by the EXIF Model they write.
DJI_SENSORS: dict[str, tuple[float, float]] = {
    # 1" sensors
    "FC6310": (13.2, 8.8),  # Phantom 4 Pro
    "FC6310S": (13.2, 8.8),  # Phantom 4 Pro V2.0
    "FC6310R": (13.2, 8.8),  # Phantom 4 RTK
    "FC6510": (13.2, 8.8),  # Zenmuse X4S
    "L1D-20c": (13.2, 8.8),  # Mavic 2 Pro (Hasselblad)
    "FC3411": (13.2, 8.8),  # Air 2S
    # 4/3" sensors
    "FC6520": (17.3, 13.0),  # Zenmuse X5S
    "L2D-20c": (17.3, 13.0),  # Mavic 3 (Hasselblad)
    "M3E": (17.3, 13.0),  # Mavic 3 Enterprise
    # 1/1.3" sensors
    "FC3582": (9.6, 7.2),  # Mini 3 Pro
    "FC3682": (9.6, 7.2),  # Mini 3
    "FC8482": (9.6, 7.2),  # Mini 4 Pro
    # 1/2" sensors
    "FC3170": (6.4, 4.8),  # Mavic Air 2
    # 1/2.3" sensors
    "FC330": (6.17, 4.55),  # Phantom 4
    "FC300X": (6.17, 4.55),  # Phantom 3 Professional
    "FC300S": (6.17, 4.55),  # Phantom 3 Advanced
    "FC220": (6.17, 4.55),  # Mavic Pro
    "FC2103": (6.17, 4.55),  # Mavic Air
    "FC2204": (6.17, 4.55),  # Mavic 2 Zoom
    "FC7203": (6.17, 4.55),  # Mavic Mini
    "FC7303": (6.17, 4.55),  # Mini 2
}

_DJI_NS = "http://www.dji.com/drone-dji/1.0/"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_DJI_NUMBERS = {
    "RelativeAltitude": "relative_altitude_m",
    "AbsoluteAltitude": "absolute_altitude_m",
    "GimbalPitchDegree": "gimbal_pitch_deg",
    "GimbalYawDegree": "gimbal_yaw_deg",
    "GimbalRollDegree": "gimbal_roll_deg",
    "FlightYawDegree": "flight_yaw_deg",
    "FlightPitchDegree": "flight_pitch_deg",
    "FlightRollDegree": "flight_roll_deg",
    "GpsLatitude": "xmp_latitude",
    "GpsLongitude": "xmp_longitude",
    "GpsLongtitude": "xmp_longitude",  # sic: some DJI firmware spells it so
}

# EXIF tags
_IFD_EXIF, _IFD_GPS = 0x8769, 0x8825
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DT_ORIGINAL, _OFFSET, _OFFSET_ORIGINAL = 0x9003, 0x9010, 0x9011
_FOCAL, _FOCAL_35 = 0x920A, 0xA405
_FP_XRES, _FP_YRES, _FP_UNIT = 0xA20E, 0xA20F, 0xA210
_PIX_X, _PIX_Y = 0xA002, 0xA003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_ALT_REF, _GPS_ALT, _GPS_TIME, _GPS_DATE = 5, 6, 7, 29
_GPS_IMG_DIR = 17
_FP_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}
_DIAGONAL_35MM = math.hypot(36.0, 24.0)


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return out if math.isfinite(out) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    text = str(value).strip("\x00 ").strip()
    return text or None


def _dms(values: Any, ref: str) -> float:
    d, m, s = (float(v) for v in values)
    return dms_to_decimal(d, m, s, ref)


def read_xmp_dji(xmp: bytes, source: str) -> dict[str, str]:
    """Every ``drone-dji:`` value of an XMP packet, by local name (attributes or elements)."""
    root = parse_xml(xmp, source)
    out: dict[str, str] = {}
    prefix = "{" + _DJI_NS + "}"
    for el in root.iter():
        for key, value in el.attrib.items():
            if key.startswith(prefix):
                out[key[len(prefix):]] = value
        if str(el.tag).startswith(prefix) and el.text and el.text.strip():
            out[local_name(el.tag)] = el.text.strip()
    return out


def sensor_size_mm(
    model: str | None,
    exif: dict[int, Any],
    width_px: int,
    height_px: int,
    focal_mm: float | None,
) -> tuple[float, float, str] | None:
    """Sensor width and height (mm) and where they came from, or None when unknown.

    In order: the EXIF focal-plane resolution (pixels per unit on the sensor),
    the DJI table by model, the 35 mm equivalent focal length.
    """
    xres, yres = _float(exif.get(_FP_XRES)), _float(exif.get(_FP_YRES))
    unit = _FP_UNIT_MM.get(int(exif.get(_FP_UNIT) or 2))
    if xres and unit and width_px:
        w = width_px / xres * unit
        h = height_px / (yres or xres) * unit
        return w, h, "focal_plane_resolution"
    if model and model.strip() in DJI_SENSORS:
        w, h = DJI_SENSORS[model.strip()]
        return w, h, "camera_table"
    f35 = _float(exif.get(_FOCAL_35))
    if f35 and focal_mm and width_px and height_px:
        diagonal = _DIAGONAL_35MM * focal_mm / f35
        k = diagonal / math.hypot(width_px, height_px)
        return width_px * k, height_px * k, "focal_length_35mm"
    return None


@register_importer
class PhotoImporter:
    """Geotagged JPEG photos from phones and drones."""

    name = "photo"
    title = "Photos (.jpg: phone and drone, EXIF GPS and DJI XMP)"

    def sniff(self, probe: Probe) -> int:
        if probe.is_container:
            return 0
        if probe.suffix in (".jpg", ".jpeg", ".jfif"):
            return 90
        return 80 if probe.head[:3] == b"\xff\xd8\xff" else 0

    def read(self, path: Path, *, source: str, options: ImportOptions) -> FieldImport:
        with open_bundle(path, source, options) as bundle:
            data = bundle.read(bundle.names[0])
            original = bundle.original()
        assert original is not None
        warnings: list[str] = []
        im = self._open(data, source)
        try:
            exif = im.getexif()
            base = {int(k): v for k, v in exif.items()}
            sub = {int(k): v for k, v in exif.get_ifd(_IFD_EXIF).items()}
            gps = {int(k): v for k, v in exif.get_ifd(_IFD_GPS).items()}
            xmp = im.info.get("xmp") or _xmp_segment(im)
            size = im.size
        except (OSError, ValueError, SyntaxError, TypeError, KeyError) as exc:
            raise UnreadableFileError(
                _("the photo's EXIF metadata is damaged"),
                hint=_("copy the original photo again from the phone or the drone's memory card"),
                source=source,
            ) from exc
        finally:
            im.close()
        dji = read_xmp_dji(xmp, source) if xmp else {}
        attrs: dict[str, Any] = {}
        make, model = _text(base.get(_MAKE)), _text(base.get(_MODEL))
        if make:
            attrs["camera_make"] = make
        if model:
            attrs["camera_model"] = model
        width = int(_float(sub.get(_PIX_X)) or size[0])
        height = int(_float(sub.get(_PIX_Y)) or size[1])
        attrs["image_width"], attrs["image_height"] = width, height
        focal = _float(sub.get(_FOCAL))
        if focal:
            attrs["focal_length_mm"] = focal
        f35 = _float(sub.get(_FOCAL_35))
        if f35:
            attrs["focal_length_35mm"] = f35
        direction = _float(gps.get(_GPS_IMG_DIR))
        if direction is not None:
            attrs["image_direction_deg"] = direction
        for key, name in _DJI_NUMBERS.items():
            if key in dji:
                value = _float(dji[key])
                if value is not None:
                    attrs[name] = value

        lon, lat, altitude = self._position(gps, attrs, source)
        if lon is None or lat is None:
            warnings.append(_("{source}: the photo has no GPS position", source=source))
        time = self._time(base, sub, gps, attrs, options, source, warnings)
        footprint = None
        pitch = attrs.get("gimbal_pitch_deg")
        if lon is not None and lat is not None and is_nadir(pitch):
            footprint = self._footprint(lon, lat, model, sub, width, height, focal, attrs,
                                        source, warnings)
        return FieldImport(
            format=self.name,
            source=source,
            observations=(
                FieldObservation(
                    source_format=self.name,
                    source_file=source,
                    record_id=path.name,
                    kind=ObservationKind.PHOTO,
                    geometry=Point(lon, lat) if lon is not None and lat is not None else None,
                    time=time,
                    altitude_m=altitude,
                    attributes=attrs,
                    attachments=(original.name,),
                    footprint=footprint,
                ),
            ),
            files=(original,),
            warnings=tuple(warnings),
        )

    @staticmethod
    def _open(data: bytes, source: str) -> Image.Image:
        broken = UnreadableFileError(
            _("the photo is truncated or damaged"),
            hint=_("copy the original photo again from the phone or the drone's memory card"),
            source=source,
        )
        try:
            im = Image.open(io.BytesIO(data))
            if im.format != "JPEG":
                raise DataFormatError(
                    _("the file is a {kind} image, not a JPEG photo", kind=im.format or "?"),
                    hint=_("import the camera's original JPEG"),
                    source=source,
                )
            if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
                # No end-of-image marker: decode it all to tell a truncated file
                # from one with trailing bytes.
                im.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise broken from exc
        return im

    @staticmethod
    def _position(
        gps: dict[int, Any], attrs: dict[str, Any], source: str
    ) -> tuple[float | None, float | None, float | None]:
        lat = lon = altitude = None
        try:
            if gps.get(_GPS_LAT) and gps.get(_GPS_LON):
                lat = _dms(gps[_GPS_LAT], _text(gps.get(_GPS_LAT_REF)) or "N")
                lon = _dms(gps[_GPS_LON], _text(gps.get(_GPS_LON_REF)) or "E")
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise DataFormatError(
                _("the photo's GPS position is damaged"),
                hint=_("copy the original photo again from the phone or the drone's memory card"),
                source=source,
            ) from exc
        if lat is None and "xmp_latitude" in attrs and "xmp_longitude" in attrs:
            lat, lon = attrs["xmp_latitude"], attrs["xmp_longitude"]
        alt = _float(gps.get(_GPS_ALT))
        if alt is not None:
            ref = gps.get(_GPS_ALT_REF)
            below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
            altitude = -alt if below else alt
        elif "absolute_altitude_m" in attrs:
            altitude = attrs["absolute_altitude_m"]
        if lat is not None and lon is not None:
            check_lonlat(lon, lat, source)
        return lon, lat, altitude

    @staticmethod
    def _time(
        base: dict[int, Any],
        sub: dict[int, Any],
        gps: dict[int, Any],
        attrs: dict[str, Any],
        options: ImportOptions,
        source: str,
        warnings: list[str],
    ) -> Any:
        original = _text(sub.get(_DT_ORIGINAL)) or _text(base.get(_DATETIME))
        offset = _text(sub.get(_OFFSET_ORIGINAL)) or _text(sub.get(_OFFSET))
        if original:
            try:
                with_offset = parse_time(original + (offset or ""))
            except ValueError:
                with_offset = None
            if with_offset is not None and with_offset.utc is not None:
                return with_offset.utc
            if with_offset is not None and with_offset.local_text:
                attrs["local_time"] = with_offset.local_text
        stamp, date = gps.get(_GPS_TIME), _text(gps.get(_GPS_DATE))
        if stamp and date:
            try:
                h, m, s = (float(v) for v in stamp)
                text = f"{date.replace(':', '-')}T{int(h):02d}:{int(m):02d}:{s:09.6f}"
                return parse_time(text, naive_is_utc=True).utc
            except (TypeError, ValueError, ZeroDivisionError):
                pass
        if original and "local_time" in attrs and options.assume_utc_offset is not None:
            return parse_time(attrs["local_time"], assume_offset=options.assume_utc_offset).utc
        # a clock time without a zone stays in ``local_time``: the import says, once for all
        # such records, that the UTC offset places them in time
        return None

    @staticmethod
    def _footprint(
        lon: float,
        lat: float,
        model: str | None,
        sub: dict[int, Any],
        width: int,
        height: int,
        focal: float | None,
        attrs: dict[str, Any],
        source: str,
        warnings: list[str],
    ) -> Any:
        altitude = attrs.get("relative_altitude_m")
        yaw = attrs.get("gimbal_yaw_deg", attrs.get("flight_yaw_deg"))
        sensor = sensor_size_mm(model, sub, width, height, focal)
        missing = [
            name
            for name, known in (
                ("RelativeAltitude", altitude is not None and altitude > 0),
                ("GimbalYawDegree", yaw is not None),
                ("FocalLength", focal is not None),
                (_("sensor size"), sensor is not None),
            )
            if not known
        ]
        if missing or sensor is None or focal is None or altitude is None or yaw is None:
            warnings.append(
                _(
                    "{source}: nadir photo without {missing}: no footprint estimated",
                    source=source,
                    missing=", ".join(str(m) for m in missing),
                )
            )
            return None
        sw, sh, how = sensor
        attrs["sensor_width_mm"], attrs["sensor_height_mm"] = round(sw, 3), round(sh, 3)
        attrs["sensor_size_source"] = how
        attrs["footprint_width_m"] = round(sw * altitude / focal, 2)
        attrs["footprint_height_m"] = round(sh * altitude / focal, 2)
        return nadir_footprint(
            lon, lat, altitude_m=altitude, focal_mm=focal, sensor_w_mm=sw, sensor_h_mm=sh,
            yaw_deg=yaw,
        )


def _xmp_segment(im: Image.Image) -> bytes | None:
    """The XMP packet of a JPEG's APP1 segments (older Pillow keep it only there)."""
    for marker, payload in getattr(im, "applist", []):
        if marker == "APP1" and payload.startswith(_XMP_HEADER):
            return bytes(payload[len(_XMP_HEADER):])
    return None
