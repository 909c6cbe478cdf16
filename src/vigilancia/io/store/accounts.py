"""Accounts of the web app, their server-side sessions, login attempts and the audit log.

- ``store.users``: the accounts (name, role, Argon2id hash, active or disabled);
- ``store.sessions``: sessions by the SHA-256 of their token, with their CSRF token
  and expiry (the token itself is never stored);
- ``store.logins``: every login attempt (name, client address, good or bad), which
  the login rate limit counts;
- ``store.audit``: who wrote what and when, for the writes that are not case events.

They live in the workspace's own database, so two workspaces never share an
account or a session. Hashing, tokens and the rules of expiry and rate limits are
the accounts service's (:mod:`vigilancia.services.accounts`); this module only
stores and reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vigilancia.io.store import schema as s
from vigilancia.io.store.records import (
    AuditRecord,
    SessionRecord,
    UserRecord,
    audit_record,
    aware,
    user_record,
)
from vigilancia.io.store.repository import Repository, next_id, require_tx


class UserRepository(Repository):
    """``store.users``: the accounts of the workspace's web app."""

    def add(self, conn: Connection, *, name: str, name_key: str, role: str,
            password_hash: str, created_by: str, at: datetime) -> int:
        """Store a new account and return its id (``name_key`` must be new)."""
        require_tx(conn)
        uid = next_id(conn, s.users)
        conn.execute(sa.insert(s.users).values(
            id=uid, name=name, name_key=name_key, role=role, password_hash=password_hash,
            active=True, created_at=at, created_by=created_by, disabled_at=None,
        ))
        return uid

    def find(self, name_key: str, *, conn: Connection | None = None) -> UserRecord | None:
        """The account whose case-folded name is ``name_key``, or None."""
        t = s.users
        with self.db.reader(conn) as c:
            row = c.execute(sa.select(t).where(t.c.name_key == name_key)).first()
        return None if row is None else user_record(row)

    def set_active(self, conn: Connection, user_id: int, active: bool, at: datetime) -> None:
        """Enable or disable an account (``at``: when it was disabled)."""
        require_tx(conn)
        t = s.users
        conn.execute(sa.update(t).where(t.c.id == int(user_id)).values(
            active=active, disabled_at=None if active else at))

    def set_password(self, conn: Connection, user_id: int, password_hash: str) -> None:
        """Replace an account's password hash."""
        require_tx(conn)
        t = s.users
        conn.execute(sa.update(t).where(t.c.id == int(user_id)).values(
            password_hash=password_hash))

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(self, *, conn: Connection | None = None) -> list[UserRecord]:
        """Every account, by name."""
        t = s.users
        with self.db.reader(conn) as c:
            rows = c.execute(sa.select(t).order_by(t.c.name_key)).all()
        return [user_record(r) for r in rows]


class SessionRepository(Repository):
    """``store.sessions``: server-side sessions, by the SHA-256 of their token."""

    def add(self, conn: Connection, *, token_hash: str, user_id: int, csrf_token: str,
            at: datetime, expires_at: datetime, address: str | None) -> None:
        """Store a new session."""
        require_tx(conn)
        conn.execute(sa.insert(s.sessions).values(
            token_hash=token_hash, user_id=int(user_id), csrf_token=csrf_token,
            created_at=at, last_seen=at, expires_at=expires_at, address=address,
        ))

    def find(self, token_hash: str, *, conn: Connection | None = None) -> SessionRecord | None:
        """The session of ``token_hash`` with its account, or None (expired ones too)."""
        t, u = s.sessions, s.users
        stmt = (
            sa.select(t.c.token_hash, t.c.csrf_token, t.c.created_at.label("s_created"),
                      t.c.last_seen, t.c.expires_at, t.c.address.label("s_address"), u)
            .select_from(t.join(u, u.c.id == t.c.user_id))
            .where(t.c.token_hash == token_hash)
        )
        with self.db.reader(conn) as c:
            row = c.execute(stmt).first()
        if row is None:
            return None
        return SessionRecord(
            token_hash=str(row.token_hash), user=user_record(row), csrf_token=str(row.csrf_token),
            created_at=aware(row.s_created), last_seen=aware(row.last_seen),
            expires_at=aware(row.expires_at), address=row.s_address,
        )

    def touch(self, conn: Connection, token_hash: str, at: datetime) -> None:
        """Record that the session was used at ``at``."""
        require_tx(conn)
        t = s.sessions
        conn.execute(sa.update(t).where(t.c.token_hash == token_hash).values(last_seen=at))

    def delete(self, conn: Connection, token_hash: str) -> bool:
        """End one session; whether there was one."""
        require_tx(conn)
        t = s.sessions
        return bool(conn.execute(sa.delete(t).where(t.c.token_hash == token_hash)).rowcount)

    def delete_for_user(self, conn: Connection, user_id: int) -> int:
        """End every session of an account; how many there were."""
        require_tx(conn)
        t = s.sessions
        return int(conn.execute(sa.delete(t).where(t.c.user_id == int(user_id))).rowcount or 0)

    def delete_expired(self, conn: Connection, now: datetime, idle_before: datetime) -> int:
        """Remove the sessions that ended before ``now`` or were last used before
        ``idle_before``; how many."""
        require_tx(conn)
        t = s.sessions
        done = conn.execute(sa.delete(t).where(
            sa.or_(t.c.expires_at <= now, t.c.last_seen < idle_before)))
        return int(done.rowcount or 0)


class LoginAttempts(Repository):
    """``store.logins``: every login attempt, which the rate limit counts."""

    def add(self, conn: Connection, *, name_key: str, address: str, ok: bool,
            at: datetime) -> None:
        """Record one attempt."""
        require_tx(conn)
        conn.execute(sa.insert(s.login_attempts).values(
            at=at, name_key=name_key, address=address, ok=ok))

    def failures(self, since: datetime, *, name_key: str | None = None,
                 address: str | None = None, conn: Connection | None = None) -> int:
        """Failed attempts since ``since``: for one name, counted back to its last good
        login (which clears them); for one client address, all of them (a good login of
        one account does not clear the guesses at others)."""
        t = s.login_attempts
        with self.db.reader(conn) as c:
            if name_key is not None:
                cond = t.c.name_key == name_key
                last_ok = c.execute(
                    sa.select(sa.func.max(t.c.at)).where(cond, t.c.ok.is_(True), t.c.at >= since)
                ).scalar()
                start = since if last_ok is None else aware(last_ok)
            else:
                cond, start = t.c.address == address, since
            return int(c.execute(
                sa.select(sa.func.count()).select_from(t).where(
                    cond, t.c.ok.is_(False), t.c.at >= start)
            ).scalar_one())

    def prune(self, conn: Connection, before: datetime) -> int:
        """Forget attempts older than ``before``; how many."""
        require_tx(conn)
        t = s.login_attempts
        return int(conn.execute(sa.delete(t).where(t.c.at < before)).rowcount or 0)


class AuditRepository(Repository):
    """``store.audit``: the writes that are not case events, only ever appended to."""

    def add(self, conn: Connection, *, actor: str, action: str, at: datetime,
            target: str | None = None, detail: Mapping[str, Any] | None = None,
            address: str | None = None) -> None:
        """Append one entry."""
        require_tx(conn)
        conn.execute(sa.insert(s.audit_log).values(
            at=at, actor=actor, action=action, target=target,
            detail=dict(detail) if detail else None, address=address))

    # (``list`` comes last: below it, the name would mean this method in annotations)
    def list(self, *, limit: int = 100, before_id: int | None = None,
             conn: Connection | None = None) -> list[AuditRecord]:
        """Entries, newest first: at most ``limit``, older than ``before_id`` when given."""
        t = s.audit_log
        stmt = sa.select(t).order_by(t.c.id.desc()).limit(int(limit))
        if before_id is not None:
            stmt = stmt.where(t.c.id < int(before_id))
        with self.db.reader(conn) as c:
            return [audit_record(r) for r in c.execute(stmt).all()]
