"""KMZ of the package for Google Earth: styled placemarks, one folder per layer.

KML is written with the standard library's ElementTree (writing only: nothing
is parsed here; reading KML elsewhere goes through defusedxml). The KMZ is a
ZIP whose first entry is ``doc.kml``, as Google Earth expects.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring  # noqa: S405  (writing only)

from shapely.geometry.base import BaseGeometry

from vigilancia.io.files import replace_bytes
from vigilancia.io.package.common import COORD_DECIMALS

__all__ = ["KML_NS", "KmlFolder", "KmlPlacemark", "KmlStyle", "kml_colour", "kml_document",
           "write_kmz"]

KML_NS = "http://www.opengis.net/kml/2.2"
#: Google Earth's own icons (cached by the app, so they show offline too).
ICON_CIRCLE = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"


@dataclass(frozen=True)
class KmlStyle:
    """A shared style: colours as ``#rrggbb``; ``fill`` None for no fill; ``icon_scale`` 0
    hides point icons (for lines and polygons)."""

    id: str
    line: str = "#000000"
    line_width: float = 1.5
    fill: str | None = None
    fill_opacity: float = 0.4
    icon: str | None = None
    icon_scale: float = 1.0
    icon_href: str = ICON_CIRCLE


@dataclass(frozen=True)
class KmlPlacemark:
    """A placemark: name (shown on the map), description (shown on click; plain text),
    geometry (lon/lat), the id of its style, and extended data fields (shown as given:
    pass text already in the user's language)."""

    name: str
    geometry: BaseGeometry
    style: str
    description: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class KmlFolder:
    """A folder of placemarks (a layer); ``visible`` False starts it hidden."""

    name: str
    placemarks: Sequence[KmlPlacemark]
    visible: bool = True


def kml_colour(hex_rgb: str, opacity: float = 1.0) -> str:
    """``#rrggbb`` and an opacity (0-1) as KML's ``aabbggrr``.

    >>> kml_colour("#ff8000", 0.5)
    '7f0080ff'
    """
    h = hex_rgb.lstrip("#")
    alpha = max(0, min(255, int(opacity * 255)))
    return f"{alpha:02x}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _coords(seq: Any) -> str:
    return " ".join(f"{round(x, COORD_DECIMALS)},{round(y, COORD_DECIMALS)}"
                    for x, y, *_ in seq)


def _geometry(parent: Element, geom: BaseGeometry) -> None:
    kind = geom.geom_type
    if kind == "Point":
        pt = SubElement(parent, "Point")
        SubElement(pt, "coordinates").text = _coords(geom.coords)
    elif kind == "LineString":
        line = SubElement(parent, "LineString")
        SubElement(line, "tessellate").text = "1"
        SubElement(line, "coordinates").text = _coords(geom.coords)
    elif kind == "Polygon":
        poly = SubElement(parent, "Polygon")
        SubElement(poly, "tessellate").text = "1"
        outer = SubElement(SubElement(poly, "outerBoundaryIs"), "LinearRing")
        SubElement(outer, "coordinates").text = _coords(geom.exterior.coords)
        for ring in geom.interiors:
            inner = SubElement(SubElement(poly, "innerBoundaryIs"), "LinearRing")
            SubElement(inner, "coordinates").text = _coords(ring.coords)
    else:  # Multi* and collections
        multi = SubElement(parent, "MultiGeometry")
        for part in geom.geoms:
            _geometry(multi, part)


def _style(parent: Element, style: KmlStyle) -> None:
    el = SubElement(parent, "Style", id=style.id)
    icon = SubElement(el, "IconStyle")
    SubElement(icon, "color").text = kml_colour(style.icon or style.line)
    SubElement(icon, "scale").text = f"{style.icon_scale:g}"
    SubElement(SubElement(icon, "Icon"), "href").text = style.icon_href
    label = SubElement(el, "LabelStyle")
    SubElement(label, "scale").text = "0.9" if style.icon_scale else "0"
    line = SubElement(el, "LineStyle")
    SubElement(line, "color").text = kml_colour(style.line)
    SubElement(line, "width").text = f"{style.line_width:g}"
    poly = SubElement(el, "PolyStyle")
    if style.fill is None:
        SubElement(poly, "fill").text = "0"
    else:
        SubElement(poly, "color").text = kml_colour(style.fill, style.fill_opacity)
    SubElement(poly, "outline").text = "1"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def kml_document(*, name: str, description: str, styles: Sequence[KmlStyle],
                 folders: Sequence[KmlFolder]) -> bytes:
    """The KML 2.2 document (UTF-8 bytes) of the folders, styles shared at the top."""
    root = Element("kml", xmlns=KML_NS)
    doc = SubElement(root, "Document")
    SubElement(doc, "name").text = name
    SubElement(doc, "description").text = description
    SubElement(doc, "open").text = "1"
    for style in styles:
        _style(doc, style)
    for folder in folders:
        f = SubElement(doc, "Folder")
        SubElement(f, "name").text = folder.name
        SubElement(f, "visibility").text = "1" if folder.visible else "0"
        for pm in folder.placemarks:
            p = SubElement(f, "Placemark")
            SubElement(p, "name").text = pm.name
            SubElement(p, "visibility").text = "1" if folder.visible else "0"
            if pm.description:
                SubElement(p, "description").text = pm.description
            SubElement(p, "styleUrl").text = f"#{pm.style}"
            if pm.data:
                ext = SubElement(p, "ExtendedData")
                for key, value in pm.data.items():
                    if value is None or value == "":
                        continue  # an empty field says nothing
                    d = SubElement(ext, "Data", name=str(key))
                    SubElement(d, "value").text = _text(value)
            _geometry(p, pm.geometry)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8",
                                                                   xml_declaration=False)


def write_kmz(path: Path, **document: Any) -> Path:
    """Write :func:`kml_document` (same keyword arguments) as a KMZ: ``doc.kml`` in a ZIP."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml_document(**document))
    return replace_bytes(path, buf.getvalue())
