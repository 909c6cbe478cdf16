"""The custody log of evidence, its signing keys, and derived copies of field files.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

- ``custody_keys``: the public keys that sign the log (Ed25519, 32 bytes as hex);
- ``custody_log``: the append-only, hash-chained log of every hand the evidence
  passed through (intake, derived copy, export, report, handover), one signed entry
  per row, numbered by ``seq``; triggers refuse ``UPDATE`` and ``DELETE`` on it and
  on the keys (and ``TRUNCATE`` on PostgreSQL), so that only a deliberate change of
  the schema can rewrite it, and ``vigilancia evidence verify`` names what changed;
- ``derived_files``: copies made from a kept field file (resized, metadata
  stripped), one per original, kind and size, kept under ``derivados/``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = ("custody_log", "custody_keys")


def upgrade() -> None:
    op.create_table(
        "custody_keys",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_custody_keys"),
    )
    op.create_table(
        "custody_log",
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("case_id", sa.Integer, nullable=True),
        sa.Column("sha256s", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_custody_log"),
        sa.UniqueConstraint("prev_hash", name="uq_custody_log_prev_hash"),
        sa.UniqueConstraint("entry_hash", name="uq_custody_log_entry_hash"),
    )
    op.create_index("ix_custody_log_case_id", "custody_log", ["case_id"])
    op.create_table(
        "derived_files",
        sa.Column("original_sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("max_px", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("stored_path", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["original_sha256"], ["field_files.sha256"],
            name="fk_derived_files_original_sha256_field_files", ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("original_sha256", "kind", "max_px", name="pk_derived_files"),
    )
    op.create_index("ix_derived_files_sha256", "derived_files", ["sha256"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION vigilancia_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION vigilancia_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION vigilancia_append_only()"
            )
    else:
        for table in _APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS vigilancia_append_only()")
    op.drop_index("ix_derived_files_sha256", table_name="derived_files")
    op.drop_table("derived_files")
    op.drop_index("ix_custody_log_case_id", table_name="custody_log")
    op.drop_table("custody_log")
    op.drop_table("custody_keys")
