"""Writing output files safely: a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vigilancia.errors import UnreadableFileError
from vigilancia.i18n import _

__all__ = ["replace_bytes"]


def replace_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` under a temporary name, then move it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UnreadableFileError(
            _("{path} could not be written", path=path),
            hint=_("check the folder exists and that you may write there"),
            source=str(path),
        ) from exc
    return path
