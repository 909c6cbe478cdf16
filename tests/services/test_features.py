"""The feature table of stored clearings, on SQLite and PostgreSQL.

Hand-built region (drawn in metres around the Pichis valley, then stored in lon/lat):

- a river along x = 0 (north-south) and a known runway centre-line on strip A;
- batch 1: A, an 820 m x 30 m strip 600 m east of the river; B and C, coca-sized
  patches 500 m apart inside a community; D inside a protected area and F 1.5 km
  north of D;
- batch 2: E, a re-clearing of part of strip A four months later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from vigilancia.domain.clearings import ClearingSet
from vigilancia.domain.drivers import FEATURES
from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.store import NewBatch, WorkspaceStore
from vigilancia.services.features import (
    clearing_features,
    iter_clearing_features,
    iter_feature_parts,
)
from vigilancia.services.layers import import_layer
from vigilancia.services.vector_alerts import place_clearings, shape_features

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SHARED_DATA = REPO.parent / "shared" / "data"
LON0, LAT0 = -75.0, -10.3
FRAME = local_equal_area(LON0, LAT0)


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (../shared/data is not part of the repo)")
    return path


def objects(items: list[object]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def to_lonlat(geoms: list[object]) -> np.ndarray:
    return transform_geometries(objects(geoms), FRAME, WGS84)


def to_metres(geoms: np.ndarray) -> np.ndarray:
    return transform_geometries(geoms, WGS84, FRAME)


def clearing_set(polys_m: list[object], first: list[str], last: list[str]) -> ClearingSet:
    """Clearings from polygons drawn in metres: shape measured, centroid in lon/lat."""
    geoms = to_lonlat(polys_m)
    f = shape_features(objects(polys_m))
    n = len(polys_m)
    centre = shapely.centroid(geoms)
    pixels = np.full(n, 10, np.int64)
    return ClearingSet(
        geometry=geoms,
        first_date=np.array(first, "datetime64[D]"),
        last_date=np.array(last, "datetime64[D]"),
        pixels_low=np.zeros(n, np.int64),
        pixels_high=pixels,
        pixels_highest=np.zeros(n, np.int64),
        pixel_count=pixels,
        centroid_lon=shapely.get_x(centre),
        centroid_lat=shapely.get_y(centre),
        **f,
    )


def store_batch(store: WorkspaceStore, key: str, clearings: ClearingSet) -> np.ndarray:
    with store.transaction() as conn:
        batch = store.batches.add(
            conn,
            NewBatch(
                key=key,
                source=f"{key}.tif",
                product="gfw_integrated",
                since=None,
                until=None,
                min_confidence="low",
                sha256=key.ljust(64, "0"),
                n_pixels=0,
                n_clearings=len(clearings),
                area_ha=0.0,
            ),
        )
        placement = place_clearings(clearings, store.territories.list(), buffer_m=5000.0)
        return store.clearings.add(conn, batch, clearings, placement)


def write_geojson(path: Path, geoms_m: list[object], props: list[dict]) -> Path:
    feats = [
        {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
        for g, p in zip(to_lonlat(geoms_m), props, strict=True)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


A = box(600, 0, 1420, 30)  # runway-like strip, 600 m from the river
B = box(3000, 3000, 3100, 3080)  # 0.8 ha coca-sized patch inside the community
C = box(3500, 3000, 3600, 3100)  # 1 ha, about 500 m east of B
D = box(9000, 9000, 9200, 9100)  # 2 ha inside the protected area
F = box(9000, 10_500, 9100, 10_600)  # 1 ha, 1.5 km north of D
E = box(700, 0, 1000, 30)  # batch 2: part of strip A cleared again
COMMUNITY = box(2000, 2000, 5000, 5000)
PROTECTED = box(8000, 8000, 20_000, 20_000)
RIVER = LineString([(0, -20_000), (0, 20_000)])
RUNWAY = LineString([(600, 15), (1420, 15)])
TOWN = Point(3050, 5040)
MAPPED = box(-20_000, -20_000, 20_000, 20_000)  # where the layers were mapped (coverage)


@pytest.fixture
def store(store_factory, tmp_path: Path) -> Iterator[WorkspaceStore]:
    ws = store_factory.create(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def region(store: WorkspaceStore, tmp_path: Path) -> dict[str, int]:
    """The hand-built region stored; returns the clearing id of each letter."""
    with store.transaction() as conn:
        store.territories.add(
            conn,
            [
                Territory(
                    name="CN Alto Pichis",
                    kind=TerritoryKind.COMMUNITY,
                    geometry=to_lonlat([COMMUNITY])[0],
                    source="cn.gpkg",
                ),
                Territory(
                    name="BP San Matías",
                    kind=TerritoryKind.PROTECTED_AREA,
                    geometry=to_lonlat([PROTECTED])[0],
                    source="anp.gpkg",
                ),
            ],
        )
    # one river, one runway and one town: mapped over the whole region (coverage given)
    mapped = write_geojson(tmp_path / "zona.geojson", [MAPPED], [{"nombre": "zona"}])
    import_layer(
        store,
        write_geojson(
            tmp_path / "rios.geojson", [RIVER], [{"NOMBRE": "Río Pichis", "TIPO": "Río"}]
        ),
        "river",
        coverage=mapped,
    )
    import_layer(
        store, write_geojson(tmp_path / "pistas.geojson", [RUNWAY], [{"id": 7}]), "airstrip",
        coverage=mapped,
    )
    import_layer(
        store,
        write_geojson(tmp_path / "pueblos.geojson", [TOWN], [{"name": "Puerto Bermúdez"}]),
        "settlement",
        coverage=mapped,
    )
    first = store_batch(
        store,
        "b1",
        clearing_set(
            [A, B, C, D, F],
            ["2024-01-10", "2024-02-01", "2024-02-03", "2024-01-05", "2024-01-06"],
            ["2024-01-20", "2024-02-15", "2024-02-03", "2024-03-05", "2024-01-06"],
        ),
    )
    second = store_batch(store, "b2", clearing_set([E], ["2024-06-01"], ["2024-06-05"]))
    return dict(zip("ABCDFE", [*first.tolist(), *second.tolist()], strict=True))


def column(ids: np.ndarray, table: dict, name: str, region: dict[str, int]) -> dict[str, float]:
    at = {int(i): k for k, i in enumerate(ids)}
    return {letter: float(table[name][at[cid]]) for letter, cid in region.items() if cid in at}


def test_every_feature_for_every_clearing(store: WorkspaceStore, region: dict[str, int]) -> None:
    ids, table = clearing_features(store)
    assert ids.tolist() == sorted(region.values())
    assert set(table) == set(FEATURES)
    for name in FEATURES:
        assert table[name].dtype == np.float64 and table[name].shape == (6,), name

    def col(name: str) -> dict[str, float]:
        return column(ids, table, name, region)

    # distances (m) from the polygon to the nearest feature, in a frame a few km away
    # from the one the region was drawn in: equal within 0.1%
    river = col("dist_river_m")
    expected = {"A": 600, "B": 3000, "C": 3500, "D": 9000, "F": 9000, "E": 700}
    for letter, metres in expected.items():
        assert river[letter] == pytest.approx(metres, rel=1e-3), letter
    airstrip = col("dist_airstrip_m")
    assert airstrip["A"] == 0.0 and airstrip["E"] == 0.0  # on the known runway
    assert airstrip["B"] == pytest.approx(shapely.distance(B, RUNWAY), rel=1e-3)
    assert col("dist_settlement_m")["B"] == pytest.approx(5040 - 3080, rel=1e-3)
    protected = col("dist_protected_area_m")
    assert protected["D"] == 0.0 and protected["F"] == 0.0  # inside it
    assert protected["B"] == pytest.approx(np.hypot(8000 - 3100, 8000 - 3080), rel=1e-3)
    # no road, trail or border layer: unknown, not an error
    for name in ("dist_road_m", "dist_trail_m", "dist_border_m"):
        assert np.isnan(table[name]).all(), name

    # density: other clearings whose centroid is within 1, 2 and 5 km (any batch)
    assert col("clearings_1km") == {"A": 1, "B": 1, "C": 1, "D": 0, "F": 0, "E": 1}
    assert col("clearings_2km") == {"A": 1, "B": 1, "C": 1, "D": 1, "F": 1, "E": 1}
    assert col("clearings_5km") == {"A": 3, "B": 3, "C": 3, "D": 1, "F": 1, "E": 3}
    cleared = col("cleared_ha_1km")
    for letter, ha in {"A": 0.9, "E": 2.46, "B": 1.0, "C": 0.8, "D": 0.0, "F": 0.0}.items():
        assert cleared[letter] == pytest.approx(ha, rel=2e-3), letter

    # position relative to territories, from the stored placement
    assert col("inside_territory") == {"A": 0, "B": 1, "C": 1, "D": 0, "F": 0, "E": 0}
    assert col("boundary_distance_m")["B"] == pytest.approx(1000.0, rel=1e-3)

    # shape, from the stored columns
    shape = {name: col(name) for name in ("area_ha", "length_m", "width_m", "rectangularity")}
    assert shape["area_ha"]["A"] == pytest.approx(2.46, rel=1e-6)
    assert shape["length_m"]["A"] == pytest.approx(820.0) and shape["width_m"][
        "A"
    ] == pytest.approx(30.0)
    assert all(v == pytest.approx(1.0) for v in shape["rectangularity"].values())
    assert col("elongation")["A"] == pytest.approx(820 / 30)

    # time
    assert col("span_days") == {"A": 10, "B": 14, "C": 0, "D": 60, "F": 0, "E": 4}
    assert col("recleared") == {"A": 0, "B": 0, "C": 0, "D": 0, "F": 0, "E": 1}


def test_one_batch_is_measured_against_every_stored_clearing(
    store: WorkspaceStore, region: dict[str, int]
) -> None:
    ids, table = clearing_features(store, batch_ids=[2])
    assert ids.tolist() == [region["E"]]
    assert table["clearings_1km"].tolist() == [1.0]  # strip A, of batch 1
    assert table["cleared_ha_1km"][0] == pytest.approx(2.46, rel=2e-3)
    assert table["recleared"].tolist() == [1.0]
    assert table["dist_river_m"][0] == pytest.approx(700.0, rel=1e-3)

    ids, table = clearing_features(store, clearing_ids=[region["C"], region["D"], 999_999])
    assert ids.tolist() == [region["C"], region["D"]]
    assert table["clearings_1km"].tolist() == [1.0, 0.0]
    assert table["inside_territory"].tolist() == [1.0, 0.0]

    with store.transaction() as conn:  # inside a running transaction, through its connection
        ids, table = clearing_features(store, batch_ids=[1], conn=conn)
    assert len(ids) == 5


def _recorder(seen: list[tuple[int, int]]):
    return lambda _stage, done, total: seen.append((done, total))


def test_parts_give_the_whole_table(store: WorkspaceStore, region: dict[str, int]) -> None:
    # the parts are read with their own neighbours: a density count or a re-clearing
    # across the edge of two parts comes out as in one read of everything
    whole_ids, whole = clearing_features(store)
    for size in (1, 2, 4):
        seen: list[tuple[int, int]] = []
        parts = list(iter_clearing_features(store, part_size=size, progress=_recorder(seen)))
        assert all(0 < len(ids) <= size for ids, _table in parts)
        ids = np.concatenate([p[0] for p in parts])
        order = np.argsort(ids)
        assert ids[order].tolist() == whole_ids.tolist()
        for name in FEATURES:
            np.testing.assert_allclose(  # sums may differ in the last bit (summation order)
                np.concatenate([p[1][name] for p in parts])[order], whole[name], rtol=1e-12,
                err_msg=name,
            )
        assert len(seen) == len(parts) and seen[-1] == (6, 6)
        assert [d for d, _t in seen] == sorted(d for d, _t in seen)
    # a part holds clearings of one band of latitude: D and F (the northernmost) together
    (_first, _t1), *_rest, (last, _t2) = iter_clearing_features(store, part_size=2)
    assert {int(i) for i in last} == {region["D"], region["F"]}


def test_a_workspace_without_layers_or_territories(store: WorkspaceStore) -> None:
    ids, table = clearing_features(store)
    assert len(ids) == 0 and set(table) == set(FEATURES)

    store_batch(store, "solo", clearing_set([A, B], ["2024-01-01"] * 2, ["2024-01-03"] * 2))
    ids, table = clearing_features(store)
    assert len(ids) == 2
    unknown = [n for n in FEATURES if n.startswith("dist_")] + [
        "inside_territory",
        "boundary_distance_m",
    ]
    for name in unknown:
        assert np.isnan(table[name]).all(), name
    assert table["clearings_5km"].tolist() == [1.0, 1.0]
    assert table["span_days"].tolist() == [2.0, 2.0]
    assert table["recleared"].tolist() == [0.0, 0.0]


def test_vector_alerts_known_only_by_a_box_are_measured_from_their_point(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    import_layer(store, write_geojson(tmp_path / "r.geojson", [RIVER], [{"n": 1}]), "river")
    cs = clearing_set([box(500, 0, 1500, 1000)], ["2024-01-01"], ["2024-01-01"])
    point = to_lonlat([Point(1200, 500)])[0]
    bbox_only = ClearingSet(
        **{
            **{name: getattr(cs, name) for name in cs.__dataclass_fields__},
            "perimeter_m": np.array([np.nan]),
            "pixels_high": np.zeros(1, np.int64),
            "pixel_count": np.zeros(1, np.int64),
            "centroid_lon": np.array([point.x]),
            "centroid_lat": np.array([point.y]),
        }
    )
    store_batch(store, "mb", bbox_only)
    _ids, table = clearing_features(store)
    assert table["dist_river_m"][0] == pytest.approx(1200.0, rel=1e-3)


# ------------------------------------------------------------------- real data


def runway_strips(lines: np.ndarray, width_m: float) -> list[object]:
    """Strips ``width_m`` wide burnt along real runway centre-lines (flat ends), in metres."""
    lines_m = to_metres(lines)
    return list(shapely.buffer(lines_m, width_m / 2, cap_style="flat"))


def test_real_runways_and_rivers(store: WorkspaceStore) -> None:
    rivers_path = shared("network/rivers_pasco.geojson")
    runways_path = shared("airstrips/runways_peru.geojson")
    import_layer(store, rivers_path, "river", class_field="TIPO")
    import_layer(store, runways_path, "airstrip")
    runways = json.loads(runways_path.read_text())["features"]
    # runways 153 and 114 lie in Pasco, where the river layer is, 89 just north of it
    chosen = [f for f in runways if f["properties"]["id"] in (153, 114, 89)]
    lines = objects([shapely.geometry.shape(f["geometry"]) for f in chosen])
    strips = runway_strips(lines, 30.0)
    # a coca-sized patch (about 1 ha) 2 km south of the first runway
    centre = strips[0].centroid
    patch = Point(centre.x, centre.y - 2000).buffer(56)
    n = len(strips) + 1
    today = ["2024-05-01"] * n
    store_batch(store, "real", clearing_set([*strips, patch], today, today))

    ids, table = clearing_features(store)
    assert len(ids) == n
    assert table["dist_airstrip_m"][:3].tolist() == [0.0, 0.0, 0.0]
    runway_m = to_metres(lines[:1])[0]
    assert table["dist_airstrip_m"][3] == pytest.approx(shapely.distance(patch, runway_m), rel=2e-3)
    assert (table["elongation"][:3] > 15).all() and (table["rectangularity"][:3] > 0.9).all()

    # against a brute-force distance to every one of the 7,403 river lines
    features = json.loads(rivers_path.read_text())["features"]
    rivers_m = to_metres(objects([shapely.geometry.shape(f["geometry"]) for f in features]))
    clearings_m = objects([*strips, patch])
    brute = np.array([shapely.distance(c, rivers_m).min() for c in clearings_m])
    # runway 89 lies in Huánuco, 4 km beyond the convex hull of the Pasco rivers (more than
    # the 2 km margin of a layer's default coverage), and so does the patch south of it:
    # the nearest Pasco river is 19-20 km away, but the layer says nothing there
    hull = shapely.convex_hull(shapely.GeometryCollection(list(rivers_m)))
    outside = np.array([shapely.distance(c.centroid, hull) > 2000 for c in clearings_m])
    assert outside.tolist() == [True, False, False, True]
    assert np.isnan(table["dist_river_m"]).tolist() == outside.tolist()
    np.testing.assert_allclose(table["dist_river_m"][~outside], brute[~outside], rtol=2e-3,
                               atol=0.5)
    # as the field reports say: most runways lie within 1 km of a river (here 2 of the 3)
    assert (table["dist_river_m"][:3] < 1000).sum() == 2
    assert np.isnan(table["dist_road_m"]).all()


def test_clearings_far_apart_are_measured_in_their_own_frames(
    store: WorkspaceStore, tmp_path: Path
) -> None:
    # one clearing on the Pichis (Pasco) and one on the Nanay (Loreto), 7 degrees apart:
    # one frame for both would stretch distances by about 0.05%; a frame each keeps them exact
    loreto = local_equal_area(-73.3, -3.7)

    def drawn(geoms: list[object], frame: object) -> list[object]:
        return list(transform_geometries(objects(geoms), frame, WGS84))

    rivers = drawn([RIVER], FRAME) + drawn([RIVER], loreto)
    feats = [
        {"type": "Feature", "properties": {"NOMBRE": n},
         "geometry": shapely.geometry.mapping(g)}
        for n, g in zip(["Río Pichis", "Río Nanay"], rivers, strict=True)
    ]
    path = tmp_path / "rios.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    import_layer(store, path, "river")
    pichis = to_lonlat([A])[0]
    nanay = drawn([box(400, 0, 500, 100)], loreto)[0]
    cs = clearing_set([A, A], ["2024-01-01"] * 2, ["2024-01-02"] * 2)
    centres = shapely.centroid(objects([pichis, nanay]))
    far = ClearingSet(**{
        **{name: getattr(cs, name) for name in cs.__dataclass_fields__},
        "geometry": objects([pichis, nanay]),
        "centroid_lon": shapely.get_x(centres),
        "centroid_lat": shapely.get_y(centres),
    })
    store_batch(store, "far", far)
    ids, table = clearing_features(store, clearing_ids=[1, 2])  # dense ids: one range read
    assert ids.tolist() == [1, 2]
    np.testing.assert_allclose(table["dist_river_m"], [600.0, 400.0], rtol=1e-4)
    assert table["clearings_5km"].tolist() == [0.0, 0.0]


def test_runway_candidates_are_measured_from_their_members(
    store: WorkspaceStore, region: dict[str, int]
) -> None:
    # strip A and its re-clearing E (batch 2) line up: one candidate of two clearings,
    # whatever part or batch is asked for, measured from its members
    for kwargs in ({}, {"batch_ids": [2]}, {"part_size": 1}):
        parts = list(iter_feature_parts(store, runways=True, **kwargs))
        found = [(c, {k: v[i] for k, v in p.runways.table.items()})
                 for p in parts if p.runways is not None
                 for i, c in enumerate(p.runways.candidates)]
        assert {c.members for c, _row in found} == {(region["A"], region["E"])}, kwargs
        cand, row = found[0]
        assert cand.length_m == pytest.approx(820.0, rel=2e-3)
        assert row["dist_river_m"] == pytest.approx(600.0, rel=1e-3)  # A, the nearer
        assert row["dist_airstrip_m"] == 0.0
        assert row["dist_settlement_m"] == pytest.approx(
            shapely.distance(A, TOWN), rel=1e-3)
        assert row["dist_protected_area_m"] == pytest.approx(
            shapely.distance(A, PROTECTED), rel=1e-3)
        assert np.isnan(row["dist_road_m"])  # no road layer
        # its own members are not its neighbours: nothing else within 1 or 2 km
        assert row["clearings_1km"] == 0.0 and row["cleared_ha_1km"] == 0.0
        assert row["clearings_2km"] == 0.0 and row["clearings_5km"] == 2.0  # B and C
        assert row["recleared"] == 1.0 and row["inside_territory"] == 0.0
        assert row["span_days"] == (np.datetime64("2024-06-05") - np.datetime64("2024-01-10")
                                    ).astype(int)
        assert row["boundary_distance_m"] == pytest.approx(
            shapely.distance(A, COMMUNITY.exterior), rel=2e-3)
