"""The trainable driver model: training, persistence, evaluation, label files and the CLI.

Workspaces hold clearings of the labelled synthetic set of ``bench/driver_labels.py``
(rectangles with the generator's shape columns; no context layers, so the model learns
from shape, time and density). Store-touching tests run on SQLite and PostgreSQL.
Training uses small trees (:data:`FAST`) to keep the suite quick; the learning-curve
test uses the default parameters.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import shapely
from PIL import Image
from typer.testing import CliRunner

from vigilancia.cli.common import error_text
from vigilancia.domain.clearings import ClearingSet
from vigilancia.domain.drivers import DRIVERS, FEATURES, Driver
from vigilancia.errors import DataFormatError, InputError, StoreError
from vigilancia.i18n import set_language
from vigilancia.io.store import NewBatch
from vigilancia.reports.classifier_chart import render_chart
from vigilancia.services.classifier import classifier_status, evaluate, train
from vigilancia.services.driver_models import active_driver_model
from vigilancia.services.features import clearing_features
from vigilancia.services.gbm import GBMDriverModel, GBMParams, fit_driver_model, learning_curve
from vigilancia.services.labels import import_labels, read_labels

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "driver_labels.py"
FAST = GBMParams(max_iter=15, learning_rate=0.3, importance_repeats=1)
SPANISH = {
    Driver.COCA: "coca",
    Driver.AIRSTRIP: "Pista",
    Driver.MINING: "minería",
    Driver.ROAD: "camino",
    Driver.AGRICULTURE: "Agricultura",
    Driver.OTHER: "otro",
}


def _load() -> ModuleType:
    name = "bench_driver_labels"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _load()


@pytest.fixture(autouse=True)
def _english():
    set_language("en")


def add_clearings(store, clearings: ClearingSet, key: str = "synthetic") -> np.ndarray:
    with store.transaction() as conn:
        bid = store.batches.add(
            conn,
            NewBatch(key, "synthetic", "gfw", None, None, "low", "0" * 64, 0, len(clearings),
                     float(np.nansum(clearings.area_ha))),
        )
        return store.clearings.add(conn, bid, clearings)


def synthetic_workspace(store_factory, path, n, seed=5):
    table, noisy, _truth = gen.generate(n, seed=seed)
    store = store_factory.create(path)
    ids = add_clearings(store, gen.clearing_set(table))
    return store, ids, noisy


def write_csv(path, ids, drivers, *, spanish=False, sep=","):
    lines = [f"clearing_id{sep}driver"]
    for cid, d in zip(ids, drivers, strict=True):
        lines.append(f"{int(cid)}{sep}{SPANISH[d] if spanish else d.value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_geojson(path, features, crs=None):
    obj = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        for geom, props in features
    ]}
    if crs:
        obj["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


# ------------------------------------------------------------------ the model


def test_learning_curve_improves_as_labels_accumulate():
    """Precision and recall on held-out clearings grow from 50 to 400 labels (default params)."""
    x_pool, y_pool, _ = gen.generate(400, seed=1)
    x_test, y_test, _ = gen.generate(1000, seed=10_000)
    curve = learning_curve(x_pool, y_pool, x_test, y_test, [50, 400])
    assert [p.n_labels for p in curve] == [50, 400]
    small, large = curve[0].scores, curve[1].scores
    assert large.macro_precision > small.macro_precision + 0.1
    assert large.macro_recall > small.macro_recall + 0.1
    assert large.macro_f1 > 0.8
    assert large.brier < small.brier


def test_predictions_follow_the_driver_model_protocol():
    table, labels, _ = gen.generate(200, seed=2)
    # no "other" label: the model must give it probability 0
    keep = [i for i, d in enumerate(labels) if d is not Driver.OTHER]
    model = fit_driver_model(gen.take(table, keep), [labels[i] for i in keep], FAST)
    assert model.version.startswith("gbm-") and len(model.version) == 16
    test, _, _ = gen.generate(50, seed=3)
    test["dist_river_m"][:10] = np.nan
    del test["dist_trail_m"]  # a column the table does not have at all
    preds = model.predict(test)
    assert preds.probabilities.shape == (50, len(DRIVERS))
    np.testing.assert_allclose(preds.probabilities.sum(axis=1), 1.0)
    assert (preds.probabilities[:, DRIVERS.index(Driver.OTHER)] == 0).all()
    assert preds.model_version == model.version
    known = np.mean([np.isfinite(test[f]) if f in test else np.zeros(50, bool)
                     for f in FEATURES], axis=0)
    np.testing.assert_allclose(preds.completeness, known)
    for i, reasons in enumerate(preds.reasons):
        assert 2 <= len(reasons) <= 3
        for r in reasons:
            assert r.code == "feature" and r.params["name"] in model.names
            assert r.params["value"] == pytest.approx(test[r.params["name"]][i])
            assert np.isfinite(r.params["value"])


def test_same_inputs_same_version_and_model_round_trips_through_skops():
    table, labels, _ = gen.generate(120, seed=4)
    a = fit_driver_model(table, labels, FAST)
    b = fit_driver_model(table, labels, FAST)
    assert a.version == b.version
    flipped = list(labels)
    flipped[0] = Driver.COCA if flipped[0] is not Driver.COCA else Driver.OTHER
    assert fit_driver_model(table, flipped, FAST).version != a.version
    loaded = GBMDriverModel.from_bytes(a.to_bytes())
    p1, p2 = a.predict(table), loaded.predict(table)
    np.testing.assert_array_equal(p1.probabilities, p2.probabilities)
    assert p1.reasons == p2.reasons and loaded.version == a.version


class Untrusted:
    """Stands for anything a tampered workspace could smuggle into the model bytes."""

    def __init__(self) -> None:
        self.payload = "x"


def test_model_bytes_with_untrusted_types_are_refused():
    import skops.io as sio

    with pytest.raises(StoreError, match="does not trust"):
        GBMDriverModel.from_bytes(sio.dumps({"kind": "gbm", "estimator": Untrusted()}))
    with pytest.raises(StoreError, match="could not be read"):
        GBMDriverModel.from_bytes(b"not a model")


def test_too_few_labels_is_a_clear_error():
    table, labels, _ = gen.generate(25, seed=1)
    with pytest.raises(InputError, match="too few labels") as err:
        fit_driver_model(table, labels, FAST)
    assert "rules" in err.value.user_text()
    one_class = [Driver.COCA] * 25
    with pytest.raises(InputError, match="2 drivers need 5 labels"):
        fit_driver_model(table, one_class, FAST)


# ------------------------------------------------------------- the workspace


def test_train_status_evaluate_on_a_workspace(store_factory, tmp_path):
    store, ids, labels = synthetic_workspace(store_factory, tmp_path / "ws", 240)
    try:
        st = classifier_status(store)
        assert st.active is None and st.labelled_clearings == 0 and not st.can_train
        assert st.rules_version.startswith("rules")

        csv_path = write_csv(tmp_path / "etiquetas.csv", ids[:200], labels[:200], spanish=True)
        res = import_labels(store, csv_path)
        assert res.added == 200 and not res.skipped_existing
        assert import_labels(store, csv_path).skipped_existing
        assert len(store.labels.list()) == 200

        st = classifier_status(store)
        assert st.can_train and st.labelled_clearings == 200
        assert st.labels == {d.value: Counter(labels[:200])[d] for d in DRIVERS}

        result = train(store, params=FAST)
        assert result.version.startswith("gbm-") and not result.reused
        assert result.metrics["method"] == "cross-validation"
        assert result.metrics["macro"]["f1"] > 0.5
        assert result.reclassified == 240
        # every clearing by the new model
        assert store.clearings.by_driver().model_version == result.version

        again = train(store, params=FAST)
        assert again.reused and again.version == result.version
        assert len(store.models.list()) == 1

        st = classifier_status(store)
        assert st.active is not None and st.active["version"] == result.version
        assert "clearing_ids" not in st.active["params"]
        json.dumps(st.to_dict(), allow_nan=False)

        # the stored model predicts exactly as the same training done again in memory
        fids, table = clearing_features(store, clearing_ids=ids)
        loaded = active_driver_model(store)
        assert loaded.version == result.version
        pos = {int(v): i for i, v in enumerate(fids)}
        rows = [pos[int(i)] for i in ids[:200]]
        again_model = fit_driver_model({k: v[rows] for k, v in table.items()}, labels[:200], FAST)
        assert again_model.version == result.version
        np.testing.assert_array_equal(
            loaded.predict(table).probabilities, again_model.predict(table).probabilities
        )

        ev = evaluate(store)
        assert ev.method == "cross-validation" and ev.model_version == result.version
        assert ev.scores.n == 200
        # the same cross-validation as the metrics stored at training
        assert round(ev.scores.macro_f1, 4) == result.metrics["macro"]["f1"]
        assert [p.n_labels for p in ev.curve] == sorted(p.n_labels for p in ev.curve)
        assert ev.curve[-1].n_labels == 150

        # held-out labels as GeoJSON points inside the other 40 clearings
        cols = store.clearings.columns(clearing_ids=ids[200:])
        points = [
            (shapely.Point(lon, lat), {"driver": SPANISH[d], "note": "patrulla"})
            for lon, lat, d in zip(cols.centroid_lon, cols.centroid_lat, labels[200:],
                                   strict=True)
        ]
        holdout = write_geojson(tmp_path / "verificados.geojson", points)
        ev2 = evaluate(store, holdout)
        assert ev2.method == "holdout" and ev2.scores.n == 40 and ev2.in_training == 0
        assert ev2.curve and ev2.curve[-1].n_labels == 200
        data = ev2.to_dict()
        assert set(data) >= {"model_version", "method", "n", "accuracy", "macro", "per_driver",
                             "confusion", "calibration", "learning_curve", "in_training"}
        assert set(data["per_driver"]) == {d.value for d in DRIVERS}
        assert set(data["per_driver"]["coca"]) == {"precision", "recall", "f1", "support",
                                                    "predicted"}
        matrix = np.array(data["confusion"]["matrix"])
        assert matrix.shape == (6, 6) and matrix.sum() == 40
        assert len(data["calibration"]["bins"]) == 10 and 0 <= data["calibration"]["brier"] <= 2
        json.dumps(data, allow_nan=False)
        assert len(store.labels.list()) == 200  # evaluating against a file stores nothing

        png = render_chart(ev2, tmp_path / "evaluacion.png")
        with Image.open(png) as img:
            img.verify()
        with Image.open(png) as img:
            assert img.format == "PNG" and img.size[0] > 1000 and img.size[1] > 400
    finally:
        store.close()


def test_classifying_in_parts_stores_what_one_part_does(store_factory, tmp_path, monkeypatch):
    """Memory is bounded by classifying a few thousand clearings at a time; clearings at the
    edge of a part keep their neighbours in the next one, so nothing stored changes."""
    from vigilancia.services import features
    from vigilancia.services.classify import classify_clearings

    # clearings 550 m apart: their 1 km neighbours (the "clustered" evidence) often lie in
    # the next band of latitude
    table, _noisy, _truth = gen.generate(300, seed=5)
    store = store_factory.create(tmp_path / "ws")
    add_clearings(store, gen.clearing_set(table, spacing_deg=0.005))
    try:
        cols = ["id", "driver", "driver_probability", "driver_reasons", "model_version"]
        whole = classify_clearings(store)
        one_part = store.clearings.frame()[cols]
        assert whole.clearings == 300
        monkeypatch.setattr(features, "PART_SIZE", 37)
        seen: list[tuple[int, int]] = []
        parts = classify_clearings(store, progress=lambda _s, d, t: seen.append((d, t)))
        assert len(seen) == 9 and seen[-1] == (300, 300)  # ceil(300 / 37) parts
        assert parts.by_driver == whole.by_driver
        assert parts.mean_completeness == pytest.approx(whole.mean_completeness)
        in_parts = store.clearings.frame()[cols]
        exact = ["id", "driver", "driver_reasons", "model_version"]
        assert in_parts[exact].to_dict("records") == one_part[exact].to_dict("records")
        # (sums of neighbours' areas may differ in the last bit: another summation order)
        np.testing.assert_allclose(in_parts["driver_probability"],
                                   one_part["driver_probability"], rtol=1e-12)
    finally:
        store.close()


def test_too_few_labels_leave_the_rules_in_charge(store_factory, tmp_path):
    store, ids, labels = synthetic_workspace(store_factory, tmp_path / "ws", 60)
    try:
        import_labels(store, write_csv(tmp_path / "few.csv", ids[:20], labels[:20]))
        with pytest.raises(InputError, match="too few labels to train") as err:
            train(store, params=FAST)
        assert "vigilancia" not in err.value.user_text()  # no shell wording in the service
        assert "vigilancia labels import" in error_text(err.value)
        assert store.models.list() == [] and store.models.active() is None
        assert active_driver_model(store).version.startswith("rules")
        ev = evaluate(store)
        assert ev.model_kind == "rules" and ev.method == "direct" and ev.curve == []
        assert ev.scores.n == 20
    finally:
        store.close()


# ----------------------------------------------------------------- label files


def boxes_workspace(store_factory, path):
    """Three 100 m x 40 m clearings 300 m apart along a parallel, and their ids."""
    deg = 1 / 111_320.0
    x0, y0 = -74.9, -9.3
    geoms = [shapely.box(x0 + i * 300 * deg, y0, x0 + (i * 300 + 100) * deg, y0 + 40 * deg)
             for i in range(3)]
    table = {name: np.full(3, np.nan) for name in FEATURES}
    table.update(area_ha=np.full(3, 0.4), length_m=np.full(3, 100.0), width_m=np.full(3, 40.0),
                 orientation_deg=np.full(3, 90.0), span_days=np.zeros(3))
    cs = gen.clearing_set(table)
    cs = ClearingSet(**{**cs.__dict__, "geometry": np.array(geoms, dtype=object),
                        "centroid_lon": shapely.get_x(shapely.centroid(geoms)),
                        "centroid_lat": shapely.get_y(shapely.centroid(geoms))})
    store = store_factory.create(path)
    return store, add_clearings(store, cs), geoms, deg


def test_vector_labels_match_clearings_by_location(store_factory, tmp_path):
    store, ids, geoms, deg = boxes_workspace(store_factory, tmp_path / "ws")
    try:
        c0, c1 = geoms[0].centroid, geoms[1].centroid
        near = shapely.Point(geoms[1].bounds[2] + 15 * deg, c1.y)  # 15 m east of clearing 1
        # a polygon mostly over clearing 2, touching a sliver of clearing 1
        poly = shapely.box(geoms[1].bounds[2] - 5 * deg, geoms[2].bounds[1],
                           geoms[2].bounds[2], geoms[2].bounds[3])
        path = write_geojson(tmp_path / "l.geojson", [
            (c0, {"DRIVER": "Minería", "observed_at": "2025-03-01"}),
            (near, {"DRIVER": "pista"}),
            (poly, {"DRIVER": "agricultura"}),
        ])
        read = read_labels(store, path)
        got = {r.clearing_id: r.driver for r in read.rows}
        assert got == {int(ids[0]): Driver.MINING, int(ids[1]): Driver.AIRSTRIP,
                       int(ids[2]): Driver.AGRICULTURE}
        assert read.source.startswith("file:l.geojson@")
        res = import_labels(store, path)
        assert res.added == 3 and res.by_driver["mining"] == 1
        stored = {r.clearing_id: r for r in store.labels.list()}
        assert str(stored[int(ids[0])].observed_at) == "2025-03-01"
        assert import_labels(store, path).skipped_existing and len(store.labels.list()) == 3
    finally:
        store.close()


def test_bad_label_files_get_clear_errors(store_factory, tmp_path):
    store, ids, geoms, deg = boxes_workspace(store_factory, tmp_path / "ws")
    try:
        # unknown class: file, line, value and the valid names
        bad = tmp_path / "clase.csv"
        bad.write_text(f"clearing_id,driver\n{ids[0]},coca\n{ids[1]},palma aceitera\n",
                       encoding="utf-8")
        with pytest.raises(InputError) as err:
            import_labels(store, bad)
        text = err.value.user_text()
        assert str(bad) in text and "line 3" in text and "palma aceitera" in text
        assert "airstrip/pista" in text and "mining/minería" in text

        # labels that match no clearing: counted, the first shown
        missing = tmp_path / "ids.csv"
        missing.write_text(
            f"clearing_id;driver\n{ids[0]};coca\n99999;coca\n100000;mining\n", encoding="utf-8"
        )
        with pytest.raises(InputError) as err:
            import_labels(store, missing)
        assert "--" not in err.value.user_text()
        text = error_text(err.value)
        assert "2 of 3 labels match no stored clearing" in text
        assert "line 3 (clearing_id=99999)" in text and "--skip-unmatched" in text
        assert store.labels.list() == []  # nothing half-written
        partial = import_labels(store, missing, allow_unmatched=True)
        assert partial.added == 1 and partial.unmatched == 2

        # a missing column (the Spanish names, and the export's id, are read too)
        cols = tmp_path / "columnas.csv"
        cols.write_text("numero,tipo\n1,coca\n", encoding="utf-8")
        with pytest.raises(DataFormatError, match="no column clearing_id, driver") as err:
            import_labels(store, cols)
        assert "numero, tipo" in err.value.user_text()
        assert "id_claro and causa" in err.value.user_text()

        # projected coordinates in a GeoJSON without CRS (UTM 18S metres)
        utm = write_geojson(tmp_path / "utm.geojson",
                            [(shapely.Point(511_000, 8_971_000), {"driver": "coca"})])
        with pytest.raises(DataFormatError, match="not longitudes and latitudes"):
            import_labels(store, utm)

        # degrees declared as UTM: they land far from every clearing
        declared = write_geojson(tmp_path / "declarado.geojson",
                                 [(geoms[0].centroid, {"driver": "coca"})], crs="EPSG:32718")
        with pytest.raises(DataFormatError, match="coordinate reference system is probably wrong"):
            import_labels(store, declared)

        # latitude and longitude swapped
        c = geoms[0].centroid
        swapped = write_geojson(tmp_path / "invertido.geojson",
                                [(shapely.Point(c.y, c.x), {"driver": "coca"})])
        with pytest.raises(DataFormatError, match="swapped"):
            import_labels(store, swapped)

        # a GeoPackage without any CRS
        import geopandas as gpd

        nocrs = tmp_path / "sin_crs.gpkg"
        with warnings.catch_warnings():  # pyogrio warns that the file will have no CRS
            warnings.simplefilter("ignore", UserWarning)
            gpd.GeoDataFrame({"driver": ["coca"]}, geometry=[c], crs=None).to_file(nocrs)
        with pytest.raises(DataFormatError, match="no coordinate reference system"):
            import_labels(store, nocrs)

        # no driver field
        nofield = write_geojson(tmp_path / "sin_campo.geojson", [(c, {"tipo": "coca"})])
        with pytest.raises(DataFormatError, match="no driver field; its fields are: tipo"):
            import_labels(store, nofield)

        # one clearing, two drivers
        clash = write_geojson(tmp_path / "choque.geojson", [
            (c, {"driver": "coca"}),
            (shapely.Point(c.x + 10 * deg, c.y), {"driver": "otro"}),
        ])
        with pytest.raises(InputError, match="two different drivers") as err:
            import_labels(store, clash)
        assert "feature 1" in err.value.user_text() and "feature 2" in err.value.user_text()
        assert len(store.labels.list()) == 1  # only the partial import above
    finally:
        store.close()


# ------------------------------------------------------------------------ CLI


def test_cli_labels_status_evaluate(store_factory, tmp_path):
    from vigilancia.cli import app

    ws = tmp_path / "ws"
    store, ids, labels = synthetic_workspace(store_factory, ws, 50)
    store.close()
    env = {**store_factory.env(ws), "VIGILANCIA_LANGUAGE": "es"}
    runner = CliRunner()
    few = write_csv(tmp_path / "pocas.csv", ids[:20], labels[:20], spanish=True)

    res = runner.invoke(app, ["labels", "import", str(ws), str(few)], env=env)
    assert res.exit_code == 0, res.output
    assert "20 etiquetas importadas" in res.output

    res = runner.invoke(app, ["classifier", "train", str(ws)], env=env)
    assert res.exit_code == 2
    assert "demasiado pocas etiquetas" in res.output

    res = runner.invoke(app, ["classifier", "status", str(ws), "--json"], env=env)
    assert res.exit_code == 0, res.output
    status = json.loads(res.output)
    assert status["active"] is None and status["labelled_clearings"] == 20

    chart = tmp_path / "reglas.png"
    res = runner.invoke(app, ["classifier", "evaluate", str(ws), "--json", "--chart", str(chart)],
                        env=env)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["model_kind"] == "rules" and data["n"] == 20
    with Image.open(chart) as img:
        assert img.format == "PNG"

    res = runner.invoke(app, ["classifier", "evaluate", str(ws)], env=env)
    assert res.exit_code == 0, res.output
    assert "Matriz de confusión" in res.output and "Precisión" in res.output

    bad = tmp_path / "mal.csv"
    bad.write_text("clearing_id,driver\n1,palma\n", encoding="utf-8")
    res = runner.invoke(app, ["labels", "import", str(ws), str(bad)], env=env)
    assert res.exit_code == 2 and "palma" in res.output and "línea 2" in res.output


def test_cli_train_and_status(store_factory, tmp_path):
    if not store_factory.is_sqlite:
        pytest.skip("training through the CLI is the same service the PostgreSQL runs test above")
    from vigilancia.cli import app

    ws = tmp_path / "ws"
    store, ids, labels = synthetic_workspace(store_factory, ws, 70, seed=8)
    store.close()
    env = {**store_factory.env(ws), "VIGILANCIA_LANGUAGE": "en"}
    runner = CliRunner()
    path = write_csv(tmp_path / "labels.csv", ids, labels)
    res = runner.invoke(app, ["classifier", "train", str(ws), "--labels", str(path)], env=env)
    assert res.exit_code == 0, res.output
    assert "70 labels imported" in res.output and "trained on" in res.output
    assert "Cross-validated scores" in res.output
    res = runner.invoke(app, ["classifier", "status", str(ws)], env=env)
    assert res.exit_code == 0, res.output
    assert "Active model: gbm-" in res.output and "enough to train" in res.output
