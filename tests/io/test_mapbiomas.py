"""Reading MapBiomas-Alerta-like vector alert files (Parquet, CSV, GeoJSON, GeoPackage)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, box

from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import get_language, set_language
from vigilancia.io.sources.mapbiomas import VectorAlerts, read_vector_alerts

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PARQUET = SHARED_DATA / "alerts" / "mapbiomas_alerta_peru_2021_2024.parquet"


@pytest.fixture
def real_parquet() -> Path:
    if not PARQUET.is_file():
        pytest.skip(f"real data file {PARQUET} is absent (../shared/data is not part of the repo)")
    return PARQUET


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    before = get_language()
    set_language("en")
    yield
    set_language(before)


def write_csv(path: Path, rows: list[dict[str, object]], sep: str = ",") -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, sep=sep)
    return path


def good_rows(n: int = 20) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        lon, lat = -74.9 + i * 0.01, -9.1 - i * 0.01
        rows.append({
            "alert_code": 10000000 + i,
            "id": 20000000 + i,
            "detected_at": f"2022-03-{i % 28 + 1:02d}",
            "published_at": "2025-11-19",
            "area_ha": 1.5 + i,
            "lat": lat,
            "lon": lon,
            "bbox": f"{lon - 0.008},{lat - 0.008},{lon + 0.008},{lat + 0.008}",
        })
    return rows


# --------------------------------------------------------------------------- real file


@pytest.mark.shared_data
def test_real_parquet_is_read_whole(real_parquet: Path) -> None:
    alerts = read_vector_alerts(real_parquet)

    assert isinstance(alerts, VectorAlerts)
    assert len(alerts) == 37_332
    assert alerts.source == str(real_parquet)
    assert alerts.detected.dtype == np.dtype("datetime64[D]")
    assert alerts.detected.min() == np.datetime64("2021-01-04")
    # the README says "-> 2024-12-31", the latest detection in the file is the 30th
    assert alerts.detected.max() == np.datetime64("2024-12-30")
    assert all(isinstance(c, str) for c in alerts.code[:100])
    assert alerts.code[0] == "10000662"  # alert_code wins over id
    assert len(set(alerts.code)) == len(alerts)
    assert np.nanmin(alerts.area_ha) >= 0.19 and np.nanmax(alerts.area_ha) < 361
    # no polygons in this product: boxes and points only
    assert alerts.geometry_is_bbox.all()
    assert (shapely.get_type_id(alerts.geometry) == 3).all()
    assert shapely.contains(alerts.geometry, alerts.point).all()
    minx, miny, maxx, maxy = alerts.bounds()
    assert -82 < minx < maxx < -68 and -19 < miny < maxy < 0


@pytest.mark.shared_data
def test_real_parquet_boxes_are_view_windows_not_clearing_extents(real_parquet: Path) -> None:
    """Quirk: most boxes are a fixed ~0.017 degree square, far larger than the alert."""
    alerts = read_vector_alerts(real_parquet)
    b = shapely.bounds(alerts.geometry)
    width = b[:, 2] - b[:, 0]
    assert np.median(width) == pytest.approx(0.01696, abs=1e-4)
    # a 0.017 degree box is ~350 ha near the equator; the median alert is ~3 ha
    assert np.median(alerts.area_ha) < 5


@pytest.mark.shared_data
def test_csv_with_the_same_columns_reads_like_the_parquet(
    real_parquet: Path, tmp_path: Path
) -> None:
    df = pd.read_parquet(real_parquet).iloc[:500]
    path = tmp_path / "alerts.csv"
    df.to_csv(path, index=False)
    from_csv = read_vector_alerts(path)
    from_parquet = read_vector_alerts(real_parquet).take(np.arange(500))
    assert list(from_csv.code) == list(from_parquet.code)
    np.testing.assert_array_equal(from_csv.detected, from_parquet.detected)
    np.testing.assert_allclose(from_csv.area_ha, from_parquet.area_ha)
    assert shapely.equals_exact(from_csv.geometry, from_parquet.geometry, tolerance=1e-12).all()
    assert shapely.equals_exact(from_csv.point, from_parquet.point, tolerance=1e-12).all()


# --------------------------------------------------------------------------- formats


def test_csv_minimal(tmp_path: Path) -> None:
    alerts = read_vector_alerts(write_csv(tmp_path / "a.csv", good_rows(5)))
    assert len(alerts) == 5
    assert alerts.code.tolist() == [str(10000000 + i) for i in range(5)]
    assert alerts.detected[0] == np.datetime64("2022-03-01")
    assert alerts.point[1].equals(Point(-74.89, -9.11))
    assert alerts.geometry_is_bbox.all()
    np.testing.assert_allclose(alerts.area_ha, [1.5, 2.5, 3.5, 4.5, 5.5])
    assert alerts.take(np.array([True, False, True, False, False])).code.tolist() == [
        "10000000", "10000002",
    ]


def test_csv_semicolons_decimal_commas_and_day_first_dates(tmp_path: Path) -> None:
    text = (
        "CODEALERTA;DataDetec;AreaHa;Latitud;Longitud\n"
        "A-1;13/02/2021;2,5;-9,5;-74,9\n"
        "A-2;2021-02-14T05:00:00Z;10;-9,6;-75,0\n"
    )
    path = tmp_path / "alertas.csv"
    path.write_text(text, encoding="latin-1")
    alerts = read_vector_alerts(path)
    assert alerts.code.tolist() == ["A-1", "A-2"]
    assert alerts.detected.tolist() == [
        np.datetime64("2021-02-13").item(), np.datetime64("2021-02-14").item(),
    ]
    np.testing.assert_allclose(alerts.area_ha, [2.5, 10.0])
    # only a point is known: it is the geometry too
    assert alerts.geometry[0].equals(Point(-74.9, -9.5))
    assert alerts.geometry_is_bbox.all()


def test_csv_without_area_gives_nan_and_bbox_only_gives_box_centre(tmp_path: Path) -> None:
    rows = [{"alert_code": "X1", "date": "2023-05-01", "bbox": "[-75.0, -9.0, -74.9, -8.9]"}]
    alerts = read_vector_alerts(write_csv(tmp_path / "a.csv", rows))
    assert np.isnan(alerts.area_ha[0])
    assert alerts.geometry[0].equals(box(-75.0, -9.0, -74.9, -8.9))
    assert alerts.point[0].equals_exact(Point(-74.95, -8.95), tolerance=1e-12)


def test_geojson_polygons_with_mapbiomas_aliases(tmp_path: Path) -> None:
    polys = [box(-75.0, -9.0, -74.99, -8.995), Polygon([(-74.5, -9), (-74.49, -9), (-74.5, -8.99)])]
    gdf = gpd.GeoDataFrame(
        {"CODEALERTA": [1501, 1502], "DataDetec": ["2023-01-02", "2023-01-05"],
         "AreaHa": [55.1, None]},
        geometry=polys, crs="EPSG:4326",
    )
    path = tmp_path / "alerts.geojson"
    gdf.to_file(path, driver="GeoJSON")
    alerts = read_vector_alerts(path)
    assert alerts.code.tolist() == ["1501", "1502"]
    assert not alerts.geometry_is_bbox.any()
    assert alerts.geometry[0].equals(polys[0])
    assert alerts.area_ha[0] == pytest.approx(55.1)
    assert np.isnan(alerts.area_ha[1])
    # the representative point lies inside the polygon
    assert shapely.contains(alerts.geometry, alerts.point).all()


def test_geopackage_in_utm_is_reprojected_to_wgs84(tmp_path: Path) -> None:
    poly = box(-74.95, -9.05, -74.94, -9.04)
    utm = gpd.GeoSeries([poly], crs="EPSG:4326").to_crs("EPSG:32718")
    gdf = gpd.GeoDataFrame({"alert_code": ["a"], "detected_at": ["2024-06-30"]},
                           geometry=utm, crs="EPSG:32718")
    path = tmp_path / "alerts.gpkg"
    gdf.to_file(path, driver="GPKG", layer="alertas")
    alerts = read_vector_alerts(path)
    assert alerts.geometry[0].symmetric_difference(poly).area < 1e-12
    assert alerts.detected[0] == np.datetime64("2024-06-30")


def test_invalid_polygon_is_repaired_and_reported(tmp_path: Path) -> None:
    bowtie = Polygon([(-75, -9), (-74.99, -8.99), (-74.99, -9), (-75, -8.99)])
    gdf = gpd.GeoDataFrame({"alert_code": ["b"], "detected_at": ["2024-01-01"]},
                           geometry=[bowtie], crs="EPSG:4326")
    path = tmp_path / "bowtie.geojson"
    gdf.to_file(path, driver="GeoJSON")
    alerts = read_vector_alerts(path)
    assert alerts.geometry[0].is_valid
    assert alerts.geometry[0].geom_type == "MultiPolygon"
    assert alerts.geometry[0].area == pytest.approx(2 * 0.5 * 0.01 * 0.005)
    assert len(alerts.repairs) == 1 and alerts.repairs[0].feature == "1"


def test_geoparquet_geometry_column_is_used(tmp_path: Path) -> None:
    poly = box(-75.0, -9.0, -74.99, -8.99)
    gdf = gpd.GeoDataFrame({"alert_code": [7], "detected_at": pd.to_datetime(["2022-02-02"])},
                           geometry=[poly], crs="EPSG:4326")
    path = tmp_path / "alerts.parquet"
    gdf.to_parquet(path)
    alerts = read_vector_alerts(path)
    assert not alerts.geometry_is_bbox[0]
    assert alerts.geometry[0].equals(poly)
    assert alerts.code.tolist() == ["7"]


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-179, 179), st.floats(-89, 89),
    st.floats(0, 1, exclude_min=False), st.floats(0, 1),
)
def test_bbox_strings_round_trip(xmin: float, ymin: float, w: float, h: float) -> None:
    import tempfile

    xmax, ymax = xmin + w, ymin + h
    with tempfile.TemporaryDirectory() as d:
        rows = [{"alert_code": "1", "detected_at": "2022-01-01",
                 "bbox": f"{xmin!r},{ymin!r},{xmax!r},{ymax!r}"}]
        alerts = read_vector_alerts(write_csv(Path(d) / "a.csv", rows))
    assert shapely.bounds(alerts.geometry[0]).tolist() == [xmin, ymin, xmax, ymax]


# --------------------------------------------------------------------------- errors


def test_bad_date_names_file_row_column_and_value(tmp_path: Path) -> None:
    rows = good_rows(20)
    rows[16]["detected_at"] = "2021-13-45"
    rows[18]["detected_at"] = "yesterday"
    path = write_csv(tmp_path / "alerts.csv", rows)
    with pytest.raises(DataFormatError) as err:
        read_vector_alerts(path)
    text = str(err.value)
    assert str(path) in text
    assert "row 17: detected_at '2021-13-45' is not a date" in text
    assert "1 more row has problems" in text
    assert err.value.source == str(path)


def test_empty_date_is_reported(tmp_path: Path) -> None:
    rows = good_rows(3)
    rows[2]["detected_at"] = ""
    with pytest.raises(DataFormatError, match="row 3: detected_at is empty"):
        read_vector_alerts(write_csv(tmp_path / "a.csv", rows))


def test_missing_columns_lists_found_and_needed(tmp_path: Path) -> None:
    rows = [{"codigo_x": 1, "published_at": "2022-01-01", "area": 3}]
    with pytest.raises(DataFormatError) as err:
        read_vector_alerts(write_csv(tmp_path / "a.csv", rows))
    text = str(err.value)
    assert "missing columns" in text
    assert "detection date" in text and "detected_at" in text
    assert "location" in text
    assert "codigo_x, published_at, area" in text  # what the file has


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ("-75,-9,-74.9", "is not four numbers"),
        ("-75,-9,-74.9,abc", "is not four numbers"),
        ("-74.9,-9,-75,-8.9", "xmin > xmax"),
        ("-75,-8.9,-74.9,-9", "xmin > xmax or ymin > ymax"),
        ("-75,-99,-74.9,-8.9", "outside longitude"),
    ],
)
def test_bad_bbox(tmp_path: Path, bbox: str, expected: str) -> None:
    rows = good_rows(4)
    rows[3]["bbox"] = bbox
    with pytest.raises(DataFormatError) as err:
        read_vector_alerts(write_csv(tmp_path / "a.csv", rows))
    assert "row 4: bbox" in str(err.value)
    assert expected in str(err.value)


@pytest.mark.parametrize(("column", "value"), [("lat", -91.0), ("lon", 200.0)])
def test_lat_lon_out_of_range(tmp_path: Path, column: str, value: float) -> None:
    rows = good_rows(3)
    rows[1][column] = value
    with pytest.raises(DataFormatError, match=rf"row 2: {column} {value} is out of range"):
        read_vector_alerts(write_csv(tmp_path / "a.csv", rows))


def test_area_that_is_not_a_number(tmp_path: Path) -> None:
    rows = good_rows(3)
    rows[0]["area_ha"] = "1.234,5"
    with pytest.raises(DataFormatError, match="row 1: area_ha '1.234,5' is not a number"):
        read_vector_alerts(write_csv(tmp_path / "a.csv", rows))


def test_ragged_csv_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "alert_code,detected_at,lat,lon\n1,2022-01-01,-9,-75\n2,2022-01-01,-9,-75,extra\n"
    )
    with pytest.raises(DataFormatError, match="row 2 has 5 fields but the header has 4"):
        read_vector_alerts(path)


def test_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match="empty"):
        read_vector_alerts(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("alert_code,detected_at,lat,lon\n")
    with pytest.raises(UnreadableFileError, match="no alerts"):
        read_vector_alerts(header_only)
    no_rows = tmp_path / "none.parquet"
    pd.DataFrame(good_rows(1)).iloc[:0].to_parquet(no_rows)
    with pytest.raises(UnreadableFileError, match="no alerts"):
        read_vector_alerts(no_rows)


def test_missing_corrupt_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="file not found"):
        read_vector_alerts(tmp_path / "nope.parquet")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UnreadableFileError, match="cannot be read as Parquet"):
        read_vector_alerts(broken)
    odd = tmp_path / "alerts.xlsx"
    odd.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnreadableFileError, match="unsupported alert file type"):
        read_vector_alerts(odd)


def test_errors_are_in_spanish_by_default(tmp_path: Path) -> None:
    rows = good_rows(3)
    rows[1]["detected_at"] = "2021-13-45"
    set_language("es")
    with pytest.raises(DataFormatError) as err:
        read_vector_alerts(write_csv(tmp_path / "a.csv", rows))
    assert "fila 2: detected_at '2021-13-45' no es una fecha" in str(err.value)
