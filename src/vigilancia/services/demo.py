"""The demo: the whole monitoring cycle on a seeded sample region, offline.

The demo writes the risk map and the package's printable map with the renderers its
caller passes (:func:`vigilancia.reports.risk_map.render_risk_map` and
:func:`vigilancia.reports.package_map.render_package_map` in the shells): the
reports layer sits above the services, which never import it.

The demo deletes only what it made. It writes into a folder that is new or empty,
and marks it as its own with :data:`DEMO_MARKER`, which lists, once the run has
finished, every file it wrote. Running it again into that folder first removes
those files; a folder that holds anything else (a file the demo did not write, a
workspace, the user's data) is refused and left as it is. The current folder, the
folders above it and the home folder are never used.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from vigilancia.config import Settings
from vigilancia.domain.cases import OPEN_STATUSES
from vigilancia.domain.patrols import PatrolPlan
from vigilancia.domain.territories import TerritoryKind
from vigilancia.errors import ConflictError, InputError
from vigilancia.i18n import _
from vigilancia.io.files import is_temp_name, replace_bytes
from vigilancia.progress import Progress
from vigilancia.sample import SampleRegion, build_sample_region
from vigilancia.services.airstrips import find_runways
from vigilancia.services.case_report import case_report
from vigilancia.services.cases import OpenCasesResult, open_cases
from vigilancia.services.corridors import CorridorResult, build_corridors, export_corridors
from vigilancia.services.export import export_clearings
from vigilancia.services.layers import LayerImportResult, import_layer
from vigilancia.services.monitor import MonitorRequest, MonitorResult, run_monitor
from vigilancia.services.package import PackageMapRenderer, PackageResult, build_package
from vigilancia.services.patrol import plan_patrol
from vigilancia.services.reporting import IssuedReport, Renderer, issue_report
from vigilancia.services.risk import RiskAssessment, assess_risk
from vigilancia.services.risk_export import RiskMapRenderer, export_risk
from vigilancia.services.territories import TerritoryImportResult, import_territories
from vigilancia.services.workspace import init_workspace

DEMO_SINCE = date(2023, 1, 1)
#: The file that marks a folder as the demo's own, with the list of the files it wrote.
DEMO_MARKER = ".vigilancia-demo.json"
#: Files SQLite writes beside a database, which the manifest need not list.
_SQLITE_SIDE = ("-wal", "-shm", "-journal")
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
    report: IssuedReport

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
            "report": self.report,
        }


def run_demo(
    output: Path,
    settings: Settings,
    progress: Progress | None = None,
    *,
    render_risk_map: RiskMapRenderer,
    render_package_map: PackageMapRenderer,
    render_case_report: Renderer,
) -> DemoResult:
    """Build the sample region under ``output``; import territories and context layers
    (rivers, roads, exits, known airstrips); run ingest → clearings → placement → likely
    driver; export the clearings and the runway candidates; route the coca zones and
    runways to the exits (corridors); score community risk; open cases;
    plan a patrol of the community most at risk and build its offline package; write the
    case report of the plan's first stop for the environmental prosecutor (no satellite
    images: the demo runs offline). ``render_risk_map`` draws ``riesgo/riesgo.png``,
    ``render_package_map`` the package's ``mapa.pdf`` and ``render_case_report``
    ``informe_caso.pdf``.

    ``output`` must be a new or empty folder, or one an earlier demo made (its files
    are removed first, so the demo gives the same answer every time); see the module
    text. Raises :class:`~vigilancia.errors.ConflictError` for a folder with anything
    else in it and :class:`~vigilancia.errors.InputError` for the current folder, a
    folder above it, the home folder or a file.
    """
    output = Path(output)
    claim_output(output)
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
        report, _data = issue_report(
            store, settings, case_report(store, settings, plan.stops[0].case_id, imagery="none"),
            render=render_case_report, output=output / "informe_caso.pdf", actor="demo")
        exports.append(output / "informe_caso.pdf")
    finally:
        store.close()
    _write_marker(output, finished=True)
    return DemoResult(region, ws, imports, layers, result, exports, corridors, risk, cases, plan,
                      package, report)


# --------------------------------------------------------------------------------------
# The demo's own folder
# --------------------------------------------------------------------------------------


def _protected() -> set[Path]:
    """Folders the demo never takes: the current one and those above it, the home
    folder and those above it."""
    out: set[Path] = set()
    for start in (Path.cwd(), Path.home()):
        try:
            here = start.resolve()
        except OSError:
            continue
        out.add(here)
        out.update(here.parents)
    return out


def claim_output(output: Path) -> None:
    """Make ``output`` the demo's folder: create it (or take it empty), or empty one that
    an earlier demo made, removing only the files that demo listed. Nothing is deleted
    when the folder is refused."""
    real = Path(output).expanduser().resolve()
    if real in _protected():
        raise InputError(
            _("The demo does not write into {path}: it is the current folder, a folder "
              "above it or the home folder", path=output),
            hint=_("give a new folder for the demo, e.g. demo-output"),
            inputs="output",
        )
    if real.exists() and not real.is_dir():
        raise InputError(_("{path} exists and is not a folder", path=output),
                         hint=_("give a new folder for the demo, e.g. demo-output"),
                         inputs="output")
    if not real.exists():
        real.mkdir(parents=True)
    elif any(real.iterdir()):
        _empty_own_folder(real, output)
    _write_marker(real, finished=False)


def _empty_own_folder(real: Path, shown: Path) -> None:
    """Remove what an earlier demo wrote into ``real``, after checking it holds nothing else."""
    listed = _marker_files(real)
    if listed is None:
        raise ConflictError(
            _("The folder {path} is not empty and was not made by the demo: nothing was "
              "deleted", path=shown),
            hint=_("give a new folder (the demo makes it), or empty this one"),
            inputs="output",
        )
    unknown = []
    for path in _files_under(real):
        rel = path.relative_to(real).as_posix()
        if rel == DEMO_MARKER or is_temp_name(path.name):
            continue
        base = next((rel[: -len(x)] for x in _SQLITE_SIDE if rel.endswith(x)), rel)
        if isinstance(listed, set) and base not in listed:
            unknown.append(rel)
    if unknown:
        raise ConflictError(
            _("The folder {path} holds files the demo did not write ({files}): nothing was "
              "deleted", path=shown,
              files=", ".join(unknown[:3]) + (", ..." if len(unknown) > 3 else "")),
            hint=_("move those files elsewhere, or give a new folder for the demo"),
            inputs="output",
        )
    for entry in real.iterdir():
        if entry.name == DEMO_MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _files_under(folder: Path) -> list[Path]:
    """Every file (and link) under ``folder``; links are not followed."""
    out = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root)
        out += [base / f for f in files]
        out += [base / d for d in dirs if (base / d).is_symlink()]
    return sorted(out)


def _marker_files(folder: Path) -> set[str] | bool | None:
    """What the demo's marker in ``folder`` says it wrote: the files (relative paths),
    True for a run that did not finish (the folder was new or empty, so everything in
    it is the demo's), None when there is no valid marker."""
    marker = folder / DEMO_MARKER
    if not marker.is_file() or marker.is_symlink():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("made_by") != "vigilancia demo":
        return None
    files = data.get("files")
    if files is None:
        return True
    if not isinstance(files, list):
        return None
    return {str(f) for f in files}


def _write_marker(folder: Path, *, finished: bool) -> None:
    """Mark ``folder`` as the demo's; once ``finished``, with every file the demo wrote."""
    from vigilancia import __version__

    files = None
    if finished:
        files = [p.relative_to(folder).as_posix() for p in _files_under(folder)
                 if p.name != DEMO_MARKER and not is_temp_name(p.name)]
    data = {"made_by": "vigilancia demo", "version": __version__,
            "note": "vigilancia demo removes only the files listed here when run again",
            "files": files}
    replace_bytes(folder / DEMO_MARKER,
                  (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
