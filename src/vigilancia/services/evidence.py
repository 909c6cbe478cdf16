"""Checking a workspace's evidence: every kept file re-hashed, the custody log re-chained.

:func:`verify_evidence` answers "is everything as vigilancia kept it?":

- every file listed as kept (``evidencia/``) or derived (``derivados/``) is read
  again and its SHA-256 compared: a file that changed is *altered*, one that is
  gone *missing*; a file in those folders that vigilancia did not keep is *extra*;
- every entry of the custody log is re-hashed and its signature checked against
  the workspace's recorded public key; entries altered, missing, reordered, signed
  by another key, or not linked to the one before are named by number
  (:func:`vigilancia.domain.evidence.check_chain`), and so is a head that does not
  match the one recorded;
- every kept file has its intake entry, every copy its derived entry, and every
  file an entry names is still listed;
- where the private key is at hand, it is the one whose public key was recorded.

Each problem is one :class:`Finding` with a sentence for a person. A clean workspace
gives none ("0 hallazgos"). A workspace whose log was never started starts it
first (:func:`vigilancia.services.custody.start_custody`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from vigilancia.config import Settings
from vigilancia.domain.evidence import (
    ChainFinding,
    ChainProblem,
    CustodyAction,
    CustodyEntry,
    SignatureState,
    check_chain,
    head_message,
)
from vigilancia.errors import VigilanciaError
from vigilancia.i18n import _, ngettext
from vigilancia.io.evidence import DERIVED_DIR, EVIDENCE_DIR, hash_files, list_files
from vigilancia.io.files import is_temp_name
from vigilancia.io.signing import fingerprint, load_signing_key, verify
from vigilancia.io.store import WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.custody import (
    HEAD_META,
    STARTED_META,
    ChainHead,
    chain_head,
    signing_key_path,
    start_custody,
)

__all__ = ["Finding", "FindingKind", "VerifyResult", "chain_message", "verify_evidence"]


class FindingKind:
    """The kinds of :class:`Finding` about files and keys (log kinds are
    :class:`~vigilancia.domain.evidence.ChainProblem` values)."""

    FILE_ALTERED = "file_altered"
    FILE_MISSING = "file_missing"
    FILE_EXTRA = "file_extra"
    FILE_UNLOGGED = "file_unlogged"  # listed as kept, with no entry in the log
    FILE_UNLISTED = "file_unlisted"  # named by an entry, no longer listed as kept
    KEY_MISMATCH = "key_mismatch"
    HEAD_SIGNATURE = "head_signature"


@dataclass(frozen=True)
class Finding:
    """One problem: its ``kind``, a sentence for a person, and what it is about: the
    log entry (``seq``; ``other``, a second entry it involves), the file (``path``
    relative to the workspace) and the hash (``sha256``)."""

    kind: str
    message: str
    seq: int | None = None
    other: int | None = None
    path: str | None = None
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field."""
        return {"kind": self.kind, "message": self.message, "seq": self.seq,
                "other": self.other, "path": self.path, "sha256": self.sha256}


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_evidence` checked and found: files re-hashed (and their bytes),
    entries checked, the log's head, the key (id and fingerprint), how many entries
    the log was started with now, the findings, and notes (what could not be checked)."""

    files: int
    bytes: int
    entries: int
    head: ChainHead | None
    key_id: str | None
    fingerprint: str | None
    started: int = 0
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """0 when nothing was found, 1 otherwise."""
        return 1 if self.findings else 0

    def summary(self) -> str:
        """``0 hallazgos``, ``1 hallazgo``... in the user's language."""
        return ngettext("{n} finding", "{n} findings", len(self.findings))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: counts, head, key, findings and notes."""
        return {"ok": not self.findings, "summary": self.summary(), "files": self.files,
                "bytes": self.bytes, "entries": self.entries, "head": self.head,
                "key_id": self.key_id, "fingerprint": self.fingerprint,
                "started": self.started, "findings": list(self.findings),
                "notes": list(self.notes)}


def chain_message(f: ChainFinding) -> str:
    """A log finding as a sentence for a person."""
    seq, other = f.seq, f.other
    match f.kind:
        case ChainProblem.ALTERED:
            return _("entry {seq}: altered: its content no longer matches its hash", seq=seq)
        case ChainProblem.REORDERED if f.detail.get("swapped"):
            return _("entries {seq} and {other}: swapped places (reordered)", seq=seq,
                     other=other)
        case ChainProblem.REORDERED:
            return _("entry {seq}: stored at place {other} (reordered)", seq=seq, other=other)
        case ChainProblem.DUPLICATE:
            return _("entry {seq}: stored twice (again at place {other})", seq=seq, other=other)
        case ChainProblem.MISSING:
            return _("entry {seq}: missing (deleted from the log)", seq=seq)
        case ChainProblem.BAD_SIGNATURE:
            return _("entry {seq}: bad signature: the workspace key did not sign it "
                     "(re-signed with another key, or forged)", seq=seq)
        case ChainProblem.FOREIGN_KEY:
            return _("entry {seq}: signed with another key ({key}), not the workspace's",
                     seq=seq, key=f.detail.get("key_id"))
        case ChainProblem.BROKEN_LINK:
            return _("entry {seq}: does not follow entry {before}: the chain is broken",
                     seq=seq, before=(seq or 1) - 1)
        case ChainProblem.UNRECORDED:
            return _("entry {seq}: after the recorded head (entry {other}): added outside "
                     "vigilancia", seq=seq, other=other)
        case ChainProblem.HEAD_MISMATCH if seq is None:
            return _("the log has no recorded head: it was not written by vigilancia")
        case _:
            return _("the recorded head of the log does not match entry {seq}", seq=seq)


def verify_evidence(
    store: WorkspaceStore, settings: Settings, *, actor: str, progress: Progress | None = None
) -> VerifyResult:
    """Re-hash every evidence file and re-check the custody log (see the module text).

    ``actor`` signs the entries that start the log of a workspace that has none.
    Raises :class:`~vigilancia.errors.StoreError` when a file cannot be read at all.
    """
    tick = progress or no_progress
    started = 0
    if not store.get_meta(STARTED_META):
        with store.transaction() as conn:
            started = start_custody(store, conn, settings, actor=actor)
    keys = {k.key_id: k.public_key for k in store.custody.public_keys()}
    head_meta = store.get_meta(HEAD_META) or None
    tick("Reading the custody log", 0, None)
    rows = list(store.custody.iter_all())
    tick("Reading the custody log", len(rows), len(rows))
    findings: list[Finding] = []
    notes: list[str] = []

    # the log
    def signature_ok(entry: CustodyEntry, signed: bytes) -> SignatureState:
        public = keys.get(entry.key_id)
        if public is None:
            return SignatureState.FOREIGN_KEY
        return SignatureState.OK if verify(public, signed, entry.signature) \
            else SignatureState.BAD

    head = None
    if isinstance(head_meta, Mapping):
        head = (int(head_meta.get("seq", 0)), str(head_meta.get("hash", "")))
        public = keys.get(str(head_meta.get("key_id")))
        if public is None or not verify(public, head_message(*head),
                                        str(head_meta.get("signature", ""))):
            findings.append(Finding(FindingKind.HEAD_SIGNATURE, _(
                "the recorded head of the log (entry {seq}) is not signed by the workspace key",
                seq=head[0]), seq=head[0]))
    tick("Checking the custody log", 0, len(rows))
    chain = check_chain(rows, signature_ok=signature_ok, head=head)
    tick("Checking the custody log", len(rows), len(rows))
    findings += [Finding(str(f.kind), chain_message(f), seq=f.seq, other=f.other)
                 for f in chain]

    # the key
    key_id = next(iter(keys), None)
    path = signing_key_path(store, settings)
    if path.exists():
        try:
            key = load_signing_key(path, create=False)
        except VigilanciaError as exc:
            notes.append(exc.user_text())
        else:
            if key.key_id not in keys:
                findings.append(Finding(FindingKind.KEY_MISMATCH, _(
                    "the public key recorded in the workspace ({recorded}) is not the one of "
                    "its signing key ({found}): the record was replaced",
                    recorded=", ".join(keys) or "-", found=key.key_id), path=str(path)))
    elif keys:
        notes.append(_("the signing key is not at {path}: the recorded public key was not "
                       "compared with it", path=str(path)))

    # the files
    files = _check_files(store, settings, rows, findings, notes, tick)
    total = sum(files.values())
    return VerifyResult(
        files=len(files), bytes=total, entries=len(rows), head=chain_head(store),
        key_id=key_id, fingerprint=None if key_id is None else fingerprint(keys[key_id]),
        started=started, findings=tuple(_ordered(findings)), notes=tuple(notes))


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Files first (by path), then the log (by entry), then the rest, as found."""
    items = list(findings)
    return sorted(items, key=lambda f: (
        0 if f.path is not None and f.seq is None else 1 if f.seq is not None else 2,
        f.path or "", f.seq or 0))


def _check_files(
    store: WorkspaceStore,
    settings: Settings,
    rows: list[CustodyEntry],
    findings: list[Finding],
    notes: list[str],
    tick: Progress,
) -> dict[str, int]:
    """Re-hash the listed files, name the altered, missing, extra and unlogged ones.
    Returns the size (bytes) of each file read, by path."""
    kept = store.field_files.list()
    derived = store.derived_files.list()
    expected: dict[str, tuple[str, int]] = {}  # path -> (sha256, size)
    for f in kept:
        expected[f.stored_path] = (f.sha256, f.size)
    for d in derived:
        expected[d.stored_path] = (d.sha256, d.size)
    present = set(list_files(store.dir, EVIDENCE_DIR)) | set(list_files(store.dir, DERIVED_DIR))
    paths = sorted(expected)

    def done(n: int) -> None:
        tick("Checking evidence files", n, len(paths))

    tick("Checking evidence files", 0, len(paths))
    hashes = hash_files(store.dir, paths, workers=settings.workers, on_done=done)
    sizes: dict[str, int] = {}
    for rel in paths:
        sha, size = expected[rel]
        found = hashes[rel]
        if found is None:
            findings.append(Finding(FindingKind.FILE_MISSING, _(
                "{path}: missing (kept with SHA-256 {sha})", path=rel, sha=sha),
                path=rel, sha256=sha))
        elif found != sha:
            findings.append(Finding(FindingKind.FILE_ALTERED, _(
                "{path}: altered: its SHA-256 is now {found}, it was kept as {sha}",
                path=rel, found=found or "-", sha=sha), path=rel, sha256=sha))
        else:
            sizes[rel] = size
    leftovers = 0
    for rel in sorted(present - set(expected)):
        if is_temp_name(PurePosixPath(rel).name):  # a copy an import was writing, or left
            leftovers += 1
            continue
        findings.append(Finding(FindingKind.FILE_EXTRA, _(
            "{path}: extra file: vigilancia did not keep it", path=rel), path=rel))
    if leftovers:
        notes.append(ngettext(
            "{n} temporary file of an import that was running or was interrupted: the next "
            "field import removes it if its run has ended",
            "{n} temporary files of imports that were running or were interrupted: the next "
            "field import removes them if their run has ended", leftovers))

    # the register and the log name the same files
    intake: set[str] = set()
    copies: set[str] = set()
    named: dict[str, int] = {}
    for e in rows:
        if e.action == CustodyAction.INTAKE:
            intake.update(e.sha256s)
            for sha in e.sha256s:
                named.setdefault(sha, e.seq)
        elif e.action == CustodyAction.DERIVED:
            copies.update(e.sha256s[1:])
            for sha in e.sha256s:
                named.setdefault(sha, e.seq)
    if store.get_meta(STARTED_META):
        for f in kept:
            if f.sha256 not in intake:
                findings.append(Finding(FindingKind.FILE_UNLOGGED, _(
                    "{path}: kept with no intake entry in the custody log",
                    path=f.stored_path), path=f.stored_path, sha256=f.sha256))
        for d in derived:
            if d.sha256 not in copies:
                findings.append(Finding(FindingKind.FILE_UNLOGGED, _(
                    "{path}: copy with no entry in the custody log",
                    path=d.stored_path), path=d.stored_path, sha256=d.sha256))
    listed = {f.sha256 for f in kept} | {d.sha256 for d in derived}
    for sha, seq in sorted(named.items(), key=lambda item: (item[1], item[0])):
        if sha not in listed:
            findings.append(Finding(FindingKind.FILE_UNLISTED, _(
                "entry {seq} names the file {sha}, which the workspace no longer lists",
                seq=seq, sha=sha), seq=seq, sha256=sha))
    return sizes
