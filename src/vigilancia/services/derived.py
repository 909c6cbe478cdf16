"""Copies of kept photos: resized for reports and the web, or stripped of metadata for sharing.

The originals under ``evidencia/`` are only read, never changed. Each copy is a
separate file under ``derivados/`` (content-addressed, read-only), listed in
``derived_files`` with the original it came from, and gets a *derived* entry in the
custody log naming both hashes (the original's first). A copy is made once per
original, kind and size: asking again returns the one made before.

Both kinds carry no metadata at all (no EXIF camera, time or GPS, no drone XMP):
:attr:`CopyKind.RESIZED` is at most ``max_px`` pixels on its longest side
(:data:`DEFAULT_MAX_PX` for reports and the web); :attr:`CopyKind.STRIPPED` keeps
the full size, to share a photo without saying where it was taken.

>>> res = derive_copies(store, Settings(), case="C-0003", kind=CopyKind.STRIPPED,
...                     actor="ana")  # doctest: +SKIP
>>> [c.stored_path for c in res.copies]  # doctest: +SKIP
['derivados/3f/3f9c...e1.jpg']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from vigilancia.config import Settings
from vigilancia.domain.codes import codes_text, parse_code
from vigilancia.domain.evidence import CopyKind, CustodyAction, sha256_hex
from vigilancia.errors import InputError, VigilanciaError, action
from vigilancia.i18n import _, get_language
from vigilancia.io.evidence import (
    DERIVED_DIR,
    IMAGE_SUFFIXES,
    content_path,
    keep_bytes,
    render_copy,
)
from vigilancia.io.store import DerivedFileRecord, FieldFileRecord, WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.cases import parse_case_id
from vigilancia.services.custody import case_evidence, file_cases, record_custody

__all__ = [
    "DEFAULT_MAX_PX",
    "CopyKind",
    "DeriveResult",
    "DerivedCopy",
    "SkippedFile",
    "derive_copies",
    "is_picture",
]

#: Longest side (pixels) of the resized copies for reports and the web.
DEFAULT_MAX_PX = 1600


#: The custody reason of each kind (the log is kept in Spanish, the workspace's language).
_REASONS = {
    CopyKind.RESIZED: "copia reducida (máx. {px} px, sin metadatos) para informes y la web",
    CopyKind.STRIPPED: "copia sin metadatos (EXIF, GPS, XMP) para compartir",
}


@dataclass(frozen=True)
class DerivedCopy:
    """A copy of a kept photo: the original's hash and name, the kind, its longest side
    limit (``max_px``, 0 = full size), the copy's hash, where it is kept (relative to
    the workspace), width and height (pixels), size (bytes), and whether this call made
    it."""

    original_sha256: str
    name: str
    kind: CopyKind
    max_px: int
    sha256: str
    stored_path: str
    width: int
    height: int
    size: int
    made: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field."""
        return {"original_sha256": self.original_sha256, "name": self.name,
                "kind": self.kind, "max_px": self.max_px, "sha256": self.sha256,
                "stored_path": self.stored_path, "width": self.width, "height": self.height,
                "size": self.size, "made": self.made}


@dataclass(frozen=True)
class SkippedFile:
    """A photo no copy could be made of, and why (for a person)."""

    name: str
    sha256: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``name``, ``sha256`` and ``message``."""
        return {"name": self.name, "sha256": self.sha256, "message": self.message}


@dataclass(frozen=True)
class DeriveResult:
    """What :func:`derive_copies` did: every copy (made now or before), in the order of the
    originals, and the photos skipped."""

    copies: tuple[DerivedCopy, ...]
    skipped: tuple[SkippedFile, ...] = ()

    @property
    def made(self) -> int:
        """How many copies this call made."""
        return sum(c.made for c in self.copies)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: counts, copies and skipped photos."""
        return {"made": self.made, "existing": len(self.copies) - self.made,
                "copies": list(self.copies), "skipped": list(self.skipped)}


def is_picture(name: str) -> bool:
    """Whether a kept file is a photo copies can be made of (by its suffix)."""
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in IMAGE_SUFFIXES


def _copy(record: DerivedFileRecord, name: str, made: bool) -> DerivedCopy:
    return DerivedCopy(record.original_sha256, name, CopyKind(record.kind), record.max_px,
                       record.sha256, record.stored_path, record.width, record.height,
                       record.size, made)


def derive_copies(
    store: WorkspaceStore,
    settings: Settings,
    *,
    kind: CopyKind | str,
    actor: str,
    case: str | int | None = None,
    shas: Iterable[str] | None = None,
    max_px: int | None = None,
    progress: Progress | None = None,
) -> DeriveResult:
    """Make (or find) copies of the kept photos of ``case``, of the files ``shas``, or of
    every kept photo; see the module text.

    ``kind``: a :class:`CopyKind`, or its code in either language (``reducida``,
    ``stripped``...). ``max_px``: longest side of a resized copy (default :data:`DEFAULT_MAX_PX`; a
    stripped copy keeps the full size). A photo whose kept file no longer matches its
    hash, or that is no picture, is skipped and named. Raises
    :class:`~vigilancia.errors.InputError` for a size under 16 px, and
    :class:`~vigilancia.errors.StoreError` when a copy cannot be written.
    """
    tick = progress or no_progress
    parsed = parse_code(CopyKind, kind)
    if parsed is None:
        raise InputError(_("the kind of copy must be one of: {kinds}",
                           kinds=codes_text(CopyKind, get_language())), inputs="kind")
    kind = parsed
    if kind is CopyKind.STRIPPED:
        limit = 0
    else:
        limit = DEFAULT_MAX_PX if max_px is None else int(max_px)
        if limit < 16:
            raise InputError(_("the longest side of a copy must be at least 16 pixels"),
                             inputs="max_px")
    case_id = None if case is None else parse_case_id(case)
    if case_id is not None:
        store.cases.get(case_id)  # NotFoundError for an unknown case
        wanted = [f.sha256 for f in case_evidence(store, case_id)]
        originals = store.field_files.list(wanted)
    elif shas is not None:
        originals = store.field_files.list(list(shas))
    else:
        originals = store.field_files.list()
    photos = [f for f in originals if is_picture(f.name) or is_picture(f.stored_path)]
    done: dict[str, DerivedCopy] = {}
    fresh: list[tuple[FieldFileRecord, dict[str, Any]]] = []
    skipped: list[SkippedFile] = []
    for n, f in enumerate(photos, start=1):
        tick("Making copies", n - 1, len(photos))
        found = store.derived_files.find(f.sha256, kind.value, limit)
        if found is not None:
            done[f.sha256] = _copy(found, f.name, False)
            continue
        try:
            row = _render(store.dir, f, kind, limit)
        except VigilanciaError as exc:
            skipped.append(SkippedFile(f.name, f.sha256, exc.message))
            continue
        fresh.append((f, row))
    tick("Making copies", len(photos), len(photos))
    if fresh:
        with store.transaction() as conn:
            cases = file_cases(store, conn) if case_id is None else {}
            for f, row in fresh:
                found = store.derived_files.find(f.sha256, kind.value, limit, conn=conn)
                if found is not None:  # another process made it meanwhile
                    done[f.sha256] = _copy(found, f.name, False)
                    continue
                store.derived_files.add(conn, [row])
                owners = cases.get(f.sha256, set())
                record_custody(
                    store, conn, action=CustodyAction.DERIVED, actor=actor,
                    reason=_REASONS[kind].format(px=limit), settings=settings,
                    case_id=case_id if case_id is not None
                    else (next(iter(owners)) if len(owners) == 1 else None),
                    sha256s=(f.sha256, row["sha256"]))
                done[f.sha256] = _copy(DerivedFileRecord(**row), f.name, True)
    return DeriveResult(tuple(done[f.sha256] for f in photos if f.sha256 in done),
                        tuple(skipped))


def _render(workspace: Path, original: FieldFileRecord, kind: CopyKind,
            max_px: int) -> dict[str, Any]:
    """Make one copy on disk (checking the original first); its ``derived_files`` row."""
    path = workspace / original.stored_path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(_("the kept file is missing or cannot be read"),
                         hint=_("verify the workspace's evidence and restore the file from "
                                "a backup"),
                         source=original.stored_path, actions=action("evidence.verify")) from exc
    if sha256_hex(data) != original.sha256:
        raise InputError(_("the kept file no longer matches its SHA-256: no copy is made of it"),
                         hint=_("verify the workspace's evidence and restore the file from "
                                "a backup"),
                         source=original.stored_path, actions=action("evidence.verify"))
    rendered = render_copy(data, max_px=max_px if kind is CopyKind.RESIZED else None,
                           source=original.name)
    sha = sha256_hex(rendered.data)
    rel = content_path(DERIVED_DIR, sha, ".jpg")
    keep_bytes(workspace, rel, rendered.data, sha)
    return {"original_sha256": original.sha256, "kind": kind.value, "max_px": max_px,
            "sha256": sha, "size": len(rendered.data), "width": rendered.width,
            "height": rendered.height, "stored_path": str(rel),
            "created_at": datetime.now(UTC)}
