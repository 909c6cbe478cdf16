"""Recorded STAC answers (Earth Search) served through a requests adapter, and small image
chips the tests write themselves: the case report's imagery without the network."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import requests
from requests.adapters import BaseAdapter

DATA = Path(__file__).resolve().parents[1] / "data" / "stac"  # tests/data/stac
STAC_URL = "https://earth-search.aws.element84.com/v1"
COGS = "https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/"


class RecordedStac(BaseAdapter):
    """Answers GET /v1 with the recorded landing page and POST /v1/search with the recorded
    search page, its ``visual`` assets pointed at the chips in ``chips`` (by item id);
    keeps every request it answered in ``requests``."""

    def __init__(self, chips: dict[str, Path]) -> None:
        super().__init__()
        self.chips = chips
        self.requests: list[tuple[str, str, dict | None]] = []

    def send(self, request, **kwargs):  # noqa: ARG002 - requests' adapter signature
        path = urlsplit(request.url).path.rstrip("/")
        body = None if not request.body else json.loads(request.body)
        self.requests.append((request.method, path, body))
        if request.method == "GET" and path == "/v1":
            payload = (DATA / "earth_search_landing.json").read_bytes()
        elif request.method == "POST" and path == "/v1/search":
            page = json.loads((DATA / "earth_search_search.json").read_text(encoding="utf-8"))
            for feature in page["features"]:
                chip = self.chips.get(feature["id"])
                if chip is not None:
                    feature["assets"]["visual"]["href"] = str(chip)
            payload = json.dumps(page).encode("utf-8")
        else:
            return self._answer(request, 404, b'{"code": "NotFound"}')
        return self._answer(request, 200, payload)

    @staticmethod
    def _answer(request, status: int, payload: bytes) -> requests.Response:
        resp = requests.Response()
        resp.status_code = status
        resp._content = payload
        resp.headers["Content-Type"] = "application/geo+json"
        resp.url = request.url
        resp.request = request
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        pass


def recorded_session(chips: dict[str, Path]) -> tuple[requests.Session, RecordedStac]:
    """A session whose HTTP and HTTPS requests the recorded answers serve."""
    session = requests.Session()
    adapter = RecordedStac(chips)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


def write_chip(path: Path, *, lon: float, lat: float, cleared: bool, half_m: float = 1500.0
               ) -> Path:
    """A 3-band 8-bit GeoTIFF in UTM 18S at 10 m, ``half_m`` around (lon, lat): forest, and
    a bare brown patch at the centre when ``cleared``."""
    import rasterio
    from affine import Affine
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 32718, always_xy=True).transform(lon, lat)
    n = int(2 * half_m / 10)
    rng = np.random.default_rng(3 if cleared else 2)
    rgb = np.empty((3, n, n), np.uint8)
    rgb[0] = rng.integers(20, 45, (n, n))
    rgb[1] = rng.integers(60, 95, (n, n))
    rgb[2] = rng.integers(25, 45, (n, n))
    if cleared:
        c = n // 2
        rgb[0, c - 18:c + 14, c - 22:c + 20] = 170
        rgb[1, c - 18:c + 14, c - 22:c + 20] = 135
        rgb[2, c - 18:c + 14, c - 22:c + 20] = 95
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 3, "dtype": "uint8",
               "crs": "EPSG:32718",
               "transform": Affine(10.0, 0.0, x - half_m, 0.0, -10.0, y + half_m),
               "photometric": "RGB", "tiled": True, "blockxsize": 256, "blockysize": 256,
               "compress": "deflate"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(rgb)
    return path
