"""Loading WeasyPrint leaves Pillow strict: a truncated field photo is still refused.

WeasyPrint makes Pillow accept truncated images for the whole process when it is
imported; in a web server the field import after the first report would then take a
truncated photo for a whole one.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from vigilancia.errors import UnreadableFileError
from vigilancia.io.field.photos import PhotoImporter
from vigilancia.reports.document import load_weasyprint


def test_a_truncated_photo_is_refused_after_weasyprint_is_loaded(tmp_path):
    load_weasyprint()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 60)).save(buf, "JPEG")
    photo = tmp_path / "cortada.jpg"
    photo.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(UnreadableFileError):
        PhotoImporter._open(photo.read_bytes(), photo.name)
