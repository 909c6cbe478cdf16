"""Custody of evidence: the signed, hash-chained log of every hand the evidence passed through.

Every file the field import keeps gets an *intake* entry in the import's own
transaction; every copy made from one (:mod:`vigilancia.services.derived`) a
*derived* entry; a case's bundle (:mod:`vigilancia.services.evidence`) an
*export* entry; each report its *report* entry with the report's content hash;
and handing a case's evidence to someone a *handover* entry. An entry says who,
when (UTC), what (SHA-256 of each file), why, for which case, and is chained to
the one before it and signed with the workspace's Ed25519 key (see
:mod:`vigilancia.domain.evidence` and :mod:`vigilancia.io.signing`).

The key's file is ``Settings.signing_key`` (``VIGILANCIA_SIGNING_KEY``), by default
``custodia/clave_firma.pem`` in the workspace, created owner-only the first time
the log is written. Its public key is recorded in the workspace, so checking needs
no private key; a private key other than the recorded one is refused.

A workspace whose files were kept before the log existed starts it on first use:
each kept file gets one intake entry with the reason ``registro inicial``, once
(a file later missing its entry is a finding, never silently re-entered).

Writes go through :func:`record_custody` inside the caller's transaction; the
writer lock is held from the read of the last entry to the commit, so two
imports at once append one after the other and never fork the chain.

>>> head = chain_head(store)  # doctest: +SKIP
>>> head.seq, head.entry_hash[:8]  # doctest: +SKIP
(42, '5f0c2a1e')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from vigilancia.config import Settings
from vigilancia.domain.evidence import (
    GENESIS_HASH,
    CustodyAction,
    CustodyEntry,
    head_message,
    make_entry,
)
from vigilancia.errors import ConflictError, InputError
from vigilancia.i18n import _
from vigilancia.io.files import replace_bytes
from vigilancia.io.signing import SigningKey, fingerprint, load_signing_key, public_pem
from vigilancia.io.store import CustodyKeyRecord, WorkspaceStore
from vigilancia.services.cases import parse_case_id
from vigilancia.services.observations import EvidenceFile, evidence_files

__all__ = [
    "HEAD_META",
    "INITIAL_REASON",
    "KEY_FILE",
    "STARTED_META",
    "ChainHead",
    "CustodyAction",
    "PublicKey",
    "CustodyEntry",
    "case_custody",
    "case_evidence",
    "chain_head",
    "custody_log",
    "file_cases",
    "public_key",
    "record_custody",
    "record_handover",
    "record_intake",
    "signing_key",
    "signing_key_path",
    "start_custody",
]

#: Where the signing key is kept when ``VIGILANCIA_SIGNING_KEY`` is not set (in the workspace).
KEY_FILE = Path("custodia") / "clave_firma.pem"
#: The reason of the intake entries that start the log of an existing workspace.
INITIAL_REASON = "registro inicial"
#: Workspace metadata: when the log was started (ISO text).
STARTED_META = "custody_started"
#: Workspace metadata: the last entry written (seq, hash), signed.
HEAD_META = "custody_head"


@dataclass(frozen=True)
class ChainHead:
    """The last entry of the log when it was read: its number, hash and time (UTC).

    A report prints it; a log rewritten later no longer ends in this hash.
    """

    seq: int
    entry_hash: str
    at: datetime

    @property
    def hash(self) -> str:
        """The hash of the last entry (``entry_hash``)."""
        return self.entry_hash

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``seq``, ``hash`` and ``at``."""
        return {"seq": self.seq, "hash": self.entry_hash, "at": self.at}


def signing_key_path(store: WorkspaceStore, settings: Settings) -> Path:
    """The file of the workspace's signing key: the setting, or :data:`KEY_FILE` in it."""
    if settings.signing_key is not None:
        return Path(settings.signing_key).expanduser()
    return store.dir / KEY_FILE


def signing_key(store: WorkspaceStore, conn: Connection, settings: Settings) -> SigningKey:
    """The workspace's private key, checked against the public key it recorded.

    The first time (no key recorded) the key file is created if missing and its
    public key recorded, in ``conn``'s transaction. Raises
    :class:`~vigilancia.errors.NotFoundError` when a recorded workspace's key file
    is missing and :class:`~vigilancia.errors.ConflictError` when the file holds
    another key.
    """
    path = signing_key_path(store, settings)
    known = store.custody.public_keys(conn=conn)
    key = load_signing_key(path, create=not known)
    if not known:
        store.custody.add_key(conn, CustodyKeyRecord(
            key_id=key.key_id, algorithm="ed25519", public_key=key.public_hex,
            created_at=datetime.now(UTC)))
    elif key.key_id not in {k.key_id for k in known}:
        raise ConflictError(
            _("the signing key in this file is not the workspace's key "
              "(it is {found}; the workspace signs with {known})",
              found=key.key_id, known=", ".join(k.key_id for k in known)),
            hint=_("set VIGILANCIA_SIGNING_KEY to the file of the workspace's own key"),
            source=str(path))
    return key


def chain_head(store: WorkspaceStore, *, conn: Connection | None = None) -> ChainHead | None:
    """The last entry of the log (seq, hash, time), or None while the log is empty."""
    last = store.custody.last(conn=conn)
    return None if last is None else ChainHead(last.seq, last.entry_hash, last.at)


def _append(
    store: WorkspaceStore, conn: Connection, key: SigningKey, drafts: Sequence[dict[str, Any]]
) -> list[CustodyEntry]:
    """Chain, sign and store entries after the last one; record the new head."""
    if not drafts:
        return []
    last = store.custody.last(conn=conn)
    seq = 0 if last is None else last.seq
    prev = GENESIS_HASH if last is None else last.entry_hash
    now = datetime.now(UTC)
    entries = []
    for draft in drafts:
        seq += 1
        entry = make_entry(seq, now, prev_hash=prev, key_id=key.key_id, **draft)
        entry = replace(entry, signature=key.sign(entry.signed_bytes()))
        entries.append(entry)
        prev = entry.entry_hash
    store.custody.append(conn, entries)
    store.set_meta(conn, HEAD_META, {
        "seq": seq, "hash": prev, "key_id": key.key_id,
        "signature": key.sign(head_message(seq, prev)),
    })
    return entries


def file_cases(store: WorkspaceStore, conn: Connection | None = None) -> dict[str, set[int]]:
    """The cases each kept file is evidence of (through the observations that came in it
    or name it as an attachment), by SHA-256."""
    out: dict[str, set[int]] = {}
    for row in store.observations.list(conn=conn):
        if row.case_id is None:
            continue
        shas = [row.file_sha256] + [a.get("sha256") for a in row.attachments or []]
        for sha in shas:
            if sha:
                out.setdefault(str(sha), set()).add(row.case_id)
    return out


def _one(cases: set[int] | None) -> int | None:
    return next(iter(cases)) if cases and len(cases) == 1 else None


def start_custody(
    store: WorkspaceStore, conn: Connection, settings: Settings, *, actor: str
) -> int:
    """Start the log if this workspace has none yet: one intake entry for each file kept
    before it (reason :data:`INITIAL_REASON`), once. Returns how many were written."""
    if store.get_meta(STARTED_META, conn=conn):
        return 0
    key = signing_key(store, conn, settings)
    files = store.field_files.list(conn=conn)
    cases = file_cases(store, conn) if files else {}
    written = _append(store, conn, key, [
        {"actor": actor, "action": CustodyAction.INTAKE, "case_id": _one(cases.get(f.sha256)),
         "sha256s": (f.sha256,), "reason": INITIAL_REASON}
        for f in files
    ])
    store.set_meta(conn, STARTED_META, datetime.now(UTC).isoformat(timespec="seconds"))
    return len(written)


def record_custody(
    store: WorkspaceStore,
    conn: Connection,
    *,
    action: CustodyAction | str,
    actor: str,
    reason: str,
    case_id: int | None = None,
    sha256s: Iterable[str] = (),
    settings: Settings,
    recipient: str | None = None,
) -> CustodyEntry:
    """Append one signed entry to the log, inside the caller's transaction ``conn``.

    ``action``: intake, derived, export, report or handover; ``actor``: who;
    ``reason``: why; ``sha256s``: the files (or, for a report, its content hash);
    ``recipient``: to whom (a handover). Starts the log first if the workspace has
    none (:func:`start_custody`). Raises ``ValueError`` for an empty actor or
    reason or a hash that is not a SHA-256.
    """
    start_custody(store, conn, settings, actor=actor)
    key = signing_key(store, conn, settings)
    (entry,) = _append(store, conn, key, [{
        "actor": actor, "action": action, "case_id": case_id, "sha256s": tuple(sha256s),
        "reason": reason, "recipient": recipient,
    }])
    return entry


def record_intake(
    store: WorkspaceStore,
    conn: Connection,
    settings: Settings,
    *,
    actor: str,
    files: Sequence[tuple[str, int | None, str]],
) -> list[CustodyEntry]:
    """Intake entries for newly kept files, one each: ``(sha256, case id or None, name)``.

    The caller starts the log (:func:`start_custody`) before it adds the files to
    the register, so that they are not taken for files kept before the log.
    """
    if not files:
        return []
    key = signing_key(store, conn, settings)
    return _append(store, conn, key, [
        {"actor": actor, "action": CustodyAction.INTAKE, "case_id": case_id,
         "sha256s": (sha,), "reason": f"importación de campo: {name}"}
        for sha, case_id, name in files
    ])


def case_evidence(
    store: WorkspaceStore, case_id: int, *, conn: Connection | None = None
) -> list[EvidenceFile]:
    """The kept files of one case: the files its observations came in and their
    attachments (:func:`vigilancia.services.observations.evidence_files`)."""
    return evidence_files(store, store.observations.list(case_id, conn=conn), conn=conn)


def case_custody(
    store: WorkspaceStore, case_id: int, *, conn: Connection | None = None
) -> list[CustodyEntry]:
    """The log entries of one case, by ``seq``: those that name it, and those that name
    no case but one of its files or of the copies made from them."""
    files = [f.sha256 for f in case_evidence(store, case_id, conn=conn)]
    shas = set(files)
    shas.update(d.sha256 for d in store.derived_files.list(files, conn=conn))
    return store.custody.for_case(case_id, shas, conn=conn)


def custody_log(store: WorkspaceStore, *, case: str | int | None = None) -> list[CustodyEntry]:
    """The whole log (or one case's entries, ``C-0042``), by ``seq``."""
    if case is None:
        return list(store.custody.iter_all())
    case_id = parse_case_id(case)
    store.cases.get(case_id)  # NotFoundError for an unknown case
    return case_custody(store, case_id)


def record_handover(
    store: WorkspaceStore,
    settings: Settings,
    case: str | int,
    *,
    to: str,
    reason: str,
    actor: str,
) -> CustodyEntry:
    """Record that the evidence of ``case`` was handed to ``to`` (a prosecutor's office,
    the police...) and why: one signed entry naming each of the case's kept files.

    Raises :class:`~vigilancia.errors.InputError` for an empty recipient or reason and
    :class:`~vigilancia.errors.NotFoundError` for an unknown case.
    """
    if not to.strip():
        raise InputError(_("say to whom the evidence was handed"),
                         hint=_("name the office and the person who received it"), inputs="to")
    if not reason.strip():
        raise InputError(_("say why the evidence was handed over"),
                         hint=_("e.g. the complaint or the request it answers"), inputs="reason")
    case_id = parse_case_id(case)
    with store.transaction() as conn:
        store.cases.get(case_id, conn=conn)  # NotFoundError for an unknown case
        files = case_evidence(store, case_id, conn=conn)
        return record_custody(
            store, conn, action=CustodyAction.HANDOVER, actor=actor, reason=reason,
            case_id=case_id, sha256s=[f.sha256 for f in files], settings=settings,
            recipient=to)


@dataclass(frozen=True)
class PublicKey:
    """The workspace's public key, to publish: its id, fingerprint (SHA-256 of its 32
    bytes, hex), the key as PEM text, and since when the workspace signs with it (UTC)."""

    key_id: str
    fingerprint: str
    pem: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field."""
        return {"key_id": self.key_id, "fingerprint": self.fingerprint, "pem": self.pem,
                "algorithm": "ed25519", "created_at": self.created_at}


def public_key(store: WorkspaceStore, settings: Settings, *, actor: str,
               output: Path | None = None, overwrite: bool = False) -> PublicKey:
    """The workspace's public key, for the organisation to publish (and written as PEM to
    ``output`` when given), so that recipients of its bundles and reports can tell its
    signatures from anyone else's. Starts the log (and makes the key) if there is none.

    Raises :class:`~vigilancia.errors.ConflictError` when ``output`` holds something
    else (unless ``overwrite``).
    """
    if not store.custody.public_keys():
        with store.transaction() as conn:
            start_custody(store, conn, settings, actor=actor)
    first = store.custody.public_keys()[0]
    pem = public_pem(first.public_key)
    if output is not None:
        output = Path(output)
        if output.exists() and output.read_bytes() != pem and not overwrite:
            raise ConflictError(_("{path} already exists", path=str(output)),
                                hint=_("give another name, or replace it"), inputs="overwrite")
        replace_bytes(output, pem)
    return PublicKey(first.key_id, fingerprint(first.public_key), pem.decode("ascii"),
                     first.created_at)
