"""Accounts, logins and sessions of the web app, and its audit log.

- :func:`add_user`, :func:`list_users`, :func:`disable_user`: the accounts
  (``vigilancia users``). Passwords are hashed with Argon2id (argon2-cffi's
  defaults: 64 MiB, 3 passes); only the hash is stored.
- :func:`log_in` checks a name and password, counts failures per account and per
  client address (:func:`login_limits`), and opens a **server-side session**: a
  random token for the cookie (only its SHA-256 is stored) and a CSRF token for
  every write the session makes. :func:`session_of` finds the session of a token,
  ends it when it is past ``session_hours`` since the login or unused for
  ``session_idle_minutes``, and :func:`log_out` ends it.
- Every write that is not a case event (a login, an account change, a patrol plan,
  a field import, a package download) is appended to the workspace's audit log with
  who and when (:func:`audit_log` reads it).

A wrong name, a wrong password and a disabled account get the same answer, and take
the same time (a hash is checked even for an unknown name).

>>> hash_password("correcto caballo bateria")[:9]
'$argon2id'
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vigilancia.config import Settings
from vigilancia.domain.access import Disclosure, Role, disclosure_for
from vigilancia.errors import (
    ConflictError,
    InputError,
    NotAuthenticated,
    NotFoundError,
    StoreError,
    TooManyAttempts,
    action,
)
from vigilancia.i18n import _
from vigilancia.io.store import AuditRecord, SessionRecord, UserRecord, WorkspaceStore

__all__ = [
    "MIN_PASSWORD",
    "Account",
    "AuditEntry",
    "LoginResult",
    "SessionInfo",
    "add_user",
    "audit_log",
    "disable_user",
    "hash_password",
    "list_users",
    "log_in",
    "log_out",
    "login_limits",
    "name_key",
    "session_of",
]

#: Shortest password an account may have (characters).
MIN_PASSWORD = 10
#: Longest account name (characters).
MAX_NAME = 64
#: A session's last use is written at most this often (seconds): reads stay reads.
TOUCH_EVERY_S = 60.0
#: Failed logins from one client address, per failure allowed to one account.
ADDRESS_FACTOR = 4

_hasher = PasswordHasher()  # Argon2id
#: Checked when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Account:
    """An account as listed: name, role, whether it may log in, when it was made and by
    whom, and when it was disabled (None while active). The hash never leaves the store."""

    name: str
    role: Role
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "role": self.role, "active": self.active,
                "created_at": self.created_at, "created_by": self.created_by,
                "disabled_at": self.disabled_at}


@dataclass(frozen=True)
class SessionInfo:
    """A logged-in session: the account's name and role, what it sees of the sensitive
    data, the CSRF token its writes must carry and when it ends at the latest (UTC)."""

    user: str
    role: Role
    csrf_token: str
    expires_at: datetime

    @property
    def disclosure(self) -> Disclosure:
        """What this session's role sees of the sensitive data."""
        return disclosure_for(self.role)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``user``, ``role``, ``csrf_token``, ``expires_at`` and ``sees``
        (``people``, ``exact_points``, ``patrols``)."""
        d = self.disclosure
        return {"user": self.user, "role": self.role, "csrf_token": self.csrf_token,
                "expires_at": self.expires_at,
                "sees": {"people": d.people, "exact_points": d.exact_points,
                         "patrols": d.patrols}}


@dataclass(frozen=True)
class LoginResult:
    """A session just opened: its ``token`` (for the cookie only: it is never stored nor
    shown) and the session (:class:`SessionInfo`)."""

    token: str
    session: SessionInfo

    def to_dict(self) -> dict[str, Any]:
        """The session's JSON form (the token stays out)."""
        return self.session.to_dict()


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log (see :class:`~vigilancia.io.store.AuditRecord`)."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    address: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "at": self.at, "actor": self.actor, "action": self.action,
                "target": self.target, "detail": dict(self.detail), "address": self.address}


# --------------------------------------------------------------------------- accounts


def name_key(name: str) -> str:
    """The form of an account name that logins compare: NFC, case-folded, trimmed.

    >>> name_key("  Ana María ") == name_key("ana maría")
    True
    """
    return unicodedata.normalize("NFC", str(name)).strip().casefold()


def hash_password(password: str) -> str:
    """The Argon2id hash (PHC string) of ``password``."""
    return _hasher.hash(password)


def _account(u: UserRecord) -> Account:
    return Account(name=u.name, role=Role(u.role), active=u.active, created_at=u.created_at,
                   created_by=u.created_by, disabled_at=u.disabled_at)


def _check_name(name: str) -> str:
    clean = unicodedata.normalize("NFC", str(name)).strip()
    if not clean or len(clean) > MAX_NAME or any(unicodedata.category(c)[0] == "C"
                                                 for c in clean):
        raise InputError(
            _("{name!r} cannot be an account name", name=name),
            hint=_("use 1 to {n} letters, digits, spaces or signs", n=MAX_NAME),
        )
    return clean


def _check_password(password: str, name: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(
            _("The password is too short: it needs at least {n} characters", n=MIN_PASSWORD),
            hint=_("a few words with spaces are easy to remember and hard to guess"),
        )
    if name_key(name) in name_key(password):
        raise InputError(_("The password must not contain the account name"))


def add_user(store: WorkspaceStore, name: str, role: Role | str, password: str, *,
             actor: str) -> Account:
    """Make a new account with ``role``; ``actor`` is recorded in the audit log.

    Raises :class:`~vigilancia.errors.ConflictError` when the name is taken (case and
    accents compared as typed, case ignored) and
    :class:`~vigilancia.errors.InputError` for an unknown role, a bad name or a password
    shorter than :data:`MIN_PASSWORD`.
    """
    clean = _check_name(name)
    try:
        the_role = Role.parse(role)
    except ValueError:
        raise InputError(
            _("Unknown role {role!r}", role=role),
            hint=_("use one of: {names}", names=", ".join(r.value for r in Role)),
            inputs="role",
        ) from None
    _check_password(password, clean)
    hashed = hash_password(password)
    now = datetime.now(UTC)
    key = name_key(clean)
    with store.transaction() as conn:
        if store.users.find(key, conn=conn) is not None:
            raise ConflictError(
                _("There is already an account called {name!r}", name=clean),
                hint=_("choose another name, or disable the old account first"),
                actions=action("users.list"),
            )
        store.users.add(conn, name=clean, name_key=key, role=the_role.value,
                        password_hash=hashed, created_by=actor, at=now)
        store.audit.add(conn, actor=actor, action="user.add", at=now, target=f"user:{clean}",
                        detail={"role": the_role.value})
        found = store.users.find(key, conn=conn)
    assert found is not None
    return _account(found)


def list_users(store: WorkspaceStore) -> list[Account]:
    """Every account of the workspace, by name."""
    return [_account(u) for u in store.users.list()]


def disable_user(store: WorkspaceStore, name: str, *, actor: str) -> Account:
    """Stop an account from logging in and end its sessions (its history stays).

    Raises :class:`~vigilancia.errors.NotFoundError` for an unknown name.
    """
    now = datetime.now(UTC)
    with store.transaction() as conn:
        found = store.users.find(name_key(name), conn=conn)
        if found is None:
            raise NotFoundError(_("No account called {name!r}", name=str(name).strip()),
                                hint=_("see the list of accounts"), actions=action("users.list"))
        if found.active:
            store.users.set_active(conn, found.id, False, now)
        ended = store.sessions.delete_for_user(conn, found.id)
        store.audit.add(conn, actor=actor, action="user.disable", at=now,
                        target=f"user:{found.name}", detail={"sessions_ended": ended})
        after = store.users.find(name_key(found.name), conn=conn)
    assert after is not None
    return _account(after)


# --------------------------------------------------------------------------- sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def login_limits(settings: Settings) -> tuple[int, int, timedelta]:
    """Failed logins allowed per account and per client address, and the window they are
    counted in (``login_max_failures``, four times as many per address,
    ``login_lockout_minutes``)."""
    return (settings.login_max_failures, ADDRESS_FACTOR * settings.login_max_failures,
            timedelta(minutes=settings.login_lockout_minutes))


def log_in(store: WorkspaceStore, settings: Settings, name: str, password: str, *,
           address: str) -> LoginResult:
    """Check ``name`` and ``password`` and open a session for the account.

    Raises :class:`~vigilancia.errors.NotAuthenticated` for a wrong name or password
    or a disabled account (one answer for all three), and
    :class:`~vigilancia.errors.TooManyAttempts` while the account or the client
    ``address`` has too many recent failures (:func:`login_limits`); the attempt is
    then not even checked.
    """
    key = name_key(name)[:MAX_NAME].replace("\x00", "")
    address = str(address)[:64]
    now = datetime.now(UTC)
    per_user, per_address, window = login_limits(settings)
    since = now - window
    if (store.logins.failures(since, name_key=key) >= per_user
            or store.logins.failures(since, address=address) >= per_address):
        raise TooManyAttempts(
            _("Too many failed logins: wait {minutes} minutes and try again",
              minutes=f"{settings.login_lockout_minutes:g}"),
            hint=_("an administrator can check the account"),
        )
    user = store.users.find(key)
    ok = _verify(user.password_hash if user is not None else _DUMMY_HASH, password)
    ok = ok and user is not None and user.active
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.session_hours)
    with store.transaction() as conn:
        store.logins.add(conn, name_key=key, address=address, ok=ok, at=now)
        if not ok or user is None:
            # (a name that is no account may be a password typed in the wrong field: kept
            # out of the log)
            store.audit.add(conn, actor=user.name if user is not None else "?",
                            action="session.failed", at=now, address=address)
        else:
            if _hasher.check_needs_rehash(user.password_hash):
                store.users.set_password(conn, user.id, hash_password(password))
            store.sessions.add(conn, token_hash=_token_hash(token), user_id=user.id,
                               csrf_token=csrf, at=now, expires_at=expires, address=address)
            store.audit.add(conn, actor=user.name, action="session.login", at=now,
                            address=address)
            # housekeeping: sessions that ended, attempts older than any window
            idle = timedelta(minutes=settings.session_idle_minutes)
            store.sessions.delete_expired(conn, now, now - idle)
            store.logins.prune(conn, now - max(window, timedelta(days=30)))
    if not ok or user is None:
        raise NotAuthenticated(_("Wrong user name or password"),
                               hint=_("check both and try again"))
    return LoginResult(token, SessionInfo(user.name, Role(user.role), csrf, expires))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def session_of(store: WorkspaceStore, settings: Settings, token: str | None
               ) -> SessionInfo | None:
    """The live session of ``token`` (from the cookie), or None: no such session, a
    disabled account, or past its end (``session_hours`` after the login, or unused for
    ``session_idle_minutes``; such a session is removed)."""
    if not token or len(token) > 128:
        return None
    digest = _token_hash(token)
    found: SessionRecord | None = store.sessions.find(digest)
    if found is None:
        return None
    now = datetime.now(UTC)
    idle = timedelta(minutes=settings.session_idle_minutes)
    if found.expires_at <= now or found.last_seen + idle <= now or not found.user.active:
        _quietly(store, lambda conn: store.sessions.delete(conn, digest))
        return None
    if (now - found.last_seen).total_seconds() >= TOUCH_EVERY_S:
        _quietly(store, lambda conn: store.sessions.touch(conn, digest, now))
    return SessionInfo(found.user.name, Role(found.user.role), found.csrf_token,
                       found.expires_at)


def _quietly(store: WorkspaceStore, write: Any) -> None:
    """A housekeeping write that may wait for nobody: skipped while another process
    holds the workspace's write lock (a monitoring run), retried on the next request."""
    try:
        with store.transaction(wait_s=0.2) as conn:
            write(conn)
    except StoreError:
        pass


def log_out(store: WorkspaceStore, token: str | None, *, address: str | None = None) -> None:
    """End the session of ``token`` (nothing happens when there is none)."""
    if not token:
        return
    digest = _token_hash(token)
    found = store.sessions.find(digest)
    if found is None:
        return
    now = datetime.now(UTC)
    with store.transaction() as conn:
        store.sessions.delete(conn, digest)
        store.audit.add(conn, actor=found.user.name, action="session.logout", at=now,
                        address=address)


def audit_log(store: WorkspaceStore, *, limit: int = 100, before: int | None = None
              ) -> list[AuditEntry]:
    """The audit log, newest first (``limit`` entries older than entry ``before``)."""
    return [_entry(r) for r in store.audit.list(limit=limit, before_id=before)]


def _entry(r: AuditRecord) -> AuditEntry:
    return AuditEntry(id=r.id, at=r.at, actor=r.actor, action=r.action, target=r.target,
                      detail=r.detail, address=r.address)
