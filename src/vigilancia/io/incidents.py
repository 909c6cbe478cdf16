"""Aggregated incidents against defenders, read from a CSV of counts by region and year.

The risk score needs only how many incidents happened where and when, never
who: the reader keeps the region, the year and the count of each row and
drops every other column, so names in a file can never reach an output.

Columns are found by name (case and accents ignored): region
(``region``, ``departamento``, ``department``, ``provincia``...), year
(``year``, ``año``, ``anio``; optional) and count (``killed``, ``count``,
``incidents``, ``casos``...; optional, 1 per row when absent). The delimiter
(comma, semicolon or tab) is detected.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "gw.csv"
>>> _ = p.write_text("region,year,killed\\nUcayali,2020,1\\nPasco,2021,4\\n", encoding="utf-8")
>>> [(i.region, i.year, i.count) for i in read_incidents(p)]
[('Ucayali', 2020, 1), ('Pasco', 2021, 4)]
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from vigilancia.domain.territories import normalise_name
from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import _

__all__ = ["Incident", "read_incidents"]

REGION_COLUMNS = ("region", "departamento", "department", "departamen", "provincia",
                  "province", "distrito", "district", "lugar")
YEAR_COLUMNS = ("year", "ano", "anio", "año")
COUNT_COLUMNS = ("killed", "count", "incidents", "incidentes", "casos", "cases", "n",
                 "muertos", "asesinados", "total")


@dataclass(frozen=True)
class Incident:
    """Incidents counted in one region (and year, when known)."""

    region: str
    year: int | None
    count: int


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    keys = [normalise_name(h) for h in header]
    for name in names:
        k = normalise_name(name)
        if k in keys:
            return keys.index(k)
    return None


def read_incidents(path: Path | str) -> list[Incident]:
    """Incidents of a CSV file; a clear error naming the file and row when it is not usable."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = p.read_text(encoding="latin-1")
    except OSError as exc:
        raise UnreadableFileError(
            _("cannot read the incident file {path}: {error}", path=p, error=exc.strerror),
            hint=_("check the path and that the file is readable"),
            source=str(p),
        ) from exc
    lines = text.splitlines()
    if not lines:
        raise DataFormatError(
            _("the incident file {path} is empty", path=p),
            hint=_("it needs a header with region, year and count columns"),
            source=str(p),
        )
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader)
    region_col = _find(header, REGION_COLUMNS)
    if region_col is None:
        raise DataFormatError(
            _("the incident file {path} has no region column (found: {columns})",
              path=p, columns=", ".join(header)),
            hint=_("name the column region or departamento; use commas or semicolons "
                   "between columns"),
            source=str(p),
        )
    year_col = _find(header, YEAR_COLUMNS)
    count_col = _find(header, COUNT_COLUMNS)
    out: list[Incident] = []
    for row_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        region = cells[region_col].strip()
        year: int | None = None
        if year_col is not None and cells[year_col].strip():
            try:
                year = int(float(cells[year_col]))
            except ValueError:
                raise DataFormatError(
                    _("{path}, row {row}: year {value!r} is not a number",
                      path=p, row=row_no, value=cells[year_col]),
                    hint=_("write the year as 2021"),
                    source=str(p),
                ) from None
        count = 1
        if count_col is not None and cells[count_col].strip():
            try:
                count = int(float(cells[count_col]))
            except ValueError:
                raise DataFormatError(
                    _("{path}, row {row}: count {value!r} is not a number",
                      path=p, row=row_no, value=cells[count_col]),
                    hint=_("write whole numbers of incidents"),
                    source=str(p),
                ) from None
            if count < 0:
                raise DataFormatError(
                    _("{path}, row {row}: count {value!r} is negative",
                      path=p, row=row_no, value=cells[count_col]),
                    hint=_("write whole numbers of incidents"),
                    source=str(p),
                )
        if region:
            out.append(Incident(region, year, count))
    return out
