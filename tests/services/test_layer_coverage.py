"""A context layer's coverage: outside it, the distance to that kind is unknown, never "far".

Hand-built region (drawn in metres around the Pichis valley, stored in lon/lat): a
north-south road at x = -6 km, and coca-sized patches of 1 ha in pairs mirrored
about x = 0, each with two neighbours 300 m away (a cluster, as coca plots are).
The road layer covers the western half (x < 0) only: the eastern patches are 7 km
from the road file's only road, but nothing says that there is no road there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString, box
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.domain.clearings import ClearingSet
from vigilancia.domain.drivers import Reason
from vigilancia.domain.rules import TERMS, RulesModel
from vigilancia.errors import InputError
from vigilancia.i18n import set_language
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.store import NewBatch, WorkspaceStore
from vigilancia.io.store import schema as s
from vigilancia.services.classify import classify_clearings
from vigilancia.services.features import clearing_features, iter_feature_parts
from vigilancia.services.layers import import_layer
from vigilancia.services.texts.drivers import reason_text
from vigilancia.services.vector_alerts import place_clearings, shape_features

FRAME = local_equal_area(-75.0, -10.3)
ROAD = LineString([(-6000, -20_000), (-6000, 20_000)])
WEST_HALF = box(-20_000, -20_000, 0, 20_000)
CENTRES = [(-1000, 0), (1000, 0), (-1500, 5000), (1500, 5000)]  # west, east, west, east
EAST = np.array([False, True, False, True])


def objects(items: list[object]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def to_lonlat(geoms: list[object]) -> np.ndarray:
    return transform_geometries(objects(geoms), FRAME, WGS84)


def write_geojson(path: Path, geoms_m: list[object]) -> Path:
    feats = [{"type": "Feature", "properties": {"n": i}, "geometry": shapely.geometry.mapping(g)}
             for i, g in enumerate(to_lonlat(geoms_m))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def store_patches(store: WorkspaceStore, centres: list[tuple[float, float]]) -> np.ndarray:
    """A 1 ha patch at each centre and two 0.5 ha neighbours 300 m north and south of it;
    returns the ids of the 1 ha patches."""
    polys = []
    for x, y in centres:
        polys += [box(x - 50, y - 50, x + 50, y + 50), box(x - 35, y + 265, x + 35, y + 335),
                  box(x - 35, y - 335, x + 35, y - 265)]
    geoms = to_lonlat(polys)
    n = len(polys)
    centre = shapely.centroid(geoms)
    pixels = np.full(n, 10, np.int64)
    clearings = ClearingSet(
        geometry=geoms,
        first_date=np.full(n, np.datetime64("2024-03-01"), "datetime64[D]"),
        last_date=np.full(n, np.datetime64("2024-03-20"), "datetime64[D]"),
        pixels_low=np.zeros(n, np.int64), pixels_high=pixels,
        pixels_highest=np.zeros(n, np.int64), pixel_count=pixels,
        centroid_lon=shapely.get_x(centre), centroid_lat=shapely.get_y(centre),
        **shape_features(objects(polys)),
    )
    with store.transaction() as conn:
        batch = store.batches.add(conn, NewBatch(
            key="b1", source="b1.tif", product="gfw_integrated", since=None, until=None,
            min_confidence="low", sha256="b1".ljust(64, "0"), n_pixels=0, n_clearings=n,
            area_ha=0.0))
        ids = store.clearings.add(conn, batch, clearings,
                                  place_clearings(clearings, [], buffer_m=5000.0))
    return np.asarray(ids)[::3]


@pytest.fixture
def store(store_factory, tmp_path: Path) -> Iterator[WorkspaceStore]:
    ws = store_factory.create(tmp_path / "ws")
    yield ws
    ws.close()


def test_a_road_layer_covering_half_the_area(store: WorkspaceStore, tmp_path: Path) -> None:
    res = import_layer(store, write_geojson(tmp_path / "vias.geojson", [ROAD]), "road",
                       coverage=write_geojson(tmp_path / "mitad.geojson", [WEST_HALF]))
    assert res.imported == 1 and res.coverage is not None
    assert res.coverage_km2 == pytest.approx(20 * 40, rel=0.01)  # 20 km x 40 km
    patches = store_patches(store, CENTRES)

    ids, table = clearing_features(store, clearing_ids=patches)
    assert ids.tolist() == patches.tolist()
    road = table["dist_road_m"]
    # the west: measured (5 and 4.5 km from the road); the east: unknown, not 7 km
    np.testing.assert_allclose(road[~EAST], [4950.0, 4450.0], rtol=2e-3)
    assert np.isnan(road[EAST]).all()

    # the rules: no road-distance term in the east, and a lower completeness there
    model = RulesModel()
    evidence = model.evidence(table)
    far = [k for k, t in enumerate(TERMS) if t.key == "far_from_road"][0]
    assert (evidence.contributions[~EAST, far] > 0.5).all()  # far from a known road: coca
    assert (evidence.contributions[EAST, far] == 0.0).all()
    assert (evidence.completeness[EAST] < evidence.completeness[~EAST]).all()
    preds = model.predict(table)
    assert (preds.completeness[EAST] < preds.completeness[~EAST]).all()
    for i in np.flatnonzero(EAST):
        assert "far_from_road" not in [r.code for r in preds.reasons[i]]

    # what each part says about coverage, and the stored reasons after classification
    (part,) = list(iter_feature_parts(store, clearing_ids=patches))
    assert part.uncovered["road"].tolist() == EAST.tolist()
    result = classify_clearings(store)
    assert result.clearings == 12
    stored = store.clearings.frame().set_index("id")
    for cid, east in zip(patches.tolist(), EAST.tolist(), strict=True):
        codes = [r["code"] for r in stored.loc[cid, "driver_reasons"]]
        assert ("not_covered" in codes) is east, (cid, codes)
        assert ("far_from_road" in codes) is (not east and stored.loc[cid, "driver"] == "coca")
        if east:
            note = stored.loc[cid, "driver_reasons"][-1]
            assert note == {"code": "not_covered", "params": {"layers": "road"}}
    set_language("es")
    assert reason_text(Reason("not_covered", {"layers": "road"})) == (
        "la capa de vías no cubre este lugar")
    assert reason_text(Reason("not_covered", {"layers": "river,road"})) == (
        "las capas de ríos y vías no cubren este lugar")
    set_language("en")
    assert reason_text(Reason("not_covered", {"layers": "road"})) == (
        "the roads layer does not cover this place")


def test_the_default_coverage_is_the_extent_plus_2_km(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    import_layer(store, write_geojson(tmp_path / "vias.geojson", [ROAD]), "road")
    # 1 km and 1.9 km beyond the road (within the margin), 5 km beyond it (outside)
    patches = store_patches(store, [(-5000, 0), (-7900, 0), (-1000, 0)])
    _ids, table = clearing_features(store, clearing_ids=patches)
    road = table["dist_road_m"]
    np.testing.assert_allclose(road[:2], [950.0, 1850.0], rtol=2e-3)
    assert np.isnan(road[2])
    with store.engine.connect() as conn:
        origin = conn.execute(sa.select(s.context_coverages.c.origin)).scalars().all()
    assert origin == ["extent"]


def test_coverage_of_layers_stored_without_one(store: WorkspaceStore) -> None:
    # features stored without an import record (or before coverages were kept): their
    # extent is their coverage
    with store.transaction() as conn:
        store.context.add(conn, None, "road", [(to_lonlat([ROAD])[0], "PA-1", None, None)])
    patches = store_patches(store, [(-5000, 0), (-1000, 0)])
    _ids, table = clearing_features(store, clearing_ids=patches)
    assert table["dist_road_m"][0] == pytest.approx(950.0, rel=2e-3)
    assert np.isnan(table["dist_road_m"][1])


def test_a_coverage_given_again_replaces_the_extent(store: WorkspaceStore,
                                                     tmp_path: Path) -> None:
    roads = write_geojson(tmp_path / "vias.geojson", [ROAD])
    first = import_layer(store, roads, "road")
    assert not first.coverage_updated and first.coverage is None
    patches = store_patches(store, [(-1000, 0)])
    assert np.isnan(clearing_features(store, clearing_ids=patches)[1]["dist_road_m"][0])
    again = import_layer(store, roads, "road",
                         coverage=write_geojson(tmp_path / "mitad.geojson", [WEST_HALF]))
    assert again.skipped_existing and again.imported == 0 and again.coverage_updated
    assert store.context.count_by_kind() == {"road": 1}
    (record,) = store.context.coverages()
    assert record.origin == "file" and record.source.endswith("mitad.geojson")
    road = clearing_features(store, clearing_ids=patches)[1]["dist_road_m"][0]
    assert road == pytest.approx(4950.0, rel=2e-3)


def test_a_coverage_without_polygons_is_refused(store: WorkspaceStore, tmp_path: Path) -> None:
    lines = write_geojson(tmp_path / "lineas.geojson", [ROAD])
    with pytest.raises(InputError) as err:
        import_layer(store, write_geojson(tmp_path / "vias.geojson", [ROAD]), "road",
                     coverage=lines)
    assert err.value.inputs == ("coverage",) and "lineas.geojson" in str(err.value.source)
    assert store.context.count_by_kind() == {} and store.context.coverages() == []


def test_cli_import_with_coverage(store_factory, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    store_factory.create(ws).close()
    env = {**store_factory.env(ws), "VIGILANCIA_LANGUAGE": "es"}
    roads = write_geojson(tmp_path / "vias.geojson", [ROAD])
    half = write_geojson(tmp_path / "mitad.geojson", [WEST_HALF])
    runner = CliRunner()
    res = runner.invoke(app, ["layers", "import", str(ws), str(roads), "--kind", "road",
                              "--coverage", str(half)], env=env)
    assert res.exit_code == 0, res.output
    assert "Cobertura:" in res.output and "mitad.geojson" in res.output
    assert "800 km²" in res.output
    res = runner.invoke(app, ["layers", "import", str(ws), str(roads), "--kind", "road",
                              "--coverage", str(roads)], env=env)
    assert res.exit_code != 0
    assert "no tiene polígonos" in res.output and "--coverage" in res.output
