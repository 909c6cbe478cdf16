"""CoMapeo ``remoteDetectionAlert`` documents (schema ``remoteDetectionAlert/v1`` of
``@comapeo/schema``).

Each alert has exactly the fields the schema allows: ``schemaName``
(``remoteDetectionAlert``), ``detectionDateStart`` and ``detectionDateEnd``
(RFC 3339 date-times), ``sourceId`` (unique per alert, not the document id),
``metadata`` (a flat map of strings, numbers, booleans, nulls or lists of them)
and ``geometry`` (a GeoJSON Point, LineString, Polygon or their Multi* forms,
2-D positions only). CoMapeo labels an alert on the map with
``metadata.alert_type``. The file is a JSON array of such documents, as
CoMapeo's archive server takes them (``POST /projects/{id}/remoteDetectionAlerts``,
one at a time).

>>> from datetime import date
>>> from shapely.geometry import Point
>>> a = remote_detection_alert(source_id="C-0001", start=date(2024, 5, 1),
...     end=date(2024, 5, 3), geometry=Point(-75.0, -9.5), metadata={"alert_type": "coca"})
>>> sorted(a)
['detectionDateEnd', 'detectionDateStart', 'geometry', 'metadata', 'schemaName', 'sourceId']
>>> a["detectionDateEnd"], a["geometry"]["coordinates"]
('2024-05-03T23:59:59Z', [-75.0, -9.5])
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from vigilancia.io.files import replace_bytes
from vigilancia.io.package.common import geojson_geometry

__all__ = ["ALLOWED_GEOMETRIES", "SCHEMA_NAME", "remote_detection_alert",
           "write_comapeo_alerts"]

SCHEMA_NAME = "remoteDetectionAlert"
#: Geometry types the CoMapeo geometry schema accepts.
ALLOWED_GEOMETRIES = frozenset(
    {"Point", "LineString", "MultiLineString", "Polygon", "MultiPoint", "MultiPolygon"}
)


def _timestamp(value: date | datetime, *, end: bool) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:  # a whole day: from its first to its last second
        moment = datetime.combine(value, time(23, 59, 59) if end else time(0, 0, 0), UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_metadata_value(v) for v in value if not isinstance(v, list | tuple | dict)]
    return str(value)



def remote_detection_alert(
    *,
    source_id: str,
    start: date | datetime,
    end: date | datetime,
    geometry: BaseGeometry,
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """One ``remoteDetectionAlert`` document (see the module docstring).

    ``start``/``end``: dates (the whole day, UTC) or date-times. A geometry type
    the schema does not accept (a collection) raises ``ValueError``.
    """
    if geometry.geom_type not in ALLOWED_GEOMETRIES:
        raise ValueError(f"CoMapeo alerts cannot carry a {geometry.geom_type}")
    geo = geojson_geometry(geometry)
    return {
        "schemaName": SCHEMA_NAME,
        "detectionDateStart": _timestamp(start, end=False),
        "detectionDateEnd": _timestamp(end, end=True),
        "sourceId": str(source_id),
        "metadata": {str(k): _metadata_value(v) for k, v in metadata.items()},
        "geometry": {"type": geo["type"], "coordinates": geo["coordinates"]},
    }


def write_comapeo_alerts(path: Path, alerts: Sequence[Mapping[str, Any]]) -> Path:
    """Write the alerts as one JSON array (UTF-8)."""
    text = json.dumps(list(alerts), ensure_ascii=False, indent=1)
    return replace_bytes(path, text.encode("utf-8"))
