"""Benchmark: the territories imported after the alerts, against importing them before.

On the GFW tiles and territories of ``monitor_throughput.py`` (same generator and cache),
for each size, in the same run:

1. **before**: a workspace with the territories imported (``import_before_s``: the
   import itself, into a workspace without clearings), then ``monitor --no-classify``
   (the ingest places the clearings as it goes);
2. **after**: a workspace where ``monitor --no-classify`` runs first, then
   ``territories import`` of the same territories, which re-places every clearing
   (the first territories of a workspace can move every clearing: the most a
   re-placement does);
3. **again**: a second ``territories import`` of a small new community in the middle of
   the tile, which re-places only the clearings it can affect (incremental).

Each step is timed as a subprocess, from start to exit. Derived: ``replace_s`` (step 2's
import), ``replace_placement_s`` = replace_s - import_before_s (what placing the stored
clearings adds to the import), ``placement_at_ingest_s`` (monitor with territories minus
monitor without), ``ratio_to_ingest_placement`` = replace_placement_s /
placement_at_ingest_s, clearings per second of the re-placement, and ``incremental_s``
with the clearings it re-placed. The two
workspaces' placements are compared (``same_placement`` must be true).

    .venv/bin/python bench/placement_follows.py --sizes 10000
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from monitor_throughput import DEFAULT_SEED, ensure_workload, machine_info  # noqa: E402


def _vigilancia(*args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "vigilancia", *args], check=True,
                         capture_output=True, text=True,
                         env=dict(os.environ, VIGILANCIA_LANGUAGE="en"))
    return time.perf_counter() - t0, out.stdout


def _placement(ws: Path) -> tuple[list[Any], list[Any]]:
    db = sqlite3.connect(ws / "vigilancia.sqlite")
    try:
        names = dict(db.execute("SELECT id, name FROM territories"))
        rows = [(i, names.get(n), d, w) for i, n, d, w in db.execute(
            "SELECT id, nearest_territory_id, boundary_distance_m, within_buffer FROM clearings "
            "ORDER BY id")]
        over = sorted((c, names[t], a, s) for c, t, a, s in db.execute(
            "SELECT clearing_id, territory_id, area_ha, share FROM clearing_territories"))
    finally:
        db.close()
    return rows, over


def _new_community(tile: Path, out: Path) -> Path:
    import rasterio
    import shapely
    from shapely.geometry import mapping

    with rasterio.open(tile) as ds:
        x0, y0, x1, y1 = ds.bounds
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 40
    geom = shapely.Point(cx, cy).buffer(r, quad_segs=16)
    out.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nombre": "CN Nueva"}, "geometry": mapping(geom)}]}))
    return out


def measure(size: int, seed: int, out: Path) -> dict[str, Any]:
    tile, territories, stats = ensure_workload(out, size, seed)
    monitor = ["--alerts", str(tile), "--product", "gfw", "--since", "2015-01-01",
               "--min-confidence", "low", "--no-classify", "--json"]
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        before, after = Path(tmp) / "before", Path(tmp) / "after"
        for ws in (before, after):
            _vigilancia("init", str(ws))
        import_before_s, _ = _vigilancia("territories", "import", str(before), str(territories))
        monitor_with_s, text = _vigilancia("monitor", str(before), *monitor)
        clearings = json.loads(text)["clearings"]
        monitor_without_s, _ = _vigilancia("monitor", str(after), *monitor)
        replace_s, _ = _vigilancia("territories", "import", str(after), str(territories),
                                   "--json")
        same = _placement(before) == _placement(after)
        extra = _new_community(tile, Path(tmp) / "nueva.geojson")
        incremental_s, text = _vigilancia("territories", "import", str(after), str(extra),
                                          "--json")
        moved = json.loads(text)["placement"]
    at_ingest = monitor_with_s - monitor_without_s
    placing = replace_s - import_before_s  # the import into the empty workspace is the rest
    return {
        "size": size, "clearings": clearings, "territories": stats.get("territories"),
        "import_before_s": import_before_s, "monitor_with_territories_s": monitor_with_s,
        "monitor_without_territories_s": monitor_without_s,
        "placement_at_ingest_s": at_ingest, "replace_s": replace_s,
        "replace_clearings_per_s": clearings / replace_s,
        "replace_placement_s": placing,
        "ratio_to_ingest_placement": placing / at_ingest if at_ingest > 0 else None,
        "same_placement": same, "incremental_s": incremental_s,
        "incremental_clearings": moved["clearings"], "incremental_moved": moved["moved"],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,20000", help="pixels a side, comma-separated")
    p.add_argument("--out", default="bench/output", help="output and cache folder")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        results.append(measure(size, args.seed, out))
        report = {"machine": machine_info(), "results": results}
        (out / "placement_follows.json").write_text(json.dumps(report, indent=2))
        r = results[-1]
        print(f"{size}²: {r['clearings']:,} clearings; monitor with territories "
              f"{r['monitor_with_territories_s']:.1f} s, "
              f"without {r['monitor_without_territories_s']:.1f} s; "
              f"territories imported after {r['replace_s']:.1f} s "
              f"({r['replace_clearings_per_s']:,.0f} clearings/s); same placement: "
              f"{r['same_placement']}; one new community {r['incremental_s']:.1f} s "
              f"({r['incremental_clearings']:,} clearings re-placed)")


if __name__ == "__main__":
    main()
