"""One typed settings object, read from the environment (prefix ``VIGILANCIA_``) when asked.

Settings are built explicitly (``Settings()``) by the shells and passed down;
nothing reads the environment at import time.

>>> Settings(language="en").buffer_km
5.0
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings for one process. Every field can be set as ``VIGILANCIA_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="VIGILANCIA_", extra="ignore")

    language: str = Field("es", description="Language of messages and reports: es or en.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of a PostgreSQL/PostGIS database; "
        "when unset each workspace is one SQLite file.",
    )
    buffer_km: float = Field(
        5.0, ge=0, description="Distance (km) from a territory within which a clearing is 'near'."
    )
    strip_rows: int = Field(
        400, ge=16, description="Raster rows read per window; memory grows with width x rows."
    )
    workers: int = Field(2, ge=1, description="Threads used to read and decode rasters.")
    log_level: str = Field("WARNING", description="Python logging level.")
    # cases (vigilancia cases)
    case_group_m: float = Field(
        500.0, ge=0, description="Clearings of one territory closer than this (m) form one case."
    )
    case_min_area_ha: float = Field(
        0.5, ge=0, description="A group of new clearings smaller than this (ha) opens no case "
        "yet: it waits until it grows (a clearing next to an open case still joins it)."
    )
    # field data (vigilancia field import)
    field_match_m: float = Field(
        300.0, ge=0, description="A field observation attaches to the nearest open case "
        "within this distance (m); farther, a field report opens a new case."
    )
    field_max_import_mb: float = Field(
        2048.0, gt=0, description="Largest total size (MB, uncompressed) of the archives "
        "(ZIP, KMZ) of one field import; a larger import is refused before anything is kept."
    )
    report_cell_deg: float = Field(
        0.01, gt=0, le=1, description="Grid cell (degrees; 0.01 is about 1.1 km) that the "
        "position of a case opened by a field report is snapped to in packages and shared "
        "outputs: the cell's centre, the same every time, never the reported point."
    )
    # custody of evidence (vigilancia evidence)
    signing_key: Path | None = Field(
        None, description="File of the workspace's Ed25519 signing key (PEM, owner-only); "
        "default: custodia/clave_firma.pem in the workspace, created on first use. Keep it "
        "apart (a USB stick) to sign only where it is plugged in."
    )
    # risk score (vigilancia risk)
    risk_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Points of risk factors that replace the defaults, as JSON, e.g. "
        '{"violence": 10, "tenure": 5}; factors not named keep their default.',
    )
    risk_cell_km: float = Field(
        2.0, gt=0, description="Cell size (km) of the clearing-pressure grid of the risk score."
    )
    # trafficking network and corridors (vigilancia routes); speeds in km/h
    route_river_kmh: float = Field(15.0, gt=0, description="Boat speed on navigable rivers.")
    route_stream_kmh: float = Field(4.0, gt=0, description="Speed along streams (quebradas).")
    route_national_road_kmh: float = Field(50.0, gt=0, description="Speed on national roads.")
    route_departmental_road_kmh: float = Field(
        35.0, gt=0, description="Speed on departmental roads."
    )
    route_rural_road_kmh: float = Field(
        20.0, gt=0, description="Speed on rural (vecinal) roads and tracks."
    )
    route_trail_kmh: float = Field(4.0, gt=0, description="Speed on trails and footpaths.")
    route_walk_kmh: float = Field(
        2.0, gt=0, description="Off-network speed: walking through forest."
    )
    route_air_kmh: float = Field(200.0, gt=0, description="Light aircraft cruising speed.")
    route_air_fixed_h: float = Field(
        1.0, ge=0, description="Hours added to every flight (take-off, landing, loading)."
    )
    route_air_range_km: float = Field(
        500.0, ge=0, description="Longest air link between airstrips (km); 0 = no air links."
    )
    route_snap_m: float = Field(
        100.0, ge=0, description="Line ends this close (m) to a border count as crossings."
    )
    route_bridge_km: float = Field(
        5.0, ge=0, description="Gaps in the network up to this length (km) are walked."
    )
    route_access_km: float = Field(
        30.0, ge=0, description="Origins and exits reach the network walking up to this far (km)."
    )
    route_simplify_m: float = Field(
        50.0, ge=0, description="Lines are simplified to this tolerance (m) for routing."
    )
    route_coca_probability: float = Field(
        0.5, ge=0, le=1, description="Clearings with a coca probability from this on are origins."
    )
    route_zone_km: float = Field(
        2.0, gt=0, description="Coca clearings this close (km) form one production zone."
    )
    route_density_cell_m: float = Field(
        1000.0, gt=0, description="Cell size (m) of the corridor density surface."
    )
    route_density_bandwidth_km: float = Field(
        5.0, gt=0, description="A route counts in the cells within this distance (km)."
    )
    # patrol plans (vigilancia patrol plan)
    patrol_care_km: float = Field(
        2.0, ge=0, description="Cases within this distance (km) of a known airstrip, a camp or "
        "a runway-like clearing are approached with care."
    )
    # the web app (vigilancia serve)
    workspace: str | None = Field(
        None, description="Workspace folder the web app serves (vigilancia serve sets it; "
        "for running the app under another server: uvicorn --factory "
        "vigilancia.web:app_from_environment)."
    )
    session_hours: float = Field(
        12.0, gt=0, description="A web session ends this many hours after the login."
    )
    session_idle_minutes: float = Field(
        120.0, gt=0, description="A web session unused for this many minutes ends."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins of one account within VIGILANCIA_LOGIN_LOCKOUT_MINUTES "
        "after which it waits out the rest of that time (four times as many from one address)."
    )
    login_lockout_minutes: float = Field(
        15.0, gt=0, description="Window (minutes) in which failed logins are counted."
    )
    basemap: str | None = Field(
        None, description="Basemap of the web map: none by default; an XYZ or WMTS URL with "
        "{z}/{x}/{y}, or a local .pmtiles or .mbtiles file (e.g. a Sentinel-2 or Planet NICFI "
        "mosaic) that the app serves itself."
    )
    # reports (vigilancia report): before/after imagery of the case report
    imagery_stac_url: str = Field(
        "https://earth-search.aws.element84.com/v1",
        description="STAC API searched for the case report's satellite images "
        "(Earth Search by default; any STAC API with the same collection works).",
    )
    imagery_collection: str = Field(
        "sentinel-2-l2a", description="STAC collection of the case report's images."
    )
    imagery_max_cloud: float = Field(
        40.0, ge=0, le=100, description="Scenes cloudier than this (% of the scene) are "
        "not used for the case report's images."
    )
    imagery_days: int = Field(
        180, ge=1, description="How far (days) before the first alert and after the last "
        "one the case report looks for its before and after images."
    )
    imagery_timeout_s: float = Field(
        15.0, gt=0, description="Seconds the case report waits for the imagery service "
        "before it goes on without images."
    )
