"""Importing territories into a real workspace store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from vigilancia.domain.territories import Tenure, TerritoryKind
from vigilancia.errors import DataFormatError, InputError, UnreadableFileError
from vigilancia.i18n import get_language, set_language
from vigilancia.io.store import WorkspaceStore
from vigilancia.services.territories import import_territories

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SHARED_DATA = REPO.parent / "shared" / "data"
ARCGIS = REPO / "tests" / "data" / "arcgis"
URL = "https://geo.example.gob.pe/arcgis/rest/services/Visor/OCAPAS_MIDAGRI/MapServer/27"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = get_language()
    set_language("en")
    yield
    set_language(before)


@pytest.fixture
def store(store_factory, tmp_path: Path) -> Iterator[WorkspaceStore]:
    ws = store_factory.create(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it is not part of the repository)")
    return SHARED_DATA


def recorded_serfor(url: str, params: dict[str, str]) -> bytes:
    """Recorded answers of the (invented) SERFOR-like layer, pages of 2."""
    if url == URL:
        return (ARCGIS / "serfor_cn_layer.json").read_bytes()
    if params.get("returnCountOnly") == "true":
        return (ARCGIS / "serfor_cn_count.json").read_bytes()
    page = {"0": 1, "2": 2, "4": 3}[params["resultOffset"]]
    return (ARCGIS / f"serfor_cn_page{page}.json").read_bytes()


def _geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _square(x: float, y: float, d: float = 0.01) -> dict:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


# --------------------------------------------------------------------------- ArcGIS


def test_import_from_arcgis_layer(store: WorkspaceStore) -> None:
    result = import_territories(store, URL, kind=TerritoryKind.COMMUNITY, fetch=recorded_serfor)
    assert result.imported == 4 and not result.skipped_existing
    assert result.name_field == "nomcom"
    assert result.dropped == ["feature 5 (id=CN-HU-0105): it has no geometry"]
    assert [(r.feature, r.problem) for r in result.repairs] == [
        ("feature 3 (id=CN-HU-0103)", "ring not closed")
    ]

    stored = {t.name: t for t in store.territories.list([TerritoryKind.COMMUNITY])}
    assert sorted(stored) == [
        "ALTO SUNGARILLO",
        "BELLA VISTA DE ZUNGARO",
        "NUEVO PROGRESO DE YUYAPICHIS",
        "SAN JUAN DE PACHITEA",
    ]
    first = stored["NUEVO PROGRESO DE YUYAPICHIS"]
    assert first.tenure is Tenure.TITLED and first.title_date == date(1986, 5, 12)
    assert first.people == "ASHANINKA" and first.source == URL
    assert first.source_id == "CN-HU-0101"
    assert stored["ALTO SUNGARILLO"].tenure is Tenure.IN_PROCESS
    assert stored["ALTO SUNGARILLO"].people == "KAKATAIBO"
    assert stored["BELLA VISTA DE ZUNGARO"].tenure is Tenure.RECOGNISED
    assert stored["BELLA VISTA DE ZUNGARO"].geometry.geom_type == "MultiPolygon"
    assert all(t.geometry.is_valid for t in stored.values())
    assert 1000 < (stored["SAN JUAN DE PACHITEA"].area_ha or 0) < 50_000

    again = import_territories(store, URL, kind=TerritoryKind.COMMUNITY, fetch=recorded_serfor)
    assert again.skipped_existing and again.imported == 0
    assert len(store.territories.list()) == 4


def test_web_url_that_is_not_arcgis(store: WorkspaceStore) -> None:
    with pytest.raises(InputError) as err:
        import_territories(
            store, "https://example.org/comunidades.geojson", kind=TerritoryKind.COMMUNITY
        )
    assert err.value.source == "https://example.org/comunidades.geojson"


# --------------------------------------------------------------------------- real files


def test_import_broken_rings_twice(store: WorkspaceStore, shared_data: Path) -> None:
    path = str(shared_data / "territories" / "broken_rings_acr.geojson")
    result = import_territories(store, path, kind=TerritoryKind.PROTECTED_AREA)
    assert result.imported == 48 and result.dropped == []
    assert result.name_field == "acr_nomb"
    assert any(r.problem == "ring not closed" for r in result.repairs)
    stored = store.territories.list()
    assert len(stored) == 48
    assert all(t.tenure is Tenure.UNKNOWN and t.geometry.is_valid for t in stored)
    assert "Bosques Secos del Marañón" in {t.name for t in stored}

    again = import_territories(store, path, kind=TerritoryKind.PROTECTED_AREA)
    assert again.skipped_existing and again.imported == 0
    assert len(store.territories.list()) == 48
    # the same file as another kind is another import
    other = import_territories(store, path, kind=TerritoryKind.RESERVE)
    assert other.imported == 48


def test_import_districts(store: WorkspaceStore, shared_data: Path) -> None:
    path = str(shared_data / "admin" / "peru_districts.geojson")
    result = import_territories(store, path, kind=TerritoryKind.DISTRICT)
    assert result.imported == 1826 and result.name_field == "NOMBDIST"
    assert len(result.dropped) == 8
    assert "it has no geometry" in result.dropped[0]
    districts = store.territories.list([TerritoryKind.DISTRICT])
    by_ubigeo = {t.source_id: t for t in districts}
    assert by_ubigeo["100901"].name == "PUERTO INCA"
    assert "010101" in by_ubigeo  # leading zero kept


def test_import_amw_territories(store: WorkspaceStore, shared_data: Path) -> None:
    path = str(shared_data / "territories" / "indigenous_territories_peru_amw.geojson")
    result = import_territories(store, path, kind="community")
    assert result.imported == 21
    stored = {t.name: t for t in store.territories.list()}
    assert stored["SAN JACINTO"].people == "SHIPIBO-CONIBO"
    assert stored["PUERTO ARTURO"].tenure is Tenure.TITLED
    assert stored["AMPLIACION TUNAS"].tenure is Tenure.IN_PROCESS


def test_import_one_layer_of_a_geopackage(store: WorkspaceStore, shared_data: Path) -> None:
    path = str(shared_data / "territories" / "sernanp_protected_areas.gpkg")
    result = import_territories(
        store,
        path,
        kind=TerritoryKind.PROTECTED_AREA,
        layer="sernanp_all_anp_merged_perugeopkg",
    )
    assert result.imported == 353 and result.name_field == "nombre"
    assert "El Sira" in {t.name for t in store.territories.list()}


# --------------------------------------------------------------------------- bad input


def test_points_only_is_an_error_and_stores_nothing(store: WorkspaceStore, tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "hitos.geojson",
        [
            {
                "type": "Feature",
                "properties": {"n": i},
                "geometry": {"type": "Point", "coordinates": [-74.9, -9.4]},
            }
            for i in range(3)
        ]
        + [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "LineString", "coordinates": [[-74.9, -9.4], [-74.8, -9.3]]},
            }
        ],
    )
    with pytest.raises(InputError) as err:
        import_territories(store, str(path), kind=TerritoryKind.COMMUNITY)
    assert err.value.source == str(path)
    assert err.value.message == "the file has no polygons: it holds 3 points, 1 line"
    assert err.value.hint
    assert store.territories.list() == []


def test_file_errors_name_the_file(store: WorkspaceStore, tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError) as err:
        import_territories(store, str(tmp_path / "no.gpkg"), kind=TerritoryKind.COMMUNITY)
    assert err.value.source == str(tmp_path / "no.gpkg")

    empty = tmp_path / "vacio.gpkg"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match="empty"):
        import_territories(store, str(empty), kind=TerritoryKind.COMMUNITY)

    crs = {"type": "name", "properties": {"name": "EPSG:999999"}}
    bad = tmp_path / "crs.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": []}))
    with pytest.raises(DataFormatError, match="unknown coordinate reference system"):
        import_territories(store, str(bad), kind=TerritoryKind.COMMUNITY)

    nothing = _geojson(tmp_path / "nada.geojson", [])
    with pytest.raises(InputError, match="no features"):
        import_territories(store, str(nothing), kind=TerritoryKind.COMMUNITY)
    assert store.territories.list() == []


def test_names_fields_and_fallback(store: WorkspaceStore, tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "cn.geojson",
        [
            {
                "type": "Feature",
                "properties": {"comunidad": "YAMINO", "etnia": "KAKATAIBO"},
                "geometry": _square(-74.9, -9.4),
            },
            {"type": "Feature", "properties": {"comunidad": " "}, "geometry": _square(-74.8, -9.4)},
        ],
    )
    with pytest.raises(InputError) as err:
        import_territories(store, str(path), kind=TerritoryKind.COMMUNITY, name_field="nombre")
    assert "comunidad" in err.value.message and "etnia" in err.value.message

    result = import_territories(
        store, str(path), kind=TerritoryKind.COMMUNITY, name_field="COMUNIDAD"
    )
    assert result.name_field == "comunidad"
    names = [t.name for t in store.territories.list()]
    assert names == ["YAMINO", "community 2"]
    assert store.territories.list()[0].people == "KAKATAIBO"


def test_failed_store_write_leaves_nothing(
    store: WorkspaceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _geojson(
        tmp_path / "cn.geojson",
        [{"type": "Feature", "properties": {"nombre": "A"}, "geometry": _square(-74.9, -9.4)}],
    )

    def boom(conn: object, sha256: str, kind: str, source: str, count: int) -> None:
        raise RuntimeError("disk failure")

    monkeypatch.setattr(store.imports, "record", boom)
    with pytest.raises(RuntimeError):
        import_territories(store, str(path), kind=TerritoryKind.COMMUNITY)
    monkeypatch.undo()
    assert store.territories.list() == []
    result = import_territories(store, str(path), kind=TerritoryKind.COMMUNITY)
    assert result.imported == 1 and not result.skipped_existing


def test_messages_in_spanish(store: WorkspaceStore, tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "pts.geojson",
        [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [0, 0]},
            }
        ],
    )
    set_language("es")
    with pytest.raises(InputError) as err:
        import_territories(store, str(path), kind=TerritoryKind.COMMUNITY)
    assert err.value.message == "el archivo no tiene polígonos: contiene 1 punto"
