"""Coca calls by department on real data, with and without the context layers' coverage.

Run (needs ``../shared/data``; about 5 minutes on two cores)::

    .venv/bin/python bench/driver_coverage.py
    .venv/bin/python bench/driver_coverage.py --out bench/output --data ../shared/data

What it does, in one workspace (``OUT/driver_coverage/ws``):

1. ingests the MapBiomas Alerta alerts of Peru (37,332 validated alerts,
   2021-2024; ``alerts/mapbiomas_alerta_peru_2021_2024.parquet``) without
   classifying them;
2. imports the real context layers: the MTC departmental and rural roads of
   Ucayali, Huánuco, Pasco and Loreto (7 files), the IGN rivers of Pasco and the
   Natural Earth major rivers, and the 100 known runways of
   ``airstrips/runways_peru.geojson``;
3. classifies every clearing (the transparent rules; no trained model) three
   times, changing only the coverage of the layers (a coverage given again
   replaces the stored one: ``layers import ... --coverage FILE``):

   - **before**: every layer covers the whole world, as vigilancia measured
     until layers had a coverage (a road 300 km away is "far from roads");
   - **extent**: each file covers its extent, the convex hull of its features
     plus 2 km (the default);
   - **departments**: each road file covers its department (the INEI polygon
     of ``admin/peru_departments.geojson``) and the Pasco rivers cover Pasco;
     the other files keep their extent.

For each run and each department (a clearing belongs to the department its
centroid lies in) it reports the alerts, their area, the **coca-likely**
clearings (stored driver coca) and their area, the coca-likely share of the
department's alert area, and the median distance to a road quoted by the coca
calls (their ``far_from_road`` reason; "-" where none quotes one). Against
DEVIDA's coca hectares by department (``stats/coca_ha_by_department_2020_2024_devida.csv``,
the mean of 2021-2024, the years of the alerts; the ``TOTAL`` row left out) it
gives Spearman's rank correlation of the coca-likely area, over the 13
departments DEVIDA monitors, and, as the reference, that of all alert area.

Output: tables on the terminal and ``OUT/driver_coverage.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from vigilancia.config import Settings  # noqa: E402
from vigilancia.i18n import set_language  # noqa: E402
from vigilancia.io.store import WorkspaceStore  # noqa: E402
from vigilancia.services.classify import classify_clearings  # noqa: E402
from vigilancia.services.layers import import_layer  # noqa: E402
from vigilancia.services.monitor import MonitorRequest, run_monitor  # noqa: E402

ALERTS = "alerts/mapbiomas_alerta_peru_2021_2024.parquet"
DEPARTMENTS = "admin/peru_departments.geojson"
DEVIDA = "stats/coca_ha_by_department_2020_2024_devida.csv"
YEARS = ("2021", "2022", "2023", "2024")
ROADS = {  # file -> the department it covers (INEI name)
    "network/roads_departmental_ucayali.geojson": "UCAYALI",
    "network/roads_rural_ucayali.geojson": "UCAYALI",
    "network/roads_departmental_huanuco.geojson": "HUANUCO",
    "network/roads_departmental_pasco.geojson": "PASCO",
    "network/roads_rural_pasco.geojson": "PASCO",
    "network/roads_departmental_loreto.geojson": "LORETO",
    "network/roads_rural_loreto.geojson": "LORETO",
}
RIVERS = {"network/rivers_pasco.geojson": "PASCO",
          "network/rivers_major_naturalearth.geojson": None}
AIRSTRIPS = {"airstrips/runways_peru.geojson": None}
WORLD = {"type": "Feature", "properties": {"nombre": "mundo"},
         "geometry": {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90],
                                                         [-180, 90], [-180, -90]]]}}
MODES = ("before", "extent", "departments")


def plain(name: str) -> str:
    """Upper case without accents: DEVIDA's "Huánuco" is INEI's "HUANUCO"."""
    import unicodedata

    text = unicodedata.normalize("NFKD", name.strip().upper())
    return "".join(c for c in text if not unicodedata.combining(c))


def devida(path: Path) -> dict[str, float]:
    """DEVIDA coca hectares by department, mean of :data:`YEARS`, without the TOTAL row."""
    out: dict[str, float] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = plain(row["Departamento"])
            if name == "TOTAL":
                continue
            out[name] = float(np.mean([float(row[y]) for y in YEARS]))
    return out


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path


def department_files(data: Path, work: Path) -> dict[str, Path]:
    """One GeoJSON per department named in :data:`ROADS` and :data:`RIVERS`."""
    feats = json.loads((data / DEPARTMENTS).read_text(encoding="utf-8"))["features"]
    wanted = {d for d in [*ROADS.values(), *RIVERS.values()] if d}
    out = {}
    for f in feats:
        name = f["properties"]["NOMBDEP"]
        if name in wanted:
            out[name] = write_geojson(work / f"dep_{name.lower()}.geojson", [f])
    return out


def import_layers(store: WorkspaceStore, data: Path, coverage: dict[str, Path | None]) -> None:
    for group, kind in ((ROADS, "road"), (RIVERS, "river"), (AIRSTRIPS, "airstrip")):
        for rel in group:
            import_layer(store, data / rel, kind, coverage=coverage.get(rel))


def measure(store: WorkspaceStore, departments: Any) -> dict[str, dict[str, Any]]:
    """Per department: alerts, alert ha, coca-likely clearings and ha, the median road
    distance the coca calls quote."""
    import geopandas as gpd

    frame = store.clearings.frame()
    points = gpd.GeoDataFrame(
        frame[["id", "area_ha", "driver", "driver_reasons"]],
        geometry=gpd.points_from_xy(frame["centroid_lon"], frame["centroid_lat"]),
        crs="EPSG:4326")
    joined = gpd.sjoin(points, departments[["NOMBDEP", "geometry"]], how="left",
                       predicate="within")
    joined = joined[~joined.index.duplicated()]
    out: dict[str, dict[str, Any]] = {}
    for name, rows in joined.groupby(joined["NOMBDEP"].fillna("(fuera)")):
        coca = rows[rows["driver"] == "coca"]
        roads = [float(r["params"]["distance_m"]) for reasons in coca["driver_reasons"]
                 for r in reasons if r["code"] == "far_from_road"]
        out[str(name)] = {
            "alerts": len(rows),
            "alert_ha": float(rows["area_ha"].sum()),
            "coca_clearings": len(coca),
            "coca_ha": float(coca["area_ha"].sum()),
            "coca_share": float(coca["area_ha"].sum() / rows["area_ha"].sum())
            if rows["area_ha"].sum() > 0 else 0.0,
            "coca_calls_quoting_roads": len(roads),
            "median_road_km": float(np.median(roads) / 1000) if roads else None,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "output")
    args = ap.parse_args()
    import geopandas as gpd

    set_language("en")
    data = args.data
    if not (data / ALERTS).is_file():
        sys.exit(f"{data / ALERTS} is absent: this benchmark needs ../shared/data")
    work = args.out / "driver_coverage"
    if work.exists():
        shutil.rmtree(work)  # (the benchmark's own folder)
    work.mkdir(parents=True)
    deps = department_files(data, work)
    world = write_geojson(work / "mundo.geojson", [WORLD])
    departments = gpd.read_file(data / DEPARTMENTS)
    coca_ha = devida(data / DEVIDA)

    store = WorkspaceStore.create(work / "ws")
    t0 = time.perf_counter()
    run_monitor(store, MonitorRequest(str(data / ALERTS), "mapbiomas", classify=False),
                Settings(language="en"))
    timings = {"ingest_s": time.perf_counter() - t0}
    everything = [*ROADS, *RIVERS, *AIRSTRIPS]
    coverages: dict[str, dict[str, Path | None]] = {
        "extent": {},
        "departments": {**{rel: deps[d] for rel, d in ROADS.items()},
                        **{rel: deps[d] for rel, d in RIVERS.items() if d}},
        "before": dict.fromkeys(everything, world),
    }
    results: dict[str, Any] = {}
    for mode in ("extent", "departments", "before"):  # an extent cannot be given back later
        t0 = time.perf_counter()
        import_layers(store, data, coverages[mode])
        classified = classify_clearings(store)
        timings[f"{mode}_classify_s"] = time.perf_counter() - t0
        per_dep = measure(store, departments)
        names = sorted(coca_ha)
        coca_area = [per_dep.get(n, {}).get("coca_ha", 0.0) for n in names]
        alert_area = [per_dep.get(n, {}).get("alert_ha", 0.0) for n in names]
        truth = [coca_ha[n] for n in names]
        results[mode] = {
            "by_department": per_dep,
            "spearman_coca_ha": spearman(coca_area, truth),
            "spearman_alert_ha": spearman(alert_area, truth),
            "mean_completeness": classified.mean_completeness,
            "by_driver": classified.by_driver,
        }
    store.close()
    report(results, coca_ha)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "driver_coverage.json").write_text(json.dumps(
        {"devida_mean_2021_2024": coca_ha, "results": results, "timings": timings},
        indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nWritten: {args.out / 'driver_coverage.json'}; timings {timings}")


def report(results: dict[str, Any], coca_ha: dict[str, float]) -> None:
    head = f"{'department':<15}{'DEVIDA ha':>10}{'alerts':>8}{'alert ha':>10}"
    for mode in MODES:
        head += f" | {mode + ' coca ha':>22}{'share':>7}{'road km':>8}"
    print(head)
    names = sorted({*coca_ha, *results["before"]["by_department"]},
                   key=lambda n: -coca_ha.get(n, -1))
    for name in names:
        first = results["before"]["by_department"].get(name, {})
        line = (f"{name:<15}{coca_ha.get(name, float('nan')):>10.0f}"
                f"{first.get('alerts', 0):>8}{first.get('alert_ha', 0.0):>10.0f}")
        for mode in MODES:
            d = results[mode]["by_department"].get(name, {})
            road = d.get("median_road_km")
            line += (f" | {d.get('coca_ha', 0.0):>22.0f}{100 * d.get('coca_share', 0.0):>6.0f}%"
                     f"{'-' if road is None else f'{road:.0f}':>8}")
        print(line)
    print()
    for mode in MODES:
        r = results[mode]
        print(f"{mode:<12} Spearman vs DEVIDA (13 departments): coca-likely area "
              f"{r['spearman_coca_ha']:+.2f}, all alert area {r['spearman_alert_ha']:+.2f}; "
              f"mean completeness {r['mean_completeness']:.2f}")


if __name__ == "__main__":
    main()
