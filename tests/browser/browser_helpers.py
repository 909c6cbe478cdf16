"""What the browser tests share besides fixtures: screen sizes, the server, logging in,
waiting for the map, screenshots and counting colours in them.

(A module on the tests' pythonpath, beside the fixtures of ``tests/browser/conftest.py``.)
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Laptop and phone screens (CSS pixels).
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 360, "height": 740}
#: Where :func:`screenshot` keeps its pictures when ``SCREENSHOTS_DIR`` names no folder
#: (``SCREENSHOTS_DIR=docs/screenshots`` refreshes the documentation's).
SCREENSHOTS_ENV = "SCREENSHOTS_DIR"


@dataclass
class Server:
    """The running app: its address and workspace."""

    url: str
    workspace: Path

    def origin_of(self, url: str) -> bool:
        """Whether ``url`` is the app's own (or a page-local data:/blob: address)."""
        return url.startswith((self.url + "/", "data:", "blob:")) or url == self.url


def log_in(page: Any, server: Server, role: str, *, next_path: str = "/") -> None:
    """Log in through the login form as the demo account of ``role``."""
    from web_helpers import password_of

    page.goto(f"{server.url}/login?next={next_path}")
    page.fill("#username", role)
    page.fill("#password", password_of(role))
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")


def wait_for_map(page: Any, timeout_ms: int = 20_000) -> None:
    """Wait until the page's map has loaded its style and drawn its sources (the page sets
    ``data-map-state="idle"`` on ``#map`` at MapLibre's ``idle`` event)."""
    page.wait_for_selector("#map[data-map-state=idle]", timeout=timeout_ms)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> bytes:
    """A PNG screenshot of ``page``, also kept as ``<name>.png`` in the folder that
    ``SCREENSHOTS_DIR`` names (when it names one)."""
    png: bytes = page.screenshot(full_page=full_page)
    folder = os.environ.get(SCREENSHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.png").write_bytes(png)
    return png


def colour_count(png: bytes, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixels of the PNG ``png`` are within ``tolerance`` (per channel) of ``rgb``."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    near = np.all(np.abs(pixels - np.array(rgb)) <= tolerance, axis=-1)
    return int(near.sum())


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``"#1b9e77"`` -> ``(27, 158, 119)``."""
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def write_field_photo(path: Path, lon: float, lat: float) -> Path:
    """A phone photo of a clearing (forest around a brown patch with green seedlings) with
    EXIF GPS at ``lon``/``lat``, as a monitor's phone takes it."""
    from datetime import datetime

    import numpy as np
    from field_samples import write_jpeg
    from PIL import Image, ImageDraw

    write_jpeg(path, lat=lat, lon=lon, taken=datetime(2025, 2, 1, 9, 30), size=(640, 480))
    exif = Image.open(path).info["exif"]
    rng = np.random.default_rng(7)
    forest = rng.normal(0, 1, (480, 640, 1)) * np.array([12, 22, 10]) + np.array([40, 95, 45])
    im = Image.fromarray(np.clip(forest, 0, 255).astype("uint8"), "RGB")
    draw = ImageDraw.Draw(im)
    draw.polygon([(150, 300), (520, 280), (600, 470), (90, 470)], fill=(135, 98, 62))
    for i in range(40):
        x, y = 140 + (i * 53) % 420, 320 + (i * 37) % 140
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=(70, 150, 60))
    draw.rectangle([0, 0, 640, 90], fill=(190, 210, 230))
    im.save(path, "JPEG", exif=exif, quality=85)
    return path
