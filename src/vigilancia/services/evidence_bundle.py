"""A case's evidence in one self-verifying ZIP, and the check of such a ZIP anywhere.

:func:`export_case` writes, for one case:

- ``archivos/<sha256><suffix>``: every kept file of the case, byte for byte; or, with
  ``shareable`` (to share beyond the authorities), only its photos, as copies with no
  metadata: the forms and tracks, which hold exact points and names, stay out;
- ``custodia.jsonl``: the case's custody log entries, one JSON object a line,
  ending with the *export* entry this call records (the chain head);
- ``clave_publica.pem``: the workspace's public key;
- ``manifiesto.json``: the case, the key, the head, and the SHA-256 and size of
  every other member; ``manifiesto.sig``: its Ed25519 signature (hex);
- ``LEEME.txt``: in Spanish, what the bundle holds and how to check it.

:func:`check_bundle` needs nothing but the ZIP (and, better, the public key the
organisation published): the ZIP's structure (:func:`vigilancia.io.bundle.read_bundle`,
every byte checked), the manifest's signature, each member's hash and size, each
entry's hash and signature and the links between consecutive entries, the head, and
that the export entry names exactly the files in the bundle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from vigilancia.config import Settings
from vigilancia.domain.evidence import (
    MANIFEST_SIGNING_PREFIX,
    CustodyAction,
    CustodyEntry,
    entry_from_dict,
    entry_hash,
    sha256_hex,
)
from vigilancia.errors import ConflictError, DataFormatError, InputError, StoreError, action
from vigilancia.i18n import _, ngettext
from vigilancia.io.bundle import read_bundle, write_bundle
from vigilancia.io.evidence import hash_files
from vigilancia.io.signing import SigningKey, fingerprint, public_hex_from_pem, public_pem, verify
from vigilancia.io.store import WorkspaceStore
from vigilancia.progress import Progress, no_progress
from vigilancia.services.cases import parse_case_id
from vigilancia.services.custody import (
    ChainHead,
    case_custody,
    case_evidence,
    record_custody,
    signing_key,
)
from vigilancia.services.derived import CopyKind, DerivedCopy, derive_copies, is_picture
from vigilancia.services.evidence import Finding
from vigilancia.services.observations import EvidenceFile

__all__ = ["BUNDLE_FORMAT", "BundleCheck", "ExportResult", "check_bundle", "export_case"]

#: The ``format`` of a bundle's manifest.
BUNDLE_FORMAT = "vigilancia-evidence-bundle"
MANIFEST = "manifiesto.json"
SIGNATURE = "manifiesto.sig"
LOG = "custodia.jsonl"
PUBLIC_KEY = "clave_publica.pem"
README = "LEEME.txt"
FILES_DIR = "archivos"

_SHAREABLE = (" (solo las fotos, como copias sin metadatos: sin posición GPS, cámara ni\n"
              "  hora; los formularios y recorridos, que tienen puntos exactos y nombres, no\n"
              "  se incluyen)")

_LEEME = """\
PAQUETE DE EVIDENCIA DEL CASO {case}
{workspace}, exportado el {at} (UTC) por {actor}

Contenido
- {files_dir}/: {n_files} archivo(s) de evidencia, cada uno con el nombre de su huella
  SHA-256{shareable}.
- {log}: el registro de custodia del caso ({n_entries} entradas, una por línea):
  quién, cuándo, qué (huellas SHA-256) y por qué. Cada entrada está encadenada a la
  anterior y firmada con la clave Ed25519 de la organización.
- {public_key}: la clave pública que verifica las firmas.
- {manifest}: la lista de todo lo anterior con su huella SHA-256 y tamaño;
  {signature}: su firma.

Cabeza de la cadena al exportar: entrada {head_seq}, huella {head_hash}
Huella de la clave pública (SHA-256): {fingerprint}

Cómo verificarlo
1. Con vigilancia, en cualquier computadora, sin conexión:
       vigilancia evidence check ESTE_ARCHIVO.zip --key clave_publica_de_la_organizacion.pem
   Debe decir "0 hallazgos". Cualquier byte cambiado en el paquete se detecta.
2. Compare la huella de la clave de arriba con la que la organización publicó o
   entregó por otro medio, y la cabeza de la cadena con la impresa en sus informes.
3. Sin vigilancia: calcule el SHA-256 de cada archivo (sha256sum, certutil -hashfile
   ARCHIVO SHA256) y compárelo con {manifest}. La firma de {manifest} es Ed25519 sobre
   el texto "vigilancia evidence bundle v1" y un salto de línea seguidos del archivo
   tal cual; la de cada entrada, sobre "vigilancia custody entry v1" y un salto de línea
   seguidos de la entrada en JSON canónico (claves ordenadas, sin espacios, UTF-8) sin
   los campos entry_hash, signature y case, con "v": 1; entry_hash es el SHA-256 de
   ese JSON.

Los archivos originales se guardan sin modificar; las copias (fotos reducidas o sin
metadatos) son archivos aparte, cada uno registrado con la huella de su original.
"""


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_case` wrote: the bundle's path and size (bytes), the case, how
    many files and entries it holds, the chain head (the export entry) and the key's
    fingerprint."""

    path: Path
    size: int
    case: str
    files: int
    entries: int
    head: ChainHead
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field."""
        return {"path": self.path, "size": self.size, "case": self.case, "files": self.files,
                "entries": self.entries, "head": self.head, "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class BundleCheck:
    """What :func:`check_bundle` found: the case, files and entries checked, the head,
    the key (id and fingerprint), whether it was the key given, and the findings."""

    path: Path
    case: str | None
    files: int
    entries: int
    head: Mapping[str, Any] | None
    key_id: str | None
    fingerprint: str | None
    key_given: bool
    findings: tuple[Finding, ...]

    @property
    def exit_code(self) -> int:
        """0 when nothing was found, 1 otherwise."""
        return 1 if self.findings else 0

    def summary(self) -> str:
        """``0 hallazgos``, ``1 hallazgo``... in the user's language."""
        return ngettext("{n} finding", "{n} findings", len(self.findings))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field, and ``ok``."""
        return {"ok": not self.findings, "summary": self.summary(), "path": self.path,
                "case": self.case, "files": self.files, "entries": self.entries,
                "head": dict(self.head) if self.head else None, "key_id": self.key_id,
                "fingerprint": self.fingerprint, "key_given": self.key_given,
                "findings": list(self.findings)}


def _suffix(name: str) -> str:
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    return suffix if 1 < len(suffix) <= 11 and suffix[1:].isalnum() else ""


def export_case(
    store: WorkspaceStore,
    settings: Settings,
    case: str | int,
    output: Path,
    *,
    actor: str,
    reason: str | None = None,
    shareable: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the evidence bundle of ``case`` to ``output`` (see the module text) and record
    the *export* entry, in one transaction: when the bundle cannot be written, no entry
    is recorded, and when the entry cannot be committed, no bundle is left.

    ``shareable``: only the photos, as copies stripped of their metadata (made if
    needed); the other files stay out. Raises
    :class:`~vigilancia.errors.ConflictError` when ``output`` exists (unless
    ``overwrite``) and :class:`~vigilancia.errors.StoreError` when a kept file no
    longer matches its hash (the workspace must be verified first).
    """
    tick = progress or no_progress
    output = Path(output)
    if output.suffix.lower() != ".zip":
        raise InputError(_("the bundle must be a .zip file"), source=str(output),
                         inputs="output")
    if output.exists() and not overwrite:
        raise ConflictError(_("{path} already exists", path=str(output)),
                            hint=_("give another name, or replace it"), inputs="overwrite")
    if not output.parent.is_dir():
        raise InputError(_("the folder of the bundle does not exist"), source=str(output),
                         inputs="output")
    case_id = parse_case_id(case)
    found = store.cases.get(case_id)
    files = case_evidence(store, case_id)
    copies: dict[str, DerivedCopy] = {}
    if shareable:
        made = derive_copies(store, settings, kind=CopyKind.STRIPPED, actor=actor,
                             shas=[f.sha256 for f in files if is_picture(f.name)],
                             progress=progress)
        copies = {c.original_sha256: c for c in made.copies}
    if shareable:
        files = [f for f in files if f.sha256 in copies]
    members = [_member(f, copies.get(f.sha256)) for f in files]
    tick("Checking evidence files", 0, len(members))
    hashes = hash_files(store.dir, [m.stored_path for m in members], workers=settings.workers)
    altered = [m.stored_path for m in members if hashes[m.stored_path] != m.sha256]
    if altered:
        raise StoreError(
            _("kept files of the case are missing or no longer match their SHA-256: {paths}",
              paths=", ".join(altered)),
            hint=_("check the workspace and restore them from a backup before exporting"),
            actions=action("evidence.verify"))
    tick("Checking evidence files", len(members), len(members))
    written = False
    try:
        with store.transaction() as conn:
            key = signing_key(store, conn, settings)
            entry = record_custody(
                store, conn, action=CustodyAction.EXPORT, actor=actor, case_id=case_id,
                reason=reason or f"exportación del paquete de evidencia del caso {found.code}",
                sha256s=[m.sha256 for m in members], settings=settings)
            entries = case_custody(store, case_id, conn=conn)
            documents = _documents(store.name, found.code, key, entry, entries, members,
                                   shareable=shareable)
            tick("Writing the bundle", 0, None)
            size = write_bundle(output, [
                *documents,
                *((m.name, store.dir / m.stored_path) for m in members),
            ])
            written = True
            tick("Writing the bundle", 1, 1)
    except BaseException:
        if written:  # the entry was not committed: no bundle without its entry
            output.unlink(missing_ok=True)
        raise
    return ExportResult(output, size, found.code, len(members), len(entries),
                        ChainHead(entry.seq, entry.entry_hash, entry.at),
                        fingerprint(key.public_hex))


@dataclass(frozen=True)
class _Member:
    """One file of a bundle: its name there, where it is kept, hash, size (bytes) and what
    the manifest says of it."""

    name: str
    stored_path: str
    sha256: str
    size: int
    meta: Mapping[str, Any]


def _member(f: EvidenceFile, copy: DerivedCopy | None) -> _Member:
    if copy is not None:
        return _Member(f"{FILES_DIR}/{copy.sha256}.jpg", copy.stored_path, copy.sha256,
                       copy.size, {"name": f.name, "kind": "stripped",
                                   "original_sha256": f.sha256})
    return _Member(f"{FILES_DIR}/{f.sha256}{_suffix(f.name)}", f.stored_path, f.sha256,
                   f.size, {"name": f.name, "kind": "original", "role": f.role})


def _documents(
    workspace: str, code: str, key: SigningKey, entry: CustodyEntry,
    entries: Sequence[CustodyEntry], members: Sequence[_Member], *, shareable: bool,
) -> list[tuple[str, bytes]]:
    """The bundle's own members: README, manifest and its signature, key, log."""
    at = entry.to_dict()["at"]
    print_ = fingerprint(key.public_hex)
    log = "".join(json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"
                  for e in entries).encode("utf-8")
    pem = public_pem(key.public_hex)
    leeme = _LEEME.format(
        case=code, workspace=workspace, at=at, actor=entry.actor, files_dir=FILES_DIR,
        n_files=len(members), log=LOG, n_entries=len(entries), public_key=PUBLIC_KEY,
        manifest=MANIFEST, signature=SIGNATURE, head_seq=entry.seq,
        head_hash=entry.entry_hash, fingerprint=print_,
        shareable=_SHAREABLE if shareable else "",
    ).encode("utf-8")
    manifest = {
        "format": BUNDLE_FORMAT, "version": 1,
        "case": code, "case_id": entry.case_id, "workspace": workspace,
        "created_at": at, "created_by": entry.actor,
        "key": {"algorithm": "ed25519", "key_id": key.key_id,
                "public_key": key.public_hex, "fingerprint": print_},
        "head": {"seq": entry.seq, "hash": entry.entry_hash},
        "log": {"path": LOG, "sha256": sha256_hex(log), "size": len(log),
                "entries": len(entries)},
        "files": [{"path": m.name, "sha256": m.sha256, "size": m.size, **m.meta}
                  for m in members],
        "documents": [{"path": README, "sha256": sha256_hex(leeme), "size": len(leeme)},
                      {"path": PUBLIC_KEY, "sha256": sha256_hex(pem), "size": len(pem)}],
    }
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
                      + "\n").encode("utf-8")
    signature = key.sign(MANIFEST_SIGNING_PREFIX + manifest_bytes)
    return [(README, leeme), (MANIFEST, manifest_bytes), (SIGNATURE, f"{signature}\n".encode()),
            (PUBLIC_KEY, pem), (LOG, log)]


# --------------------------------------------------------------------------------------
# Checking a bundle
# --------------------------------------------------------------------------------------


def _finding(kind: str, message: str, **where: Any) -> Finding:
    return Finding(kind, message, **where)


def check_bundle(path: Path, *, public_key: Path | None = None) -> BundleCheck:
    """Check an evidence bundle with nothing but itself (see the module text).

    ``public_key``: the PEM file the organisation published; without it the bundle's
    own key is used, and only its fingerprint tells whose it is. Raises
    :class:`~vigilancia.errors.UnreadableFileError` when ``path`` cannot be opened and
    :class:`~vigilancia.errors.InputError` for a ``public_key`` that is not one.
    """
    path = Path(path)
    given = None
    if public_key is not None:
        try:
            data = Path(public_key).read_bytes()
        except OSError as exc:
            raise InputError(_("the public key file cannot be read"), source=str(public_key),
                             inputs="key") from exc
        given = public_hex_from_pem(data, str(public_key))
    findings: list[Finding] = []
    empty = BundleCheck(path, None, 0, 0, None, None, None, given is not None, ())
    try:
        members = read_bundle(path)
    except DataFormatError as exc:
        return _with(empty, [_finding("bundle_damaged", exc.message)])
    try:
        manifest_bytes = members[MANIFEST]
        manifest = json.loads(manifest_bytes)
        key_hex = str(manifest["key"]["public_key"])
        head = manifest["head"]
        listed = [*manifest["files"], *manifest["documents"], manifest["log"]]
        if manifest.get("format") != BUNDLE_FORMAT or not all(
                isinstance(item, Mapping) for item in listed):
            raise ValueError(manifest.get("format"))
    except (KeyError, ValueError, TypeError):
        return _with(empty, [_finding("manifest_unreadable", _(
            "the bundle has no readable manifest ({name}): it is not a vigilancia evidence "
            "bundle, or it was changed", name=MANIFEST))])
    key_id = fingerprint(key_hex)[:16] if _is_key(key_hex) else None
    result = BundleCheck(path, str(manifest.get("case")), len(manifest["files"]), 0, head,
                         key_id, fingerprint(key_hex) if key_id else None, given is not None, ())
    # whose key, and the manifest's signature
    if given is not None and given != key_hex:
        findings.append(_finding("foreign_key", _(
            "the bundle is signed with another key ({found}) than the one given ({given})",
            found=key_id or "?", given=fingerprint(given)[:16])))
    signature = members.get(SIGNATURE, b"").decode("ascii", "replace").strip()
    if key_id is None or not verify(key_hex, MANIFEST_SIGNING_PREFIX + manifest_bytes,
                                    signature):
        findings.append(_finding("manifest_signature", _(
            "the manifest's signature is bad: the manifest was changed, or not signed with "
            "the key it names")))
    pem = members.get(PUBLIC_KEY)
    try:
        same_pem = pem is not None and public_hex_from_pem(pem, PUBLIC_KEY) == key_hex
    except InputError:
        same_pem = False
    if not same_pem:
        findings.append(_finding("public_key", _(
            "{name} is not the key the manifest names", name=PUBLIC_KEY), path=PUBLIC_KEY))
    # every member, as listed
    names = {str(item.get("path")) for item in listed}
    for item in listed:
        name = str(item.get("path"))
        member = members.get(name)
        if member is None:
            findings.append(_finding("file_missing", _(
                "{path}: missing from the bundle", path=name), path=name))
        elif sha256_hex(member) != item.get("sha256") or len(member) != item.get("size"):
            findings.append(_finding("file_altered", _(
                "{path}: altered: its SHA-256 is {found}, the manifest says {sha}",
                path=name, found=sha256_hex(member), sha=item.get("sha256")), path=name))
    for name in sorted(set(members) - names - {MANIFEST, SIGNATURE}):
        findings.append(_finding("file_extra", _(
            "{path}: extra file: the manifest does not list it", path=name), path=name))
    # the log
    entries, log_findings = _check_log(members.get(LOG, b""), key_hex, head, manifest)
    findings += log_findings
    return _with(result, findings, entries=len(entries))


def _is_key(value: str) -> bool:
    try:
        return len(bytes.fromhex(value)) == 32
    except ValueError:
        return False


def _with(result: BundleCheck, findings: Sequence[Finding], *, entries: int = 0) -> BundleCheck:
    return BundleCheck(result.path, result.case, result.files, entries, result.head,
                       result.key_id, result.fingerprint, result.key_given, tuple(findings))


def _check_log(
    data: bytes, key_hex: str, head: Any, manifest: Mapping[str, Any]
) -> tuple[list[CustodyEntry], list[Finding]]:
    """Each entry's hash and signature, the links of consecutive entries, the head, and
    the export entry naming exactly the bundle's files."""
    findings: list[Finding] = []
    entries: list[CustodyEntry] = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        try:
            entries.append(entry_from_dict(json.loads(line)))
        except (KeyError, ValueError, TypeError):
            findings.append(_finding("entry_unreadable", _(
                "{log}, line {n}: not a custody entry", log=LOG, n=n)))
    own_id = fingerprint(key_hex)[:16] if _is_key(key_hex) else None
    for e in entries:
        if entry_hash(e.content()) != e.entry_hash:
            findings.append(_finding("entry_altered", _(
                "entry {seq}: altered: its content no longer matches its hash", seq=e.seq),
                seq=e.seq))
        elif e.key_id != own_id:
            findings.append(_finding("foreign_key", _(
                "entry {seq}: signed with another key ({key}), not the workspace's",
                seq=e.seq, key=e.key_id), seq=e.seq))
        elif not verify(key_hex, e.signed_bytes(), e.signature):
            findings.append(_finding("bad_signature", _(
                "entry {seq}: bad signature: the workspace key did not sign it "
                "(re-signed with another key, or forged)", seq=e.seq), seq=e.seq))
    for before, after in zip(entries, entries[1:], strict=False):
        if after.seq <= before.seq:
            findings.append(_finding("entry_reordered", _(
                "entry {seq}: out of order (after entry {before})", seq=after.seq,
                before=before.seq), seq=after.seq))
        elif after.seq == before.seq + 1 and after.prev_hash != before.entry_hash:
            findings.append(_finding("broken_link", _(
                "entry {seq}: does not follow entry {before}: the chain is broken",
                seq=after.seq, before=before.seq), seq=after.seq))
    last = entries[-1] if entries else None
    if not isinstance(head, Mapping) or last is None \
            or (last.seq, last.entry_hash) != (head.get("seq"), head.get("hash")):
        findings.append(_finding("head_mismatch", _(
            "the log of the bundle does not end at the head its manifest names")))
    elif last.action != CustodyAction.EXPORT or last.case_id != manifest.get("case_id") \
            or sorted(last.sha256s) != sorted(str(f.get("sha256")) for f in manifest["files"]):
        findings.append(_finding("export_entry", _(
            "the export entry {seq} does not name exactly the files of the bundle",
            seq=last.seq), seq=last.seq))
    # every file has the entry that took it in (or made it, for a copy)
    known: set[str] = set()
    for e in entries:
        if e.action in (CustodyAction.INTAKE, CustodyAction.DERIVED):
            known.update(e.sha256s)
    for f in manifest["files"]:
        if str(f.get("sha256")) not in known:
            findings.append(_finding("file_unlogged", _(
                "{path}: no intake entry in the log of the bundle", path=f.get("path")),
                path=str(f.get("path"))))
    return entries, findings
