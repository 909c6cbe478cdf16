"""KML and KMZ placemarks (Google Earth, Locus Map, OsmAnd), parsed through defusedxml.

Every Placemark becomes an observation: a Point is a ``waypoint``, a LineString
or a Google Earth track (``gx:Track``, with its times) a ``track``, a Polygon an
``area``; each part of a MultiGeometry is one observation. The name,
description, ``TimeStamp``/``TimeSpan`` and ``ExtendedData`` are read; images a
description points to inside a KMZ (``<img src="files/foto.jpg">``) become
attachments.

A KMZ is a ZIP: entries with names that escape the archive (``../evil.kml``,
absolute paths) make the whole file an error, and nothing is ever extracted to
disk.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element  # noqa: S405  (type only; parsing is defused)

from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from vigilancia.domain.field import FieldImport, FieldObservation, ObservationKind
from vigilancia.errors import DataFormatError
from vigilancia.i18n import _
from vigilancia.io.field.common import (
    Bundle,
    ImportOptions,
    check_lonlat,
    local_name,
    open_bundle,
    parse_time,
    parse_xml,
)
from vigilancia.io.field.registry import Probe, register_importer
from vigilancia.io.field.xlsform import tagged_verdict

__all__ = ["KmlImporter"]

_IMG_SRC = re.compile(r"""src\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if local_name(c.tag) == name]


def _child(el: Element, name: str) -> Element | None:
    return next((c for c in el if local_name(c.tag) == name), None)


def _text(el: Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    text = el.text.strip()
    return text or None


def _descendants(el: Element, name: str) -> list[Element]:
    return [d for d in el.iter() if local_name(d.tag) == name]


@register_importer
class KmlImporter:
    """KML files and KMZ archives."""

    name = "kml"
    title = "KML/KMZ (.kml, .kmz: Google Earth placemarks)"

    def sniff(self, probe: Probe) -> int:
        if probe.is_container:
            if probe.path.is_dir():
                return 0
            suffixes = probe.member_suffixes()
            if probe.suffix == ".kmz":
                return 95
            if ".kml" in suffixes and not suffixes & {".geojson", ".csv"}:
                return 50
            return 0
        if probe.suffix == ".kml":
            return 90
        return 60 if "<kml" in probe.head_text() else 0

    def read(self, path: Path, *, source: str, options: ImportOptions) -> FieldImport:
        with open_bundle(path, source, options) as bundle:
            doc = self._document_name(bundle)
            data = bundle.read(doc)
            label = bundle.label(doc)
            root = parse_xml(data, label)
            if local_name(root.tag) != "kml":
                raise DataFormatError(
                    _("the file is not KML: its root element is {tag}", tag=local_name(root.tag)),
                    hint=_("export the placemarks again as KML or KMZ"),
                    source=label,
                )
            warnings: list[str] = []
            observations: list[FieldObservation] = []
            attachment_names: list[str] = []
            placemarks = _descendants(root, "Placemark")
            for n, pm in enumerate(placemarks, 1):
                made = self._placemark(pm, n, bundle, label, warnings, options)
                observations.extend(made)
                for obs in made:
                    attachment_names.extend(a for a in obs.attachments if a in bundle.names)
            if not placemarks:
                raise DataFormatError(
                    _("the KML has no placemarks"),
                    hint=_("save the points or lines as placemarks and export them again"),
                    source=label,
                )
            files = bundle.consumed([doc], attachment_names)
        return FieldImport(
            format=self.name,
            source=source,
            observations=tuple(observations),
            files=tuple(files),
            warnings=tuple(warnings),
        )

    def _document_name(self, bundle: Bundle) -> str:
        if bundle.kind == "file":
            return bundle.names[0]
        kmls = [n for n in bundle.names if n.lower().endswith(".kml")]
        if not kmls:
            raise DataFormatError(
                _("the KMZ archive holds no .kml document"),
                hint=_("export the placemarks again as KMZ from Google Earth or the field app"),
                source=bundle.source,
            )
        # Google Earth writes doc.kml at the root; otherwise the shallowest .kml.
        return min(kmls, key=lambda n: (n.lower() != "doc.kml", n.count("/"), n))

    def _placemark(
        self,
        pm: Element,
        n: int,
        bundle: Bundle,
        label: str,
        warnings: list[str],
        options: ImportOptions,
    ) -> list[FieldObservation]:
        name = _text(_child(pm, "name"))
        description = _text(_child(pm, "description"))
        pm_id = pm.get("id")
        where = _("placemark {n}", n=n) + (f" ({name})" if name else "")
        attrs: dict[str, Any] = {}
        if name:
            attrs["name"] = name
        if description:
            attrs["description"] = description
        attrs.update(self._extended_data(pm))
        stamp = _child(pm, "TimeStamp")
        when = _text(_child(stamp, "when")) if stamp is not None else None
        span = _child(pm, "TimeSpan")
        begin = _text(_child(span, "begin")) if span is not None else None
        end = _text(_child(span, "end")) if span is not None else None
        time = self._time(when or begin, label, where, attrs, options)
        end_time = self._time(end, label, where, attrs, options) if end else None
        attachments = []
        for ref in _IMG_SRC.findall(description or ""):
            found = bundle.find(ref) if bundle.kind != "file" else None
            if found is not None:
                attachments.append(found)
        verdict = tagged_verdict(attrs, f"{label}, {where}", warnings)
        parts = self._geometries(pm, label, where, options)
        if not parts:
            warnings.append(
                _("{source}: {where} has no geometry and was skipped", source=label, where=where)
            )
            return []
        out = []
        base_id = pm_id or f"placemark-{n}"
        for k, (geom, kind, part_time, part_end, altitude) in enumerate(parts, 1):
            out.append(
                FieldObservation(
                    source_format=self.name,
                    source_file=bundle.source,
                    record_id=base_id if len(parts) == 1 else f"{base_id}-{k}",
                    kind=kind,
                    geometry=geom,
                    time=part_time or time,
                    end_time=part_end or end_time,
                    altitude_m=altitude,
                    attributes=attrs,
                    notes=description,
                    verdict=verdict,
                    attachments=tuple(attachments),
                )
            )
        return out

    def _extended_data(self, pm: Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        ext = _child(pm, "ExtendedData")
        if ext is None:
            return out
        for data in _descendants(ext, "Data"):
            key = data.get("name")
            if key:
                out[key] = _text(_child(data, "value"))
        for simple in _descendants(ext, "SimpleData"):
            key = simple.get("name")
            if key:
                out[key] = _text(simple)
        return out

    def _time(
        self,
        text: str | None,
        label: str,
        where: str,
        attrs: dict[str, Any],
        options: ImportOptions,
    ) -> Any:
        if not text:
            return None
        try:
            parsed = parse_time(text, assume_offset=options.assume_utc_offset)
        except ValueError as exc:
            raise DataFormatError(
                _("the time {value!r} is not a date and time", value=text[:40]),
                hint=_("KML times look like 2024-05-01T14:30:00Z"),
                source=f"{label}, {where}",
            ) from exc
        if parsed.utc is None and parsed.local_text:
            attrs.setdefault("local_time", parsed.local_text)
        return parsed.utc

    def _geometries(
        self, pm: Element, label: str, where: str, options: ImportOptions
    ) -> list[tuple[BaseGeometry, ObservationKind, Any, Any, float | None]]:
        out: list[tuple[BaseGeometry, ObservationKind, Any, Any, float | None]] = []

        def coords(el: Element | None) -> list[tuple[float, ...]]:
            text = _text(_child(el, "coordinates")) if el is not None else None
            if not text:
                return []
            pts = []
            for token in text.split():
                try:
                    values = tuple(float(v) for v in token.split(",") if v != "")
                except ValueError as exc:
                    raise DataFormatError(
                        _("bad coordinates {value!r}", value=token[:60]),
                        hint=_("KML coordinates are longitude,latitude[,altitude]"),
                        source=f"{label}, {where}",
                    ) from exc
                if len(values) < 2:
                    raise DataFormatError(
                        _("bad coordinates {value!r}", value=token[:60]),
                        hint=_("KML coordinates are longitude,latitude[,altitude]"),
                        source=f"{label}, {where}",
                    )
                check_lonlat(values[0], values[1], f"{label}, {where}")
                pts.append(values)
            return pts

        def walk(el: Element) -> None:
            tag = local_name(el.tag)
            if tag == "Point":
                pts = coords(el)
                if pts:
                    alt = pts[0][2] if len(pts[0]) > 2 else None
                    out.append((Point(pts[0][:2]), ObservationKind.WAYPOINT, None, None, alt))
            elif tag in ("LineString", "LinearRing"):
                pts = coords(el)
                if len(pts) >= 2:
                    out.append(
                        (LineString([p[:2] for p in pts]), ObservationKind.TRACK, None, None, None)
                    )
            elif tag == "Polygon":
                outer = _child(el, "outerBoundaryIs")
                ring = coords(_child(outer, "LinearRing")) if outer is not None else []
                holes = [
                    [p[:2] for p in coords(_child(inner, "LinearRing"))]
                    for inner in _children(el, "innerBoundaryIs")
                ]
                if len(ring) >= 3:
                    poly = Polygon([p[:2] for p in ring], [h for h in holes if len(h) >= 3])
                    out.append((poly, ObservationKind.AREA, None, None, None))
            elif tag == "Track":  # gx:Track: <when> and <gx:coord> "lon lat alt" pairs
                whens = [_text(w) for w in _children(el, "when")]
                pts = []
                for c in _children(el, "coord"):
                    values = tuple(float(v) for v in (_text(c) or "").split())
                    if len(values) >= 2:
                        check_lonlat(values[0], values[1], f"{label}, {where}")
                        pts.append(values[:2])
                times = []
                for w in whens:
                    if w:
                        try:
                            t = parse_time(w, assume_offset=options.assume_utc_offset).utc
                        except ValueError:
                            t = None
                        if t is not None:
                            times.append(t)
                if len(pts) >= 2:
                    geom: BaseGeometry = LineString(pts)
                elif pts:
                    geom = Point(pts[0])
                else:
                    return
                out.append(
                    (
                        geom,
                        ObservationKind.TRACK,
                        min(times) if times else None,
                        max(times) if times else None,
                        None,
                    )
                )
            elif tag in ("MultiGeometry", "MultiTrack"):
                for child in el:
                    walk(child)

        for child in pm:
            if local_name(child.tag) in (
                "Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track",
                "MultiTrack",
            ):
                walk(child)
        return out
