"""Official statistics tables the regional trends report cites: DEVIDA's coca hectares and
Geobosques' district forest loss (CSV files as the agencies publish or as they are
transcribed).

- :func:`read_coca_table`: coca hectares by department or by coca zone (DEVIDA's
  monitoring figures). The first column names the department (``departamento``) or the
  zone (``zona_cocalera``); the year columns are ``2020`` or ``ha_2020``; a last column
  ``var...`` gives the change, in hectares (department tables) or as a text percentage
  (``8.6%``, zone tables). An empty cell means the zone was not monitored that year
  (None, never 0). The national ``TOTAL`` row is kept apart (:attr:`CocaTable.total`):
  it is not a department and never enters a ranking or a sum.
- :func:`read_forest_loss`: MINAM Geobosques' annual forest loss (ha) per district:
  ``DEPARTAMENTO, PROVINCIA, DISTRITO, UBIGEO, 2001_ha ... 2024_ha`` and the forest and
  water columns. ``UBIGEO`` stays text with its leading zero (``010101``; a code that a
  spreadsheet shortened to five digits gets it back), and numbers may carry thousands
  separators (``"2,403.72"``).

Files are read as UTF-8 (with or without BOM), or Windows-1252 when they are not UTF-8
(a spreadsheet's "CSV" on Windows). A wrong file gets an error that names the file, the
row and what is wrong.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "coca.csv"
>>> _ = p.write_text("Departamento,2023,2024,Variación\\nUcayali,12221,11206,-1015\\n"
...                  "TOTAL,92784,89755,-3029\\n", encoding="utf-8")
>>> t = read_coca_table(p)
>>> t.kind, t.years, [r.name for r in t.rows], t.rows[0].hectares[2024], t.total.hectares[2024]
('department', (2023, 2024), ['Ucayali'], 11206.0, 89755.0)
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import _

__all__ = [
    "CocaRow",
    "CocaTable",
    "DistrictLoss",
    "ForestLossTable",
    "parse_number",
    "read_coca_table",
    "read_forest_loss",
]

#: First-column names of DEVIDA's tables (accents and case ignored) and the table's kind.
_COCA_KINDS = {"departamento": "department", "department": "department",
               "zona_cocalera": "zone", "zona": "zone", "zone": "zone"}
_YEAR = re.compile(r"^(?:ha_)?((?:19|20)\d\d)(?:_ha)?$")
_TOTAL_NAMES = {"total", "total nacional", "peru", "nacional"}


@dataclass(frozen=True)
class CocaRow:
    """One row of a DEVIDA table: the department or zone, its hectares by year (None where
    the cell is empty: not monitored that year) and the change the table gives (hectares
    or percent, see :attr:`CocaTable.change_unit`; None when not given)."""

    name: str
    hectares: Mapping[int, float | None]
    change: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (years as text keys)."""
        return {"name": self.name, "hectares": {str(y): v for y, v in self.hectares.items()},
                "change": self.change}


@dataclass(frozen=True)
class CocaTable:
    """A DEVIDA coca table: ``kind`` "department" or "zone", the years it covers, its rows
    (national total left out) and the ``total`` row apart; ``source`` is the file's name
    and ``sha256`` its hash, so a report can cite exactly what it read."""

    kind: str
    source: str
    sha256: str
    years: tuple[int, ...]
    rows: tuple[CocaRow, ...]
    total: CocaRow | None
    change_unit: str | None  # "ha", "%" or None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "source": self.source, "sha256": self.sha256,
                "years": list(self.years), "rows": list(self.rows), "total": self.total,
                "change_unit": self.change_unit}


@dataclass(frozen=True)
class DistrictLoss:
    """Geobosques' forest loss of one district: UBIGEO (6-digit text), names, loss (ha) by
    year and the forest left (ha, the file's last year) when given."""

    ubigeo: str
    department: str
    province: str
    district: str
    loss_ha: Mapping[int, float]
    forest_ha: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (years as text keys)."""
        return {"ubigeo": self.ubigeo, "department": self.department,
                "province": self.province, "district": self.district,
                "loss_ha": {str(y): v for y, v in self.loss_ha.items()},
                "forest_ha": self.forest_ha}


@dataclass(frozen=True)
class ForestLossTable:
    """A Geobosques table of forest loss by district (``rows`` by UBIGEO, as in the file)."""

    source: str
    sha256: str
    years: tuple[int, ...]
    rows: tuple[DistrictLoss, ...]

    def by_ubigeo(self) -> dict[str, DistrictLoss]:
        """The rows by UBIGEO."""
        return {r.ubigeo: r for r in self.rows}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"source": self.source, "sha256": self.sha256, "years": list(self.years),
                "rows": list(self.rows)}


def _key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.strip().lower().split())


def parse_number(text: str | None) -> float | None:
    """A number as these tables write it: ``12221``, ``"2,403.72"``, ``-1015``, ``8.6%``;
    None for an empty cell or a dash.

    >>> parse_number("2,403.72"), parse_number("8.6%"), parse_number(""), parse_number("-")
    (2403.72, 8.6, None, None)
    """
    if text is None:
        return None
    value = text.strip().replace("\u00a0", "").replace(" ", "")
    if value in ("", "-", "—", "–", "NA", "N/A", "nd", "s.d."):
        return None
    value = value.removesuffix("%")
    if "," in value and "." in value:
        value = value.replace(",", "")  # 2,403.72
    elif "," in value and re.fullmatch(r"-?\d{1,3}(,\d{3})+", value):
        value = value.replace(",", "")  # 12,221
    elif "," in value:
        value = value.replace(",", ".")  # 8,6
    return float(value)  # ValueError for text: the caller names the cell


def _read_rows(path: Path) -> tuple[list[list[str]], str]:
    """The CSV rows of ``path`` and its SHA-256."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableFileError(_("the file could not be read"),
                                  hint=_("check the path"), source=str(path)) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DataFormatError(_("the table has no rows"),
                              hint=_("give the CSV file with its header and its rows"),
                              source=str(path))
    return rows, hashlib.sha256(data).hexdigest()


def _number(cell: str, path: Path, row: int, column: str) -> float | None:
    try:
        return parse_number(cell)
    except ValueError:
        raise DataFormatError(
            _("row {row}, column {column}: {value!r} is not a number",
              row=row, column=column, value=cell),
            hint=_("fix the cell, or leave it empty when there is no figure"),
            source=str(path),
        ) from None


def read_coca_table(path: Path) -> CocaTable:
    """DEVIDA's coca hectares by department or by zone (see the module text)."""
    path = Path(path)
    rows, sha = _read_rows(path)
    header = [h.strip() for h in rows[0]]
    kind = _COCA_KINDS.get(_key(header[0]).replace(" ", "_"))
    years: list[tuple[int, int]] = []
    change_col: int | None = None
    for i, name in enumerate(header[1:], start=1):
        found = _YEAR.match(_key(name).replace(" ", "_"))
        if found:
            years.append((i, int(found.group(1))))
        elif _key(name).startswith("var"):
            change_col = i
    if kind is None or not years:
        raise DataFormatError(
            _("this is not a DEVIDA coca table: the first column must be the department or "
              "the coca zone, and the others years (2020 or ha_2020)"),
            hint=_("give the coca table by department or by zone"),
            source=str(path),
        )
    out: list[CocaRow] = []
    total: CocaRow | None = None
    percent = False
    for n, raw in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in raw] + [""] * (len(header) - len(raw))
        name = cells[0]
        if not name:
            raise DataFormatError(_("row {row} has no name", row=n),
                                  hint=_("fix the first cell of the row"), source=str(path))
        hectares = {year: _number(cells[i], path, n, header[i]) for i, year in years}
        change = None
        if change_col is not None:
            percent = percent or cells[change_col].endswith("%")
            change = _number(cells[change_col], path, n, header[change_col])
        row = CocaRow(name=name, hectares=hectares, change=change)
        if _key(name) in _TOTAL_NAMES:
            total = row
        else:
            out.append(row)
    unit = None if change_col is None else ("%" if percent or kind == "zone" else "ha")
    return CocaTable(kind=kind, source=path.name, sha256=sha,
                     years=tuple(y for _i, y in years), rows=tuple(out), total=total,
                     change_unit=unit)


def read_forest_loss(path: Path) -> ForestLossTable:
    """Geobosques' annual forest loss by district (see the module text)."""
    path = Path(path)
    rows, sha = _read_rows(path)
    header = [h.strip() for h in rows[0]]
    keys = [_key(h) for h in header]
    try:
        col_ubigeo = keys.index("ubigeo")
    except ValueError:
        raise DataFormatError(
            _("this is not a Geobosques table of forest loss by district: it has no UBIGEO "
              "column"),
            hint=_("give the table of forest loss by district from Geobosques"),
            source=str(path),
        ) from None

    def col(*names: str) -> int | None:
        return next((keys.index(n) for n in names if n in keys), None)

    col_dep = col("departamento", "department")
    col_prov = col("provincia", "province")
    col_dist = col("distrito", "district")
    years: list[tuple[int, int]] = []
    col_forest: int | None = None
    for i, k in enumerate(keys):
        found = _YEAR.match(k.replace(" ", "_"))
        if found:
            years.append((i, int(found.group(1))))
        elif k.startswith("bosque"):
            col_forest = i
    if not years:
        raise DataFormatError(
            _("the forest loss table has no year columns (2001_ha ... 2024_ha)"),
            hint=_("give the table of forest loss by district from Geobosques"),
            source=str(path),
        )
    out: list[DistrictLoss] = []
    seen: set[str] = set()
    for n, raw in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in raw] + [""] * (len(header) - len(raw))
        code = cells[col_ubigeo]
        if not code.isdigit() or len(code) not in (5, 6):
            raise DataFormatError(
                _("row {row}: {value!r} is not a UBIGEO (six digits)", row=n, value=code),
                hint=_("keep the UBIGEO column as text, with its leading zero"),
                source=str(path),
            )
        code = code.zfill(6)
        if code in seen:
            raise DataFormatError(_("row {row}: UBIGEO {code} appears twice", row=n, code=code),
                                  hint=_("keep one row per district"), source=str(path))
        seen.add(code)
        loss = {}
        for i, year in years:
            value = _number(cells[i], path, n, header[i])
            loss[year] = 0.0 if value is None else value

        def text(i: int | None, cells: list[str] = cells) -> str:
            return "" if i is None else cells[i]

        out.append(DistrictLoss(
            ubigeo=code, department=text(col_dep), province=text(col_prov),
            district=text(col_dist), loss_ha=loss,
            forest_ha=None if col_forest is None
            else _number(cells[col_forest], path, n, header[col_forest]),
        ))
    return ForestLossTable(source=path.name, sha256=sha, years=tuple(y for _i, y in years),
                           rows=tuple(out))
