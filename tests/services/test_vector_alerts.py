"""Vector alerts as clearings, and placement of clearings against stored territories."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import affinity
from shapely.geometry import Point, box

from vigilancia.domain.clearings import ClearingSet
from vigilancia.domain.territories import StoredTerritory, TerritoryKind
from vigilancia.io.crs import WGS84, local_equal_area, transform_geometries
from vigilancia.io.sources.mapbiomas import VectorAlerts, read_vector_alerts
from vigilancia.services.vector_alerts import (
    clearings_from_vector_alerts,
    place_clearings,
    shape_features,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (../shared/data is not part of the repo)")
    return path


def objects(items: list[object]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def metres_to_degrees(geom: object, lon0: float = -75.0, lat0: float = -9.0) -> object:
    """A geometry drawn in metres around (lon0, lat0), returned in lon/lat."""
    crs = local_equal_area(lon0, lat0)
    return transform_geometries(objects([geom]), crs, WGS84)[0]


def make_alerts() -> VectorAlerts:
    polygon = metres_to_degrees(box(0, 0, 300, 100))  # 3 ha, long side east-west
    tilted = metres_to_degrees(affinity.rotate(box(1000, 0, 1400, 100), 45, origin="centroid"))
    bbox = box(-75.01, -9.01, -75.0, -9.0)
    return VectorAlerts(
        code=objects(["p", "t", "b"]),
        detected=np.array(["2022-01-01", "2022-06-30", "2023-01-01"], dtype="datetime64[D]"),
        area_ha=np.array([np.nan, 5.0, 2.0]),
        geometry=objects([polygon, tilted, bbox]),
        point=objects([
            shapely.point_on_surface(polygon), shapely.point_on_surface(tilted),
            Point(-75.005, -9.004),
        ]),
        geometry_is_bbox=np.array([False, False, True]),
        source="memory",
    )


# --------------------------------------------------------------------------- features


def test_shape_features_of_canonical_shapes() -> None:
    f = shape_features(objects([
        box(0, 0, 300, 100),  # east-west
        box(0, 0, 100, 300),  # north-south
        affinity.rotate(box(0, 0, 400, 100), 45),  # north-east
        affinity.rotate(box(0, 0, 400, 100), -30),  # 30 degrees south of east
        box(0, 0, 100, 100),
        Point(0, 0).buffer(100, quad_segs=256),
    ]))
    np.testing.assert_allclose(f["area_ha"][:4], [3, 3, 4, 4])
    np.testing.assert_allclose(f["length_m"][:4], [300, 300, 400, 400])
    np.testing.assert_allclose(f["width_m"][:4], [100, 100, 100, 100])
    np.testing.assert_allclose(f["orientation_deg"][:4], [90, 0, 45, 120], atol=1e-6)
    np.testing.assert_allclose(f["elongation"][:4], [3, 3, 4, 4])
    np.testing.assert_allclose(f["perimeter_m"][:2], [800, 800])
    assert f["compactness"][4] == pytest.approx(np.pi / 4)
    assert f["compactness"][5] == pytest.approx(1.0, abs=1e-4)
    assert ((f["orientation_deg"] >= 0) & (f["orientation_deg"] < 180)).all()


def test_shape_features_of_degenerate_shapes_are_nan() -> None:
    f = shape_features(objects([box(0, 0, 0, 10), shapely.Polygon()]))
    for key in ("perimeter_m", "length_m", "width_m", "orientation_deg", "elongation",
                "compactness"):
        assert np.isnan(f[key]).all(), key


def test_clearings_from_vector_alerts() -> None:
    clearings = clearings_from_vector_alerts(make_alerts(), since=None, until=None)
    assert isinstance(clearings, ClearingSet) and len(clearings) == 3
    assert clearings.source_ref.tolist() == ["p", "t", "b"]
    # polygon area when the file has none; the published area otherwise
    assert clearings.area_ha.tolist() == pytest.approx([3.0, 5.0, 2.0], rel=1e-4)
    assert clearings.perimeter_m[0] == pytest.approx(800, rel=1e-4)
    assert clearings.length_m[:2] == pytest.approx([300, 400], rel=1e-4)
    assert clearings.width_m[:2] == pytest.approx([100, 100], rel=1e-4)
    assert clearings.orientation_deg[0] == pytest.approx(90, abs=0.1)
    assert clearings.orientation_deg[1] == pytest.approx(45, abs=0.1)
    assert clearings.elongation[:2] == pytest.approx([3, 4], rel=1e-4)
    # a box says nothing about the clearing's shape
    for field in ("perimeter_m", "length_m", "width_m", "orientation_deg", "elongation",
                  "compactness"):
        assert np.isnan(getattr(clearings, field)[2])
    np.testing.assert_array_equal(clearings.first_date, clearings.last_date)
    assert clearings.first_date.dtype == np.dtype("datetime64[D]")
    assert (clearings.pixel_count == 0).all() and (clearings.pixels_high == 0).all()
    assert clearings.centroid_lon[2] == -75.005 and clearings.centroid_lat[2] == -9.004
    assert clearings.geometry[2].equals(box(-75.01, -9.01, -75.0, -9.0))


def test_detection_window_is_inclusive() -> None:
    alerts = make_alerts()
    window = clearings_from_vector_alerts(alerts, since=date(2022, 6, 30), until=date(2023, 1, 1))
    assert window.source_ref.tolist() == ["t", "b"]
    first_day = clearings_from_vector_alerts(alerts, since=None, until=date(2022, 1, 1))
    assert first_day.source_ref.tolist() == ["p"]
    empty = clearings_from_vector_alerts(alerts, since=date(2030, 1, 1), until=None)
    assert len(empty) == 0


# --------------------------------------------------------------------------- placement


def territory(tid: int, kind: TerritoryKind, geom: object) -> StoredTerritory:
    return StoredTerritory(id=tid, name=f"t{tid}", kind=kind, geometry=geom, source="test")


def test_place_clearings_kinds_and_points() -> None:
    lon0, lat0 = -75.0, -9.0
    community = territory(1, TerritoryKind.COMMUNITY, metres_to_degrees(box(0, 0, 2000, 2000)))
    district = territory(
        2, TerritoryKind.DISTRICT, metres_to_degrees(box(-9000, -9000, 9000, 9000))
    )
    park = territory(3, TerritoryKind.PROTECTED_AREA, metres_to_degrees(box(2000, 0, 4000, 2000)))
    far_community = territory(4, TerritoryKind.COMMUNITY, box(-70.0, -5.0, -69.9, -4.9))
    poly = metres_to_degrees(box(1900, 900, 2100, 1000))  # half community, half park
    inside = metres_to_degrees(box(500, 500, 600, 600))
    outside = metres_to_degrees(box(-400, 500, -300, 600))  # 300 m west of the community
    clearings = ClearingSet(
        geometry=objects([poly, inside, outside]),
        area_ha=np.array([2.0, 1.0, 1.0]),
        perimeter_m=np.array([600.0, 400.0, np.nan]),  # the last one is a box-only alert
        length_m=np.zeros(3), width_m=np.zeros(3), orientation_deg=np.zeros(3),
        elongation=np.zeros(3), compactness=np.zeros(3),
        first_date=np.zeros(3, "datetime64[D]"), last_date=np.zeros(3, "datetime64[D]"),
        pixels_low=np.zeros(3, np.int64), pixels_high=np.zeros(3, np.int64),
        pixels_highest=np.zeros(3, np.int64), pixel_count=np.zeros(3, np.int64),
        centroid_lon=np.array([lon0, lon0, shapely.get_x(metres_to_degrees(Point(-100, 550)))]),
        centroid_lat=np.array([lat0, lat0, shapely.get_y(metres_to_degrees(Point(-100, 550)))]),
    )
    result = place_clearings(
        clearings, [community, district, park, far_community], buffer_m=150.0
    )
    pairs = {
        (int(c), int(t)): (float(a), float(s))
        for c, t, a, s in zip(result.overlap_clearing, result.overlap_territory,
                              result.overlap_area_ha, result.overlap_share, strict=True)
    }
    assert pairs.keys() == {(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (2, 2)}
    assert pairs[(0, 1)] == pytest.approx((1.0, 0.5), rel=1e-4)
    assert pairs[(0, 3)] == pytest.approx((1.0, 0.5), rel=1e-4)
    assert pairs[(1, 1)] == pytest.approx((1.0, 1.0))
    assert pairs[(2, 2)] == pytest.approx((1.0, 1.0))  # by its point
    # nearest: communities only (the district's and the park's boundaries do not count)
    assert result.nearest_territory.tolist() == [1, 1, 1]
    # the box-only alert is measured from its point, 100 m west of the community
    np.testing.assert_allclose(result.boundary_distance_m, [0.0, 500.0, 100.0], atol=0.5)
    assert result.within_buffer.tolist() == [True, True, True]

    given = (np.array([0]), np.array([9]), np.array([1.0]), np.array([0.5]))
    again = place_clearings(clearings, [community, district], buffer_m=50.0, overlaps=given)
    assert again.overlap_territory.tolist() == [9]
    assert again.within_buffer.tolist() == [True, True, False]


def test_place_clearings_with_nothing() -> None:
    assert len(place_clearings(ClearingSet.empty(), [], buffer_m=10).nearest_territory) == 0
    clearings = clearings_from_vector_alerts(make_alerts(), since=None, until=None)
    result = place_clearings(clearings, [], buffer_m=10)
    assert result.nearest_territory.tolist() == [-1, -1, -1]
    assert len(result.overlap_clearing) == 0


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def puerto_inca() -> dict[str, object]:
    alerts = read_vector_alerts(shared("alerts/mapbiomas_alerta_peru_2021_2024.parquet"))
    districts = gpd.read_file(shared("admin/peru_districts.geojson"))
    provincial = gpd.read_file(shared("admin/prov_puerto_inca_districts.gpkg"))
    areas = gpd.read_file(shared("territories/sernanp_protected_areas.gpkg"))
    # quirk: UBIGEO codes are 6-digit strings with leading zeros (Amazonas is 01...)
    assert districts["IDDIST"].map(type).eq(str).all()
    assert districts.loc[districts["NOMBDEP"] == "AMAZONAS", "IDDIST"].str.startswith("01").all()
    province = districts[districts["NOMBPROV"] == "PUERTO INCA"].reset_index(drop=True)
    assert sorted(province["IDDIST"]) == ["100901", "100902", "100903", "100904", "100905"]
    # alerts whose point lies in the province (union of its 5 districts)
    inside = shapely.within(alerts.point, shapely.union_all(province.geometry.values))
    return {
        "alerts": alerts.take(np.flatnonzero(inside)),
        "province": province,
        "provincial": provincial,
        "areas": areas,
    }


def sjoin_counts(points: np.ndarray, polygons: gpd.GeoDataFrame, key: str) -> dict[str, int]:
    frame = gpd.GeoDataFrame(geometry=list(points), crs="EPSG:4326")
    joined = gpd.sjoin(frame, polygons[[key, "geometry"]], predicate="within")
    return {str(k): int(v) for k, v in joined[key].value_counts().items()}


def pipeline_counts(
    alerts: VectorAlerts, territories: list[StoredTerritory], since: date | None = None,
    until: date | None = None,
) -> tuple[dict[str, int], ClearingSet]:
    clearings = clearings_from_vector_alerts(alerts, since=since, until=until)
    result = place_clearings(clearings, territories, buffer_m=0.0)
    by_id = {t.id: str(t.source_id) for t in territories}
    counts = pd.Series(result.overlap_territory).map(by_id).value_counts()
    return {str(k): int(v) for k, v in counts.items()}, clearings


@pytest.mark.shared_data
def test_puerto_inca_counts_per_district_and_protected_area(puerto_inca: dict) -> None:
    alerts: VectorAlerts = puerto_inca["alerts"]  # type: ignore[assignment]
    province: gpd.GeoDataFrame = puerto_inca["province"]  # type: ignore[assignment]
    areas: gpd.GeoDataFrame = puerto_inca["areas"]  # type: ignore[assignment]
    assert 2_000 < len(alerts) < 4_000  # 2,776 alerts in 2021-2024

    territories = [
        StoredTerritory(id=100 + i, name=r.NOMBDIST, kind=TerritoryKind.DISTRICT,
                        geometry=r.geometry, source="peru_districts.geojson", source_id=r.IDDIST)
        for i, r in enumerate(province.itertuples())
    ] + [
        StoredTerritory(id=1000 + i, name=r.nombre, kind=TerritoryKind.PROTECTED_AREA,
                        geometry=r.geometry, source="sernanp_protected_areas.gpkg",
                        source_id=f"anp:{i}")
        for i, r in enumerate(areas.itertuples())
    ]
    counts, clearings = pipeline_counts(alerts, territories)
    assert len(clearings) == len(alerts)

    expected = sjoin_counts(alerts.point, province, "IDDIST")
    got_districts = {k: v for k, v in counts.items() if not k.startswith("anp:")}
    assert got_districts == expected
    assert sum(got_districts.values()) == len(alerts)  # every point is in one district
    # quirk: 83 features share a name with another one (multi-part areas such as
    # "Bosque Urum" come as separate features), so count per feature, not per name
    assert areas["nombre"].duplicated().sum() > 0
    areas = areas.reset_index(drop=True)
    areas = areas.assign(key=["anp:" + str(i) for i in range(len(areas))])
    assert {k: v for k, v in counts.items() if k.startswith("anp:")} == sjoin_counts(
        alerts.point, areas, "key"
    )
    el_sira = int(np.flatnonzero(areas["nombre"] == "El Sira")[0])
    assert counts[f"anp:{el_sira}"] > 0  # the communal reserve next to the Kakataibo homeland

    # a detection window: 2023 only
    in_2023 = alerts.take(
        (alerts.detected >= np.datetime64("2023-01-01"))
        & (alerts.detected <= np.datetime64("2023-12-31"))
    )
    counts_2023, _ = pipeline_counts(
        alerts, territories, since=date(2023, 1, 1), until=date(2023, 12, 31)
    )
    assert {k: v for k, v in counts_2023.items() if not k.startswith("anp:")} == sjoin_counts(
        in_2023.point, province, "IDDIST"
    )


@pytest.mark.shared_data
def test_puerto_inca_counts_with_the_detailed_provincial_layer(puerto_inca: dict) -> None:
    alerts: VectorAlerts = puerto_inca["alerts"]  # type: ignore[assignment]
    provincial: gpd.GeoDataFrame = puerto_inca["provincial"]  # type: ignore[assignment]
    territories = [
        StoredTerritory(id=i + 1, name=r.distrito, kind=TerritoryKind.DISTRICT, geometry=r.geometry,
                        source="prov_puerto_inca_districts.gpkg", source_id=r.distrito)
        for i, r in enumerate(provincial.itertuples())
    ]
    counts, _ = pipeline_counts(alerts, territories)
    assert counts == sjoin_counts(alerts.point, provincial, "distrito")
    # the two layers draw the boundaries differently (2007 INEI vs perugeopkg)
    assert set(counts) == {"PUERTO INCA", "CODO DEL POZUZO", "YUYAPICHIS", "TOURNAVISTA",
                           "HONORIA"}
