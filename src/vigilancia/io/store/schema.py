"""Tables of a workspace database (SQLAlchemy Core).

The schema is portable SQL: SQLite (default, one file per workspace) and
PostgreSQL. Geometries are kept as WKB (EPSG:4326) in a binary column through
:class:`WKBGeometry` (``BLOB`` on SQLite, ``bytea`` on PostgreSQL), with
``minx/miny/maxx/maxy`` columns beside them for bounding-box filters; a
PostgreSQL database therefore needs no PostGIS, and one that has it works the
same. A PostGIS type can replace the decorator later without touching callers.

Conventions:
- areas in hectares, distances in metres, dates as SQL ``DATE`` (ISO
  ``YYYY-MM-DD`` text on SQLite);
- NaN floats become NULL on SQLite, so every float column that may hold NaN is
  nullable and readers map NULL back to NaN;
- ``clearings.id`` is assigned explicitly by the store (``MAX(id) + 1``) so that
  bulk inserts need no ``RETURNING``.

This module is the target of ``alembic revision --autogenerate``; the
migrations under ``migrations/versions`` are frozen copies and never import it.
"""

from __future__ import annotations

from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Dialect

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: 64-bit integer key that is still SQLite's rowid alias (``INTEGER PRIMARY KEY``).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class WKBGeometry(sa.types.TypeDecorator[bytes]):
    """Geometry kept as WKB bytes (EPSG:4326).

    Binds a shapely geometry or WKB bytes; results are WKB ``bytes`` so that
    readers decode whole columns at once with ``shapely.from_wkb``.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, BaseGeometry):
            return bytes(shapely.to_wkb(value))
        return bytes(value)

    # No process_result_value: the impl's processor is used (none on SQLite,
    # ``bytes(value)`` on drivers that return memoryview), which keeps reads of
    # hundreds of thousands of rows free of a Python call per row.


def _bbox() -> list[sa.Column[Any]]:
    return [
        sa.Column("minx", sa.Float, nullable=False),
        sa.Column("miny", sa.Float, nullable=False),
        sa.Column("maxx", sa.Float, nullable=False),
        sa.Column("maxy", sa.Float, nullable=False),
    ]


workspace_meta = sa.Table(
    "workspace_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=True),
)

layer_imports = sa.Table(
    "layer_imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("sha256", "kind"),
)

territories = sa.Table(
    "territories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("people", sa.Text, nullable=True),
    sa.Column("tenure", sa.String(32), nullable=False),
    sa.Column("title_date", sa.Date, nullable=True),
    sa.Column("area_ha", sa.Float, nullable=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=True),
    sa.Column("attributes", sa.JSON, nullable=True),
    sa.Column("geometry", WKBGeometry, nullable=False),
    *_bbox(),
    sa.Index(None, "kind"),
    sa.Index(None, "minx", "maxx", "miny", "maxy"),
)

alert_batches = sa.Table(
    "alert_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("since", sa.Date, nullable=True),
    sa.Column("until", sa.Date, nullable=True),
    sa.Column("min_confidence", sa.String(16), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("n_pixels", sa.BigInteger, nullable=False),
    sa.Column("n_clearings", sa.Integer, nullable=False),
    sa.Column("area_ha", sa.Float, nullable=False),
    sa.Column("stats", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # (0013) the series its clearings belong to (the product unless named), and the
    # steps of the run that have finished: ["ingest", "placement", "classification"]
    sa.Column("series", sa.String(64), nullable=True),
    sa.Column("steps", sa.JSON, nullable=True),
)

clearings = sa.Table(
    "clearings",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=False),
    sa.Column(
        "batch_id",
        sa.Integer,
        sa.ForeignKey("alert_batches.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("first_date", sa.Date, nullable=True),
    sa.Column("last_date", sa.Date, nullable=True),
    sa.Column("area_ha", sa.Float, nullable=True),
    sa.Column("perimeter_m", sa.Float, nullable=True),
    sa.Column("length_m", sa.Float, nullable=True),
    sa.Column("width_m", sa.Float, nullable=True),
    sa.Column("orientation_deg", sa.Float, nullable=True),
    sa.Column("elongation", sa.Float, nullable=True),
    sa.Column("compactness", sa.Float, nullable=True),
    sa.Column("pixels_low", sa.BigInteger, nullable=False),
    sa.Column("pixels_high", sa.BigInteger, nullable=False),
    sa.Column("pixels_highest", sa.BigInteger, nullable=False),
    sa.Column("pixel_count", sa.BigInteger, nullable=False),
    sa.Column("centroid_lon", sa.Float, nullable=True),
    sa.Column("centroid_lat", sa.Float, nullable=True),
    sa.Column("source_ref", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="new"),
    sa.Column(
        "nearest_territory_id",
        sa.Integer,
        sa.ForeignKey("territories.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("boundary_distance_m", sa.Float, nullable=True),
    sa.Column("within_buffer", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("geometry", WKBGeometry, nullable=False),
    *_bbox(),
    # likely driver (0003): the most probable driver and its probability, every
    # driver's probability ({driver: p}), the reasons ([{code, params}]) and the model
    sa.Column("driver", sa.String(16), nullable=True),
    sa.Column("driver_probability", sa.Float, nullable=True),
    sa.Column("driver_probs", sa.JSON, nullable=True),
    sa.Column("driver_reasons", sa.JSON, nullable=True),
    sa.Column("model_version", sa.String(64), nullable=True),
    # (0013) a point inside the footprint: the centre of a raster clearing's first pixel
    # (top row, leftmost), how a later download of the product finds it again
    sa.Column("anchor_lon", sa.Float, nullable=True),
    sa.Column("anchor_lat", sa.Float, nullable=True),
    sa.Index(None, "batch_id"),
    # partial: new clearings have no driver and add no entry (0006)
    sa.Index(
        None,
        "driver",
        sqlite_where=sa.text("driver IS NOT NULL"),
        postgresql_where=sa.text("driver IS NOT NULL"),
    ),
    # no index on the bounding box (0002) nor on the nearest territory (0006): they
    # served no query and slowed bulk writes
)

clearing_territories = sa.Table(
    "clearing_territories",
    metadata,
    sa.Column(
        "clearing_id",
        BigId,
        sa.ForeignKey("clearings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "territory_id",
        sa.Integer,
        sa.ForeignKey("territories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("area_ha", sa.Float, nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Index(None, "territory_id"),
    sqlite_with_rowid=False,  # rows live in the primary-key B-tree (0002)
)

# -- the series of a product's clearings across downloads (0013) --------------------

clearing_history = sa.Table(
    "clearing_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # no foreign key: the history of a clearing merged into another stays (see aliases)
    sa.Column("clearing_id", BigId, nullable=False),
    sa.Column("batch_id", sa.Integer, nullable=False),  # the batch that changed it
    sa.Column("previous_batch_id", sa.Integer, nullable=True),  # the batch it came from
    sa.Column("change", sa.String(64), nullable=False),  # "grown,confidence", "merged"...
    sa.Column("merged_into", BigId, nullable=True),  # for change "merged_into"
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # what it was before the change
    sa.Column("first_date", sa.Date, nullable=True),
    sa.Column("last_date", sa.Date, nullable=True),
    sa.Column("area_ha", sa.Float, nullable=True),
    sa.Column("pixels_low", sa.BigInteger, nullable=False),
    sa.Column("pixels_high", sa.BigInteger, nullable=False),
    sa.Column("pixels_highest", sa.BigInteger, nullable=False),
    sa.Column("pixel_count", sa.BigInteger, nullable=False),
    sa.Column("geometry", WKBGeometry, nullable=False),
    sa.Index(None, "clearing_id"),
)

clearing_aliases = sa.Table(
    "clearing_aliases",
    metadata,
    # a clearing that new pixels joined to another: its id now means that one
    sa.Column("old_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("clearing_id", BigId, nullable=False),
    sa.Column("batch_id", sa.Integer, nullable=False),
    sa.Index(None, "clearing_id"),
)

context_features = sa.Table(
    "context_features",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=False),
    sa.Column(
        "import_id",
        sa.Integer,
        sa.ForeignKey("layer_imports.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("kind", sa.String(32), nullable=False),  # river, road, trail, settlement, ...
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("feature_class", sa.Text, nullable=True),  # e.g. "Río", "Quebrada", "vecinal"
    sa.Column("attributes", sa.JSON, nullable=True),
    sa.Column("geometry", WKBGeometry, nullable=False),
    *_bbox(),
    sa.Index(None, "kind"),
)

# where each imported context layer was mapped (0010): its extent by default, or an
# area the user gave; outside it the distance to that kind is unknown
context_coverages = sa.Table(
    "context_coverages",
    metadata,
    sa.Column(
        "import_id",
        sa.Integer,
        sa.ForeignKey("layer_imports.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),  # "extent" or "file"
    sa.Column("source", sa.Text, nullable=True),  # the file given (origin "file")
    sa.Column("geometry", WKBGeometry, nullable=False),
    *_bbox(),
)

classifier_models = sa.Table(
    "classifier_models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "rules" or a trained kind
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("n_labels", sa.Integer, nullable=False),
    sa.Column("params", sa.JSON, nullable=True),
    sa.Column("metrics", sa.JSON, nullable=True),
    sa.Column("model", sa.LargeBinary, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
)

clearing_labels = sa.Table(
    "clearing_labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "clearing_id",
        BigId,
        sa.ForeignKey("clearings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("driver", sa.String(16), nullable=False),
    sa.Column("source", sa.String(255), nullable=False),  # "patrol:<id>", "file:<name>"
    sa.Column("observed_at", sa.Date, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("clearing_id", "source"),
    sa.Index(None, "clearing_id"),
)

corridor_runs = sa.Table(
    "corridor_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=True),
    sa.Column("params", sa.JSON, nullable=True),  # mode costs, friction, air range
    sa.Column("summary", sa.JSON, nullable=True),  # origins, exits, routes found, missing layers
)

corridors = sa.Table(
    "corridors",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=False),
    sa.Column(
        "run_id",
        sa.Integer,
        sa.ForeignKey("corridor_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("origin", sa.Text, nullable=False),  # "runway:12", "zone:3"
    sa.Column("exit_name", sa.Text, nullable=True),
    sa.Column("modes", sa.JSON, nullable=True),  # ["river", "road", ...] in route order
    sa.Column("length_km", sa.Float, nullable=False),
    sa.Column("cost", sa.Float, nullable=False),  # hours of travel at the configured speeds
    sa.Column("geometry", WKBGeometry, nullable=False),
    *_bbox(),
    sa.Index(None, "run_id"),
)

risk_assessments = sa.Table(
    "risk_assessments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),  # territory, district
    sa.Column("weights", sa.JSON, nullable=True),
    sa.Column("coverage", sa.JSON, nullable=True),  # layers used and missing
    sa.UniqueConstraint("unit", "as_of"),
)

risk_scores = sa.Table(
    "risk_scores",
    metadata,
    sa.Column(
        "assessment_id",
        sa.Integer,
        sa.ForeignKey("risk_assessments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("unit_key", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column(
        "territory_id",
        sa.Integer,
        sa.ForeignKey("territories.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("risk_class", sa.String(16), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("contributions", sa.JSON, nullable=False),  # [{factor, value, points, source}]
)

# -- cases, patrols and field data (0005) ------------------------------------------

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),  # alerts, field
    sa.Column(
        "territory_id",
        sa.Integer,
        sa.ForeignKey("territories.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("priority_terms", sa.JSON, nullable=True),  # [{name, points, value}]
    sa.Column("area_ha", sa.Float, nullable=False),
    sa.Column("first_alert", sa.Date, nullable=True),
    sa.Column("last_alert", sa.Date, nullable=True),
    sa.Column("driver", sa.String(16), nullable=True),
    sa.Column("driver_probability", sa.Float, nullable=True),
    sa.Column("assignee", sa.Text, nullable=True),  # sensitive: never in public outputs
    sa.Column("verdict", sa.String(32), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("geometry", sa.LargeBinary, nullable=True),  # WKB lon/lat
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "territory_id"),
    sa.Index(None, "status"),
)

case_clearings = sa.Table(
    "case_clearings",
    metadata,
    sa.Column(
        "clearing_id",
        BigId,
        sa.ForeignKey("clearings.id", ondelete="CASCADE"),
        primary_key=True,  # a clearing belongs to one case at most
    ),
    sa.Column(
        "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Index(None, "case_id"),
)

case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=True),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Index(None, "case_id"),
)

patrol_plans = sa.Table(
    "patrol_plans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "territory_id",
        sa.Integer,
        sa.ForeignKey("territories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("params", sa.JSON, nullable=True),  # max km, start, speeds
    sa.Column("plan", sa.JSON, nullable=False),  # stops, totals, skipped cases
    sa.Column("route", sa.LargeBinary, nullable=True),  # WKB lon/lat line
    sa.Index(None, "territory_id"),
)

field_files = sa.Table(
    "field_files",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),  # the bytes, kept as they came
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("name", sa.Text, nullable=False),  # name when first imported
    sa.Column("stored_path", sa.Text, nullable=False),  # relative to the workspace folder
    sa.Column("role", sa.String(16), nullable=False),  # original, data, attachment
    sa.Column("source", sa.Text, nullable=False),  # path given to the import
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

field_observations = sa.Table(
    "field_observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # format+file+record hash
    sa.Column(
        "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("distance_m", sa.Float, nullable=True),  # to the case it attached to
    sa.Column("source_format", sa.String(16), nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=True),  # the file the record came in
    sa.Column("record_id", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("geometry", sa.LargeBinary, nullable=True),  # WKB lon/lat; sensitive
    sa.Column("footprint", sa.LargeBinary, nullable=True),  # nadir drone photo footprint
    sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("altitude_m", sa.Float, nullable=True),
    sa.Column("accuracy_m", sa.Float, nullable=True),
    sa.Column("verdict", sa.String(32), nullable=True),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("attributes", sa.JSON, nullable=True),
    sa.Column("attachments", sa.JSON, nullable=True),  # [{name, sha256}]
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "case_id"),
)

# -- the web app: accounts, sessions, login attempts, audit log, the map index (0012) -------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(64), nullable=False),  # as typed; sensitive (a person)
    sa.Column("name_key", sa.String(64), nullable=False, unique=True),  # case-folded
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),  # Argon2id, PHC string
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie's token
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Index(None, "user_id"),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("name_key", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Index(None, "name_key", "at"),
    sa.Index(None, "address", "at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),  # "patrol.plan", "user.add"...
    sa.Column("target", sa.Text, nullable=True),  # "plan:3", "user:ana", "C-0042"
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Index(None, "at"),
)

# The map's index of clearings: a Morton key of each centroid and the lowest zoom a
# clearing is drawn at. Kept beside the clearings and rebuilt when the batches change,
# never on the monitor's write path (see vigilancia.io.store.clearing_map).
clearing_map = sa.Table(
    "clearing_map",
    metadata,
    sa.Column(
        "id",
        BigId,
        sa.ForeignKey("clearings.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("qkey", sa.BigInteger, nullable=False),
    sa.Column("minzoom", sa.SmallInteger, nullable=False),
    sa.Index(None, "minzoom", "qkey", postgresql_include=["id"]),
)

custody_keys = sa.Table(
    "custody_keys",
    metadata,
    sa.Column("key_id", sa.String(16), primary_key=True),  # first 16 hex of SHA-256(public)
    sa.Column("algorithm", sa.String(16), nullable=False),  # "ed25519"
    sa.Column("public_key", sa.String(64), nullable=False),  # 32 bytes as hex
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Append-only (triggers refuse UPDATE and DELETE, see migration 0011). Every value is
# kept as the text the entry's hash was taken over, so that it reads back unchanged.
custody_log = sa.Table(
    "custody_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),  # YYYY-MM-DDTHH:MM:SS.ffffffZ
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("case_id", sa.Integer, nullable=True),  # no foreign key: the log outlives all
    sa.Column("sha256s", sa.Text, nullable=False),  # JSON list of hex SHA-256
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recipient", sa.Text, nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("signature", sa.String(128), nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Index(None, "case_id"),
)

derived_files = sa.Table(
    "derived_files",
    metadata,
    sa.Column(
        "original_sha256", sa.String(64),
        sa.ForeignKey("field_files.sha256", ondelete="RESTRICT"), primary_key=True,
    ),
    sa.Column("kind", sa.String(16), primary_key=True),  # resized, stripped
    sa.Column("max_px", sa.Integer, primary_key=True),  # longest side; 0 = full size
    sa.Column("sha256", sa.String(64), nullable=False),  # the copy's bytes
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("stored_path", sa.Text, nullable=False),  # relative to the workspace folder
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "sha256"),
)

#: Tables that PostGIS keeps in the schema it is installed in; never the workspace's.
POSTGIS_TABLES = frozenset({"spatial_ref_sys"})


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: leave out PostGIS's own tables when comparing schemas.

    A workspace may live in a PostgreSQL database with PostGIS installed;
    autogenerate must not propose to drop ``spatial_ref_sys``.
    """
    return not (type_ == "table" and reflected and compare_to is None and name in POSTGIS_TABLES)


#: Tables in dependency order (parents first); ``counts()`` reports these.
TABLES: tuple[sa.Table, ...] = (
    workspace_meta,
    layer_imports,
    territories,
    alert_batches,
    clearings,
    clearing_territories,
    clearing_history,
    clearing_aliases,
    context_features,
    context_coverages,
    classifier_models,
    clearing_labels,
    corridor_runs,
    corridors,
    risk_assessments,
    risk_scores,
    cases,
    case_clearings,
    case_events,
    patrol_plans,
    field_files,
    field_observations,
    users,
    sessions,
    login_attempts,
    audit_log,
    clearing_map,
    custody_keys,
    custody_log,
    derived_files,
)
