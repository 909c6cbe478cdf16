"""The registry of field importers, format detection and importing many paths at once.

Each importer handles one format. Built-ins register with
:func:`register_importer` when :mod:`vigilancia.io.field` is imported, exactly
as a plugin would; plugins may also declare an entry point in the group
``vigilancia.field_importers`` that names an importer object or class.

:func:`detect` asks every importer how sure it is that a path is its format
(by extension and by content: the first bytes of a file, the entries of a ZIP
or folder) and picks the surest. :func:`read_many` imports every readable path
and reports the broken ones by name, so one bad file never stops the others.

>>> results, failures = read_many(["track.gpx", "fotos/", "export.zip"])  # doctest: +SKIP
>>> [(f.source, f.error.user_text()) for f in failures]  # doctest: +SKIP
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path, PurePosixPath
from typing import Protocol, TypeVar, runtime_checkable

from vigilancia.domain.field import FieldImport
from vigilancia.errors import DataFormatError, UnreadableFileError, VigilanciaError
from vigilancia.i18n import _
from vigilancia.io.field.common import HEAD_BYTES, ImportOptions

__all__ = [
    "ENTRY_POINT_GROUP",
    "ImportFailure",
    "Importer",
    "Probe",
    "detect",
    "get_importer",
    "importers",
    "probe",
    "read",
    "read_many",
    "register_importer",
]

ENTRY_POINT_GROUP = "vigilancia.field_importers"


@dataclass(frozen=True)
class Probe:
    """What detection looks at: the name, the first bytes, and the entries of a ZIP or folder.

    ``suffix`` is lower case with its dot (``.gpx``); ``head`` the first 4 KiB of a
    file (empty for a folder); ``members`` the relative names inside a ZIP or
    folder (None for a plain file).
    """

    path: Path
    suffix: str
    head: bytes
    members: tuple[str, ...] | None

    @property
    def is_container(self) -> bool:
        return self.members is not None

    def member_suffixes(self) -> set[str]:
        return {PurePosixPath(m).suffix.lower() for m in self.members or ()}

    def head_text(self) -> str:
        return self.head.decode("utf-8", errors="replace").lower()


@runtime_checkable
class Importer(Protocol):
    """One field format. ``sniff`` returns 0 (not mine) up to 100 (certainly mine)."""

    name: str
    title: str

    def sniff(self, probe: Probe) -> int: ...

    def read(self, path: Path, *, source: str, options: ImportOptions) -> FieldImport: ...


@dataclass(frozen=True)
class ImportFailure:
    """A path that could not be imported, with the error to show (it names the file)."""

    source: str
    error: VigilanciaError


_REGISTRY: dict[str, Importer] = {}
_entry_points_loaded = False

T = TypeVar("T")


def register_importer(obj: T) -> T:
    """Register an importer (an instance, or a class with no arguments); usable as a decorator.

    A later registration under the same ``name`` replaces the earlier one.
    """
    importer = obj() if isinstance(obj, type) else obj
    if not isinstance(importer, Importer):
        raise TypeError(f"{obj!r} is not a field importer (needs name, title, sniff, read)")
    _REGISTRY[importer.name] = importer
    return obj


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        register_importer(ep.load())


def importers() -> dict[str, Importer]:
    """Every registered importer by name, built-ins first."""
    _load_entry_points()
    return dict(_REGISTRY)


def get_importer(name: str) -> Importer:
    """The importer called ``name``, or an InputError listing the known ones."""
    found = importers().get(name)
    if found is None:
        from vigilancia.errors import InputError

        raise InputError(
            _("unknown field format {name}", name=name),
            hint=_("known formats: {names}", names=", ".join(sorted(importers()))),
        )
    return found


def probe(path: Path) -> Probe:
    """The :class:`Probe` of a path (reads at most 4 KiB and a ZIP's directory)."""
    suffix = path.suffix.lower()
    if path.is_dir():
        members = tuple(
            sorted(
                p.relative_to(path).as_posix()
                for p in path.rglob("*")
                if p.is_file() and not any(s.startswith(".") for s in p.relative_to(path).parts)
            )
        )
        return Probe(path, suffix, b"", members)
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    entries: tuple[str, ...] | None = None
    if head[:4] == b"PK\x03\x04" or suffix in (".zip", ".kmz"):
        try:
            with zipfile.ZipFile(path) as zf:
                entries = tuple(n.replace("\\", "/") for n in zf.namelist() if not n.endswith("/"))
        except (zipfile.BadZipFile, OSError, EOFError, struct.error):
            entries = ()
    return Probe(path, suffix, head, entries)


def detect(path: str | Path) -> Importer:
    """The importer for ``path``: the one most sure of it, by extension and content.

    Raises :class:`UnreadableFileError` for a missing or empty file, or one no
    importer recognises (the message lists the formats that are known).
    """
    p = Path(path)
    src = str(path)
    if not p.exists():
        raise UnreadableFileError(
            _("file not found"), hint=_("check the path and the file name"), source=src
        )
    if p.is_file() and p.stat().st_size == 0:
        raise UnreadableFileError(
            _("the file is empty (0 bytes)"),
            hint=_("copy or download it again: the transfer probably failed"),
            source=src,
        )
    found = _best(probe(p))
    if found is None:
        raise UnreadableFileError(
            _("vigilancia does not recognise this file as field data"),
            hint=_("supported: {formats}", formats=_format_list()),
            source=src,
        )
    return found


def _best(pr: Probe) -> Importer | None:
    best: tuple[int, Importer] | None = None
    for importer in importers().values():
        score = importer.sniff(pr)
        if score > 0 and (best is None or score > best[0]):
            best = (score, importer)
    return best[1] if best else None


def _format_list() -> str:
    return "; ".join(i.title for i in importers().values())


def read(
    path: str | Path, *, format: str | None = None, options: ImportOptions | None = None
) -> FieldImport:
    """Import one path (a file, an export folder or a ZIP) with the detected or named importer."""
    importer = get_importer(format) if format else detect(path)
    return importer.read(Path(path), source=str(path), options=options or ImportOptions())


#: Exceptions of third-party readers that mean "this file is broken", not "vigilancia has a bug".
_READER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    OSError,
    EOFError,
    KeyError,
    IndexError,
    struct.error,
    zipfile.BadZipFile,
    UnicodeDecodeError,
    SyntaxError,  # Pillow raises it for some broken images
)


def read_many(
    paths: Iterable[str | Path],
    *,
    options: ImportOptions | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> tuple[list[FieldImport], list[ImportFailure]]:
    """Import every path; broken ones are reported by name while the rest still import.

    A folder that an importer recognises as an export (a CoMapeo export, an
    unzipped ODK Central download) is read as one; any other folder is read file
    by file (hidden files are skipped). Returns the imports in path order and
    the failures, each naming its file.
    """
    opts = options or ImportOptions()
    results: list[FieldImport] = []
    failures: list[ImportFailure] = []
    for path in _expand(paths):
        src = str(path)
        if on_progress is not None:
            on_progress(src)
        try:
            results.append(read(path, options=opts))
        except VigilanciaError as exc:
            opts.budget.release(src)
            if exc.source is None:
                exc.source = src
            failures.append(ImportFailure(src, exc))
        except _READER_ERRORS as exc:
            opts.budget.release(src)
            error = DataFormatError(
                _("the file could not be read"),
                hint=_("check that it opens in the app that made it, and export it again"),
                source=src,
            )
            error.__cause__ = exc
            failures.append(ImportFailure(src, error))
    return results, failures


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            try:
                claimed = _best(probe(p)) is not None
            except OSError:
                claimed = False
            if not claimed:
                out.extend(
                    sorted(
                        f
                        for f in p.rglob("*")
                        if f.is_file()
                        and not any(s.startswith(".") for s in f.relative_to(p).parts)
                    )
                )
                continue
        out.append(p)
    return out

