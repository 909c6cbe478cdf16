"""The web app: accounts, sessions, login attempts, the audit log and the map's clearing index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

- ``users``: the accounts of a team's server (name, role, Argon2id hash, active);
- ``sessions``: server-side sessions, by the SHA-256 of the cookie's token (the
  token itself is never stored), with their CSRF token and expiry;
- ``login_attempts``: each login, good or bad, by name and client address: the
  rate limit counts the recent failures;
- ``audit_log``: who wrote what and when, for the writes that are not case events
  (patrol plans, field imports, accounts, sessions, package downloads);
- ``clearing_map``: a Morton key of each clearing's centroid and the lowest zoom
  it is drawn at, so that a map tile or a bounding box reads only its own rows
  (B-tree on ``(minzoom, qkey)``). It is filled after the batches change, never on
  the monitor's write path; a workspace upgraded to this revision fills it on its
  first map read.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name_key", name="uq_users_name_key"),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user_id_users",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_name_key_at", "login_attempts", ["name_key", "at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text, nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "clearing_map",
        sa.Column("id", BigId, nullable=False, autoincrement=False),
        sa.Column("qkey", sa.BigInteger, nullable=False),
        sa.Column("minzoom", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clearing_map"),
        sa.ForeignKeyConstraint(["id"], ["clearings.id"], name="fk_clearing_map_id_clearings",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_clearing_map_minzoom_qkey", "clearing_map", ["minzoom", "qkey"],
                    postgresql_include=["id"])


def downgrade() -> None:
    op.drop_index("ix_clearing_map_minzoom_qkey", table_name="clearing_map")
    op.drop_table("clearing_map")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_login_attempts_address_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_name_key_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("users")
