"""Evidence files on disk: the kept originals, the derived copies, and how they are checked.

A workspace keeps every field file byte for byte under ``evidencia/`` and the
copies made from them (resized, metadata stripped) under ``derivados/``, both
content-addressed (``<folder>/<sha[:2]>/<sha256><suffix>``) and read-only. This
module writes such files (:func:`keep_bytes`: temporary file, flushed, checked,
made read-only, then renamed; an existing file is never overwritten), lists what
the folders hold (:func:`list_files`), hashes them in parallel
(:func:`hash_files`) and renders the copies (:func:`render_copy`: Pillow).

A copy for sharing keeps only the pixels: EXIF (camera, time, GPS), XMP (a
drone's position and altitude), IPTC, comments and colour profiles are left out,
and the picture is turned upright first (the EXIF orientation is applied), so
that nothing about where or by whom it was taken travels with it.

>>> from io import BytesIO
>>> from PIL import Image
>>> buf = BytesIO(); Image.new("RGB", (400, 300), (30, 120, 50)).save(buf, "PNG")
>>> copy = render_copy(buf.getvalue(), max_px=200)
>>> (copy.width, copy.height), copy.data[:3] == b"\\xff\\xd8\\xff"
((200, 150), True)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError

from vigilancia.errors import DataFormatError, StoreError
from vigilancia.i18n import _
from vigilancia.io.files import make_private, private_dir, temp_file

__all__ = [
    "DERIVED_DIR",
    "EVIDENCE_DIR",
    "EVIDENCE_MODE",
    "IMAGE_SUFFIXES",
    "RenderedCopy",
    "check_kept",
    "content_path",
    "hash_files",
    "keep_bytes",
    "list_files",
    "render_copy",
]

#: Folder of the workspace where field files are kept, content-addressed.
EVIDENCE_DIR = "evidencia"
#: Folder of the workspace where copies made from them are kept.
DERIVED_DIR = "derivados"
#: Suffixes of kept files that copies can be made from (photos).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jfif", ".png", ".tif", ".tiff", ".webp"})
#: Mode of a kept evidence file or copy: read-only, for its owner only.
EVIDENCE_MODE = 0o400
#: JPEG quality of the copies.
COPY_QUALITY = 90
#: Largest picture (pixels) a copy is made from; larger ones are refused as image bombs.
MAX_PIXELS = 200_000_000


def content_path(folder: str, sha256: str, suffix: str) -> PurePosixPath:
    """Where content with that hash is kept, relative to the workspace folder.

    >>> str(content_path("derivados", "ab" + "0" * 62, ".jpg"))[:22]
    'derivados/ab/ab0000000'
    """
    return PurePosixPath(folder) / sha256[:2] / f"{sha256}{suffix}"


def list_files(workspace: Path, folder: str) -> list[str]:
    """Every file under ``workspace/folder`` (hidden ones too), as paths relative to the
    workspace with ``/``, sorted. Links count as files (they are not what was kept)."""
    root = Path(workspace) / folder
    if not root.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        # a linked folder is listed as one entry, never followed
        names = filenames + [d for d in dirnames if (base / d).is_symlink()]
        for name in names:
            out.append((base / name).relative_to(workspace).as_posix())
    return sorted(out)


def _digest(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return ""
    return h.hexdigest()


def hash_files(
    workspace: Path,
    paths: Sequence[str],
    *,
    workers: int = 2,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, str | None]:
    """SHA-256 of each file (relative to ``workspace``), read in 1 MiB chunks by
    ``workers`` threads; None for a file that is not there, "" for a folder in its
    place. ``on_done(n)`` is called as files finish (n: how many so far).

    Raises :class:`StoreError` when a file cannot be read (permissions, a disk error).
    """
    out: dict[str, str | None] = {}
    root = Path(workspace)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for n, (rel, sha) in enumerate(
                    zip(paths, pool.map(lambda p: _digest(root / p), paths), strict=True),
                    start=1):
                out[rel] = sha
                if on_done is not None:
                    on_done(n)
    except OSError as exc:
        raise StoreError(
            _("an evidence file could not be read: {reason}",
              reason=exc.strerror or type(exc).__name__),
            hint=_("check the disk of the workspace and that you may read its files"),
            source=str(getattr(exc, "filename", None) or workspace)) from exc
    return out


def check_kept(workspace: Path, rel: PurePosixPath, sha256: str) -> bool:
    """Whether ``workspace/rel`` is kept already: False when it is not there; True when it
    holds the bytes of ``sha256`` (made owner-only if it was not); :class:`StoreError`
    when it holds other bytes."""
    target = Path(workspace) / rel
    if not target.exists():
        return False
    if _digest(target) != sha256:
        raise StoreError(
            _("the kept copy {path} does not match its SHA-256: it was altered or damaged",
              path=str(rel)),
            hint=_("restore it from a backup; vigilancia never overwrites kept evidence"))
    make_private(target)
    return True


def keep_bytes(workspace: Path, rel: PurePosixPath, data: bytes, sha256: str, *,
               sweep: bool = True) -> None:
    """Keep ``data`` read-only and owner-only (:data:`EVIDENCE_MODE`) at ``workspace/rel``,
    in owner-only folders, unless it is there already.

    The bytes go to a temporary file (:func:`vigilancia.io.files.temp_file`; ``sweep``:
    remove the leftovers of dead runs in that folder first), are flushed, checked
    against ``sha256``, made read-only and only then renamed into place. Raises
    :class:`StoreError` when it cannot be written, or when the file already there does
    not hold those bytes (vigilancia never overwrites kept evidence).
    """
    target = Path(workspace) / rel
    if check_kept(workspace, rel, sha256):
        return
    tmp: Path | None = None
    try:
        private_dir(Path(workspace) / rel.parts[0])
        private_dir(target.parent)
        fd, tmp = temp_file(target.parent, suffix=".part", sweep=sweep)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if _digest(tmp) != sha256:
            raise StoreError(
                _("the copy written to {path} does not match what was meant to be written",
                  path=str(rel)),
                hint=_("check the disk of the workspace (it may be full or failing), "
                       "then try again"))
        os.chmod(tmp, EVIDENCE_MODE)
        if target.exists():  # another process kept the same bytes meanwhile
            return
        os.replace(tmp, target)
        tmp = None
        _fsync_dir(target.parent)
    except OSError as exc:
        raise StoreError(
            _("could not write {path} in the workspace: {reason}", path=str(rel),
              reason=exc.strerror or type(exc).__name__),
            hint=_("check that the workspace folder is writable and the disk has room"),
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RenderedCopy:
    """A copy of a picture: JPEG bytes, width and height (pixels)."""

    data: bytes
    width: int
    height: int


def render_copy(data: bytes, *, max_px: int | None, source: str = "") -> RenderedCopy:
    """A JPEG copy of the picture in ``data``, upright, with no metadata at all, its
    longest side at most ``max_px`` pixels (None: full size). The original is only read.

    Raises :class:`DataFormatError` when ``data`` is not a picture Pillow can read, or
    one too large to open safely.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise DataFormatError(
                        _("the picture is too large to copy ({width} x {height} pixels)",
                          width=im.width, height=im.height),
                        hint=_("copies are made of photos; keep this file as it is"),
                        source=source)
                im.load()
                upright = ImageOps.exif_transpose(im) or im
                if upright.mode in ("RGBA", "LA", "P", "PA"):
                    rgba = upright.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    upright = flat
                elif upright.mode not in ("RGB", "L"):
                    upright = upright.convert("RGB")
                if max_px is not None:
                    upright = upright.copy()
                    upright.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
                # only the pixels travel: a new picture carries no info from the old one
                clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    except DataFormatError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataFormatError(
            _("the file is not a picture that a copy can be made of"),
            hint=_("copies are made of photos; keep this file as it is"),
            source=source) from exc
    buf = io.BytesIO()
    clean.save(buf, "JPEG", quality=COPY_QUALITY, optimize=True)
    return RenderedCopy(buf.getvalue(), clean.width, clean.height)
