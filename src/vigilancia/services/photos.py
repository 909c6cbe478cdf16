"""The photos of a case as the web pages show them: small copies without metadata.

A page never serves a kept original (its EXIF may hold the exact point where a monitor
stood): :func:`case_photo` makes (once) or finds the resized copy of one of the case's
photos through :func:`vigilancia.services.derived.derive_copies` (no EXIF, GPS or XMP;
recorded in the custody log the first time) and gives the file to send. The page lists
each photo with the SHA-256 of its original, so that whoever holds the original can
check it.

>>> photo = case_photo(store, settings, "C-0001", sha, actor="ana")  # doctest: +SKIP
>>> photo.path.name, photo.original_sha256 == sha  # doctest: +SKIP
('5b2e...jpg', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilancia.config import Settings
from vigilancia.domain.evidence import CopyKind
from vigilancia.errors import NotFoundError
from vigilancia.i18n import _
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.cases import parse_case_id
from vigilancia.services.custody import case_evidence
from vigilancia.services.derived import derive_copies, is_picture

__all__ = ["THUMBNAIL_PX", "CasePhoto", "case_photo"]

#: Longest side (pixels) of the copies the case page shows.
THUMBNAIL_PX = 480


@dataclass(frozen=True)
class CasePhoto:
    """A copy of a case's photo to send to a browser: the file, its media type and hash,
    and the SHA-256 of the original it was made from."""

    path: Path
    media_type: str
    sha256: str
    original_sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the file's name, not its folder)."""
        return {"name": self.path.name, "media_type": self.media_type, "sha256": self.sha256,
                "original_sha256": self.original_sha256}


def case_photo(store: WorkspaceStore, settings: Settings, case: str | int, sha256: str, *,
               actor: str) -> CasePhoto:
    """The resized copy (at most :data:`THUMBNAIL_PX` pixels, no metadata) of the photo
    whose original has ``sha256``, a photo of ``case``;
    :class:`~vigilancia.errors.NotFoundError` when the case has no such photo or no copy
    can be made of it."""
    case_id = parse_case_id(case)
    store.cases.get(case_id)  # NotFoundError for an unknown case
    wanted = sha256.strip().lower()
    files = [f for f in case_evidence(store, case_id)
             if f.sha256 == wanted and (is_picture(f.name) or is_picture(f.stored_path))]
    if not files:
        raise NotFoundError(_("Case C-{id:04d} has no photo with this hash", id=case_id),
                            hint=_("open the case's page again"))
    made = derive_copies(store, settings, kind=CopyKind.RESIZED, actor=actor,
                         shas=[wanted], max_px=THUMBNAIL_PX)
    if not made.copies:
        reason = made.skipped[0].message if made.skipped else ""
        raise NotFoundError(_("No copy could be made of this photo: {reason}", reason=reason),
                            hint=_("the kept file may be missing or damaged: check the evidence"))
    copy = made.copies[0]
    path = store.dir / copy.stored_path
    suffix = path.suffix.lower()
    media = {".png": "image/png", ".webp": "image/webp"}.get(suffix, "image/jpeg")
    return CasePhoto(path, media, copy.sha256, copy.original_sha256)
