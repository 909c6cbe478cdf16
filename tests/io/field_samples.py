"""Synthetic field files for the importer tests, written the way the field apps write them.

Every writer puts a file under a folder the test gives (``tmp_path``) and returns
its path. The formats follow the apps' real exports:

- CoMapeo: ``CoMapeo_<project>_Obsvns_<date>.geojson`` with flat properties
  (``$id``, ``$createdAt``, tags, ``attachment_N``) and the document under
  ``$comapeo``, media in ``CoMapeo_<project>_Media_<date>/<name>_original.jpg``
  (comapeo-core's data exporter); or the earlier layout, with the document as
  properties and tracks with ``schemaName: track``;
- ODK Central: ``<form>.csv`` (groups joined with ``-``, split geopoint columns,
  ``KEY``) and ``media/`` in a ZIP; KoboToolbox: ``;``-separated CSV with ``/``
  group paths, ``_<geopoint>_latitude`` columns and ``_uuid``;
- GPX with gpxpy; KML/KMZ as Google Earth writes them;
- JPEG photos with EXIF GPS written by Pillow, and a DJI XMP packet.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import gpxpy.gpx
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from vigilancia.domain.field import decimal_to_dms

# --------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------


def _rational(value: float, denominator: int = 10000) -> IFDRational:
    return IFDRational(round(value * denominator), denominator)


def dji_xmp(
    *,
    relative_altitude: float = 100.0,
    pitch: float = -90.0,
    yaw: float = 0.0,
    flight_yaw: float | None = None,
    as_elements: bool = False,
) -> bytes:
    """A DJI XMP packet (attributes, as DJI firmware writes them, or elements)."""
    values = {
        "AbsoluteAltitude": f"{relative_altitude + 180.0:+.2f}",
        "RelativeAltitude": f"{relative_altitude:+.2f}",
        "GimbalRollDegree": "+0.00",
        "GimbalYawDegree": f"{yaw:+.2f}",
        "GimbalPitchDegree": f"{pitch:+.2f}",
        "FlightRollDegree": "+1.10",
        "FlightYawDegree": f"{(flight_yaw if flight_yaw is not None else yaw):+.2f}",
        "FlightPitchDegree": "-2.30",
    }
    if as_elements:
        inner = "".join(f"<drone-dji:{k}>{v}</drone-dji:{k}>" for k, v in values.items())
        desc = f'<rdf:Description rdf:about="" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/">{inner}</rdf:Description>'
    else:
        attrs = " ".join(f'drone-dji:{k}="{v}"' for k, v in values.items())
        desc = (
            '<rdf:Description rdf:about="DJI Meta Data" '
            'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
            'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
            f"{attrs}></rdf:Description>"
        )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{desc}</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def write_jpeg(
    path: Path,
    *,
    lat: float | None = -9.38,
    lon: float | None = -74.96,
    altitude: float | None = 250.5,
    taken: datetime | None = datetime(2024, 5, 1, 10, 0, 0),
    offset: str | None = "-05:00",
    make: str = "motorola",
    model: str = "moto g04",
    focal_mm: float | None = 3.42,
    focal_35mm: int | None = None,
    size: tuple[int, int] = (64, 48),
    xmp: bytes | None = None,
    gps_time: datetime | None = None,
) -> Path:
    """A small JPEG with EXIF GPS (degrees/minutes/seconds with refs), time and camera."""
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    sub: dict[int, Any] = {}
    if taken is not None:
        sub[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
        if offset is not None:
            sub[0x9011] = offset
    if focal_mm is not None:
        sub[0x920A] = _rational(focal_mm, 100)
    if focal_35mm is not None:
        sub[0xA405] = focal_35mm
    if sub:
        exif[0x8769] = sub
    if lat is not None and lon is not None:
        gps: dict[int, Any] = {}
        d, m, s, ref = decimal_to_dms(lat, axis="lat")
        gps[1], gps[2] = ref, (IFDRational(d, 1), IFDRational(m, 1), _rational(s))
        d, m, s, ref = decimal_to_dms(lon, axis="lon")
        gps[3], gps[4] = ref, (IFDRational(d, 1), IFDRational(m, 1), _rational(s))
        if altitude is not None:
            gps[5] = b"\x01" if altitude < 0 else b"\x00"
            gps[6] = _rational(abs(altitude), 100)
        if gps_time is not None:
            gps[7] = (
                IFDRational(gps_time.hour, 1),
                IFDRational(gps_time.minute, 1),
                IFDRational(gps_time.second, 1),
            )
            gps[29] = gps_time.strftime("%Y:%m:%d")
        exif[0x8825] = gps
    im = Image.new("RGB", size, (34, 110, 52))
    kwargs: dict[str, Any] = {"exif": exif.tobytes(), "quality": 85}
    if xmp is not None:
        kwargs["xmp"] = xmp
    im.save(path, "JPEG", **kwargs)
    return path


def write_dji_photo(
    path: Path,
    *,
    lat: float = -9.38,
    lon: float = -74.96,
    relative_altitude: float = 100.0,
    pitch: float = -90.0,
    yaw: float = 0.0,
    model: str = "FC6310",
    focal_mm: float = 8.8,
    size: tuple[int, int] = (96, 64),
) -> Path:
    """A drone photo as a Phantom 4 Pro writes it: EXIF GPS and focal length, DJI XMP."""
    return write_jpeg(
        path,
        lat=lat,
        lon=lon,
        altitude=relative_altitude + 180.0,
        make="DJI",
        model=model,
        focal_mm=focal_mm,
        focal_35mm=24,
        offset=None,
        gps_time=datetime(2024, 5, 1, 15, 0, 0),
        size=size,
        xmp=dji_xmp(relative_altitude=relative_altitude, pitch=pitch, yaw=yaw),
    )


def truncate(path: Path, keep: float = 0.6) -> Path:
    """Cut a file to a share of its bytes, as an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


# --------------------------------------------------------------------------------------
# GPX, KML, XML
# --------------------------------------------------------------------------------------


def write_gpx(
    path: Path,
    *,
    waypoints: Sequence[tuple[float, float, str]] = ((-74.96, -9.38, "Claro 1"),),
    track: Sequence[tuple[float, float, datetime]] = (),
) -> Path:
    """A GPX with waypoints (lon, lat, name) and one track (lon, lat, time), via gpxpy."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "OsmAnd"
    for lon, lat, name in waypoints:
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(latitude=lat, longitude=lon, elevation=210.0, name=name,
                                  time=datetime(2024, 5, 1, 15, 0, 0))
        )
    if track:
        trk = gpxpy.gpx.GPXTrack(name="Patrulla")
        seg = gpxpy.gpx.GPXTrackSegment()
        for lon, lat, t in track:
            seg.points.append(gpxpy.gpx.GPXTrackPoint(latitude=lat, longitude=lon, time=t,
                                                      elevation=205.0))
        trk.segments.append(seg)
        gpx.tracks.append(trk)
    path.write_text(gpx.to_xml(), encoding="utf-8")
    return path


def kml_document(placemarks: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">'
        f"<Document><name>Patrulla</name><Folder><name>Puntos</name>{placemarks}</Folder>"
        "</Document></kml>"
    )


SAMPLE_PLACEMARKS = """
<Placemark id="p1"><name>Pista</name>
  <description><![CDATA[Pista nueva <img src="files/pista.jpg">]]></description>
  <TimeStamp><when>2024-05-01T15:00:00Z</when></TimeStamp>
  <ExtendedData><Data name="veredicto"><value>airstrip_confirmed</value></Data></ExtendedData>
  <Point><coordinates>-74.96,-9.38,210</coordinates></Point></Placemark>
<Placemark><name>Trocha</name>
  <LineString><coordinates>-74.96,-9.38,0 -74.95,-9.37,0 -74.94,-9.37,0</coordinates></LineString>
</Placemark>
<Placemark><name>Chacra</name>
  <Polygon><outerBoundaryIs><LinearRing><coordinates>
    -74.9,-9.3 -74.89,-9.3 -74.89,-9.29 -74.9,-9.29 -74.9,-9.3
  </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
<Placemark><name>Recorrido</name><gx:Track>
  <when>2024-05-01T14:00:00Z</when><when>2024-05-01T14:10:00Z</when>
  <gx:coord>-74.96 -9.38 200</gx:coord><gx:coord>-74.95 -9.38 201</gx:coord>
</gx:Track></Placemark>
"""


def write_kml(path: Path, placemarks: str = SAMPLE_PLACEMARKS) -> Path:
    path.write_text(kml_document(placemarks), encoding="utf-8")
    return path


def write_kmz(
    path: Path,
    placemarks: str = SAMPLE_PLACEMARKS,
    extra: Mapping[str, bytes] | None = None,
) -> Path:
    """A KMZ (doc.kml plus files/...), with any extra entries (names as given, unchecked)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml_document(placemarks))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def billion_laughs(root: str = "kml") -> str:
    """The classic entity bomb: ten levels of ten references (10^9 'lol's if expanded)."""
    lines = ['<?xml version="1.0"?>', f"<!DOCTYPE {root} [", ' <!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = "lol" if i == 1 else f"lol{i - 1}"
        lines.append(f' <!ENTITY lol{i} "{("&" + prev + ";") * 10}">')
    lines.append("]>")
    lines.append(f"<{root}><Placemark><name>&lol9;</name></Placemark></{root}>")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# CoMapeo
# --------------------------------------------------------------------------------------


def comapeo_observation(
    doc_id: str,
    lon: float,
    lat: float,
    *,
    created: str = "2024-05-01T15:04:05.123Z",
    tags: Mapping[str, Any] | None = None,
    attachments: Sequence[str] = (),
    altitude: float | None = 212.5,
) -> dict[str, Any]:
    """A CoMapeo observation document (@comapeo/schema shape)."""
    coords: dict[str, Any] = {"latitude": lat, "longitude": lon, "accuracy": 4.5}
    if altitude is not None:
        coords["altitude"] = altitude
    return {
        "docId": doc_id,
        "versionId": f"{doc_id}/0",
        "schemaName": "observation",
        "createdAt": created,
        "updatedAt": created,
        "links": [],
        "deleted": False,
        "lat": lat,
        "lon": lon,
        "attachments": [
            {"driveDiscoveryId": "d" * 8, "name": name, "type": "photo", "hash": "0" * 64}
            for name in attachments
        ],
        "tags": dict(tags or {"notes": "", "type": "clearing"}),
        "metadata": {
            "manualLocation": False,
            "position": {"timestamp": created, "mocked": False, "coords": coords},
        },
        "presetRef": {"docId": "preset-clearing", "versionId": "preset/1"},
    }


def comapeo_track(doc_id: str, points: Sequence[tuple[float, float, str]],
                  observation_ids: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "docId": doc_id,
        "schemaName": "track",
        "createdAt": points[0][2],
        "updatedAt": points[-1][2],
        "deleted": False,
        "locations": [
            {"coords": {"latitude": lat, "longitude": lon}, "timestamp": t, "mocked": False}
            for lon, lat, t in points
        ],
        "observationRefs": [{"docId": o, "versionId": f"{o}/0"} for o in observation_ids],
        "tags": {"notes": ""},
    }


def comapeo_feature_current(doc: Mapping[str, Any], media_names: Sequence[str]) -> dict[str, Any]:
    """A feature as comapeo-core's data exporter writes it: flat properties and ``$comapeo``."""
    props: dict[str, Any] = {"$id": doc["docId"], "$createdAt": doc["createdAt"],
                             "$categoryId": doc["presetRef"]["docId"]}
    for k, v in doc["tags"].items():
        props[k] = str(v)
    for i, name in enumerate(media_names, 1):
        props[f"attachment_{i}"] = name
    alt = doc["metadata"]["position"]["coords"].get("altitude")
    coords = [doc["lon"], doc["lat"]] + ([alt] if alt is not None else [])
    return {"type": "Feature", "properties": props, "$comapeo": dict(doc),
            "geometry": {"type": "Point", "coordinates": coords}}


def comapeo_feature_earlier(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A feature of the earlier export: the document itself as properties."""
    if doc.get("schemaName") == "track":
        coords = [[loc["coords"]["longitude"], loc["coords"]["latitude"], None]
                  for loc in doc["locations"]]
        return {"type": "Feature", "properties": dict(doc),
                "geometry": {"type": "LineString", "coordinates": coords}}
    alt = doc["metadata"]["position"]["coords"].get("altitude")
    coords = [doc["lon"], doc["lat"]] + ([alt] if alt is not None else [])
    return {"type": "Feature", "properties": dict(doc),
            "geometry": {"type": "Point", "coordinates": coords}}


def write_comapeo_export(
    target: Path,
    features: Sequence[Mapping[str, Any]],
    media: Mapping[str, bytes],
    *,
    project: str = "Vigilancia Kakataibo",
    date: str = "2024_05_02",
    as_zip: bool = True,
) -> Path:
    """A CoMapeo export: the .geojson and the media folder, in a ZIP or a folder."""
    geojson_name = f"CoMapeo_{project}_Obsvns_Tracks_{date}.geojson"
    media_dir = f"CoMapeo_{project}_Media_{date}"
    payload = json.dumps({"type": "FeatureCollection", "features": list(features)},
                         ensure_ascii=False, indent=1).encode()
    if as_zip:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(geojson_name, payload)
            for name, data in media.items():
                zf.writestr(f"{media_dir}/{name}", data)
    else:
        target.mkdir(parents=True, exist_ok=True)
        (target / geojson_name).write_bytes(payload)
        (target / media_dir).mkdir(exist_ok=True)
        for name, data in media.items():
            (target / media_dir / name).write_bytes(data)
    return target


# --------------------------------------------------------------------------------------
# ODK Central and KoboToolbox
# --------------------------------------------------------------------------------------

CENTRAL_TAIL = ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]


def central_rows(visits: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """ODK Central CSV rows for visits of the shipped form (split geopoint columns)."""
    header = ["SubmissionDate", "start", "end", "case_id", "arrival_location-Latitude",
              "arrival_location-Longitude", "arrival_location-Altitude",
              "arrival_location-Accuracy", "arrival_time", "reached", "verdict", "photo_1",
              "photo_2", "photo_3", "notes", "approach_with_care", "meta-instanceID",
              *CENTRAL_TAIL]
    rows = []
    for v in visits:
        key = v["key"]
        rows.append([
            v.get("submitted", "2024-05-03T12:00:00.000Z"),
            v.get("start", "2024-05-01T09:55:00.000-05:00"),
            v.get("end", "2024-05-01T10:20:00.000-05:00"),
            v.get("case_id", ""),
            str(v["lat"]) if v.get("lat") is not None else "",
            str(v["lon"]) if v.get("lon") is not None else "",
            "212.3" if v.get("lat") is not None else "",
            "4.8" if v.get("lat") is not None else "",
            v.get("arrival_time", "2024-05-01T10:00:00.000-05:00"),
            v.get("reached", "yes"),
            v.get("verdict", ""),
            *(list(v.get("photos", [])) + ["", "", ""])[:3],
            v.get("notes", ""),
            v.get("care", "no"),
            key, key, "5", "Monitor", str(len(v.get("photos", []))),
            str(len(v.get("photos", []))), "", "", "collect:abc", "0", "2025010101",
        ])
    return header, rows


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_central_zip(
    path: Path,
    visits: Sequence[Mapping[str, Any]],
    media: Mapping[str, bytes],
    form_id: str = "vigilancia_visita_verificacion",
) -> Path:
    """ODK Central's 'download all': <form>.csv and media/<file> in a ZIP."""
    header, rows = central_rows(visits)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{form_id}.csv", csv_text(header, rows))
        for name, data in media.items():
            zf.writestr(f"media/{name}", data)
    return path


def write_kobo_csv(path: Path, visits: Sequence[Mapping[str, Any]], delimiter: str = ";") -> Path:
    """A KoboToolbox CSV export: ';' separated, group paths with '/', Kobo's geopoint columns."""
    header = ["start", "end", "visita/case_id", "visita/arrival_location",
              "_visita/arrival_location_latitude", "_visita/arrival_location_longitude",
              "_visita/arrival_location_altitude", "_visita/arrival_location_precision",
              "visita/verdict", "visita/notes", "_id", "_uuid", "_submission_time", "_index"]
    rows = []
    for i, v in enumerate(visits, 1):
        lat, lon = v["lat"], v["lon"]
        rows.append([
            "2024-05-01T10:00:00.000-05:00", "2024-05-01T10:30:00.000-05:00",
            v.get("case_id", ""), f"{lat} {lon} 200 5", str(lat), str(lon), "200", "5",
            v.get("verdict", ""), v.get("notes", ""), str(1000 + i), v["uuid"],
            "2024-05-02T01:00:00", str(i),
        ])
    path.write_text(csv_text(header, rows, delimiter), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# Zip bombs
# --------------------------------------------------------------------------------------


def _deflated(data: bytes) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def write_zip_bomb(path: Path, files: Mapping[str, bytes], *, members: int, member_bytes: int,
                   name: str = "media/foto_{i}.jpg") -> Path:
    """A ZIP holding ``files`` and ``members`` entries of ``member_bytes`` zero bytes each,
    deflated (about 1000 times smaller): the "split" bomb whose entries are each small
    enough to pass a check on large entries. The zeros are compressed once and the
    archive is written by hand (local headers, then the central directory), so even a
    bomb of a gigabyte is made in a fraction of a second."""
    import struct
    import zlib

    zeros = bytes(member_bytes)
    packed_zeros, crc_zeros = _deflated(zeros), zlib.crc32(zeros)
    entries = [(n, _deflated(d), zlib.crc32(d), len(d)) for n, d in files.items()]
    entries += [(name.format(i=i), packed_zeros, crc_zeros, member_bytes)
                for i in range(1, members + 1)]
    body = bytearray()
    central = bytearray()
    for entry_name, packed, crc, size in entries:
        raw = entry_name.encode()
        offset = len(body)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(packed),
                            size, len(raw), 0) + raw + packed
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc,
                               len(packed), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                      len(body), 0)
    path.write_bytes(bytes(body) + bytes(central) + end)
    return path
