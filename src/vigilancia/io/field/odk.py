"""ODK Central and KoboToolbox submissions: CSV, or a ZIP/folder with the CSV and its media.

ODK Central's "download all" is a ZIP with ``<form>.csv`` (groups joined with
``-``), one CSV per repeat group (with a ``PARENT_KEY`` column, not imported) and
``media/``. KoboToolbox exports CSV with groups joined with ``/`` and, by
default, ``;`` between columns. Both are read:

- **delimiter**: comma, semicolon or tab, chosen from the header line (quotes
  respected). A header that splits into one column, or rows with another number
  of values than the header, are errors that name the file and the row;
- **location**: a geopoint as split columns (Central's ``<name>-Latitude``,
  ``-Longitude``, ``-Altitude``, ``-Accuracy``; Kobo's ``_<name>_latitude``,
  ``_longitude``, ``_altitude``, ``_precision``) or as one ``"lat lon alt acc"``
  column; the form's ``arrival_location`` is preferred, else the first. A table
  with no location column at all is an error. Decimal commas are accepted;
- **id**: ``KEY``, ``instanceID`` (any group), ``_uuid`` or ``_id``, else the row;
- **time**: the form's ``arrival_time``, else ``start``, else ``SubmissionDate`` /
  ``_submission_time`` (UTC); ``end`` is the end time;
- **verification answers** (the shipped XLSForm): ``case_id``, ``reached``,
  ``verdict`` (choice name or label in Spanish or English -> a verdict),
  ``notes``, ``approach_with_care``;
- **media**: cells naming a photo, audio or video file found in the export.

Export from KoboToolbox with "XML values and headers": with label headers the
questions cannot be recognised (the location still is, by its values).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from shapely.geometry import Point

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
from vigilancia.io.field.xlsform import verdict_choices, verdict_from_answer

__all__ = ["OdkImporter", "sniff_delimiter"]

DELIMITERS = (",", ";", "\t")
_MEDIA_SUFFIXES = frozenset(
    (".jpg", ".jpeg", ".png", ".heic", ".webp", ".gif", ".mp4", ".3gp", ".mov", ".m4a", ".amr",
     ".aac", ".ogg", ".wav", ".mp3", ".pdf")
)
_ODK_MARKERS = ("submissiondate", "key", "instanceid", "_uuid", "_submission_time", "-latitude",
                "_latitude", "attachmentsexpected", "deviceid", "formversion")
_YES = frozenset(("yes", "si", "sí", "true", "1", "y", "s"))
_NO = frozenset(("no", "false", "0", "n"))
_NUM = r"[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?"
_GEOPOINT = re.compile(rf"^\s*({_NUM})\s+({_NUM})(?:\s+({_NUM}))?(?:\s+({_NUM}))?\s*$")
_TIME_FIELDS = ("arrival_time", "start")


def _field(column: str) -> str:
    """A column's question name without its group path (Central ``g-q``, Kobo ``g/q``)."""
    return re.split(r"[/-]", column)[-1]


def _number(text: str) -> float:
    t = text.strip()
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    return float(t)


def sniff_delimiter(header_line: str) -> tuple[str, int]:
    """The delimiter (comma, semicolon or tab) that splits a header line into most columns."""
    best = (",", 1)
    for delim in DELIMITERS:
        n = len(next(csv.reader([header_line], delimiter=delim), []))
        if n > best[1]:
            best = (delim, n)
    return best


def _delimiter_name(delim: str) -> str:
    if delim == ";":
        return _("semicolons")
    if delim == "\t":
        return _("tabs")
    return _("commas")


@dataclass(frozen=True)
class _Geo:
    """Where one geopoint is in the table: split columns or one combined column."""

    name: str
    lat: str | None = None
    lon: str | None = None
    alt: str | None = None
    acc: str | None = None
    combined: str | None = None


def _geopoints(header: Sequence[str], rows: Sequence[dict[str, str]]) -> list[_Geo]:
    cols = list(header)
    found: dict[str, _Geo] = {}
    lower = {c.lower(): c for c in cols}
    for c in cols:
        low = c.lower()
        if low.endswith("-latitude"):  # ODK Central / Briefcase
            prefix = c[: -len("-latitude")]
            lon = lower.get(f"{prefix}-longitude".lower())
            if lon:
                found[prefix] = _Geo(
                    prefix, lat=c, lon=lon,
                    alt=lower.get(f"{prefix}-altitude".lower()),
                    acc=lower.get(f"{prefix}-accuracy".lower()),
                )
        elif low.startswith("_") and low.endswith("_latitude"):  # KoboToolbox
            prefix = c[1: -len("_latitude")]
            lon = lower.get(f"_{prefix}_longitude".lower())
            if lon:
                found[prefix] = _Geo(
                    prefix, lat=c, lon=lon,
                    alt=lower.get(f"_{prefix}_altitude".lower()),
                    acc=lower.get(f"_{prefix}_precision".lower()),
                )
    split_prefixes = set(found)
    for c in cols:
        if c in split_prefixes or c in found:
            continue
        values = [r.get(c, "") for r in rows if r.get(c, "").strip()]
        sample = values[:20]
        if sample and all(_GEOPOINT.match(v) for v in sample) and any(
            len(v.split()) >= 2 for v in sample
        ):
            found[c] = _Geo(c, combined=c)
    ordered = sorted(found.values(), key=lambda g: cols.index(g.lat or g.combined or cols[0]))
    ordered.sort(key=lambda g: _field(g.name) != "arrival_location")
    return ordered


@register_importer
class OdkImporter:
    """ODK Central / Briefcase and KoboToolbox CSV exports, alone or with their media."""

    name = "odk"
    title = "ODK Central / KoboToolbox (.csv, or .zip/folder with media/)"

    def sniff(self, probe: Probe) -> int:
        if probe.is_container:
            csvs = [m for m in probe.members or () if m.lower().endswith(".csv")]
            if not csvs:
                return 0
            if any(m.lower().endswith(".geojson") for m in probe.members or ()):
                return 20
            return 70
        text = probe.head_text()
        first = text.split("\n", 1)[0]
        marked = any(m in first for m in _ODK_MARKERS)
        if probe.suffix == ".csv":
            return 85 if marked else 40
        return 60 if marked and probe.suffix in (".tsv", ".txt") else 0

    def read(self, path: Path, *, source: str, options: ImportOptions) -> FieldImport:
        with open_bundle(path, source, options) as bundle:
            table = self._main_table(bundle)
            label = bundle.label(table)
            header, rows, warnings = self._parse(bundle.read(table), label)
            observations, used = self._rows(header, rows, label, bundle, warnings, options)
            files = bundle.consumed([table], used)
        return FieldImport(
            format=self.name,
            source=source,
            observations=tuple(observations),
            files=tuple(files),
            warnings=tuple(warnings),
        )

    # -- the table --------------------------------------------------------------------------

    def _main_table(self, bundle: Bundle) -> str:
        if bundle.kind == "file":
            return bundle.names[0]
        csvs = [n for n in bundle.names if n.lower().endswith(".csv")]
        if not csvs:
            raise DataFormatError(
                _("the export holds no .csv file"),
                hint=_("download the submissions from ODK Central or KoboToolbox as CSV"),
                source=bundle.source,
            )
        mains = []
        for name in csvs:
            head = bundle.read(name)[:4096].decode("utf-8-sig", errors="replace")
            first = head.split("\n", 1)[0]
            if "PARENT_KEY" not in first:  # repeat-group tables have PARENT_KEY
                mains.append(name)
        if len(mains) != 1:
            mains = sorted(mains or csvs, key=lambda n: (n.count("/"), len(n), n))
        return mains[0]

    def _parse(self, data: bytes, label: str) -> tuple[list[str], list[dict[str, str]], list[str]]:
        warnings: list[str] = []
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
            warnings.append(
                _("{source}: the file is not UTF-8; it was read as Windows-1252", source=label)
            )
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise DataFormatError(
                _("the CSV has no header line"),
                hint=_("download the submissions again as CSV"),
                source=label,
            )
        delim, ncols = sniff_delimiter(lines[0])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        try:
            header = [h.strip() for h in next(reader)]
        except csv.Error as exc:
            raise self._csv_error(label, 1, exc) from exc
        if ncols == 1:
            raise DataFormatError(
                _(
                    "the header line has a single column ({column!r}): the columns are not "
                    "separated by commas, semicolons or tabs",
                    column=header[0][:60],
                ),
                hint=_(
                    "export the submissions again as CSV from ODK Central or KoboToolbox, or "
                    "save the table as 'CSV (comma delimited)'"
                ),
                source=label,
            )
        rows: list[dict[str, str]] = []
        try:
            for values in reader:
                line = reader.line_num
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    raise DataFormatError(
                        _(
                            "row {row} has {n} values but the header has {m} columns "
                            "(separated by {delimiter})",
                            row=line,
                            n=len(values),
                            m=len(header),
                            delimiter=_delimiter_name(delim),
                        ),
                        hint=_(
                            "the row probably uses another separator, or a text with the "
                            "separator is not in quotes; export the submissions again"
                        ),
                        source=label,
                    )
                row = dict(zip(header, values, strict=True))
                row["__line__"] = str(line)
                rows.append(row)
        except csv.Error as exc:
            raise self._csv_error(label, reader.line_num, exc) from exc
        return header, rows, warnings

    @staticmethod
    def _csv_error(label: str, line: int, exc: Exception) -> DataFormatError:
        return DataFormatError(
            _("the CSV is broken at row {row}", row=line),
            hint=_("the file is probably incomplete or was edited by hand: export it again"),
            source=label,
        )

    # -- rows -------------------------------------------------------------------------------

    def _rows(
        self,
        header: list[str],
        rows: list[dict[str, str]],
        label: str,
        bundle: Bundle,
        warnings: list[str],
        options: ImportOptions,
    ) -> tuple[list[FieldObservation], list[str]]:
        geos = _geopoints(header, rows)
        if not geos:
            raise DataFormatError(
                _(
                    "no location column found among the {n} columns ({columns})",
                    n=len(header),
                    columns=", ".join(header[:12]) + (", ..." if len(header) > 12 else ""),
                ),
                hint=_(
                    "the form needs a geopoint question (e.g. arrival_location); if the columns "
                    "look merged, the file uses an unexpected separator: export it again as CSV"
                ),
                source=label,
            )
        geo = geos[0]
        by_field: dict[str, str] = {}
        for c in header:
            by_field.setdefault(_field(c).lower(), c)
        media_cols = [
            c for c in header
            if not c.lower().endswith("_url")
            and any(PurePosixPath(r.get(c, "").strip()).suffix.lower() in _MEDIA_SUFFIXES
                    for r in rows if r.get(c, "").strip())
        ]
        observations: list[FieldObservation] = []
        used: dict[str, None] = {}
        for row in rows:
            line = row.pop("__line__")
            where = f"{label}, " + _("row {row}", row=line)
            point, alt, acc = self._location(row, geo, where)
            record_id = self._record_id(row, by_field) or f"row-{line}"
            attrs: dict[str, Any] = {k: v for k, v in row.items() if v.strip() != ""}
            time = self._first_time(row, by_field, where, attrs, options)
            end_col = by_field.get("end")
            end_time = self._time(row.get(end_col, "") if end_col else "", where, attrs,
                                  options, "end")
            verdict_col = by_field.get("verdict")
            answer = row.get(verdict_col, "") if verdict_col else ""
            try:
                verdict = verdict_from_answer(answer)
            except ValueError as exc:
                raise DataFormatError(
                    _("the verdict {value!r} is not one of the form's verdicts",
                      value=answer[:60]),
                    hint=_("use one of: {choices}", choices=verdict_choices()),
                    source=where,
                ) from exc
            for name in ("reached", "approach_with_care"):
                col = by_field.get(name)
                if col and row.get(col, "").strip():
                    value = row[col].strip().casefold()
                    attrs[name] = True if value in _YES else False if value in _NO else row[col]
            case_col = by_field.get("case_id")
            if case_col and row.get(case_col, "").strip():
                attrs["case_id"] = row[case_col].strip()
            notes_col = by_field.get("notes")
            notes = row.get(notes_col, "").strip() if notes_col else ""
            attachments = []
            for c in media_cols:
                ref = row.get(c, "").strip()
                if not ref:
                    continue
                found = bundle.find(ref) if bundle.kind != "file" else None
                if found is None:
                    warnings.append(
                        _("{where}: the attachment {name} is not in the export",
                          where=where, name=ref)
                    )
                    attachments.append(ref)
                else:
                    used[found] = None
                    attachments.append(found)
            observations.append(
                FieldObservation(
                    source_format=self.name,
                    source_file=bundle.source,
                    record_id=record_id,
                    kind=ObservationKind.FORM,
                    geometry=point,
                    time=time,
                    end_time=end_time,
                    altitude_m=alt,
                    accuracy_m=acc,
                    attributes=attrs,
                    verdict=verdict,
                    notes=notes or None,
                    attachments=tuple(attachments),
                )
            )
        return observations, list(used)

    @staticmethod
    def _location(
        row: dict[str, str], geo: _Geo, where: str
    ) -> tuple[Point | None, float | None, float | None]:
        try:
            if geo.combined is not None:
                text = row.get(geo.combined, "").strip()
                if not text:
                    return None, None, None
                m = _GEOPOINT.match(text)
                if m is None:
                    raise ValueError(text)
                lat, lon = _number(m[1]), _number(m[2])
                alt = _number(m[3]) if m[3] else None
                acc = _number(m[4]) if m[4] else None
            else:
                assert geo.lat is not None and geo.lon is not None
                lat_text, lon_text = row.get(geo.lat, "").strip(), row.get(geo.lon, "").strip()
                if not lat_text and not lon_text:
                    return None, None, None
                lat, lon = _number(lat_text), _number(lon_text)
                alt_text = row.get(geo.alt, "").strip() if geo.alt else ""
                acc_text = row.get(geo.acc, "").strip() if geo.acc else ""
                alt = _number(alt_text) if alt_text else None
                acc = _number(acc_text) if acc_text else None
        except ValueError as exc:
            raise DataFormatError(
                _("the location {column} is not a latitude and longitude", column=geo.name),
                hint=_("a geopoint is written 'latitude longitude altitude accuracy'"),
                source=where,
            ) from exc
        check_lonlat(lon, lat, where)
        return Point(lon, lat), alt, acc

    @staticmethod
    def _record_id(row: dict[str, str], by_field: dict[str, str]) -> str | None:
        for key in ("key", "instanceid", "_uuid", "_id"):
            col = by_field.get(key)
            if col and row.get(col, "").strip():
                return row[col].strip()
        return None

    def _first_time(
        self,
        row: dict[str, str],
        by_field: dict[str, str],
        where: str,
        attrs: dict[str, Any],
        options: ImportOptions,
    ) -> Any:
        for name in _TIME_FIELDS:
            col = by_field.get(name)
            if col and row.get(col, "").strip():
                t = self._time(row[col], where, attrs, options, name)
                if t is not None:
                    return t
        for col in ("SubmissionDate", "_submission_time"):
            if row.get(col, "").strip():
                return self._time(row[col], where, attrs, options, col, naive_is_utc=True)
        return None

    @staticmethod
    def _time(
        value: str,
        where: str,
        attrs: dict[str, Any],
        options: ImportOptions,
        column: str,
        *,
        naive_is_utc: bool = False,
    ) -> Any:
        if not value.strip():
            return None
        try:
            parsed = parse_time(
                value, assume_offset=options.assume_utc_offset, naive_is_utc=naive_is_utc
            )
        except ValueError as exc:
            raise DataFormatError(
                _("{column} {value!r} is not a date and time", column=column, value=value[:40]),
                hint=_("ODK times look like 2024-05-01T14:30:00.000-05:00"),
                source=where,
            ) from exc
        if parsed.utc is None and parsed.local_text:
            attrs.setdefault(f"{column}_local", parsed.local_text)
        return parsed.utc
