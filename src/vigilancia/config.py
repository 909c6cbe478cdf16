"""One typed settings object, read from the environment (prefix ``VIGILANCIA_``) when asked.

Settings are built explicitly (``Settings()``) by the shells and passed down;
nothing reads the environment at import time.

>>> Settings(language="en").buffer_km
5.0
"""

from __future__ import annotations

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
