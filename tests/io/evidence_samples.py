"""A workspace with cases and kept field files, for the custody and evidence tests.

Built through the real services (territories, MapBiomas-style alert polygons,
monitor, open_cases, field import); the field files are written the way the apps
write them (:mod:`field_samples`). :func:`unguard` and :func:`execute` tamper with the
database the way someone holding it could: the append-only triggers dropped, rows
changed directly.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from field_samples import write_central_zip, write_gpx, write_jpeg
from shapely.geometry import box, mapping

from vigilancia.config import Settings
from vigilancia.io.store.records import custody_entry
from vigilancia.services.cases import open_cases
from vigilancia.services.evidence import verify_evidence
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.territories import import_territories

SETTINGS = Settings(language="en", buffer_km=2.0)
ALFA = box(-75.00, -9.50, -74.95, -9.45)
CLEARING_1 = box(-74.980, -9.480, -74.978, -9.478)
CLEARING_2 = box(-74.960, -9.462, -74.958, -9.460)


def write_geojson(path: Path, features) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g), "properties": p} for g, p in features]}),
        encoding="utf-8")
    return path


def build_cases(store, tmp_path: Path) -> None:
    """One community, two alert cases (C-0001 at clearing 1, C-0002 at clearing 2)."""
    communities = write_geojson(tmp_path / "comunidades.geojson", [(ALFA, {"nomcom": "CN Alfa"})])
    import_territories(store, str(communities), kind="community", name_field="nomcom")
    alerts = write_geojson(tmp_path / "alertas.geojson", [
        (CLEARING_1, {"alert_code": "A1", "detected_at": "2024-04-10", "area_ha": 4.9}),
        (CLEARING_2, {"alert_code": "A2", "detected_at": "2024-04-20", "area_ha": 4.9}),
    ])
    run_monitor(store, MonitorRequest(str(alerts), "mapbiomas", classify=False), SETTINGS)
    assert open_cases(store, SETTINGS, as_of=date(2024, 6, 1)).opened == (1, 2)


def field_batch(folder: Path, tag: str = "") -> list[Path]:
    """An ODK visit of C-0001 with a photo, a phone photo near C-0002, and a patrol track."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = write_jpeg(folder / f"v1{tag}.jpg", lat=-9.4785, lon=-74.9795, size=(320, 240),
                       model=f"moto g04{tag}").read_bytes()
    odk = write_central_zip(folder / f"visitas{tag}.zip", [
        {"key": f"uuid:visit-1{tag}", "case_id": "C-0001", "lat": -9.4785, "lon": -74.9795,
         "verdict": "coca_confirmed", "notes": "plantones de coca", "photos": ["v1.jpg"]},
    ], {"v1.jpg": photo})
    (folder / f"v1{tag}.jpg").unlink()
    near2 = write_jpeg(folder / f"IMG_0002{tag}.jpg", lat=-9.4612, lon=-74.9592,
                       size=(200, 150), model=f"moto g04{tag}")
    minute = len(tag)  # (each batch its own track)
    gpx = write_gpx(folder / f"ruta{tag}.gpx", waypoints=[], track=[
        (-74.9630, -9.4650, datetime(2024, 6, 2, 14, minute, tzinfo=UTC)),
        (-74.9600, -9.4630, datetime(2024, 6, 2, 14, 30, tzinfo=UTC)),
    ])
    return [odk, near2, gpx]


def findings(store) -> list[tuple[str, object]]:
    """What verify names: (kind, entry number or path) of each finding."""
    res = verify_evidence(store, SETTINGS, actor="auditora")
    return [(f.kind, f.seq if f.seq is not None else f.path) for f in res.findings]


def unguard(store) -> None:
    """Drop the append-only triggers, as someone with the database could."""
    with store.engine.begin() as conn:
        if store.is_sqlite:
            for table in ("custody_log", "custody_keys"):
                for verb in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            for table in ("custody_log", "custody_keys"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


def rows(store) -> list:
    with store.engine.connect() as conn:
        return [custody_entry(r) for r in conn.execute(
            sa.text("SELECT * FROM custody_log ORDER BY seq")).all()]


def execute(store, sql: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql), params)




def workspace_with_evidence(store_factory, tmp_path: Path):
    """(A fixture's body) two cases and five kept files: an ODK zip, its CSV and photo
    (C-0001), a phone photo (C-0002) and a GPX track."""
    from vigilancia.i18n import set_language
    from vigilancia.services.field import import_field

    set_language("en")
    store = store_factory.create(tmp_path / "ws", name="Federación")
    build_cases(store, tmp_path)
    res = import_field(store, SETTINGS, field_batch(tmp_path / "campo"), actor="coordinadora")
    assert res.failures == () and res.files_kept == 5
    yield store
    store.close()
