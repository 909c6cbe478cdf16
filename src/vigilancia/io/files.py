"""Writing files safely: a reader never sees half a file, leftovers are ours to find, and
what vigilancia keeps is readable by its owner only.

**Temporary files and folders** have one recognisable name,
``.vigilancia-tmp-<pid>-<8 hex digits>[-<label>]``, where ``pid`` is the process that
made them (:func:`temp_file`, :func:`temp_dir`). A run killed at any moment (power cut,
SIGKILL) can leave one behind; the next run that writes in the same folder removes the
ones whose process is gone (:func:`remove_leftovers`), and never anything else: other
names are not vigilancia's to delete.

**Owner-only**: workspace folders are 0700 and files 0600 (evidence 0400), whatever the
umask (:func:`private_dir`, :func:`make_private`). Where the file system has no POSIX
modes (FAT or exFAT memory cards, Windows) the modes are left as they are.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> fd, tmp = temp_file(folder, suffix=".part")
>>> os.close(fd); is_temp_name(tmp.name), oct(tmp.stat().st_mode & 0o777)
(True, '0o600')
>>> remove_leftovers(folder)  # its process (this one) is alive: kept
[]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path

from vigilancia.errors import UnreadableFileError
from vigilancia.i18n import _

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "TEMP_PREFIX",
    "is_temp_name",
    "make_private",
    "private_dir",
    "remove_leftovers",
    "replace_bytes",
    "temp_dir",
    "temp_file",
    "temp_name",
]

log = logging.getLogger(__name__)

#: Start of the name of every temporary file or folder vigilancia makes.
TEMP_PREFIX = ".vigilancia-tmp-"
#: Mode of the files vigilancia keeps (owner read and write).
FILE_MODE = 0o600
#: Mode of the folders vigilancia keeps (owner only).
FOLDER_MODE = 0o700
#: A leftover this old (seconds) is removed even when its process id is in use again
#: (process ids are reused after a restart); no vigilancia write takes that long.
STALE_AFTER_S = 2 * 24 * 3600.0

_TEMP = re.compile(r"^\.vigilancia-tmp-(\d{1,10})-[0-9a-f]{8}(?:[-.].*)?$")
_LABEL = re.compile(r"[^A-Za-z0-9_.]+")


def temp_name(label: str = "", suffix: str = "") -> str:
    """A fresh temporary name of this process: ``.vigilancia-tmp-<pid>-<hex>[-label]<suffix>``.

    >>> is_temp_name(temp_name("casos.gpkg", ".tmp"))
    True
    """
    tail = _LABEL.sub("_", label)[:60]
    return f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{'-' + tail if tail else ''}{suffix}"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary name vigilancia makes (:func:`temp_name`)."""
    return _TEMP.match(name) is not None


def temp_file(folder: Path, *, label: str = "", suffix: str = ".tmp",
              sweep: bool = True) -> tuple[int, Path]:
    """Create an empty owner-only temporary file in ``folder``: (open descriptor, path).

    Leftovers of dead runs in ``folder`` are removed first (:func:`remove_leftovers`),
    unless ``sweep`` is false (the caller swept the folder already).
    """
    folder = Path(folder)
    if sweep:
        remove_leftovers(folder)
    for _attempt in range(100):
        path = folder / temp_name(label, suffix)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         FILE_MODE)
        except FileExistsError:
            continue
        _chmod(path, FILE_MODE, fd=fd)
        return fd, path
    raise FileExistsError(f"no free temporary name in {folder}")  # pragma: no cover


def temp_dir(folder: Path, *, label: str = "") -> Path:
    """Create an owner-only temporary folder in ``folder`` (leftovers removed first)."""
    folder = Path(folder)
    remove_leftovers(folder)
    for _attempt in range(100):
        path = folder / temp_name(label)
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue
        _chmod(path, FOLDER_MODE)
        return path
    raise FileExistsError(f"no free temporary name in {folder}")  # pragma: no cover


def _alive(pid: int) -> bool:
    """Whether a process with this id runs (on POSIX; elsewhere always assumed to)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return True
    return True


def remove_leftovers(folder: Path, *, recursive: bool = False) -> list[Path]:
    """Remove the temporary files and folders (:func:`temp_name`) that dead runs left in
    ``folder`` (and in its subfolders when ``recursive``); the paths removed.

    A name is a leftover when its process has ended (or, process ids being reused, when
    it is older than :data:`STALE_AFTER_S`). Anything else, and the temporary files of
    runs still going, are left alone. A folder that cannot be read is skipped.
    """
    removed: list[Path] = []
    folder = Path(folder)
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None:
            if recursive and entry.is_dir(follow_symlinks=False):
                removed += remove_leftovers(Path(entry.path), recursive=True)
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if _alive(int(match.group(1))) and age < STALE_AFTER_S:
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # another run removed it meanwhile
        except OSError as exc:
            log.debug("could not remove the leftover %s: %s", path, exc)
            continue
        removed.append(path)
    return removed


def _chmod(path: Path, mode: int, *, fd: int | None = None) -> None:
    """Set ``mode``; where the file system has no POSIX modes, leave it as it is."""
    try:
        if fd is not None and os.chmod in os.supports_fd:
            os.chmod(fd, mode)
        else:
            os.chmod(path, mode)
    except (NotImplementedError, PermissionError, OSError) as exc:
        log.debug("could not set the mode of %s: %s", path, exc)


def private_dir(path: Path) -> Path:
    """Make the folder ``path`` (and its missing parents) and make it owner-only (0700).

    Only ``path`` itself gets its mode set; parents that already exist are left alone,
    and missing parents are made owner-only as well.
    """
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    for made in missing:
        _chmod(made, FOLDER_MODE)
    if path not in missing:
        make_private(path)
    return path


def make_private(path: Path, *, recursive: bool = False) -> None:
    """Take every permission away from group and others: folders 0700, files keep their
    owner bits (0600, or 0400 for read-only evidence). Symbolic links are not followed.

    ``recursive``: the same for everything under the folder ``path``, the folder itself
    last (a walk cut short leaves the folder as it was, so the next one starts again).
    """
    path = Path(path)
    try:
        st = path.lstat()
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        if recursive:
            try:
                children = list(path.iterdir())
            except OSError:
                children = []
            for child in children:
                make_private(child, recursive=True)
        if stat.S_IMODE(st.st_mode) != FOLDER_MODE:
            _chmod(path, FOLDER_MODE)
        return
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        _chmod(path, mode & 0o700)


def replace_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` under a temporary name, then move it into place
    (owner-only, 0600)."""
    tmp: Path | None = None
    try:
        fd, tmp = temp_file(path.parent, label=path.name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise UnreadableFileError(
            _("{path} could not be written", path=path),
            hint=_("check the folder exists and that you may write there"),
            source=str(path),
        ) from exc
    return path
