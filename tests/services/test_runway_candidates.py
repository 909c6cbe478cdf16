"""Runway candidates of a workspace: the sample region's runways are found, scored, matched
to the known airstrips imported as a layer, and written as a layer QGIS opens."""

from datetime import date

import geopandas as gpd
import pyogrio
import pytest

from vigilancia.config import Settings
from vigilancia.errors import ConflictError
from vigilancia.sample import build_sample_region
from vigilancia.services.airstrips import LAYER, find_runways
from vigilancia.services.layers import import_layer
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.texts.columns import layer_name


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return build_sample_region(tmp_path_factory.mktemp("muestra"), size=1600)


def test_sample_runways_are_found_and_known_ones_matched(region, store_factory, tmp_path):
    truth = gpd.read_file(region.truth)
    runways = truth[truth["tipo"] == "pista"].geometry
    assert len(runways) >= 2
    with store_factory.create(tmp_path / "ws") as store:
        known = import_layer(store, region.airstrips, "airstrip")
        run_monitor(store, MonitorRequest(str(region.alerts_tif), "gfw",
                                          since=date(2023, 1, 1), classify=False),
                    Settings(language="es"))
        out = tmp_path / "pistas.gpkg"
        res = find_runways(store, output=out)
        likely = res.frame[res.frame["likely"]]
        # every generated runway has a likely candidate along it
        for line in runways:
            near = likely.geometry.distance(line) < 0.0005  # about 55 m
            assert near.any(), line.wkt
        assert len(likely) <= len(runways) + 1
        assert res.on_known >= 1 and known.imported >= 1
        assert set(res.frame.columns) >= {"length_m", "width_m", "clearing_ids", "text"}
        assert all(300 <= v <= 3600 for v in likely["length_m"])
        # the file: one line layer, EPSG:4326, same rows
        # Spanish layer and column names by default (vigilancia.services.texts.columns)
        info = pyogrio.read_info(out, layer=layer_name(LAYER))
        assert info["features"] == len(res.frame) and "4326" in info["crs"]
        back = pyogrio.read_dataframe(out, layer="pistas_candidatas")
        assert {"largo_m", "ancho_m", "ids_claros", "probabilidad_pista", "pista_conocida",
                "texto"} <= set(back.columns)
        assert all(g.geom_type in ("LineString", "MultiLineString") for g in back.geometry)
        assert back.geometry.length.sum() == pytest.approx(res.frame.geometry.length.sum())
        with pytest.raises(ConflictError):
            find_runways(store, output=out)  # not overwritten unless asked


def test_no_clearings_gives_an_empty_layer(store_factory, tmp_path):
    with store_factory.create(tmp_path / "ws") as store:
        res = find_runways(store, output=tmp_path / "vacio.geojson", fmt="geojson")
    assert len(res.frame) == 0 and res.likely == 0
    assert (tmp_path / "vacio.geojson").exists()


def test_runway_clearings_take_the_candidate_prediction(region, store_factory, tmp_path):
    """The monitoring cycle gives the clearings of each likely runway the airstrip driver,
    with the candidate's probability and reasons; candidates are measured with their
    members' context, so they never report "0 % of the layers" when layers exist."""
    with store_factory.create(tmp_path / "ws") as store:
        import_layer(store, region.rivers, "river")
        import_layer(store, region.roads, "road")
        import_layer(store, region.airstrips, "airstrip")
        res = run_monitor(store, MonitorRequest(str(region.alerts_tif), "gfw",
                                                since=date(2023, 1, 1)),
                          Settings(language="es"))
        assert res.drivers.get("airstrip", 0) >= 2
        stored = store.clearings.frame().set_index("id")
        found = find_runways(store)
        again = store.clearings.frame().set_index("id")
    # airstrips find says the same as the cycle did, and changes nothing it stored
    assert (again["driver"] == stored["driver"]).all()
    assert found.likely >= 2 and found.airstrip_clearings >= found.likely
    for cand in found.frame.itertuples():
        members = [int(v) for v in cand.clearing_ids.split(",")]
        rows = stored.loc[members]
        if cand.likely:
            assert (rows["driver"] == "airstrip").all(), cand.clearing_ids
            assert rows["driver_probability"].tolist() == pytest.approx(
                [cand.airstrip_probability] * len(members), abs=1e-4)
        codes = [r["code"] for r in rows["driver_reasons"].iloc[0]]
        assert codes[0] == "runway_candidate" or len(members) == 1
        assert "little_context" not in codes, codes  # river, road and airstrip layers known
        assert "(0 %" not in cand.text
    # the airstrip clearings are exactly the members of likely candidates, plus single
    # clearings shaped like a runway on their own that belong to no candidate
    in_candidates = {int(v) for ids in found.frame["clearing_ids"] for v in ids.split(",")}
    likely_members = {int(v) for ids in found.frame.loc[found.frame["likely"], "clearing_ids"]
                      for v in ids.split(",")}
    air = set(stored.index[stored["driver"] == "airstrip"].tolist())
    assert likely_members <= air
    assert not (air & in_candidates) - likely_members
