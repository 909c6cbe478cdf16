"""The demo: the whole monitoring cycle on a seeded sample region, offline.

The demo writes the risk map and the package's printable map with the renderers its
caller passes (:func:`vigilancia.reports.risk_map.render_risk_map` and
:func:`vigilancia.reports.package_map.render_package_map` in the shells): the
reports layer sits above the services, which never import it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from vigilancia.config import Settings
from vigilancia.domain.cases import OPEN_STATUSES
from vigilancia.domain.patrols import PatrolPlan
from vigilancia.domain.territories import TerritoryKind
from vigilancia.progress import Progress
from vigilancia.sample import SampleRegion, build_sample_region
from vigilancia.services.airstrips import find_runways
from vigilancia.services.cases import OpenCasesResult, open_cases
from vigilancia.services.corridors import CorridorResult, build_corridors, export_corridors
from vigilancia.services.export import export_clearings
from vigilancia.services.layers import LayerImportResult, import_layer
from vigilancia.services.monitor import MonitorRequest, MonitorResult, run_monitor
from vigilancia.services.package import PackageMapRenderer, PackageResult, build_package
from vigilancia.services.patrol import plan_patrol
from vigilancia.services.risk import RiskAssessment, assess_risk
from vigilancia.services.risk_export import RiskMapRenderer, export_risk
from vigilancia.services.territories import TerritoryImportResult, import_territories
from vigilancia.services.workspace import init_workspace

DEMO_SINCE = date(2023, 1, 1)
#: Round-trip length (km) of the demo's patrol.
DEMO_PATROL_KM = 20.0


@dataclass(frozen=True)
class DemoResult:
    """What the demo made: the sample region, the workspace and each step's result."""

    region: SampleRegion
    workspace: Path
    imports: list[TerritoryImportResult]
    layers: list[LayerImportResult]
    monitor: MonitorResult
    exports: list[Path]
    corridors: CorridorResult
    risk: RiskAssessment
    cases: OpenCasesResult
    plan: PatrolPlan
    package: PackageResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the region's description and extent, the workspace, the files
        exported and each step's result."""
        return {
            "region": {"description": self.region.description, "bounds": self.region.bounds,
                       "seed": self.region.seed, "size": self.region.size},
            "workspace": self.workspace,
            "imports": list(self.imports),
            "layers": list(self.layers),
            "monitor": self.monitor,
            "exports": list(self.exports),
            "corridors": self.corridors,
            "risk": self.risk,
            "cases": self.cases,
            "plan": self.plan,
            "package": self.package,
        }


def run_demo(
    output: Path,
    settings: Settings,
    progress: Progress | None = None,
    *,
    render_risk_map: RiskMapRenderer,
    render_package_map: PackageMapRenderer,
) -> DemoResult:
    """Build the sample region under ``output``; import territories and context layers
    (rivers, roads, exits, known airstrips); run ingest → clearings → placement → likely
    driver; export the clearings and the runway candidates; route the coca zones and
    runways to the exits (corridors); score community risk; open cases;
    plan a patrol of the community most at risk and build its offline package.
    ``render_risk_map`` draws ``riesgo/riesgo.png`` and ``render_package_map`` the
    package's ``mapa.pdf``.

    ``output`` is recreated from scratch so the demo gives the same answer every time.
    """
    output = Path(output)
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    region = build_sample_region(output / "datos")
    ws = output / "espacio"
    store = init_workspace(ws, settings, name="Demostración")
    try:
        imports = [
            import_territories(store, str(region.territories), kind=TerritoryKind.COMMUNITY),
            import_territories(store, str(region.reserves), kind=TerritoryKind.RESERVE),
            import_territories(
                store, str(region.protected_areas), kind=TerritoryKind.PROTECTED_AREA
            ),
        ]
        # the sample's layers are complete over the whole region: that is their coverage
        layers = [
            import_layer(store, path, kind, coverage=region.mapped_area)
            for path, kind in ((region.rivers, "river"), (region.roads, "road"),
                               (region.exits, "exit"), (region.airstrips, "airstrip"))
        ]
        result = run_monitor(
            store,
            MonitorRequest(str(region.alerts_tif), product="gfw", since=DEMO_SINCE),
            settings,
            progress,
        )
        runways = find_runways(store, output=output / "pistas_candidatas.gpkg")
        exports = [
            export_clearings(store, output / "claros.gpkg", "gpkg").path,
            export_clearings(store, output / "claros.geojson", "geojson").path,
            *([runways.path] if runways.path else []),
        ]
        corridors = build_corridors(store, settings, progress=progress)
        written = export_corridors(corridors, output / "corredores", settings=settings)
        exports += [written.gpkg, written.density]
        risk = assess_risk(store, settings, progress=progress)
        risk_files = export_risk(risk, store, output / "riesgo", render_map=render_risk_map)
        exports += [risk_files.csv, risk_files.png]
        cases = open_cases(store, settings, progress=progress)
        with_cases = {c.territory_id for c in store.cases.list(statuses=OPEN_STATUSES)}
        ranked = (risk.units[s.key].territory_id for s in risk.scores)
        target = next(tid for tid in ranked if tid is not None and tid in with_cases)
        plan = plan_patrol(store, settings, territory=target, max_km=DEMO_PATROL_KM,
                           actor="demo")
        package = build_package(store, settings, territory=plan.territory_id,
                                output=output / "paquete_patrulla.zip",
                                render_map=render_package_map, progress=progress)
        exports.append(package.output)
    finally:
        store.close()
    return DemoResult(region, ws, imports, layers, result, exports, corridors, risk, cases, plan,
                      package)
