"""``vigilancia routes``: builds the corridors, prints a Spanish summary, writes GPKG + GeoTIFF."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
import rasterio
import shapely
from shapely.geometry import LineString, box
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.domain.territories import Territory, TerritoryKind
from vigilancia.services.layers import import_layer


def geojson(path: Path, features: list[tuple[object, dict]]) -> Path:
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(g)}
            for g, props in features
        ],
    }))
    return path


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    """A river to a border, a runway near the river and a community on the river."""
    ws = tmp_path / "ws"
    with store_factory.create(ws) as store:
        import_layer(store, geojson(tmp_path / "rios.geojson", [
            (LineString([(-75.0, -9.4), (-74.0, -9.4)]), {"NOMBRE": "Rio Pachitea", "TIPO": "Río"}),
        ]), "river")
        import_layer(store, geojson(tmp_path / "pistas.geojson", [
            (LineString([(-74.9, -9.45), (-74.89, -9.445)]), {"id": 7, "yr": 2021}),
        ]), "airstrip")
        import_layer(store, geojson(tmp_path / "frontera.geojson", [
            (LineString([(-74.2, -9.0), (-74.2, -9.8)]), {"name": "Perú–Brasil"}),
        ]), "border")
        with store.transaction() as conn:
            store.territories.add(conn, [
                Territory("CN Santa Rosa", TerritoryKind.COMMUNITY,
                          box(-74.6, -9.45, -74.5, -9.35), "test"),
            ])
    return ws, store_factory.env(ws)


def test_routes_writes_the_corridors_and_prints_a_spanish_summary(workspace, tmp_path):
    ws, env = workspace
    out = tmp_path / "corredores"
    res = CliRunner().invoke(app, ["routes", str(ws), "--output", str(out)],
                             env={**env, "VIGILANCIA_LANGUAGE": "es", "COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Orígenes: 1 (0 zonas de producción, 1 pistas)" in text
    assert "Salidas: 1 (1 cruces de frontera)" in text
    assert "Rutas encontradas: 1" in text and "Orígenes sin ruta: 0" in text
    assert "Capas que faltan: vías, trochas, salidas, claros de coca" in text
    assert "Comunidades atravesadas por un corredor: 1 de 1" in text
    assert "cruce de frontera" in text and "CN Santa Rosa" in text  # the tables (wrapped)

    gpkg = out / "corredores.gpkg"
    layers = {str(name) for name, _g in pyogrio.list_layers(gpkg)}
    assert layers == {"rutas", "zonas_produccion", "salidas", "comunidades_corredor"}
    rutas = pyogrio.read_dataframe(gpkg, layer="rutas")
    assert rutas["origen"].tolist() == ["runway:2"]
    assert rutas["modos"].tolist() == ["a_pie, rio"]
    assert rutas["texto_modos"].tolist() == ["a pie por el bosque > río navegable"]
    assert rutas["salida"].tolist() == ["cruce de frontera: Rio Pachitea / Perú–Brasil"]
    assert rutas["largo_km"].iloc[0] > 60 and rutas["costo_h"].iloc[0] > 4
    comunidades = pyogrio.read_dataframe(gpkg, layer="comunidades_corredor")
    assert comunidades["distancia_km"].tolist() == [0.0]
    assert comunidades["tipo"].tolist() == ["comunidad"]
    with rasterio.open(out / "densidad_corredores.tif") as ds:
        assert ds.crs is not None and ds.read(1).max() == 1

    again = CliRunner().invoke(app, ["routes", str(ws), "--output", str(out)],
                               env={**env, "VIGILANCIA_LANGUAGE": "es"})
    assert again.exit_code == 4
    assert "el archivo ya existe" in " ".join(again.output.split())
    over = CliRunner().invoke(app, ["routes", str(ws), "--output", str(out), "--overwrite"],
                              env=env)
    assert over.exit_code == 0, over.output


def test_routes_in_english_and_as_of(workspace):
    ws, env = workspace
    res = CliRunner().invoke(app, ["routes", str(ws), "--as-of", "2020-06-30"],
                             env={**env, "VIGILANCIA_LANGUAGE": "en", "COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Origins: 0 (0 production zones, 0 runways)" in text  # the runway opened in 2021
    assert "No origins:" in text


def test_routes_reports_a_bad_date_and_no_exits(workspace, store_factory, tmp_path):
    ws, env = workspace
    res = CliRunner().invoke(app, ["routes", str(ws), "--as-of", "2024-13-01"],
                             env={**env, "VIGILANCIA_LANGUAGE": "es"})
    assert res.exit_code == 2
    assert "--as-of" in res.output

    bare = tmp_path / "bare"
    with store_factory.create(bare) as store:
        import_layer(store, geojson(tmp_path / "pista.geojson", [
            (LineString([(-74.9, -9.45), (-74.89, -9.445)]), {}),
        ]), "airstrip")
    res = CliRunner().invoke(app, ["routes", str(bare)],
                             env={**store_factory.env(bare), "VIGILANCIA_LANGUAGE": "es"})
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "No hay salidas" in text and "Orígenes sin ruta: 1 (runway:1)" in text
