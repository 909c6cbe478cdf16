"""OpenStreetMap extracts imported as context layers: the right OSM layer and tag per kind."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from vigilancia.domain.routes import Mode, classify_line
from vigilancia.errors import InputError, UnreadableFileError
from vigilancia.io.osm import parse_other_tags, read_osm
from vigilancia.services.layers import import_layer

pytestmark = pytest.mark.skipif(
    "OSM" not in pyogrio.list_drivers(), reason="this GDAL build has no OSM driver"
)

# Near Puerto Inca: a track, a footpath, a river, a stream, a dam, a runway, an aerodrome
# node, a village and a power line (none of the kinds).
OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="vigilancia tests">
  <node id="1" lat="-9.40" lon="-74.90" version="1"/>
  <node id="2" lat="-9.40" lon="-74.80" version="1"/>
  <node id="3" lat="-9.30" lon="-74.80" version="1"/>
  <node id="4" lat="-9.45" lon="-74.95" version="1"/>
  <node id="5" lat="-9.45" lon="-74.94" version="1"/>
  <node id="6" lat="-9.35" lon="-74.99" version="1">
    <tag k="aeroway" v="aerodrome"/>
    <tag k="name" v="Pista Yuyapichis"/>
  </node>
  <node id="7" lat="-9.38" lon="-74.96" version="1">
    <tag k="place" v="village"/>
    <tag k="name" v="Puerto Inca"/>
  </node>
  <node id="8" lat="-9.20" lon="-74.80" version="1"/>
  <node id="9" lat="-9.20" lon="-74.70" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="track"/><tag k="name" v="Trocha Yuyapichis"/></way>
  <way id="11" version="1"><nd ref="2"/><nd ref="3"/>
    <tag k="waterway" v="river"/><tag k="name" v="Río Pachitea"/></way>
  <way id="12" version="1"><nd ref="4"/><nd ref="5"/>
    <tag k="aeroway" v="runway"/><tag k="surface" v="grass"/></way>
  <way id="13" version="1"><nd ref="3"/><nd ref="8"/>
    <tag k="waterway" v="stream"/><tag k="name" v="Quebrada Honda"/></way>
  <way id="14" version="1"><nd ref="8"/><nd ref="9"/>
    <tag k="highway" v="path"/></way>
  <way id="15" version="1"><nd ref="9"/><nd ref="3"/>
    <tag k="power" v="line"/></way>
  <way id="16" version="1"><nd ref="4"/><nd ref="1"/>
    <tag k="waterway" v="dam"/></way>
</osm>
"""


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    path = tmp_path / "peru-sample.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


@pytest.fixture
def store(store_factory, tmp_path: Path):
    ws = store_factory.create(tmp_path / "ws")
    yield ws
    ws.close()


def test_other_tags_are_parsed():
    assert parse_other_tags('"aeroway"=>"runway","name:es"=>"Pista \\"A\\""') == {
        "aeroway": "runway", "name:es": 'Pista "A"'
    }
    assert parse_other_tags(None) == {}


def test_each_kind_reads_its_layer_and_tag(extract):
    roads = read_osm(extract, "road")
    assert sorted(f.properties["highway"] for f in roads.features) == ["path", "track"]
    rivers = read_osm(extract, "river")
    assert sorted(f.properties["waterway"] for f in rivers.features) == ["river", "stream"]
    strips = read_osm(extract, "airstrip")
    assert sorted(f.properties["aeroway"] for f in strips.features) == ["aerodrome", "runway"]
    assert {f.geometry.geom_type for f in strips.features} == {"LineString", "Point"}
    places = read_osm(extract, "settlement")
    assert [f.properties["name"] for f in places.features] == ["Puerto Inca"]
    assert read_osm(extract, "trail").features[0].properties["highway"] in ("path", "track")


def test_import_as_road_river_and_airstrip(store, extract):
    roads = import_layer(store, extract, "road")
    assert roads.imported == 2 and roads.class_field == "highway" and roads.name_field == "name"
    rivers = import_layer(store, str(extract), "river")
    assert rivers.imported == 2 and rivers.class_field == "waterway"
    strips = import_layer(store, str(extract), "airstrip")
    assert strips.imported == 2 and strips.geometries == {"line": 1, "point": 1}
    assert import_layer(store, str(extract), "road").skipped_existing

    feats = store.context.features()
    modes = {
        (str(n) if n else None): classify_line(str(k), c, n)
        for k, n, c in zip(feats.kind, feats.name, feats.feature_class, strict=True)
        if k in ("road", "river")
    }
    assert modes["Trocha Yuyapichis"] is Mode.ROAD_RURAL
    assert modes["Río Pachitea"] is Mode.RIVER
    assert modes["Quebrada Honda"] is Mode.STREAM
    assert modes[None] is Mode.TRAIL  # the unnamed footpath
    attrs = store.context.attributes(["airstrip"])
    assert sorted(a["aeroway"] for a in attrs.values()) == ["aerodrome", "runway"]


def test_unsupported_kind_and_missing_file_are_clear_errors(store, extract, tmp_path):
    with pytest.raises(InputError, match="road, trail, river, airstrip, settlement"):
        import_layer(store, extract, "border")
    with pytest.raises(UnreadableFileError):
        import_layer(store, tmp_path / "missing.osm.pbf", "road")
