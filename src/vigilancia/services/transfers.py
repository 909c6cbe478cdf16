"""Files that cross the web app: field data uploaded from a browser, packages downloaded.

- :func:`import_uploads` takes the files a browser sent (several at once), writes each
  to a private folder of the workspace (``subidas/<time>-<account>/``, owner-only),
  imports it with :func:`vigilancia.services.field.import_field` (the same importers,
  evidence keeping and case matching as ``vigilancia field import``) and gives the
  result of each file on its own. The uploaded copies are removed afterwards: the
  evidence folder keeps the originals byte for byte. Texts name each file by the
  name it was uploaded with, never by a path of the server.
- :func:`package_download` builds a community's offline package as a ZIP in a private
  temporary folder (the caller removes it once sent) and records who downloaded it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from vigilancia.config import Settings
from vigilancia.errors import InputError, StoreError, VigilanciaError
from vigilancia.i18n import _
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.field import FieldImportResult, FileProblem, import_field
from vigilancia.services.package import PackageMapRenderer, PackageResult, build_package

__all__ = [
    "MAX_UPLOAD_BYTES",
    "UPLOAD_DIR",
    "FileImport",
    "PackageDownload",
    "Upload",
    "UploadResult",
    "import_uploads",
    "package_download",
    "safe_name",
]

#: Folder of the workspace where uploads wait while they are imported.
UPLOAD_DIR = "subidas"
#: Largest upload, all files together (bytes): 2 GiB (drone photos are large).
MAX_UPLOAD_BYTES = 2 * 1024**3
#: Most files in one upload.
MAX_FILES = 500
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name the browser gave and its content (a readable binary
    file object)."""

    name: str
    content: IO[bytes]


@dataclass(frozen=True)
class FileImport:
    """The import of one uploaded file: its name, and what the import did
    (:class:`~vigilancia.services.field.FieldImportResult`) or why it failed."""

    name: str
    result: FieldImportResult | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``name``, ``ok`` and the import's JSON form (or ``error``)."""
        out: dict[str, Any] = {"name": self.name, "ok": self.result is not None
                               and self.error is None and not self.result.failures}
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class UploadResult:
    """The imports of every file of one upload, in the order they came."""

    files: tuple[FileImport, ...]

    def to_dict(self) -> dict[str, Any]:
        """``files`` (one entry each) and the totals ``observations_added`` and ``failed``."""
        return {
            "files": list(self.files),
            "observations_added": sum(f.result.observations_added for f in self.files
                                      if f.result is not None),
            "failed": sum(1 for f in self.files if not f.to_dict()["ok"]),
        }


def safe_name(name: str) -> str:
    """The last part of an uploaded file's name, with anything but letters, digits and
    ``. - _ ( )`` and spaces replaced (never empty, never hidden).

    >>> safe_name("../../etc/passwd"), safe_name("C:\\\\fotos\\\\Día 1.JPG"), safe_name("..")
    ('passwd', 'Día 1.JPG', 'archivo')
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[:120]
    return base or "archivo"


def _owner_only_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def import_uploads(store: WorkspaceStore, settings: Settings, uploads: Iterable[Upload], *,
                   actor: str) -> UploadResult:
    """Import each uploaded file on its own (see the module text); ``actor`` is recorded
    in the audit log and in the history of the cases an import opens.

    Raises :class:`~vigilancia.errors.InputError` when no file came, when there are more
    than :data:`MAX_FILES` or when together they pass :data:`MAX_UPLOAD_BYTES`.
    """
    items = list(uploads)
    if not items:
        raise InputError(_("No files to import"), inputs="files",
                         hint=_("choose one or more files: .zip, .csv, .geojson, .gpx, "
                                ".kml, .kmz, .jpg"))
    if len(items) > MAX_FILES:
        raise InputError(_("Too many files at once: {n} (at most {max})", n=len(items),
                           max=MAX_FILES), inputs="files")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = store.dir / UPLOAD_DIR / f"{stamp}-{safe_name(actor)}"
    try:
        _owner_only_dir(folder)
    except OSError as exc:
        raise StoreError(_("the uploaded files could not be written in the workspace"),
                         hint=_("check that the disk is not full")) from exc
    try:
        paths = _write_all(items, folder)
        results = []
        for (name, path) in paths:
            results.append(_import_one(store, settings, name, path, folder, actor))
        return UploadResult(tuple(results))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_all(items: list[Upload], folder: Path) -> list[tuple[str, Path]]:
    total = 0
    out: list[tuple[str, Path]] = []
    used: set[str] = set()
    for i, item in enumerate(items):
        name = safe_name(item.name)
        # the same name twice: each in a folder of its own, so both keep their name
        sub = folder / (str(i) if name.casefold() in used else "")
        used.add(name.casefold())
        _owner_only_dir(sub)
        path = sub / name
        with path.open("xb") as fh:
            while chunk := item.content.read(1024 * 1024):
                total += len(chunk)
                if total > MAX_UPLOAD_BYTES:
                    raise InputError(_("The upload is too large: more than {size}",
                                       size="2 GiB"), inputs="files",
                                     hint=_("send the files in several uploads"))
                fh.write(chunk)
        os.chmod(path, 0o600)
        out.append((name, path))
    return out


def _import_one(store: WorkspaceStore, settings: Settings, name: str, path: Path,
                folder: Path, actor: str) -> FileImport:
    try:
        result = import_field(store, settings, [path], actor=actor)
    except VigilanciaError as exc:
        if isinstance(exc, StoreError):
            raise
        return FileImport(name, None, _plain(exc.user_text(), folder))
    now = datetime.now(UTC)
    with store.transaction() as conn:
        store.audit.add(conn, actor=actor, action="field.import", at=now, target=name,
                        detail={"observations_added": result.observations_added,
                                "files_kept": result.files_kept,
                                "new_cases": [f"C-{c:04d}" for c in result.new_cases]})
    return FileImport(name, _named(result, folder))


def _plain(text: str, folder: Path) -> str:
    """``text`` with the upload folder's path taken out (files are named as uploaded)."""
    for prefix in (str(folder) + os.sep, str(folder)):
        text = text.replace(prefix, "")
    return text


def _named(result: FieldImportResult, folder: Path) -> FieldImportResult:
    def fix(p: FileProblem) -> FileProblem:
        return FileProblem(_plain(p.source, folder), _plain(p.message, folder))

    tracks = tuple(replace(t, source=_plain(t.source, folder)) for t in result.tracks)
    return replace(result, warnings=tuple(fix(p) for p in result.warnings),
                   failures=tuple(fix(p) for p in result.failures), tracks=tracks)


# --------------------------------------------------------------------------- packages


@dataclass(frozen=True)
class PackageDownload:
    """A package built for download: the ZIP (in a private temporary ``folder`` that the
    caller removes once it is sent), the name to send it under and what it holds."""

    path: Path
    folder: Path
    filename: str
    package: PackageResult

    def to_dict(self) -> dict[str, Any]:
        """The package's JSON form, without the server's paths."""
        return self.package.to_dict() | {"output": self.filename}


def package_download(store: WorkspaceStore, settings: Settings, territory: str | int, *,
                     render_map: PackageMapRenderer, actor: str,
                     paper: str = "a4") -> PackageDownload:
    """Build the offline package of one community (its open cases and newest patrol plan)
    as a ZIP for download, and record who downloaded it in the audit log."""
    folder = Path(tempfile.mkdtemp(prefix="vigilancia-paquete-"))
    try:
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        result = build_package(store, settings, territory=territory,
                               output=folder / "paquete.zip", render_map=render_map,
                               paper=paper)
        filename = f"paquete_{safe_name(result.territory).replace(' ', '_')}_{stamp}.zip"
        with store.transaction() as conn:
            store.audit.add(conn, actor=actor, action="package.download",
                            at=datetime.now(UTC), target=result.territory,
                            detail={"cases": result.cases, "plan_id": result.plan_id,
                                    "bytes": result.total_bytes})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PackageDownload(folder / "paquete.zip", folder, filename, result)
