"""The ODK entity-list CSV (``casos.csv``) that the verification form's case question reads.

ODK Collect and KoboCollect read an attached CSV for ``select_one_from_file``:
``name`` is the value stored in the answer (the case code, ``C-0042``),
``label`` what the monitor sees, and ``label::<language>`` its translations for
a multilingual form. ``geometry`` holds the position in ODK's geopoint text
(``lat lon altitude accuracy``), as ODK entity lists do, so the list can also be
shown on a map (``appearance: map``). Other columns are entity properties
readable in the form with ``instance('casos')/root/item[name=...]/<column>``.

>>> entity_geometry(-75.123456789, -9.5)
'-9.5 -75.1234568 0 0'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vigilancia.io.files import replace_bytes
from vigilancia.io.package.common import COORD_DECIMALS

__all__ = ["entity_geometry", "write_entity_list"]


def entity_geometry(lon: float, lat: float) -> str:
    """A position as ODK geopoint text: ``lat lon altitude accuracy`` (altitude and
    accuracy 0: unknown)."""
    return f"{round(float(lat), COORD_DECIMALS)} {round(float(lon), COORD_DECIMALS)} 0 0"


def write_entity_list(path: Path, rows: Sequence[Mapping[str, Any]],
                      columns: Sequence[str]) -> Path:
    """Write ``rows`` (dicts with at least ``name`` and ``label``) as the entity-list CSV,
    UTF-8 without BOM (ODK reads the first header as ``name``), in ``columns`` order."""
    if "name" not in columns or "label" not in columns:
        raise ValueError("an ODK entity list needs the columns name and label")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return replace_bytes(path, buf.getvalue().encode("utf-8"))
