"""Where each context layer was mapped: its coverage.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-07

``context_coverages`` keeps one area per imported context layer (one row per
``layer_imports`` row, deleted with it): the extent of its features (convex hull
plus a margin) or an area the user gave at import (``layers import ...
--coverage FILE``). Outside it the distance to that kind of layer is unknown,
never "far". Layers imported before this revision have no row; their coverage is
taken as their extent when read.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "context_coverages",
        sa.Column("import_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("geometry", sa.LargeBinary, nullable=False),
        sa.Column("minx", sa.Float, nullable=False),
        sa.Column("miny", sa.Float, nullable=False),
        sa.Column("maxx", sa.Float, nullable=False),
        sa.Column("maxy", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("import_id", name="pk_context_coverages"),
        sa.ForeignKeyConstraint(
            ["import_id"], ["layer_imports.id"],
            name="fk_context_coverages_import_id_layer_imports", ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("context_coverages")
