"""What the package writers share: a feature, coordinate rounding, atomic writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from vigilancia.errors import UnreadableFileError
from vigilancia.i18n import _

__all__ = ["COORD_DECIMALS", "MapFeature", "replace_bytes", "rounded"]

#: Decimal places of written lon/lat (1e-7 degree is about 1 cm).
COORD_DECIMALS = 7


@dataclass(frozen=True)
class MapFeature:
    """One feature to write: a shapely geometry in lon/lat (EPSG:4326) and its attributes
    (JSON-able scalars: str, int, float, bool or None)."""

    geometry: BaseGeometry
    properties: Mapping[str, Any] = field(default_factory=dict, hash=False)


def rounded(geometry: BaseGeometry, decimals: int = COORD_DECIMALS) -> BaseGeometry:
    """``geometry`` with its coordinates rounded to ``decimals`` places (no topology change
    beyond that: vertices only move, none is dropped)."""
    return shapely.transform(geometry, lambda xy: np.round(xy, decimals))


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
