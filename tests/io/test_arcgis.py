"""ArcGIS REST paged loader, against recorded answers (no network).

The recorded answers in ``tests/data/arcgis`` mimic SERFOR's comunidades nativas
layer (``Visor/OCAPAS_MIDAGRI/MapServer/27``): five invented communities near
Puerto Inca, served in three pages of two; one ring is left open as SERFOR
serves some, and one community has no geometry. ``nopaging_*`` is an old
server (10.0) without ``resultOffset`` pagination.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from vigilancia.domain.territories import Tenure, guess_tenure, guess_title_date
from vigilancia.errors import InputError, UnreadableFileError
from vigilancia.io.sources import arcgis
from vigilancia.io.sources.arcgis import fetch_layer, http_fetch, is_arcgis_url, layer_url

pytestmark = pytest.mark.usefixtures("english")

DATA = Path(__file__).resolve().parents[1] / "data" / "arcgis"
URL = "https://geo.example.gob.pe/arcgis/rest/services/Visor/OCAPAS_MIDAGRI/MapServer/27"
QUERY = f"{URL}/query"
COMMON = {"where": "1=1", "outFields": "*", "returnGeometry": "true", "outSR": "4326", "f": "json"}


def _load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _pool() -> dict[int, dict[str, Any]]:
    """Every recorded feature by OBJECTID (from the three pages)."""
    feats = {}
    for n in (1, 2, 3):
        for feat in json.loads(_load(f"serfor_cn_page{n}.json"))["features"]:
            feats[feat["attributes"]["OBJECTID"]] = feat
    return feats


class RecordedServer:
    """A ``fetch`` that answers from the recorded files and remembers every request."""

    def __init__(self, *, paging: bool = True, cap: int | None = None) -> None:
        self.paging = paging
        self.cap = cap  # answer at most this many features per objectIds request
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, params: dict[str, str]) -> bytes:
        self.calls.append((url, dict(params)))
        if url == URL:
            assert params == {"f": "json"}
            return _load("serfor_cn_layer.json" if self.paging else "nopaging_layer.json")
        assert url == QUERY, url
        if params.get("returnCountOnly") == "true":
            return _load("serfor_cn_count.json")
        if params.get("returnIdsOnly") == "true":
            return _load("nopaging_ids.json")
        if "objectIds" in params:
            return self._by_ids(params)
        if not self.paging:
            return _load("error_invalid_query.json")
        page = {"0": 1, "2": 2, "4": 3}[params["resultOffset"]]
        return _load(f"serfor_cn_page{page}.json")

    def _by_ids(self, params: dict[str, str]) -> bytes:
        wanted = [int(i) for i in params["objectIds"].split(",")]
        pool = _pool()
        feats = [pool[i] for i in wanted][: self.cap]
        answer = json.loads(_load("serfor_cn_page1.json"))
        answer["features"] = feats
        answer.pop("exceededTransferLimit", None)
        return json.dumps(answer).encode()

    def queries(self) -> list[dict[str, str]]:
        return [p for u, p in self.calls if u == QUERY and "returnCountOnly" not in p]


def test_pages_through_the_layer_and_asks_the_right_questions() -> None:
    server = RecordedServer()
    seen: list[tuple[int, int | None]] = []
    layer = fetch_layer(URL, fetch=server, page_size=2,
                        progress=lambda _stage, d, t: seen.append((d, t)))

    assert server.calls[0] == (URL, {"f": "json"})
    assert server.calls[1] == (
        QUERY,
        {"where": "1=1", "returnCountOnly": "true", "f": "json"},
    )
    pages = server.queries()
    assert pages == [
        {
            **COMMON,
            "orderByFields": "OBJECTID ASC",
            "resultOffset": str(o),
            "resultRecordCount": "2",
        }
        for o in (0, 2, 4)
    ]
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]

    assert len(layer) == 5
    assert layer.source == URL and layer.layer == "Comunidades Nativas"
    assert layer.ids == [f"CN-HU-010{i}" for i in range(1, 6)]
    names = [p["nomcom"] for _g, p, _l in layer.features]
    assert names[2] == "ALTO SUNGARILLO"
    kinds = [g.geom_type if g is not None else None for g, _p, _l in layer.features]
    assert kinds == ["Polygon", "Polygon", "Polygon", "MultiPolygon", None]
    assert len(layer.features[1].geometry.interiors) == 1  # clockwise shell, anticlockwise hole
    assert [(r.feature, r.problem, r.action) for r in layer.repairs] == [
        ("feature 3 (id=CN-HU-0103)", "ring not closed", "closed rings: 1")
    ]
    for geom, _p, _l in layer.features:
        assert geom is None or geom.is_valid
        if geom is not None:  # near Puerto Inca, lon/lat
            lon, lat = geom.centroid.x, geom.centroid.y
            assert -75.1 < lon < -74.7 and -9.7 < lat < -9.2

    props = layer.features[0].properties
    assert guess_title_date(props) == date(1986, 5, 12)  # epoch ms, midnight in Lima
    assert guess_tenure(props) is Tenure.TITLED
    assert guess_tenure(layer.features[2].properties) is Tenure.IN_PROCESS
    assert guess_tenure(layer.features[3].properties) is Tenure.RECOGNISED


def test_page_size_is_capped_by_max_record_count() -> None:
    server = RecordedServer()
    fetch_layer(URL + "/query?where=1%3D1&f=pjson", fetch=server, page_size=5000)
    assert {p["resultRecordCount"] for p in server.queries()} == {"1000"}
    fetch_layer(URL + "/", fetch=server)
    assert {p["resultRecordCount"] for p in server.queries()} == {"1000"}


def test_where_goes_to_the_server() -> None:
    server = RecordedServer()
    fetch_layer(URL, fetch=server, page_size=2, where="nomprov = 'PUERTO INCA'")
    assert all(p["where"] == "nomprov = 'PUERTO INCA'" for p in server.queries())


def test_hash_identifies_the_content() -> None:
    a = fetch_layer(URL, fetch=RecordedServer(), page_size=2)
    b = fetch_layer(URL, fetch=RecordedServer(), page_size=2)
    assert a.sha256 == b.sha256 and a.sha256 is not None

    def changed(url: str, params: dict[str, str]) -> bytes:
        body = RecordedServer()(url, params)
        return (
            body.replace(b"ALTO SUNGARILLO", b"ALTO SUNGARO") if "resultOffset" in params else body
        )

    assert fetch_layer(URL, fetch=changed, page_size=2).sha256 != a.sha256


def test_server_without_pagination_uses_object_id_batches() -> None:
    server = RecordedServer(paging=False)
    layer = fetch_layer(URL, fetch=server, page_size=2)
    queries = server.queries()
    assert queries[0] == {"where": "1=1", "returnIdsOnly": "true", "f": "json"}
    batches = [p["objectIds"] for p in queries[1:]]
    assert batches == ["101,102", "103,104", "105"]  # sorted, in pages of 2
    for p in queries[1:]:
        assert "resultOffset" not in p
        assert {k: p[k] for k in ("outFields", "returnGeometry", "outSR", "f")} == {
            "outFields": "*",
            "returnGeometry": "true",
            "outSR": "4326",
            "f": "json",
        }
    assert len(layer) == 5 and layer.ids[0] == "CN-HU-0101"
    assert layer.features[2].label == "feature 3 (id=CN-HU-0103)"


def test_object_id_batches_capped_by_the_server_are_asked_again() -> None:
    server = RecordedServer(paging=False, cap=1)
    layer = fetch_layer(URL, fetch=server, page_size=2)
    assert [p["objectIds"] for p in server.queries()[1:]] == [
        "101,102",
        "102,103",
        "103,104",
        "104,105",
        "105",
    ]
    assert len(layer) == 5


def test_pagination_refused_on_first_page_falls_back_to_object_ids() -> None:
    server = RecordedServer()

    def refusing(url: str, params: dict[str, str]) -> bytes:
        if "resultOffset" in params:
            return _load("error_invalid_query.json")
        if "objectIds" in params:
            return server._by_ids(params)
        return server(url, params)

    layer = fetch_layer(URL, fetch=refusing, page_size=2)
    assert len(layer) == 5


def test_paging_that_loses_features_falls_back_to_object_ids() -> None:
    server = RecordedServer()

    def lossy(url: str, params: dict[str, str]) -> bytes:
        if params.get("resultOffset") == "2":  # the same page again: unstable order
            return _load("serfor_cn_page1.json")
        if "objectIds" in params:
            return server._by_ids(params)
        return server(url, params)

    layer = fetch_layer(URL, fetch=lossy, page_size=2)
    assert sorted(p["nomcom"] for _g, p, _l in layer.features) == sorted(
        f["attributes"]["nomcom"] for f in _pool().values()
    )


def test_arcgis_error_answer_names_the_url() -> None:
    def broken(url: str, params: dict[str, str]) -> bytes:
        return _load("error_invalid_query.json")

    with pytest.raises(UnreadableFileError) as err:
        fetch_layer(URL, fetch=broken)
    assert err.value.source == URL
    assert "error 400" in err.value.message and "'where' parameter is invalid" in err.value.message
    assert err.value.hint


def test_not_json_and_not_a_layer() -> None:
    with pytest.raises(UnreadableFileError, match="did not answer JSON") as err:
        fetch_layer(URL, fetch=lambda u, p: b"<html>Service Unavailable</html>")
    assert err.value.source == URL

    service = {"currentVersion": 10.81, "layers": [{"id": 27, "name": "Comunidades Nativas"}]}
    with pytest.raises(InputError, match="not a layer with features"):
        fetch_layer(URL, fetch=lambda u, p: json.dumps(service).encode())


def test_fetch_oserror_becomes_unreadable() -> None:
    def offline(url: str, params: dict[str, str]) -> bytes:
        raise ConnectionResetError("connection reset by peer")

    with pytest.raises(UnreadableFileError, match="could not reach the server") as err:
        fetch_layer(URL, fetch=offline)
    assert err.value.source == URL


def test_urls() -> None:
    assert is_arcgis_url(URL) and is_arcgis_url(URL.replace("MapServer", "FeatureServer"))
    assert not is_arcgis_url("https://example.org/comunidades.geojson")
    assert not is_arcgis_url("/datos/MapServer/27.geojson")
    assert layer_url(URL + "/query?where=1%3D1") == URL
    assert layer_url(URL + "/") == URL
    with pytest.raises(InputError) as err:
        layer_url(URL.rsplit("/", 1)[0])  # the service, not a layer
    assert "/MapServer/<number>" in (err.value.hint or "")


# ------------------------------------------------------------------ default HTTP client


class _Response(io.BytesIO):
    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_http_fetch_get_post_and_user_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    requests: list[urllib.request.Request] = []

    def fake_urlopen(request: urllib.request.Request, timeout: float) -> _Response:
        requests.append(request)
        assert timeout == arcgis.TIMEOUT_S
        return _Response(b'{"ok": true}')

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    assert http_fetch(URL, {"f": "json"}) == b'{"ok": true}'
    assert requests[0].full_url == f"{URL}?f=json" and requests[0].data is None
    assert requests[0].get_header("User-agent").startswith("vigilancia/")

    ids = ",".join(str(i) for i in range(1000, 2000))
    http_fetch(QUERY, {"objectIds": ids, "f": "json"})
    assert requests[1].full_url == QUERY and requests[1].data is not None  # long: POST form


def test_http_fetch_errors_name_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(arcgis.time, "sleep", sleeps.append)
    attempts: list[str] = []

    def not_found(request: urllib.request.Request, timeout: float) -> _Response:
        attempts.append(request.full_url)
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(UnreadableFileError) as err:
        http_fetch(URL, {"f": "json"})
    assert err.value.source == URL and "HTTP 404" in err.value.message
    assert len(attempts) == 1 and sleeps == []  # a 404 is not retried

    def offline(request: urllib.request.Request, timeout: float) -> _Response:
        attempts.append(request.full_url)
        raise urllib.error.URLError("Temporary failure in name resolution")

    attempts.clear()
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(UnreadableFileError) as err:
        http_fetch(URL, {"f": "json"})
    assert "name resolution" in err.value.message and err.value.source == URL
    assert len(attempts) == 1 + arcgis.RETRIES and sleeps == [1, 2]

    with pytest.raises(InputError):
        http_fetch("file:///etc/passwd", {})


def test_progress_names_its_stage_for_the_shell() -> None:
    """One Progress shape everywhere: (stage, done, total), the stage an id the shell words."""
    from vigilancia.io.sources.arcgis import DOWNLOAD_STAGE
    from vigilancia.progress import Progress

    calls: list[tuple[str, int, int | None]] = []

    def record(stage: str, done: int, total: int | None) -> None:
        calls.append((stage, done, total))

    progress: Progress = record
    fetch_layer(URL, fetch=RecordedServer(), page_size=2, progress=progress)
    assert calls and {stage for stage, _d, _t in calls} == {DOWNLOAD_STAGE}
    assert DOWNLOAD_STAGE == "Downloading the layer"
    assert [d for _s, d, _t in calls] == sorted(d for _s, d, _t in calls)
