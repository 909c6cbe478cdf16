"""Cases, patrol plans and field data.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

- ``cases``: what a programme verifies (status, origin, community, where to go,
  priority and its terms, clearing totals, likely driver, assignee, verdict);
- ``case_clearings``: the clearings of each case (a clearing is in one case at most);
- ``case_events``: every change to a case (who, when, from/to status, details);
- ``patrol_plans``: planned visits per community (stops, totals, route);
- ``field_files``: every file imported from the field, by SHA-256, kept byte
  for byte in the workspace's evidence folder;
- ``field_observations``: the records those files held (points, tracks,
  photos, form submissions), the case each attached to and at what distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("territory_id", sa.Integer, nullable=True),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("priority_terms", sa.JSON, nullable=True),
        sa.Column("area_ha", sa.Float, nullable=False),
        sa.Column("first_alert", sa.Date, nullable=True),
        sa.Column("last_alert", sa.Date, nullable=True),
        sa.Column("driver", sa.String(16), nullable=True),
        sa.Column("driver_probability", sa.Float, nullable=True),
        sa.Column("assignee", sa.Text, nullable=True),
        sa.Column("verdict", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("geometry", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.ForeignKeyConstraint(
            ["territory_id"], ["territories.id"],
            name="fk_cases_territory_id_territories", ondelete="SET NULL",
        ),
    )
    op.create_index("ix_cases_territory_id", "cases", ["territory_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_table(
        "case_clearings",
        sa.Column("clearing_id", BigId, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("clearing_id", name="pk_case_clearings"),
        sa.ForeignKeyConstraint(
            ["clearing_id"], ["clearings.id"],
            name="fk_case_clearings_clearing_id_clearings", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_clearings_case_id_cases", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_case_clearings_case_id", "case_clearings", ["case_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_events_case_id_cases", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "patrol_plans",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("territory_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("params", sa.JSON, nullable=True),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("route", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_patrol_plans"),
        sa.ForeignKeyConstraint(
            ["territory_id"], ["territories.id"],
            name="fk_patrol_plans_territory_id_territories", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_patrol_plans_territory_id", "patrol_plans", ["territory_id"])
    op.create_table(
        "field_files",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("stored_path", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_field_files"),
    )
    op.create_table(
        "field_observations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Integer, nullable=True),
        sa.Column("distance_m", sa.Float, nullable=True),
        sa.Column("source_format", sa.String(16), nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("geometry", sa.LargeBinary, nullable=True),
        sa.Column("footprint", sa.LargeBinary, nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("altitude_m", sa.Float, nullable=True),
        sa.Column("accuracy_m", sa.Float, nullable=True),
        sa.Column("verdict", sa.String(32), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("attributes", sa.JSON, nullable=True),
        sa.Column("attachments", sa.JSON, nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_field_observations"),
        sa.UniqueConstraint("key", name="uq_field_observations_key"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"],
            name="fk_field_observations_case_id_cases", ondelete="SET NULL",
        ),
    )
    op.create_index("ix_field_observations_case_id", "field_observations", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_field_observations_case_id", table_name="field_observations")
    op.drop_table("field_observations")
    op.drop_table("field_files")
    op.drop_index("ix_patrol_plans_territory_id", table_name="patrol_plans")
    op.drop_table("patrol_plans")
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index("ix_case_clearings_case_id", table_name="case_clearings")
    op.drop_table("case_clearings")
    op.drop_index("ix_cases_status", table_name="cases")
    op.drop_index("ix_cases_territory_id", table_name="cases")
    op.drop_table("cases")
