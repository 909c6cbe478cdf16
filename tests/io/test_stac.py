"""Satellite scenes from a STAC API (recorded Earth Search answers, network blocked) and
image chips read from GeoTIFFs the test writes, warped to lon/lat."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from recorded_stac import STAC_URL, recorded_session, write_chip

from vigilancia.errors import InputError
from vigilancia.io.sources.stac import (
    ImageryUnavailable,
    is_georeferenced,
    read_chip,
    read_picture,
    search_scenes,
)

LON, LAT = -75.3529, -8.6826
BOX = (LON - 0.006, LAT - 0.006, LON + 0.006, LAT + 0.006)


@pytest.fixture
def blocked(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network blocked in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_search_reads_the_recorded_answers(blocked, tmp_path):
    chip = write_chip(tmp_path / "after.tif", lon=LON, lat=LAT, cleared=True)
    session, adapter = recorded_session({"S2A_18LTR_20240918_0_L2A": chip})
    scenes = search_scenes(STAC_URL, bbox=BOX, start=date(2023, 5, 1),
                           end=date(2024, 12, 1), max_cloud=40, session=session)
    assert [s.item_id for s in scenes] == [
        "S2B_18LTR_20231004_0_L2A", "S2A_18LTR_20231019_0_L2A", "S2A_18LTR_20231108_0_L2A",
        "S2B_18LTR_20240903_0_L2A", "S2A_18LTR_20240918_0_L2A"]
    last = scenes[-1]
    assert last.acquired == datetime(2024, 9, 18, 15, 17, 42, 905000, tzinfo=UTC)
    assert (last.cloud_cover, last.platform, last.collection) == (4.4, "sentinel-2a",
                                                                  "sentinel-2-l2a")
    assert last.href == str(chip) and last.covers(BOX)
    assert not next(s for s in scenes if s.item_id.endswith("1108_0_L2A")).covers(BOX)
    assert scenes[0].href.startswith("https://sentinel-cogs.s3.us-west-2.amazonaws.com/")
    method, path, body = adapter.requests[-1]
    assert (method, path) == ("POST", "/v1/search")
    assert body["bbox"] == list(BOX) and body["datetime"].startswith("2023-05-01T00:00:00Z/")


def test_offline_search_fails_at_once_with_the_reason(blocked):
    with pytest.raises(ImageryUnavailable) as err:
        search_scenes(STAC_URL, bbox=BOX, start=date(2024, 1, 1), end=date(2024, 2, 1))
    assert "internet" in err.value.message and err.value.source == STAC_URL


def test_a_chip_in_utm_is_warped_to_lon_lat(tmp_path):
    tif = write_chip(tmp_path / "chip.tif", lon=LON, lat=LAT, cleared=True)
    assert is_georeferenced(tif)
    chip = read_chip(tif, BOX, size=(120, 100))
    assert chip.rgb.shape == (100, 120, 3) and chip.rgb.dtype == np.uint8
    assert chip.bounds == BOX and not chip.blank and len(chip.sha256) == 64
    # the bare patch at the centre is brown, the forest around it green
    centre, corner = chip.rgb[50, 60], chip.rgb[5, 5]
    assert centre[0] > 150 and corner[1] > corner[0]
    assert read_chip(tif, BOX, size=(120, 100)).sha256 == chip.sha256
    with pytest.raises(InputError, match="no cubre"):
        read_chip(tif, (LON + 1, LAT, LON + 1.01, LAT + 0.01))


def test_pictures_and_broken_files(tmp_path):
    from PIL import Image

    jpg = tmp_path / "captura.jpg"
    Image.new("RGB", (1600, 900), (10, 200, 30)).save(jpg)
    assert not is_georeferenced(jpg)
    picture = read_picture(jpg, max_side=400)
    assert picture.rgb.shape == (225, 400, 3) and picture.bounds is None
    with pytest.raises(InputError, match="georreferencia"):
        read_chip(jpg, BOX)
    broken = tmp_path / "roto.tif"
    broken.write_bytes(b"II*\x00not a tiff")
    with pytest.raises(ImageryUnavailable, match="roto.tif"):
        read_chip(broken, BOX)
    with pytest.raises(ImageryUnavailable):
        read_picture(broken)
    assert not is_georeferenced(Path(tmp_path / "nada.tif"))
