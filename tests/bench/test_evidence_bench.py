"""The custody benchmark's workload: seeded photos of noise with EXIF GPS, cached."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "evidence_verify.py"


def _load():
    name = "bench_evidence_verify"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_photos_are_seeded_sized_and_geotagged(tmp_path):
    bench = _load()
    first = bench.write_photos(tmp_path / "a", 3, 40, seed=7)
    again = bench.write_photos(tmp_path / "b", 3, 40, seed=7)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert all(30_000 < p.stat().st_size < 55_000 for p in first)
    with Image.open(first[1]) as im:
        gps = im.getexif().get_ifd(0x8825)
        assert gps[1] == "S" and gps[3] == "W"
    # cached: a second call writes nothing
    stamp = first[0].stat().st_mtime_ns
    bench.write_photos(tmp_path / "a", 3, 40, seed=7)
    assert first[0].stat().st_mtime_ns == stamp
