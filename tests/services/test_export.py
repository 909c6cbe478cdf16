"""Clearing exports: every format reads back (as QGIS would, through GDAL) with the same data."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, box

from vigilancia.domain.clearings import ClearingSet, Placement
from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.errors import ConflictError, InputError, VigilanciaError
from vigilancia.i18n import get_language, set_language
from vigilancia.io.store import NewBatch, WorkspaceStore
from vigilancia.services import export as export_module
from vigilancia.services.export import ExportResult, export_clearings
from vigilancia.services.texts.columns import COLUMNS, localise

FORMATS = ["gpkg", "geojson", "csv", "fgb"]
NUMERIC = [
    "area_ha",
    "perimeter_m",
    "length_m",
    "width_m",
    "orientation_deg",
    "elongation",
    "compactness",
    "centroid_lon",
    "centroid_lat",
    "boundary_distance_m",
]
INTEGER = ["id", "batch_id", "pixels_low", "pixels_high", "pixels_highest", "pixel_count"]
TEXT = [
    "product",
    "first_date",
    "last_date",
    "source_ref",
    "status",
    "nearest_territory",
    "territories",
    "reserves",
    "protected_areas",
    "districts",
]


def clearing_set(n: int, seed: int) -> ClearingSet:
    """Clearings of 30-300 m around (-74.9, -9.4); row 0 is a MultiPolygon vector alert."""
    rng = np.random.default_rng(seed)
    cx = -74.9 + rng.uniform(-0.05, 0.05, n)
    cy = -9.4 + rng.uniform(-0.05, 0.05, n)
    half = rng.uniform(0.00015, 0.0015, n)
    geoms = np.asarray(shapely.box(cx - half, cy - half, cx + half, cy + half), dtype=object)
    geoms[0] = MultiPolygon(
        [box(-74.91, -9.41, -74.909, -9.409), box(-74.908, -9.41, -74.907, -9.409)]
    )
    side = 2 * half * 110_000
    area = side**2 / 10_000
    perimeter = 4 * side
    perimeter[0] = np.nan
    first = np.datetime64("2024-02-01") + rng.integers(0, 60, n).astype("timedelta64[D]")
    px = rng.integers(1, 40, (3, n)).astype(np.int64)
    return ClearingSet(
        geometry=geoms,
        area_ha=area,
        perimeter_m=perimeter,
        length_m=side,
        width_m=side,
        orientation_deg=rng.uniform(0, 180, n),
        elongation=np.ones(n),
        compactness=np.full(n, np.pi / 4),
        first_date=first,
        last_date=first + np.timedelta64(7, "D"),
        pixels_low=px[0],
        pixels_high=px[1],
        pixels_highest=px[2],
        pixel_count=px.sum(axis=0),
        centroid_lon=cx,
        centroid_lat=cy,
        source_ref=np.array([f"GB-{i}" if i % 2 else None for i in range(n)], dtype=object),
    )


@pytest.fixture
def store(store_factory, tmp_path: Path):
    with store_factory.create(tmp_path / "ws", name="FENACOKA") as st:
        with st.transaction() as conn:
            (tid, pid) = st.territories.add(
                conn,
                [
                    Territory(
                        name="CN Santa Marta (Ñaña)",
                        kind=TerritoryKind.COMMUNITY,
                        geometry=box(-74.95, -9.45, -74.9, -9.4),
                        source="t.gpkg",
                    ),
                    Territory(
                        name="RC El Sira",
                        kind=TerritoryKind.PROTECTED_AREA,
                        geometry=box(-75.0, -9.5, -74.8, -9.3),
                        source="t.gpkg",
                    ),
                ],
            )
            for key, n, seed in (("b1", 12, 1), ("b2", 4, 2)):
                bid = st.batches.add(
                    conn,
                    NewBatch(
                        key=key,
                        source=f"{key}.tif",
                        product="radd",
                        since=date(2024, 2, 1),
                        until=date(2024, 4, 30),
                        min_confidence="high",
                        sha256="f" * 64,
                        n_pixels=100,
                        n_clearings=n,
                        area_ha=1.0,
                    ),
                )
                nearest = np.full(n, tid, np.int64)
                nearest[-1] = -1
                st.clearings.add(
                    conn,
                    bid,
                    clearing_set(n, seed),
                    Placement(
                        overlap_clearing=np.array([0, 0, 1], np.int64),
                        overlap_territory=np.array([tid, pid, pid], np.int64),
                        overlap_area_ha=np.array([0.5, 0.5, 0.2]),
                        overlap_share=np.array([1.0, 1.0, 0.4]),
                        nearest_territory=nearest,
                        boundary_distance_m=np.where(nearest < 0, np.nan, np.linspace(0, 900, n)),
                        within_buffer=nearest >= 0,
                    ),
                )
        yield st


def read_back(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        # as QGIS reads it: the WKT column becomes the geometry
        frame = pyogrio.read_dataframe(path, GEOM_POSSIBLE_NAMES="WKT", KEEP_GEOM_COLUMNS="NO")
    else:
        frame = pyogrio.read_dataframe(path)
    # FlatGeobuf's spatial index stores features in Hilbert order: compare by id
    return frame.sort_values("id", key=lambda s: pd.to_numeric(s)).reset_index(drop=True)


def same(a: object, b: object) -> bool:
    if isinstance(a, pd.Timestamp):  # GDAL's GeoJSON reader detects ISO dates
        a = a.date().isoformat()
    if pd.isna(a) and pd.isna(b):  # type: ignore[arg-type]
        return True
    return bool(a == b)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_reads_back_with_same_rows_fields_and_geometry(
    store: WorkspaceStore, tmp_path: Path, fmt: str
):
    out = tmp_path / "out" / f"claros.{fmt}"
    result = export_clearings(store, out, fmt)  # type: ignore[arg-type]
    assert result == ExportResult(path=out, count=16, format=fmt)
    assert out.is_file()
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp leftovers
    # Spanish by default: every column under its Spanish name, codes in Spanish
    expected = localise(store.clearings.frame(), "es")
    info = pyogrio.read_info(out) if fmt != "csv" else None
    if info is not None:
        assert info["features"] == 16
        assert info["crs"] == "EPSG:4326"
        if fmt in ("gpkg", "fgb"):
            assert info["geometry_type"] == "MultiPolygon"
    if fmt == "gpkg":
        assert [name for name, _ in pyogrio.list_layers(out)] == ["claros"]
    got = read_back(out, fmt)
    assert len(got) == 16
    missing = set(expected.columns) - set(got.columns)
    assert not missing
    assert not {"first_date", "driver", "status", "nearest_territory"} & set(got.columns)
    assert {"primera_fecha", "ultima_fecha", "causa", "estado", "territorio_cercano",
            "prob_coca", "prob_pista"} <= set(got.columns)
    assert set(got["estado"]) == {"nuevo"}
    if fmt == "csv":
        assert {"lon", "lat"} <= set(got.columns)
        np.testing.assert_allclose(got["lon"].astype(float), expected["centro_lon"])
        np.testing.assert_allclose(got["lat"].astype(float), expected["centro_lat"])
    for col in map(COLUMNS.get, NUMERIC):
        values = pd.to_numeric(got[col]).to_numpy(dtype=float)
        np.testing.assert_allclose(
            values, expected[col].to_numpy(dtype=float), rtol=1e-12, err_msg=col
        )
    for col in map(COLUMNS.get, INTEGER):
        assert pd.to_numeric(got[col]).tolist() == expected[col].tolist(), col
    for col in map(COLUMNS.get, TEXT):
        for a, b in zip(got[col], expected[col], strict=True):
            assert same(None if a == "" and fmt == "csv" else a, b), (col, a, b)
    nearest = pd.to_numeric(got["territorio_cercano_id"])
    assert nearest.isna().tolist() == expected["territorio_cercano_id"].isna().tolist()
    within = got["dentro_del_margen"]
    if fmt == "csv":
        within = within.astype(int).astype(bool)
    assert within.astype(bool).tolist() == expected["dentro_del_margen"].tolist()
    # CSV's WKT keeps 15 significant digits (1e-13 degree, well below a millimetre)
    tolerance = 1e-12 if fmt == "csv" else 0.0
    for a, b in zip(got.geometry, expected.geometry, strict=True):
        assert a is not None
        if fmt != "csv":
            assert shapely.equals(a, b), (a.wkt, b.wkt)
        multi_b = b if b.geom_type == a.geom_type else MultiPolygon([b])
        assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(multi_b), tolerance)
    row0 = got.iloc[0]
    assert row0["territorios"] == "CN Santa Marta (Ñaña)"
    assert row0["areas_protegidas"] == "RC El Sira"
    assert same(row0["primera_fecha"], expected["primera_fecha"].iloc[0])


def test_csv_is_utf8_with_bom_for_excel_and_wkt_first(store: WorkspaceStore, tmp_path: Path):
    out = tmp_path / "claros.csv"
    export_clearings(store, out, "csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 16
    header = list(rows[0])
    assert header[0] == "WKT" and header[-2:] == ["lon", "lat"]
    assert rows[0]["WKT"].startswith("MULTIPOLYGON")
    assert rows[0]["territorios"] == "CN Santa Marta (Ñaña)"
    assert rows[0]["primera_fecha"].count("-") == 2


def test_export_of_one_batch(store: WorkspaceStore, tmp_path: Path):
    (b2,) = [b.id for b in store.batches.list() if b.key == "b2"]
    result = export_clearings(store, tmp_path / "b2.gpkg", "gpkg", batch_ids=[b2])
    assert result.count == 4
    got = pyogrio.read_dataframe(result.path)
    assert set(got["lote"]) == {b2}


def test_empty_export_still_opens(store_factory, tmp_path: Path):
    with store_factory.create(tmp_path / "empty") as st:
        for fmt in ("gpkg", "geojson", "fgb", "csv"):
            out = tmp_path / f"none.{fmt}"
            assert export_clearings(st, out, fmt).count == 0  # type: ignore[arg-type]
            assert out.is_file()
        info = pyogrio.read_info(tmp_path / "none.gpkg", layer="claros")
        assert info["features"] == 0
        assert "area_ha" in list(info["fields"])


@pytest.fixture
def english():
    before = get_language()
    set_language("en")
    yield
    set_language(before)


def test_refuses_to_overwrite_unless_asked(store: WorkspaceStore, tmp_path: Path, english):
    out = tmp_path / "claros.geojson"
    out.write_text("keep me")
    with pytest.raises(ConflictError, match="already exists") as info:
        export_clearings(store, out, "geojson")
    assert info.value.source == str(out)
    assert out.read_text() == "keep me"
    result = export_clearings(store, out, "geojson", overwrite=True)
    assert result.count == 16
    assert len(pyogrio.read_dataframe(out)) == 16


def test_unknown_format_and_folder_output(store: WorkspaceStore, tmp_path: Path, english):
    with pytest.raises(InputError, match="unknown export format"):
        export_clearings(store, tmp_path / "x.shp", "shp")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="folder"):
        export_clearings(store, tmp_path, "gpkg")


def test_failed_export_leaves_nothing(
    store: WorkspaceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, english
):
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    old = out_dir / "claros.gpkg"
    old.write_bytes(b"previous export")

    def half_then_fail(frame, path, **kw):  # writes part of a file, then the disk fills up
        Path(path).write_bytes(b"SQLite format 3\x00 half")
        raise pyogrio.errors.DataSourceError("No space left on device")

    monkeypatch.setattr(pyogrio, "write_dataframe", half_then_fail)
    with pytest.raises(VigilanciaError, match="could not be written"):
        export_clearings(store, old, "gpkg", overwrite=True)
    with pytest.raises(VigilanciaError):
        export_clearings(store, out_dir / "new.fgb", "fgb")
    assert sorted(p.name for p in out_dir.iterdir()) == ["claros.gpkg"]
    assert old.read_bytes() == b"previous export"


def test_formats_registry_matches_literal():
    assert set(export_module.FORMATS) == set(FORMATS)


def _classify(st: WorkspaceStore) -> dict[int, str]:
    """Give every clearing a driver: coca for even ids, airstrip for odd ones."""
    ids = st.clearings.frame()["id"].to_numpy()
    drivers = ["coca" if i % 2 == 0 else "airstrip" for i in ids]
    probs = [{"coca": 0.8, "airstrip": 0.1, "mining": 0.05, "road": 0.05,
              "agriculture": 0.0, "other": 0.0} if d == "coca" else
             {"coca": 0.1, "airstrip": 0.75, "mining": 0.0, "road": 0.15,
              "agriculture": 0.0, "other": 0.0} for d in drivers]
    with st.transaction() as conn:
        st.clearings.set_drivers(conn, ids, drivers, np.array([max(p.values()) for p in probs]),
                                 probs, [[] for _ in ids], "rules-1")
    return dict(zip(ids.tolist(), drivers, strict=True))


def test_every_drivers_probability_is_exported(store: WorkspaceStore, tmp_path: Path):
    _classify(store)
    got = pyogrio.read_dataframe(export_clearings(store, tmp_path / "c.gpkg", "gpkg").path)
    assert {"prob_coca", "prob_pista", "prob_mineria", "prob_camino", "prob_agricultura",
            "prob_otro"} <= set(got.columns)
    coca = got[got["causa"] == "coca"]
    pista = got[got["causa"] == "pista"]
    assert len(coca) + len(pista) == 16 and len(pista) > 0
    np.testing.assert_allclose(coca["prob_coca"], 0.8)
    np.testing.assert_allclose(pista["prob_pista"], 0.75)
    np.testing.assert_allclose(pista["prob_camino"], 0.15)
    rows = got[["prob_coca", "prob_pista", "prob_mineria", "prob_camino", "prob_agricultura",
                "prob_otro"]].sum(axis=1)
    np.testing.assert_allclose(rows, 1.0)


def test_english_names_and_codes_on_request(store: WorkspaceStore, tmp_path: Path, english):
    _classify(store)
    out = export_clearings(store, tmp_path / "c.gpkg", "gpkg").path
    assert [name for name, _ in pyogrio.list_layers(out)] == ["clearings"]
    got = pyogrio.read_dataframe(out)
    assert {"first_date", "last_date", "driver", "status", "nearest_territory",
            "prob_airstrip"} <= set(got.columns)
    assert set(got["driver"]) == {"coca", "airstrip"} and set(got["status"]) == {"new"}
    assert not {"primera_fecha", "causa"} & set(got.columns)


def test_export_of_one_territory_period_and_driver(store: WorkspaceStore, tmp_path: Path):
    drivers = _classify(store)
    frame = store.clearings.frame()

    def ids(**kw: object) -> set[int]:
        out = tmp_path / "part.gpkg"
        res = export_clearings(store, out, "gpkg", overwrite=True, **kw)  # type: ignore[arg-type]
        got = pyogrio.read_dataframe(out)
        assert res.count == len(got)
        return set(pd.to_numeric(got["id"]).tolist())

    # a territory: the clearings inside it (overlap) or near it (nearest, within the buffer)
    tid = next(t.id for t in store.territories.list() if t.name.startswith("CN Santa"))
    near = set(frame["id"][frame["nearest_territory_id"] == tid].tolist())
    assert ids(territory="CN Santa Marta (Ñaña)") == near == ids(territory=str(tid))
    assert 0 < len(near) < 16
    # the protected area: only the clearings that overlap it (two of each batch)
    overlap = set(frame["id"][frame["protected_areas"] == "RC El Sira"].tolist())
    assert ids(territory="RC El Sira") == overlap and len(overlap) == 4
    # a period: alerts on or after since, on or before until
    since, until = date(2024, 3, 1), date(2024, 3, 20)
    want = {int(i) for i, f, last in zip(frame["id"], frame["first_date"], frame["last_date"],
                                         strict=True)
            if last >= since.isoformat() and f <= until.isoformat()}
    assert ids(since=since, until=until) == want and 0 < len(want) < 16
    # a driver
    from vigilancia.domain.drivers import Driver

    assert ids(driver=Driver.AIRSTRIP) == {i for i, d in drivers.items() if d == "airstrip"}
    both = ids(driver=Driver.COCA, territory=str(tid), since=since)
    assert both == {i for i in near if drivers[i] == "coca"} & ids(since=since)
    with pytest.raises(InputError):
        export_clearings(store, tmp_path / "x.gpkg", "gpkg", since=until, until=since)


def test_the_readme_documents_every_exported_column_in_both_languages():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- export-columns -->")
    end = readme.index("<!-- /export-columns -->")
    rows = [line.split("|")[1:3] for line in readme[start:end].splitlines()
            if line.startswith("| `")]
    table = {en.strip().strip("`"): es.strip().strip("`") for en, es in rows}
    assert table == COLUMNS


def test_an_edited_spanish_export_imports_back_as_labels(store: WorkspaceStore, tmp_path: Path):
    """The analyst exports the clearings (Spanish columns), writes the true driver in the
    ``causa`` column of a few rows, and imports the file as labels."""
    from vigilancia.services.labels import import_labels

    out = export_clearings(store, tmp_path / "claros.csv", "csv").path
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    edited = tmp_path / "etiquetas.csv"
    with edited.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "causa", "nota"])
        writer.writeheader()
        for row, causa in zip(rows[:4], ["pista", "coca", "minería", "camino"], strict=True):
            writer.writerow({"id": row["id"], "causa": causa, "nota": "visita"})
    res = import_labels(store, edited)
    assert res.added == 4
    assert res.by_driver == {"coca": 1, "airstrip": 1, "mining": 1, "road": 1,
                             "agriculture": 0, "other": 0}
