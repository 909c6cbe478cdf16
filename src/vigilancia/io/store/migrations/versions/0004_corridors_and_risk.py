"""Trafficking corridors and risk assessments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

- ``corridor_runs`` / ``corridors``: least-cost routes from production zones
  (coca-likely clearings, runways) to exits over the multimodal network, one
  run per ``vigilancia routes`` call (parameters and summary as JSON);
- ``risk_assessments`` / ``risk_scores``: one assessment per unit kind
  (territory, district) and date, each unit's score, class, rank and the
  factor contributions that add up to the score.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _bbox() -> list[sa.Column]:  # type: ignore[type-arg, unused-ignore]
    return [sa.Column(n, sa.Float, nullable=False) for n in ("minx", "miny", "maxx", "maxy")]


def upgrade() -> None:
    op.create_table(
        "corridor_runs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date, nullable=True),
        sa.Column("params", sa.JSON, nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_corridor_runs"),
    )
    op.create_table(
        "corridors",
        sa.Column("id", BigId, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("exit_name", sa.Text, nullable=True),
        sa.Column("modes", sa.JSON, nullable=True),
        sa.Column("length_km", sa.Float, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("geometry", sa.LargeBinary, nullable=False),
        *_bbox(),
        sa.PrimaryKeyConstraint("id", name="pk_corridors"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["corridor_runs.id"],
            name="fk_corridors_run_id_corridor_runs", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_corridors_run_id", "corridors", ["run_id"])
    op.create_table(
        "risk_assessments",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("weights", sa.JSON, nullable=True),
        sa.Column("coverage", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_risk_assessments"),
        sa.UniqueConstraint("unit", "as_of", name="uq_risk_assessments_unit_as_of"),
    )
    op.create_table(
        "risk_scores",
        sa.Column("assessment_id", sa.Integer, nullable=False),
        sa.Column("unit_key", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("territory_id", sa.Integer, nullable=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("risk_class", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("contributions", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", "unit_key", name="pk_risk_scores"),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["risk_assessments.id"],
            name="fk_risk_scores_assessment_id_risk_assessments", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"], ["territories.id"],
            name="fk_risk_scores_territory_id_territories", ondelete="SET NULL",
        ),
    )


def downgrade() -> None:
    op.drop_table("risk_scores")
    op.drop_table("risk_assessments")
    op.drop_index("ix_corridors_run_id", table_name="corridors")
    op.drop_table("corridors")
    op.drop_table("corridor_runs")
