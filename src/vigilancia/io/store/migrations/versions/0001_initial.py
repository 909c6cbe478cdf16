"""Initial workspace schema: metadata, layer imports, territories, alert batches, clearings.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Frozen snapshot: plain SQLAlchemy types only (geometry is WKB in a binary
column plus a float bounding box), never an import of the live schema module.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _bbox() -> list[sa.Column]:  # type: ignore[type-arg, unused-ignore]
    return [
        sa.Column("minx", sa.Float, nullable=False),
        sa.Column("miny", sa.Float, nullable=False),
        sa.Column("maxx", sa.Float, nullable=False),
        sa.Column("maxy", sa.Float, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "workspace_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_workspace_meta"),
    )
    op.create_table(
        "layer_imports",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_layer_imports"),
        sa.UniqueConstraint("sha256", "kind", name="uq_layer_imports_sha256_kind"),
    )
    op.create_table(
        "territories",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("people", sa.Text, nullable=True),
        sa.Column("tenure", sa.String(32), nullable=False),
        sa.Column("title_date", sa.Date, nullable=True),
        sa.Column("area_ha", sa.Float, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=True),
        sa.Column("attributes", sa.JSON, nullable=True),
        sa.Column("geometry", sa.LargeBinary, nullable=False),
        *_bbox(),
        sa.PrimaryKeyConstraint("id", name="pk_territories"),
    )
    op.create_index("ix_territories_kind", "territories", ["kind"])
    op.create_index(
        "ix_territories_minx_maxx_miny_maxy", "territories", ["minx", "maxx", "miny", "maxy"]
    )
    op.create_table(
        "alert_batches",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_alert_batches"),
        sa.UniqueConstraint("key", name="uq_alert_batches_key"),
    )
    op.create_table(
        "clearings",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
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
        sa.Column("status", sa.String(16), server_default="new", nullable=False),
        sa.Column("nearest_territory_id", sa.Integer, nullable=True),
        sa.Column("boundary_distance_m", sa.Float, nullable=True),
        sa.Column("within_buffer", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("geometry", sa.LargeBinary, nullable=False),
        *_bbox(),
        sa.PrimaryKeyConstraint("id", name="pk_clearings"),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["alert_batches.id"],
            name="fk_clearings_batch_id_alert_batches",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nearest_territory_id"],
            ["territories.id"],
            name="fk_clearings_nearest_territory_id_territories",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_clearings_batch_id", "clearings", ["batch_id"])
    op.create_index("ix_clearings_nearest_territory_id", "clearings", ["nearest_territory_id"])
    op.create_index(
        "ix_clearings_minx_maxx_miny_maxy", "clearings", ["minx", "maxx", "miny", "maxy"]
    )
    op.create_table(
        "clearing_territories",
        sa.Column("clearing_id", BigId, nullable=False),
        sa.Column("territory_id", sa.Integer, nullable=False),
        sa.Column("area_ha", sa.Float, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("clearing_id", "territory_id", name="pk_clearing_territories"),
        sa.ForeignKeyConstraint(
            ["clearing_id"],
            ["clearings.id"],
            name="fk_clearing_territories_clearing_id_clearings",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name="fk_clearing_territories_territory_id_territories",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_clearing_territories_territory_id", "clearing_territories", ["territory_id"]
    )


def downgrade() -> None:
    op.drop_table("clearing_territories")
    op.drop_table("clearings")
    op.drop_table("alert_batches")
    op.drop_table("territories")
    op.drop_table("layer_imports")
    op.drop_table("workspace_meta")
