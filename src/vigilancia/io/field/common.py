"""What every field importer shares: bundles (file, folder or ZIP), hashes, XML and times.

A :class:`Bundle` is what the user gave: one file, a folder (an unzipped export)
or a ZIP archive. It lists and reads its members without extracting anything to
disk, and refuses archives whose entry names would escape a folder
(``../evil.kml``, ``/etc/passwd``, ``C:\\x``) or that expand far beyond their
size (zip bombs). Members are read into memory: field exports are photos and
small tables, not rasters.

XML is only ever parsed through defusedxml (:func:`parse_xml`): entity
declarations (billion laughs) and external references are refused with a clear
error.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element, ParseError  # noqa: S405  (types only; parsing is defused)

import defusedxml
import defusedxml.ElementTree as DefusedET

from vigilancia.domain.field import FieldFile, FileRole
from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import _

__all__ = [
    "DEFAULT_MAX_IMPORT_BYTES",
    "Bundle",
    "ImportBudget",
    "ImportOptions",
    "check_lonlat",
    "file_digest",
    "local_name",
    "open_bundle",
    "parse_time",
    "parse_utc_offset",
    "parse_xml",
    "read_field_file",
    "unsafe_member_reason",
]

#: Default of the largest total (bytes) that the archives of one import may expand to
#: (``VIGILANCIA_FIELD_MAX_IMPORT_MB``): 2048 MB.
DEFAULT_MAX_IMPORT_BYTES = 2048 * 1000 * 1000
#: An archive member (or a whole archive) that expands more than this many times is a
#: zip bomb (photos do not shrink; CSV, JSON and XML shrink 5 to 30 times).
MAX_COMPRESSION_RATIO = 200
#: Members smaller than this (bytes) may shrink any amount (a short, repetitive table);
#: beyond it the ratio is checked.
RATIO_FLOOR_BYTES = 64 * 1024
#: Most members one archive may hold.
MAX_ARCHIVE_MEMBERS = 20_000
#: How much of a file the format sniffers look at.
HEAD_BYTES = 4096


@dataclass
class ImportBudget:
    """How many bytes the archives of one import may still expand to.

    Each archive reserves its whole uncompressed size (as its directory declares it; a
    member that holds more is refused when read) when it is opened; an archive that
    then fails to import gives its share back.
    """

    limit: int = DEFAULT_MAX_IMPORT_BYTES
    reserved: dict[str, int] = field(default_factory=dict)

    @property
    def used(self) -> int:
        """Bytes reserved so far."""
        return sum(self.reserved.values())

    def reserve(self, source: str, size: int) -> None:
        """Reserve ``size`` bytes for the archive ``source``, or raise DataFormatError."""
        if self.used + size > self.limit:
            raise DataFormatError(
                _("the archives of this import expand to {size} MB, more than the {limit} MB "
                  "allowed for one import; nothing was extracted",
                  size=_mb(self.used + size), limit=_mb(self.limit)),
                hint=_("import the archives in several goes, or raise the limit with the "
                       "setting VIGILANCIA_FIELD_MAX_IMPORT_MB"),
                source=source,
            )
        self.reserved[source] = self.reserved.get(source, 0) + size

    def release(self, source: str) -> None:
        """Give back what the archive ``source`` reserved (it was not imported)."""
        self.reserved.pop(source, None)


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f}" if size >= 10e6 else f"{size / 1e6:.1f}"


@dataclass(frozen=True)
class ImportOptions:
    """Choices that apply to every importer.

    ``assume_utc_offset``: the UTC offset of local times written without one
    (EXIF DateTimeOriginal without OffsetTime, a form answer without a zone),
    e.g. ``timedelta(hours=-5)`` for Peru. When None such times are left out of
    ``time`` (kept as text in the attributes, ``local_time`` or ``<column>_local``).

    ``budget``: what the archives of the import may still expand to (one per import:
    every path read with the same options shares it).
    """

    assume_utc_offset: timedelta | None = None
    budget: ImportBudget = field(default_factory=ImportBudget, compare=False)


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of a file on disk, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def read_field_file(ref: FieldFile) -> bytes:
    """The bytes of a file an importer reported (from disk or from inside its ZIP)."""
    if ref.member is None:
        return Path(ref.path).read_bytes()
    with zipfile.ZipFile(ref.path) as zf:
        return zf.read(ref.member)


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_member_reason(name: str) -> str | None:
    """Why an archive entry name is unsafe to use as a relative path, or None when it is safe."""
    if "\0" in name:
        return _("the name contains a NUL character")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return _("the name is an absolute path")
    if any(part == ".." for part in norm.split("/")):
        return _("the name climbs out of the archive folder with '..'")
    return None


class Bundle:
    """The files of one import: a single file, a folder or a ZIP archive.

    Member names are relative POSIX paths (``media/a.jpg``); a single file has
    one member, its own name.
    """

    def __init__(self, path: Path, source: str, budget: ImportBudget | None = None) -> None:
        self.path = path
        self.source = source
        self._budget = budget
        self.kind = "dir" if path.is_dir() else "zip" if _is_zip(path) else "file"
        self._zip: zipfile.ZipFile | None = None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._digests: dict[str, tuple[str, int]] = {}
        self._names: list[str] = []
        if self.kind == "zip":
            self._open_zip()
        elif self.kind == "dir":
            self._names = sorted(
                p.relative_to(path).as_posix()
                for p in path.rglob("*")
                if p.is_file() and not _hidden(p.relative_to(path))
            )
        else:
            self._names = [path.name]

    # -- construction -------------------------------------------------------------------

    def _open_zip(self) -> None:
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise UnreadableFileError(
                _("the ZIP archive is damaged or incomplete"),
                hint=_("copy or export it again: the transfer probably failed"),
                source=self.source,
            ) from exc
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            self.close()
            raise DataFormatError(
                _("the archive holds {n} entries, more than the {limit} vigilancia reads from "
                  "one archive; nothing was extracted", n=len(infos), limit=MAX_ARCHIVE_MEMBERS),
                hint=_("split the export into several archives, or check where it came from"),
                source=self.source,
            )
        total = 0
        for info in infos:
            reason = unsafe_member_reason(info.filename)
            if reason is not None:
                self.close()
                raise DataFormatError(
                    _(
                        "the archive holds an entry with an unsafe name, {name!r}: {reason}",
                        name=info.filename[:200],
                        reason=reason,
                    ),
                    hint=_(
                        "nothing was extracted; export the data again from the app, or "
                        "check where this archive came from"
                    ),
                    source=self.source,
                )
            if info.is_dir():
                continue
            total += info.file_size
            if (info.file_size > RATIO_FLOOR_BYTES
                    and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)):
                self.close()
                raise self._bomb_error(
                    _("the entry {name} expands {ratio} times (from {packed} to {size} bytes)",
                      name=info.filename[:200],
                      ratio=info.file_size // max(info.compress_size, 1),
                      packed=info.compress_size, size=info.file_size))
            name = info.filename.replace("\\", "/")
            self._infos[name] = info
            self._names.append(name)
        packed = self.path.stat().st_size
        if total > RATIO_FLOOR_BYTES * 1024 and total > MAX_COMPRESSION_RATIO * max(packed, 1):
            self.close()
            raise self._bomb_error(
                _("its {n} entries expand {ratio} times (from {packed} to {size} bytes)",
                  n=len(self._infos), ratio=total // max(packed, 1), packed=packed, size=total))
        if self._budget is not None:
            try:
                self._budget.reserve(self.source, total)
            except DataFormatError:
                self.close()
                raise
        self._names.sort()

    def _bomb_error(self, detail: str) -> DataFormatError:
        return DataFormatError(
            _("the archive expands to far more data than it holds (a zip bomb): {detail}",
              detail=detail),
            hint=_("nothing was extracted; check where this archive came from"),
            source=self.source,
        )

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- access -------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Relative names of every file, sorted."""
        return list(self._names)

    def label(self, name: str) -> str:
        """How a member is named in messages: ``export.zip/media/a.jpg`` or the file path."""
        if self.kind == "file":
            return self.source
        return f"{self.source}/{name}"

    def read(self, name: str) -> bytes:
        """The bytes of one member (also hashed, for :meth:`field_file`)."""
        if self.kind == "zip":
            assert self._zip is not None
            info = self._infos[name]
            try:
                with self._zip.open(info) as fh:
                    data = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise UnreadableFileError(
                    _("the archive entry {name} is damaged", name=name),
                    hint=_("copy or export it again: the transfer probably failed"),
                    source=self.source,
                ) from exc
            if len(data) > info.file_size:
                raise DataFormatError(
                    _("the archive entry {name} is larger than the archive says", name=name),
                    hint=_("nothing was extracted; check where this archive came from"),
                    source=self.source,
                )
        else:
            data = self._file_path(name).read_bytes()
        self._digests[name] = (hashlib.sha256(data).hexdigest(), len(data))
        return data

    def field_file(self, name: str, role: FileRole) -> FieldFile:
        """The :class:`FieldFile` of a member, hashed from its bytes (read if not yet read)."""
        digest = self._digests.get(name)
        if digest is None:
            if self.kind == "zip":
                self.read(name)
                digest = self._digests[name]
            else:
                digest = file_digest(self._file_path(name))
                self._digests[name] = digest
        sha, size = digest
        if self.kind == "zip":
            member = self._infos[name].filename
            return FieldFile(name, str(self.path), sha, size, role, member=member)
        return FieldFile(name, str(self._file_path(name)), sha, size, role)

    def original(self) -> FieldFile | None:
        """The archive or single file itself as given (None for a folder)."""
        if self.kind == "dir":
            return None
        known = self._digests.get(self._names[0]) if self.kind == "file" else None
        sha, size = known or file_digest(self.path)
        return FieldFile(self.path.name, str(self.path), sha, size, FileRole.ORIGINAL)

    def consumed(self, data: Iterable[str], attachments: Iterable[str]) -> list[FieldFile]:
        """Every file an import used: the archive or file as given, then (from an archive or
        folder) the ``data`` members read and the ``attachments`` kept, each once, in order."""
        files: list[FieldFile] = []
        original = self.original()
        if original is not None:
            files.append(original)
        if self.kind != "file":
            files.extend(self.field_file(d, FileRole.DATA) for d in dict.fromkeys(data))
            files.extend(self.field_file(a, FileRole.ATTACHMENT)
                         for a in dict.fromkeys(attachments))
        return files

    def find(self, reference: str) -> str | None:
        """The member an attachment reference points to: same path, else same base name."""
        ref = reference.replace("\\", "/").strip().lstrip("./")
        if not ref:
            return None
        if ref in self._names:
            return ref
        base = PurePosixPath(ref).name
        matches = [n for n in self._names if PurePosixPath(n).name == base]
        return matches[0] if len(matches) == 1 else None

    def _file_path(self, name: str) -> Path:
        if self.kind == "file":
            return self.path
        return self.path / name


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _is_zip(path: Path) -> bool:
    if path.suffix.lower() in (".zip", ".kmz"):
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def open_bundle(path: Path, source: str, options: ImportOptions | None = None) -> Bundle:
    """A :class:`Bundle` for ``path``; missing and empty files are clear errors.

    An archive's size counts against ``options.budget`` (the import's archive limit).
    """
    if not path.exists():
        raise UnreadableFileError(
            _("file not found"), hint=_("check the path and the file name"), source=source
        )
    if path.is_file() and path.stat().st_size == 0:
        raise UnreadableFileError(
            _("the file is empty (0 bytes)"),
            hint=_("copy or download it again: the transfer probably failed"),
            source=source,
        )
    return Bundle(path, source, None if options is None else options.budget)


def check_lonlat(lon: float, lat: float, where: str) -> None:
    """A clear error naming ``where`` (file, row or feature) when lon/lat are out of range."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise DataFormatError(
            _("coordinates out of range: longitude {lon}, latitude {lat}", lon=lon, lat=lat),
            hint=_("latitude must be between -90 and 90 and longitude between -180 and 180"),
            source=where,
        )


# --------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------


def parse_xml(data: bytes, source: str) -> Element:
    """Parse XML through defusedxml; entity bombs, external entities, bad XML: clear errors."""
    try:
        root: Element = DefusedET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise _xml_entities_error(source) from exc
    except ParseError as exc:
        line = getattr(exc, "position", (None, None))[0]
        raise DataFormatError(
            _("the XML is broken near line {line}", line=line if line is not None else "?"),
            hint=_("the file is probably incomplete: copy or export it again"),
            source=source,
        ) from exc
    return root


def _xml_entities_error(source: str) -> DataFormatError:
    return DataFormatError(
        _(
            "the XML declares entities or external references, which vigilancia refuses: "
            "they can exhaust memory (an 'entity bomb') or read other files"
        ),
        hint=_("export the file again from the field app; field apps never write entities"),
        source=source,
    )


def local_name(tag: Any) -> str:
    """An XML tag without its namespace: ``{http://...}Placemark`` -> ``Placemark``."""
    text = str(tag)
    return text.rsplit("}", 1)[-1]


# --------------------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------------------


@dataclass
class TimeResult:
    """A parsed time: UTC-aware, or None with the local text when it had no zone."""

    utc: datetime | None
    local_text: str | None = None
    problems: list[str] = field(default_factory=list)


_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_utc_offset(text: str) -> timedelta:
    """A UTC offset written by a person: ``-05:00``, ``-0500``, ``-5``, ``UTC-5``, ``+05:30``,
    ``Z`` or ``0``. Raises ValueError for anything else, or beyond -12:00..+14:00.

    >>> parse_utc_offset("-05:00") == parse_utc_offset("UTC-5") == timedelta(hours=-5)
    True
    """
    value = text.strip()
    if value.upper() in ("Z", "UTC", "GMT", "0", "+0", "-0", "00:00", "+00:00", "-00:00"):
        return timedelta(0)
    found = _OFFSET.match(value)
    if found is None:
        raise ValueError(f"not a UTC offset: {text!r}")
    hours, minutes = int(found.group(2)), int(found.group(3) or 0)
    if minutes >= 60:
        raise ValueError(f"not a UTC offset: {text!r}")
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if found.group(1) == "-" else 1)
    if not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        raise ValueError(f"not a UTC offset: {text!r}")
    return offset


def parse_time(
    value: Any, *, assume_offset: timedelta | None = None, naive_is_utc: bool = False
) -> TimeResult:
    """An ISO 8601 (or EXIF ``YYYY:MM:DD HH:MM:SS``) time as UTC.

    Times without a zone are UTC when ``naive_is_utc`` (ODK's SubmissionDate,
    Kobo's _submission_time), shifted by ``assume_offset`` when given, and
    otherwise returned as ``local_text`` only. Empty values give ``utc=None``.
    Unparseable text raises ValueError.
    """
    if value is None:
        return TimeResult(None)
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text:
            return TimeResult(None)
        exif = re.fullmatch(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(.*)", text)
        if exif:
            text = f"{exif[1]}-{exif[2]}-{exif[3]}T{exif[4]}{exif[5].strip()}"
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None or dt.utcoffset() is None:
        if naive_is_utc:
            return TimeResult(dt.replace(tzinfo=UTC))
        if assume_offset is not None:
            return TimeResult(dt.replace(tzinfo=timezone(assume_offset)).astimezone(UTC))
        return TimeResult(None, local_text=dt.isoformat())
    return TimeResult(dt.astimezone(UTC))
