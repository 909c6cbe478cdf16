"""Reading what a report PDF holds: its text, its pages as pixels, its embedded content
document (poppler's pdftotext, pdftoppm, pdfinfo and pdfdetach)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np


def pdf_text(path: Path, *, layout: bool = True) -> str:
    """The text of a PDF (pdftotext; with ``layout`` the page layout is kept, without it
    each block's text comes whole, which keeps a value wrapped in a table cell together)."""
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def flat(text: str) -> str:
    """Text without any whitespace (hashes and numbers wrapped over lines join again)."""
    return "".join(text.split())


def page_png(path: Path, page: int, tmp: Path, dpi: int = 100) -> np.ndarray:
    """One page of a PDF as RGB pixels (pdftoppm)."""
    from PIL import Image

    stem = tmp / f"page{page}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
                    "-singlefile", str(path), str(stem)], check=True)
    with Image.open(f"{stem}.png") as img:
        return np.asarray(img.convert("RGB"))


def pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages")))


def colour_pixels(rgb: np.ndarray, colour: str, tolerance: int = 18) -> np.ndarray:
    """A mask of the pixels within ``tolerance`` of ``colour`` (#rrggbb) on every channel."""
    want = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return np.all(np.abs(rgb.astype(np.int16) - want) <= tolerance, axis=2)


def embedded_content(path: Path, tmp: Path) -> bytes:
    """The content document a report PDF embeds (pdfdetach)."""
    out = tmp / "detached"
    out.mkdir(exist_ok=True)
    subprocess.run(["pdfdetach", "-saveall", "-o", str(out), str(path)], check=True)
    return (out / "contenido.json").read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
