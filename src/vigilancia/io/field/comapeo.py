"""CoMapeo and Mapeo GeoJSON exports, with their media.

An export is a ``.geojson`` file, or a ZIP or folder holding one or more of them
(CoMapeo writes ``CoMapeo_<project>_Obsvns_Tracks_<date>.geojson`` and a
``CoMapeo_<project>_Media_<date>/`` folder). Three generations are read:

- **CoMapeo, current**: flat properties ``$id``, ``$createdAt``,
  ``$categoryId``, the tags, and ``attachment_1``, ``attachment_2``... naming
  media files (``<name>_original.jpg``); the whole document under the foreign
  member ``$comapeo``.
- **CoMapeo, earlier**: the document itself as properties (``docId``,
  ``schemaName``, ``createdAt``, ``tags``, ``attachments`` with ``name`` and
  ``type``, ``metadata.position``); the media file of an attachment is
  ``<name>_<variant>.<ext>``, the original preferred.
- **Mapeo (legacy)**: the feature ``id``, tags as properties, ``$created`` and
  ``$photos`` (file names).

Observations become ``point`` observations, tracks (``schemaName: track`` or a
LineString) ``track`` observations with the times of their first and last
locations. The same document exported twice (a track export repeats the
observations it links) is read once. A tag ``verdict`` holding a verdict code or
label of the verification form fills the observation's verdict. Any other
FeatureCollection of points or lines is read the same way, as plain features.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.field import FieldImport, FieldObservation, ObservationKind
from vigilancia.errors import DataFormatError
from vigilancia.i18n import _
from vigilancia.io.field.common import (
    Bundle,
    ImportOptions,
    check_lonlat,
    open_bundle,
    parse_time,
)
from vigilancia.io.field.registry import Probe, register_importer
from vigilancia.io.field.xlsform import tagged_verdict

__all__ = ["CoMapeoImporter"]

_GEOJSON = (".geojson", ".json")
_MARKERS = ('"$comapeo"', '"schemaname"', '"docid"', '"$id"', '"$created"', '"$photos"',
            "comapeo", "mapeo")
_VARIANTS = ("original", "preview", "thumbnail")


@register_importer
class CoMapeoImporter:
    """CoMapeo/Mapeo GeoJSON exports: a file, or a ZIP or folder with media."""

    name = "comapeo"
    title = "CoMapeo/Mapeo (.geojson, or .zip/folder with media)"

    def sniff(self, probe: Probe) -> int:
        if probe.is_container:
            geojsons = [m for m in probe.members or () if m.lower().endswith(".geojson")]
            if not geojsons:
                return 0
            named = any("mapeo" in PurePosixPath(m).name.lower() for m in geojsons)
            return 80 if named else 45
        if probe.suffix not in _GEOJSON and probe.head.lstrip()[:1] != b"{":
            return 0
        text = probe.head_text()
        if "featurecollection" not in text:
            return 0
        return 85 if any(m in text for m in _MARKERS) else 30

    def read(self, path: Path, *, source: str, options: ImportOptions) -> FieldImport:
        with open_bundle(path, source, options) as bundle:
            docs = [n for n in bundle.names if n.lower().endswith(_GEOJSON)]
            if bundle.kind != "file":
                docs = [n for n in docs if n.lower().endswith(".geojson")] or docs
            if not docs:
                raise DataFormatError(
                    _("the export holds no .geojson file"),
                    hint=_("export the observations from CoMapeo as GeoJSON (with media)"),
                    source=source,
                )
            media = [n for n in bundle.names if n not in docs]
            warnings: list[str] = []
            observations: list[FieldObservation] = []
            seen: set[str] = set()
            used_media: dict[str, None] = {}
            for doc in docs:
                label = bundle.label(doc)
                payload = self._load(bundle.read(doc), label)
                for obs in self._features(payload, label, bundle, media, warnings, options):
                    if obs.record_id in seen:
                        continue
                    seen.add(obs.record_id)
                    observations.append(obs)
                    for a in obs.attachments:
                        if a in media:
                            used_media[a] = None
            files = bundle.consumed(docs, used_media)
        return FieldImport(
            format=self.name,
            source=source,
            observations=tuple(observations),
            files=tuple(files),
            warnings=tuple(warnings),
        )

    # -- parsing --------------------------------------------------------------------------

    @staticmethod
    def _load(data: bytes, label: str) -> Mapping[str, Any]:
        try:
            payload = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise DataFormatError(
                _("the file is not UTF-8 text"),
                hint=_("export the observations again as GeoJSON"),
                source=label,
            ) from exc
        except json.JSONDecodeError as exc:
            raise DataFormatError(
                _(
                    "the JSON is broken at line {line}, column {col}",
                    line=exc.lineno,
                    col=exc.colno,
                ),
                hint=_("the file is probably incomplete: copy or export it again"),
                source=label,
            ) from exc
        if not isinstance(payload, Mapping) or payload.get("type") != "FeatureCollection":
            raise DataFormatError(
                _("the file is not a GeoJSON FeatureCollection"),
                hint=_("export the observations from CoMapeo as GeoJSON"),
                source=label,
            )
        features = payload.get("features")
        if not isinstance(features, list):
            raise DataFormatError(
                _("the GeoJSON has no list of features"),
                hint=_("export the observations from CoMapeo as GeoJSON"),
                source=label,
            )
        return payload

    def _features(
        self,
        payload: Mapping[str, Any],
        label: str,
        bundle: Bundle,
        media: list[str],
        warnings: list[str],
        options: ImportOptions,
    ) -> list[FieldObservation]:
        out = []
        for n, feature in enumerate(payload["features"], 1):
            where = f"{label}, " + _("feature {n}", n=n)
            if not isinstance(feature, Mapping):
                raise DataFormatError(
                    _("the feature is not a JSON object"),
                    hint=_("export the observations again as GeoJSON"),
                    source=where,
                )
            obs = self._feature(feature, n, where, bundle, media, warnings, options)
            if obs is not None:
                out.append(obs)
        return out

    def _feature(
        self,
        feature: Mapping[str, Any],
        n: int,
        where: str,
        bundle: Bundle,
        media: list[str],
        warnings: list[str],
        options: ImportOptions,
    ) -> FieldObservation | None:
        props = feature.get("properties") or {}
        if not isinstance(props, Mapping):
            props = {}
        doc = feature.get("$comapeo")
        if not isinstance(doc, Mapping):
            doc = props if ("docId" in props or "schemaName" in props) else None
        if doc is not None and doc.get("deleted") is True:
            return None
        record_id = str(
            (doc or {}).get("docId") or props.get("$id") or feature.get("id") or props.get("id")
            or f"feature-{n}"
        )
        where = f"{where} (id={record_id})"
        geometry, altitude = self._geometry(feature, doc, where)
        is_track = (doc or {}).get("schemaName") == "track" or isinstance(geometry, LineString)
        tags = self._tags(props, doc)
        attrs: dict[str, Any] = dict(tags)
        if doc is not None:
            category = (doc.get("presetRef") or {}).get("docId") if isinstance(
                doc.get("presetRef"), Mapping) else None
            if category:
                attrs["category_id"] = category
            for key in ("schemaName", "updatedAt", "originalVersionId"):
                if doc.get(key) not in (None, ""):
                    attrs[key] = doc[key]
        elif props.get("$categoryId") or props.get("categoryId"):
            attrs["category_id"] = props.get("$categoryId") or props.get("categoryId")
        created = (
            (doc or {}).get("createdAt") or props.get("$createdAt") or props.get("$created")
            or props.get("created_at")
        )
        time = self._time(created, where, attrs, options)
        end_time = None
        accuracy = None
        if is_track and doc is not None:
            stamps = [
                loc.get("timestamp") for loc in doc.get("locations") or []
                if isinstance(loc, Mapping) and loc.get("timestamp")
            ]
            if stamps:
                times = [self._time(s, where, attrs, options) for s in (stamps[0], stamps[-1])]
                time, end_time = times[0] or time, times[1]
            refs = [
                r.get("docId") for r in doc.get("observationRefs") or []
                if isinstance(r, Mapping) and r.get("docId")
            ]
            if refs:
                attrs["observation_ids"] = tuple(refs)
        elif doc is not None:
            coords = ((doc.get("metadata") or {}).get("position") or {}).get("coords") or {}
            if isinstance(coords, Mapping):
                accuracy = coords.get("accuracy")
                if altitude is None and isinstance(coords.get("altitude"), int | float):
                    altitude = float(coords["altitude"])
            if (doc.get("metadata") or {}).get("manualLocation") is True:
                attrs["manual_location"] = True
        attachments = self._attachments(props, doc, bundle, media, where, warnings)
        verdict = tagged_verdict(tags, where, warnings)
        notes = tags.get("notes") or tags.get("note") or None
        return FieldObservation(
            source_format=self.name,
            source_file=bundle.source,
            record_id=record_id,
            kind=ObservationKind.TRACK if is_track else ObservationKind.POINT,
            geometry=geometry,
            time=time,
            end_time=end_time,
            altitude_m=altitude,
            attributes=attrs,
            verdict=verdict,
            notes=str(notes) if notes else None,
            attachments=tuple(attachments),
            accuracy_m=float(accuracy) if isinstance(accuracy, int | float) else None,
        )

    @staticmethod
    def _tags(props: Mapping[str, Any], doc: Mapping[str, Any] | None) -> dict[str, Any]:
        if doc is not None and isinstance(doc.get("tags"), Mapping):
            return {str(k): v for k, v in doc["tags"].items() if v is not None}
        skip = {"attachments", "pictures", "$photos", "$comapeo"}
        return {
            str(k): v
            for k, v in props.items()
            if v is not None and k not in skip and not str(k).startswith(("$", "attachment_"))
        }

    def _geometry(
        self, feature: Mapping[str, Any], doc: Mapping[str, Any] | None, where: str
    ) -> tuple[BaseGeometry | None, float | None]:
        geom = feature.get("geometry")
        if isinstance(geom, Mapping):
            kind, coords = geom.get("type"), geom.get("coordinates")
            try:
                if kind == "Point" and coords:
                    check_lonlat(float(coords[0]), float(coords[1]), where)
                    alt = coords[2] if len(coords) > 2 and coords[2] is not None else None
                    return Point(float(coords[0]), float(coords[1])), (
                        float(alt) if alt is not None else None
                    )
                if kind == "LineString" and coords:
                    pts = [(float(c[0]), float(c[1])) for c in coords]
                    for lon, lat in pts:
                        check_lonlat(lon, lat, where)
                    return (LineString(pts) if len(pts) >= 2 else Point(pts[0])), None
            except (TypeError, ValueError, IndexError) as exc:
                raise DataFormatError(
                    _("the geometry has bad coordinates"),
                    hint=_("export the observations again as GeoJSON"),
                    source=where,
                ) from exc
            if kind not in (None, "Point", "LineString"):
                raise DataFormatError(
                    _("geometry type {kind} is not a field observation (points and lines only)",
                      kind=kind),
                    hint=_("import areas as a context layer instead"),
                    source=where,
                )
        if doc is not None and isinstance(doc.get("lat"), int | float) and isinstance(
            doc.get("lon"), int | float
        ):
            check_lonlat(float(doc["lon"]), float(doc["lat"]), where)
            return Point(float(doc["lon"]), float(doc["lat"])), None
        return None, None

    @staticmethod
    def _time(value: Any, where: str, attrs: dict[str, Any], options: ImportOptions) -> Any:
        if value in (None, ""):
            return None
        try:
            parsed = parse_time(value, assume_offset=options.assume_utc_offset)
        except ValueError as exc:
            raise DataFormatError(
                _("the time {value!r} is not a date and time", value=str(value)[:40]),
                hint=_("CoMapeo times look like 2025-08-13T18:47:04.614Z"),
                source=where,
            ) from exc
        if parsed.utc is None and parsed.local_text:
            attrs.setdefault("local_time", parsed.local_text)
        return parsed.utc

    def _attachments(
        self,
        props: Mapping[str, Any],
        doc: Mapping[str, Any] | None,
        bundle: Bundle,
        media: list[str],
        where: str,
        warnings: list[str],
    ) -> list[str]:
        wanted: list[str] = []  # references as the export writes them
        flat = sorted(
            (k for k in props if str(k).startswith("attachment_")),
            key=lambda k: int(str(k).split("_", 1)[1]) if str(k).split("_", 1)[1].isdigit() else 0,
        )
        for key in flat:
            if props[key]:
                wanted.append(str(props[key]))
        if not wanted and doc is not None:
            for att in doc.get("attachments") or []:
                if isinstance(att, Mapping) and att.get("name"):
                    wanted.append(self._variant_file(str(att["name"]), media) or str(att["name"]))
        if not wanted:
            legacy = props.get("$photos") or props.get("pictures") or props.get("attachments")
            for item in legacy if isinstance(legacy, list) else []:
                ref = item.get("id") if isinstance(item, Mapping) else item
                if ref:
                    wanted.append(str(ref))
        out = []
        for ref in wanted:
            found = bundle.find(ref) if bundle.kind != "file" else None
            if found is None:
                warnings.append(
                    _("{where}: the attachment {name} is not in the export", where=where, name=ref)
                )
                out.append(ref)
            else:
                out.append(found)
        return out

    @staticmethod
    def _variant_file(name: str, media: list[str]) -> str | None:
        """The media file of a CoMapeo attachment: ``<name>_<variant>.<ext>``, original first."""
        by_stem = {PurePosixPath(m).stem: m for m in media}
        for variant in _VARIANTS:
            if f"{name}_{variant}" in by_stem:
                return by_stem[f"{name}_{variant}"]
        return by_stem.get(name)
