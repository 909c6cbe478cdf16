"""A realistic workspace for the report tests, built from the sample region with the real
services: territories, reserves, protected areas and two districts, rivers and roads,
the GFW-encoded alerts, two monthly risk assessments, cases, and a coca case visited by
a patrol that brought back an ODK verification form with two phone photos, a drone
photo over the clearing and a GPS track.

The monitor's name (the case's assignee) and the coordinator's user name are recorded in
the workspace on purpose: the reports must never print them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from field_samples import dji_xmp, write_central_zip, write_gpx, write_jpeg
from PIL import Image, ImageDraw
from shapely.geometry import box, mapping

from vigilancia.config import Settings
from vigilancia.domain.drivers import Driver
from vigilancia.domain.territories import TerritoryKind
from vigilancia.io.store import WorkspaceStore
from vigilancia.sample import SampleRegion, build_sample_region
from vigilancia.services.cases import assign_cases, open_cases
from vigilancia.services.field import import_field
from vigilancia.services.layers import import_layer
from vigilancia.services.monitor import MonitorRequest, run_monitor
from vigilancia.services.risk import assess_risk
from vigilancia.services.territories import import_territories

#: Who the case is assigned to and who runs the commands: never in a report.
MONITOR = "Juana Ríos Shahuano"
COORDINATOR = "coordinador.jperez"
SAMPLE_SIZE = 1200
SETTINGS = Settings(language="es")
#: When the patrol reached the coca case (Peru time, UTC-5).
VISIT = datetime(2024, 10, 15, 9, 40, tzinfo=UTC) + timedelta(hours=5)
NOTE = "plantones de coca de 2 a 3 meses; trocha nueva hacia la quebrada"


@dataclass
class World:
    """The built workspace and what the tests need to know of it."""

    root: Path
    region: SampleRegion
    store: WorkspaceStore
    case_id: int
    case_code: str
    territory: str
    photos: dict[str, str]  # file name -> SHA-256 of the original
    drone_sha: str


def write_districts(path: Path, bounds: tuple[float, float, float, float]) -> Path:
    """Two districts splitting the region east-west, with INEI's attribute names (invented
    district names in the provinces the sample region lies in)."""
    west, south, east, north = bounds
    mid = (west + east) / 2 + 0.013
    features = []
    for (x0, x1), name, code, province in (
            ((west - 0.05, mid), "NUEVA ESPERANZA", "100905", "PUERTO INCA"),
            ((mid, east + 0.05), "RIO SHAMBILLO", "250304", "PADRE ABAD")):
        features.append({"type": "Feature", "geometry": mapping(box(x0, south - 0.05, x1,
                                                                    north + 0.05)),
                         "properties": {"IDDIST": code, "NOMBDIST": name,
                                        "NOMBPROV": province,
                                        "NOMBDEP": "HUANUCO" if code.startswith("10")
                                        else "UCAYALI"}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path


def _repaint(path: Path, picture: Image.Image) -> Path:
    """Put ``picture`` in the JPEG at ``path``, keeping its EXIF and XMP metadata."""
    with Image.open(path) as old:
        info = {k: old.info[k] for k in ("exif", "xmp") if k in old.info}
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=85, **info)
    path.write_bytes(buf.getvalue())
    return path


def field_photo(path: Path, *, lon: float, lat: float, taken: datetime, seed: int) -> Path:
    """A 640 x 480 phone photo with EXIF GPS and time: a clearing's edge, drawn."""
    write_jpeg(path, lon=lon, lat=lat, taken=taken.replace(tzinfo=None) - timedelta(hours=5),
               offset="-05:00", size=(640, 480))
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (640, 480), (60, 110, 55))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 640, 150), fill=(150, 190, 225))
    for _k in range(260):  # forest edge and young coca bushes
        x, y = int(rng.integers(0, 640)), int(rng.integers(140, 480))
        r = int(rng.integers(4, 16))
        shade = int(rng.integers(70, 150))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(40, shade, 45))
    draw.polygon([(120, 480), (300, 250), (520, 480)], fill=(150, 120, 80))
    return _repaint(path, img)


def drone_photo(path: Path, *, lon: float, lat: float, taken: datetime) -> Path:
    """A DJI nadir photo (Phantom 4 Pro, 120 m over the take-off point), drawn from above:
    forest around a cleared patch planted in rows."""
    local = taken.replace(tzinfo=None) - timedelta(hours=5)
    write_jpeg(path, lon=lon, lat=lat, altitude=300.0, taken=local, offset=None,
               make="DJI", model="FC6310", focal_mm=8.8, focal_35mm=24, size=(600, 400),
               gps_time=taken.replace(tzinfo=None), xmp=dji_xmp(relative_altitude=120.0))
    rng = np.random.default_rng(7)
    img = Image.new("RGB", (600, 400), (35, 85, 40))
    draw = ImageDraw.Draw(img)
    for _k in range(900):
        x, y = int(rng.integers(0, 600)), int(rng.integers(0, 400))
        r = int(rng.integers(5, 14))
        shade = int(rng.integers(60, 130))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(30, shade, 35))
    draw.polygon([(150, 90), (430, 60), (470, 300), (180, 340)], fill=(160, 130, 85))
    for row in range(100, 330, 14):
        draw.line([(175, row), (440, row - 25)], fill=(70, 140, 60), width=4)
    return _repaint(path, img)


def build_world(root: Path, store: WorkspaceStore | None = None) -> World:
    """Build the workspace under ``root`` (or fill ``store``, an empty workspace)."""
    from vigilancia.services.workspace import init_workspace

    region = build_sample_region(root / "datos", size=SAMPLE_SIZE)
    if store is None:
        store = init_workspace(root / "ws", SETTINGS, name="Federación Kakataibo (muestra)")
    for path, kind in ((region.territories, TerritoryKind.COMMUNITY),
                       (region.reserves, TerritoryKind.RESERVE),
                       (region.protected_areas, TerritoryKind.PROTECTED_AREA)):
        import_territories(store, str(path), kind=kind)
    import_territories(store, str(write_districts(root / "distritos.geojson", region.bounds)),
                       kind=TerritoryKind.DISTRICT, name_field="NOMBDIST")
    for path, kind in ((region.rivers, "river"), (region.roads, "road"),
                       (region.airstrips, "airstrip")):
        import_layer(store, path, kind)
    run_monitor(store, MonitorRequest(str(region.alerts_tif), product="gfw",
                                      since=date(2023, 1, 1)), SETTINGS)
    assess_risk(store, SETTINGS, as_of=date(2024, 9, 1))
    assess_risk(store, SETTINGS, as_of=date(2024, 10, 1))
    open_cases(store, SETTINGS, as_of=date(2024, 10, 1))
    case = _coca_case(store)
    territory = next(t.name for t in store.territories.list() if t.id == case.territory_id)
    assign_cases(store, [case.id], assignee=MONITOR, actor=COORDINATOR)

    # the patrol: two phone photos and a verification form (ODK Central), a drone photo
    # straight down over the clearing, and the GPS track of the walk
    lon, lat = case.lon, case.lat
    field = root / "campo"
    field.mkdir(parents=True, exist_ok=True)
    p1 = field_photo(field / "IMG_20241015_094512.jpg", lon=lon + 0.0002, lat=lat - 0.0001,
                     taken=VISIT + timedelta(minutes=5), seed=1)
    p2 = field_photo(field / "IMG_20241015_095130.jpg", lon=lon - 0.0001, lat=lat + 0.0002,
                     taken=VISIT + timedelta(minutes=11), seed=2)
    local = (VISIT - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000-05:00")
    odk = write_central_zip(field / "vigilancia_visita_verificacion.zip", [{
        "key": "uuid:6f1c2d4e-0001", "case_id": case.code, "lat": lat + 0.0001, "lon": lon,
        "verdict": "coca_confirmed", "notes": NOTE, "photos": [p1.name, p2.name],
        "start": local, "end": local, "arrival_time": local,
        "submitted": (VISIT + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }], media={p1.name: p1.read_bytes(), p2.name: p2.read_bytes()})
    drone = drone_photo(field / "DJI_0042.JPG", lon=lon, lat=lat,
                        taken=VISIT + timedelta(minutes=20))
    track = [(lon - 0.02 + 0.001 * k, lat - 0.01 + 0.0005 * k,
              VISIT - timedelta(minutes=60 - 3 * k)) for k in range(21)]
    gpx = write_gpx(field / "patrulla.gpx", waypoints=(), track=track)
    import_field(store, SETTINGS, [odk, drone, gpx], actor=COORDINATOR)
    from vigilancia.io.field.common import file_digest

    photos = {p.name: file_digest(p)[0] for p in (p1, p2)}
    return World(root=root, region=region, store=store, case_id=case.id, case_code=case.code,
                 territory=territory, photos=photos, drone_sha=file_digest(drone)[0])


def _coca_case(store: WorkspaceStore) -> Any:
    """The largest coca case inside a community territory."""
    cases = [c for c in store.cases.list() if c.driver is Driver.COCA and c.geometry is not None
             and c.territory_id is not None]
    return max(cases, key=lambda c: (c.area_ha, -c.id))
