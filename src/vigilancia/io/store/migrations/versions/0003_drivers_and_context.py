"""Context layers, driver predictions, classifier models and clearing labels.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

- ``context_features``: rivers, roads, trails, settlements, airstrips, borders,
  exits and camps imported with ``vigilancia layers import`` (WKB + bounding box);
- ``clearings``: the likely driver, its probability, every driver's
  probability and the reasons (JSON), and the version of the model that said so;
- ``classifier_models``: trained driver models, versioned;
- ``clearing_labels``: what a clearing really was (patrol verdicts, label files),
  the training and evaluation labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _driver_columns() -> list[sa.Column]:  # type: ignore[type-arg, unused-ignore]
    return [
        sa.Column("driver", sa.String(16), nullable=True),
        sa.Column("driver_probability", sa.Float, nullable=True),
        sa.Column("driver_probs", sa.JSON, nullable=True),
        sa.Column("driver_reasons", sa.JSON, nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "context_features",
        sa.Column("id", BigId, nullable=False),
        sa.Column("import_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("feature_class", sa.Text, nullable=True),
        sa.Column("attributes", sa.JSON, nullable=True),
        sa.Column("geometry", sa.LargeBinary, nullable=False),
        sa.Column("minx", sa.Float, nullable=False),
        sa.Column("miny", sa.Float, nullable=False),
        sa.Column("maxx", sa.Float, nullable=False),
        sa.Column("maxy", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_context_features"),
        sa.ForeignKeyConstraint(
            ["import_id"], ["layer_imports.id"],
            name="fk_context_features_import_id_layer_imports", ondelete="CASCADE",
        ),
    )
    op.create_index("ix_context_features_kind", "context_features", ["kind"])
    # plain ADD COLUMN: a batch rebuild of clearings would cascade-delete its overlap rows
    for column in _driver_columns():
        op.add_column("clearings", column)
    op.create_index("ix_clearings_driver", "clearings", ["driver"])
    op.create_table(
        "classifier_models",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_labels", sa.Integer, nullable=False),
        sa.Column("params", sa.JSON, nullable=True),
        sa.Column("metrics", sa.JSON, nullable=True),
        sa.Column("model", sa.LargeBinary, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_classifier_models"),
        sa.UniqueConstraint("version", name="uq_classifier_models_version"),
    )
    op.create_table(
        "clearing_labels",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("clearing_id", BigId, nullable=False),
        sa.Column("driver", sa.String(16), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("observed_at", sa.Date, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clearing_labels"),
        sa.ForeignKeyConstraint(
            ["clearing_id"], ["clearings.id"],
            name="fk_clearing_labels_clearing_id_clearings", ondelete="CASCADE",
        ),
        sa.UniqueConstraint("clearing_id", "source", name="uq_clearing_labels_clearing_id_source"),
    )
    op.create_index("ix_clearing_labels_clearing_id", "clearing_labels", ["clearing_id"])


def downgrade() -> None:
    op.drop_table("clearing_labels")
    op.drop_table("classifier_models")
    op.drop_index("ix_clearings_driver", table_name="clearings")
    for column in reversed(_driver_columns()):
        # SQLite >= 3.35 drops a column in place (no rebuild, so no cascade)
        op.execute(f"ALTER TABLE clearings DROP COLUMN {column.name}")
    op.drop_table("context_features")
