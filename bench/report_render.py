"""How long the reports take: gathering and drawing the case report, the monthly bulletin
and the regional trends on the sample region, beside a reference measured in the same run.

The workload is the demo's sample region (``--size`` pixels per side) run through the
services: territories, reserves, protected areas, rivers and roads, the GFW alerts,
the likely drivers, a risk assessment and the cases. The case report is made for the
largest case (images: none, the machine may be offline), the bulletin for that case's
community in the month of its last alert, the trends for the whole workspace.

The reference is WeasyPrint drawing a one-page HTML with one 1,400 x 1,000 PNG (the size
of the case report's location map) and a table: the fixed cost of any PDF report here.
Each report's ``ratio_to_reference`` is its drawing time over that.

    .venv/bin/python bench/report_render.py                 # size 1200 (about a minute)
    .venv/bin/python bench/report_render.py --size 4000     # the whole demo region

Output: a table on the terminal and ``OUT/report_render.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


def _reference() -> float:
    import io

    import numpy as np
    from PIL import Image

    from vigilancia.reports.document import data_uri, write_pdf

    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 255, (1000, 1400, 3), dtype=np.uint8) // 64 * 64)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    rows = "".join(f"<tr><td>{i}</td><td>{i * 3.5:.1f}</td></tr>" for i in range(30))
    html = (f"<html><body><h1>Referencia</h1><img style='width:100%' "
            f"src='{data_uri(buf.getvalue())}'><table>{rows}</table></body></html>")
    start = time.perf_counter()
    write_pdf(html, issued_at=datetime(2024, 1, 1, tzinfo=UTC), identifier="0" * 32)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1200)
    parser.add_argument("--out", type=Path, default=Path("bench/output"))
    args = parser.parse_args()

    from vigilancia.config import Settings
    from vigilancia.reports.bulletin import render_bulletin
    from vigilancia.reports.case_report import render_case_report
    from vigilancia.reports.trends import render_trends
    from vigilancia.sample import build_sample_region
    from vigilancia.services.bulletin import bulletin
    from vigilancia.services.case_report import case_report
    from vigilancia.services.cases import open_cases
    from vigilancia.services.layers import import_layer
    from vigilancia.services.monitor import MonitorRequest, run_monitor
    from vigilancia.services.reporting import issue_report
    from vigilancia.services.risk import assess_risk
    from vigilancia.services.territories import import_territories
    from vigilancia.services.trends import trends
    from vigilancia.services.workspace import init_workspace

    work = args.out / "report_render"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    settings = Settings(language="es")
    region = build_sample_region(work / "datos", size=args.size)
    store = init_workspace(work / "ws", settings, name="Banco de pruebas")
    for path, kind in ((region.territories, "community"), (region.reserves, "reserve"),
                       (region.protected_areas, "protected_area")):
        import_territories(store, str(path), kind=kind)
    for path, kind in ((region.rivers, "river"), (region.roads, "road")):
        import_layer(store, path, kind)
    run_monitor(store, MonitorRequest(str(region.alerts_tif), product="gfw",
                                      since=date(2023, 1, 1)), settings)
    assess_risk(store, settings)
    open_cases(store, settings)
    case = max(store.cases.list(), key=lambda c: (c.area_ha, -c.id))
    territory = next(t.name for t in store.territories.list() if t.id == case.territory_id)
    month = (case.last_alert or date(2024, 12, 1)).replace(day=1)

    reference = min(_reference() for _ in range(3))
    results: dict[str, Any] = {}
    jobs = (
        ("case", lambda: case_report(store, settings, case.id, imagery="none"),
         render_case_report),
        ("bulletin", lambda: bulletin(store, settings, territory=territory, month=month),
         render_bulletin),
        ("trends", lambda: trends(store, settings), render_trends),
    )
    for name, gather, render in jobs:
        start = time.perf_counter()
        report = gather()
        gathered = time.perf_counter() - start
        start = time.perf_counter()
        issued, data = issue_report(store, settings, report, render=render,
                                    output=work / f"{name}.pdf", actor="bench")
        drawn = time.perf_counter() - start
        results[name] = {"gather_s": round(gathered, 3), "draw_s": round(drawn, 3),
                         "bytes": len(data), "ratio_to_reference": round(drawn / reference, 2),
                         "content_hash": issued.content_hash}
    clearings, cases = store.counts()["clearings"], store.counts()["cases"]
    store.close()
    out = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "size": args.size, "clearings": clearings, "cases": cases,
        "reference_s": round(reference, 3), "reports": results,
    }
    (args.out / "report_render.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"reference (one page, one map-sized PNG): {reference:.2f} s")
    print(f"{'report':<10}{'gather s':>10}{'draw s':>10}{'x ref':>8}{'KiB':>8}")
    for name, r in results.items():
        print(f"{name:<10}{r['gather_s']:>10.2f}{r['draw_s']:>10.2f}"
              f"{r['ratio_to_reference']:>8.1f}{r['bytes'] / 1024:>8.0f}")


if __name__ == "__main__":
    main()
