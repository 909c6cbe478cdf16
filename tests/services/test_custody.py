"""Custody of evidence: intake at field import, the signed chain, tamper tests, handover,
report entries, and two imports at once; on SQLite and PostgreSQL.

The workspace is built through the real services (territories, MapBiomas-style alert
polygons, monitor, open_cases) and the field files are written the way the apps write
them (tests/io/field_samples.py). Tampering goes behind vigilancia's back, the way
someone with the database and the folder would: the append-only triggers are dropped
first, then rows and files are changed directly.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from evidence_samples import (
    SETTINGS,
    build_cases,
    execute,
    field_batch,
    findings,
    rows,
    unguard,
    workspace_with_evidence,
)
from field_samples import write_jpeg
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.config import Settings
from vigilancia.domain.evidence import GENESIS_HASH, CustodyAction, entry_hash, head_message
from vigilancia.errors import ConflictError, InputError, NotFoundError, StoreError
from vigilancia.i18n import set_language
from vigilancia.io.signing import key_id
from vigilancia.services.custody import (
    HEAD_META,
    INITIAL_REASON,
    STARTED_META,
    ChainHead,
    case_custody,
    chain_head,
    record_custody,
    record_handover,
    signing_key_path,
)
from vigilancia.services.evidence import verify_evidence
from vigilancia.services.field import import_field


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    """Two cases and five kept files (ODK zip, its CSV and photo, a photo, a GPX)."""
    yield from workspace_with_evidence(store_factory, tmp_path)


# ------------------------------------------------------------------------------ intake


def test_import_writes_one_signed_intake_entry_per_kept_file(workspace, tmp_path):
    store = workspace
    entries = list(store.custody.iter_all())
    files = {f.sha256: f for f in store.field_files.list()}
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert {e.action for e in entries} == {"intake"}
    assert {e.actor for e in entries} == {"coordinadora"}
    assert sorted(s for e in entries for s in e.sha256s) == sorted(files)
    by_name = {files[e.sha256s[0]].name: e for e in entries}
    # the files a case's records came in, or its photos, name that case; the rest none
    assert by_name["vigilancia_visita_verificacion.csv"].case_id == 1
    assert by_name["media/v1.jpg"].case_id == 1
    assert by_name["IMG_0002.jpg"].case_id == 2
    assert by_name["visitas.zip"].case_id is None and by_name["ruta.gpx"].case_id is None
    assert by_name["media/v1.jpg"].reason == "importación de campo: media/v1.jpg"
    # a chain: each names the hash of the one before, signed by the recorded key
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))
    assert all(e.entry_hash == entry_hash(e.content()) for e in entries)
    (key,) = store.custody.public_keys()
    assert {e.key_id for e in entries} == {key.key_id} and key.key_id == key_id(key.public_key)
    head = chain_head(store)
    assert head == ChainHead(5, entries[-1].entry_hash, entries[-1].at)
    assert store.get_meta(HEAD_META)["hash"] == head.hash
    # the key is owner-only, in an owner-only folder of the workspace
    path = signing_key_path(store, SETTINGS)
    assert path == store.dir / "custodia" / "clave_firma.pem"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    # importing the same files again keeps nothing new and writes nothing
    again = import_field(store, SETTINGS, sorted((tmp_path / "campo").iterdir()), actor="otra")
    assert again.files_kept == 0 and again.files_known == 5
    assert chain_head(store) == head


def test_a_failed_import_writes_no_entry(workspace, tmp_path, monkeypatch):
    store = workspace
    before = chain_head(store)
    import vigilancia.services.field as field_service

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(field_service, "_observation_row", broken)
    more = tmp_path / "otra"
    more.mkdir()
    photo = write_jpeg(more / "IMG_0099.jpg", lat=-9.4612, lon=-74.9592, model="other")
    with pytest.raises(RuntimeError):
        import_field(store, SETTINGS, [photo], actor="coordinadora")
    assert chain_head(store) == before
    assert findings(store) == [("file_extra", f"evidencia/{_sha(photo)[:2]}/{_sha(photo)}.jpg")]


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_log_is_append_only_in_the_database(workspace):
    store = workspace
    for sql in ("UPDATE custody_log SET reason = 'x' WHERE seq = 1",
                "DELETE FROM custody_log WHERE seq = 1",
                "UPDATE custody_keys SET public_key = 'x'",
                "DELETE FROM custody_keys"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            execute(store, sql)
    assert [e.seq for e in rows(store)] == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------------------ verify


def test_a_clean_workspace_has_no_findings(workspace, store_factory):
    store = workspace
    res = verify_evidence(store, SETTINGS, actor="auditora")
    assert res.findings == () and res.exit_code == 0
    assert (res.files, res.entries, res.started) == (5, 5, 0)
    assert res.head == chain_head(store) and res.key_id
    store.close()
    set_language("es")
    out = CliRunner().invoke(app, ["evidence", "verify", str(store.dir)],
                             env=store_factory.env(store.dir) | {"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "0 hallazgos" in out.output
    js = CliRunner().invoke(app, ["evidence", "verify", str(store.dir), "--json"],
                            env=store_factory.env(store.dir))
    data = json.loads(js.stdout)
    assert data["ok"] is True and data["findings"] == [] and data["head"]["seq"] == 5


def flat(text: str) -> str:
    """Text without its white space: what a terminal shows, however narrow."""
    return "".join(text.split())


def _path_of(store, name: str) -> str:
    return next(f.stored_path for f in store.field_files.list() if f.name == name)


def test_flipping_one_byte_of_an_original_is_named(workspace):
    store = workspace
    rel = _path_of(store, "media/v1.jpg")
    path = store.dir / rel
    os.chmod(path, 0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    res = verify_evidence(store, SETTINGS, actor="auditora")
    assert [(f.kind, f.path) for f in res.findings] == [("file_altered", rel)]
    assert res.exit_code == 1
    assert rel in res.findings[0].message and "altered" in res.findings[0].message


def test_a_deleted_file_is_named(workspace):
    store = workspace
    rel = _path_of(store, "IMG_0002.jpg")
    (store.dir / rel).unlink()
    assert findings(store) == [("file_missing", rel)]


def test_a_stray_file_is_named(workspace):
    store = workspace
    stray = store.dir / "evidencia" / "ab" / "foto_de_otro.jpg"
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"\xff\xd8\xff not ours")
    assert findings(store) == [("file_extra", "evidencia/ab/foto_de_otro.jpg")]
    # a temporary copy of an import (running, or killed) is no evidence: a note, not a finding
    stray.unlink()
    (stray.parent / ".vigilancia-tmp-999999-deadbeef.part").write_bytes(b"half a photo")
    res = verify_evidence(store, SETTINGS, actor="auditora")
    assert res.findings == () and "temporary file" in res.notes[0]


def test_a_deleted_log_row_is_named(workspace):
    store = workspace
    unguard(store)
    gone = rows(store)[2]
    execute(store, "DELETE FROM custody_log WHERE seq = 3")
    rel = next(f.stored_path for f in store.field_files.list() if f.sha256 == gone.sha256s[0])
    # the entry is missing, and so the file it took in has lost its intake entry
    assert findings(store) == [("file_unlogged", rel), ("entry_missing", 3)]


def test_deleting_the_last_row_is_named_through_the_recorded_head(workspace):
    store = workspace
    unguard(store)
    gone = rows(store)[4]
    execute(store, "DELETE FROM custody_log WHERE seq = 5")
    rel = next(f.stored_path for f in store.field_files.list() if f.sha256 == gone.sha256s[0])
    assert findings(store) == [("file_unlogged", rel), ("entry_missing", 5)]


def test_two_swapped_log_rows_are_named(workspace):
    store = workspace
    unguard(store)
    execute(store, "UPDATE custody_log SET seq = -2 WHERE seq = 2")
    execute(store, "UPDATE custody_log SET seq = 2 WHERE seq = 4")
    execute(store, "UPDATE custody_log SET seq = 4 WHERE seq = -2")
    res = verify_evidence(store, SETTINGS, actor="auditora")
    assert [(f.kind, f.seq, f.other) for f in res.findings] == [("entry_reordered", 2, 4)]
    assert res.findings[0].message == "entries 2 and 4: swapped places (reordered)"


def test_two_neighbouring_rows_swapped_at_the_end_are_named(workspace):
    store = workspace
    unguard(store)
    execute(store, "UPDATE custody_log SET seq = -4 WHERE seq = 4")
    execute(store, "UPDATE custody_log SET seq = 4 WHERE seq = 5")
    execute(store, "UPDATE custody_log SET seq = 5 WHERE seq = -4")
    res = verify_evidence(store, SETTINGS, actor="auditora")
    assert [(f.kind, f.seq, f.other) for f in res.findings] == [("entry_reordered", 4, 5)]


@pytest.mark.parametrize("column,value", [("reason", "nada que ver"), ("actor", "otra persona"),
                                          ("at", "2023-01-01T00:00:00.000000Z")])
def test_one_edited_field_of_a_row_is_named(workspace, column, value):
    store = workspace
    unguard(store)
    execute(store, f"UPDATE custody_log SET {column} = :v WHERE seq = 3", v=value)  # noqa: S608
    assert findings(store) == [("entry_altered", 3)]


def _resign(store, seq: int, *, keep_key_id: bool) -> None:
    """Change row ``seq``, hash it again and sign it with a key of one's own."""
    unguard(store)
    other = Ed25519PrivateKey.generate()
    raw = other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    entry = rows(store)[seq - 1]
    forged = replace(entry, reason="entregado a nadie",
                     key_id=entry.key_id if keep_key_id else key_id(raw))
    forged = replace(forged, entry_hash=entry_hash(forged.content()))
    forged = replace(forged, signature=other.sign(forged.signed_bytes()).hex())
    execute(store, "UPDATE custody_log SET reason = :r, key_id = :k, entry_hash = :h, "
                   "signature = :s WHERE seq = :seq", r=forged.reason, k=forged.key_id,
            h=forged.entry_hash, s=forged.signature, seq=seq)


def test_a_row_re_signed_with_another_key_is_named(workspace):
    store = workspace
    _resign(store, 3, keep_key_id=False)
    res = verify_evidence(store, SETTINGS, actor="auditora")
    assert [(f.kind, f.seq) for f in res.findings] == [("foreign_key", 3)]
    assert "signed with another key" in res.findings[0].message


def test_a_row_re_signed_under_the_workspace_key_id_is_a_bad_signature(workspace):
    store = workspace
    _resign(store, 3, keep_key_id=True)
    assert findings(store) == [("bad_signature", 3)]


def test_a_replaced_public_key_is_named(workspace):
    """Someone re-signs the whole log with a key of their own and records its public key:
    the chain checks, but the workspace's private key says whose log it was."""
    store = workspace
    unguard(store)
    other = Ed25519PrivateKey.generate()
    raw = other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    prev = GENESIS_HASH
    for entry in rows(store):
        forged = replace(entry, key_id=key_id(raw), prev_hash=prev)
        forged = replace(forged, entry_hash=entry_hash(forged.content()))
        forged = replace(forged, signature=other.sign(forged.signed_bytes()).hex())
        execute(store, "UPDATE custody_log SET key_id = :k, prev_hash = :p, entry_hash = :h, "
                       "signature = :s WHERE seq = :seq", k=forged.key_id, p=forged.prev_hash,
                h=forged.entry_hash, s=forged.signature, seq=forged.seq)
        prev = forged.entry_hash
    execute(store, "DELETE FROM custody_keys")
    execute(store, "INSERT INTO custody_keys (key_id, algorithm, public_key, created_at) "
                   "VALUES (:k, 'ed25519', :p, :t)", k=key_id(raw), p=raw,
            t=datetime.now(UTC))
    with store.transaction() as conn:
        store.set_meta(conn, HEAD_META, {"seq": 5, "hash": prev, "key_id": key_id(raw),
                                         "signature": other.sign(head_message(5, prev)).hex()})
    assert findings(store) == [("key_mismatch", str(signing_key_path(store, SETTINGS)))]


# ------------------------------------------------------------------------ existing workspaces


def test_an_existing_workspace_starts_its_log_once(workspace):
    """Files kept before the log existed get one "registro inicial" entry each, the first
    time, and never again."""
    store = workspace
    unguard(store)
    execute(store, "DELETE FROM custody_log")
    execute(store, "DELETE FROM custody_keys")
    execute(store, "DELETE FROM workspace_meta WHERE key IN (:a, :b)", a=STARTED_META,
            b=HEAD_META)
    signing_key_path(store, SETTINGS).unlink()
    res = verify_evidence(store, SETTINGS, actor="auditora")
    assert res.findings == () and res.started == 5 and res.entries == 5
    entries = list(store.custody.iter_all())
    assert {(e.action, e.reason, e.actor) for e in entries} == {
        ("intake", INITIAL_REASON, "auditora")}
    cases = {store.field_files.list([e.sha256s[0]])[0].name: e.case_id for e in entries}
    assert cases["media/v1.jpg"] == 1 and cases["IMG_0002.jpg"] == 2
    again = verify_evidence(store, SETTINGS, actor="auditora")
    assert again.started == 0 and again.entries == 5 and again.findings == ()
    # a file whose entry is later lost is a finding, never entered again
    unguard(store)
    execute(store, "DELETE FROM custody_log WHERE seq = 5")
    assert [k for k, _w in findings(store)] == ["file_unlogged", "entry_missing"]
    assert store.custody.count() == 4


# ------------------------------------------------------------------------ keys


def test_the_key_can_live_outside_the_workspace(store_factory, tmp_path):
    set_language("en")
    usb = tmp_path / "usb" / "clave.pem"
    settings = Settings(language="en", buffer_km=2.0, signing_key=usb)
    with store_factory.create(tmp_path / "ws", name="F") as store:
        build_cases(store, tmp_path)
        import_field(store, settings, field_batch(tmp_path / "campo"), actor="ana")
        assert usb.stat().st_mode & 0o777 == 0o600
        assert not (store.dir / "custodia").exists()
        assert verify_evidence(store, settings, actor="ana").findings == ()
        # the stick is not plugged in: checking still works, writing is refused
        usb.rename(tmp_path / "guardada.pem")
        res = verify_evidence(store, settings, actor="ana")
        assert res.findings == () and "not at" in res.notes[0]
        with pytest.raises(NotFoundError, match="signing key"):
            record_handover(store, settings, "C-0001", to="Fiscalía", reason="denuncia",
                            actor="ana")
        # another key in its place is refused, not taken
        usb.parent.mkdir(exist_ok=True)
        other = Settings(signing_key=tmp_path / "otra" / "clave.pem")
        from vigilancia.io.signing import load_signing_key

        load_signing_key(other.signing_key, create=True)
        with pytest.raises(ConflictError, match="not the workspace's key"):
            record_handover(store, other, "C-0001", to="Fiscalía", reason="denuncia",
                            actor="ana")
        # a key others may read is refused
        (tmp_path / "guardada.pem").rename(usb)
        os.chmod(usb, 0o644)
        with pytest.raises(StoreError, match="owner-only"):
            record_handover(store, settings, "C-0001", to="Fiscalía", reason="denuncia",
                            actor="ana")
        os.chmod(usb, 0o600)
        assert record_handover(store, settings, "C-0001", to="Fiscalía", reason="denuncia",
                               actor="ana").seq == 6


# ------------------------------------------------------------------------ handover, reports


def test_handover_names_the_case_files_and_the_recipient(workspace, store_factory):
    store = workspace
    entry = record_handover(store, SETTINGS, "C-0001",
                            to="Fiscalía Especializada en Materia Ambiental de Ucayali",
                            reason="denuncia por cultivo ilícito", actor="coordinadora")
    names = {f.sha256: f.name for f in store.field_files.list()}
    assert entry.action == "handover" and entry.case_id == 1 and entry.seq == 6
    assert sorted(names[s] for s in entry.sha256s) == [
        "media/v1.jpg", "vigilancia_visita_verificacion.csv"]
    assert entry.recipient == "Fiscalía Especializada en Materia Ambiental de Ucayali"
    assert entry.to_dict()["case"] == "C-0001"
    with pytest.raises(InputError):
        record_handover(store, SETTINGS, "C-0001", to=" ", reason="x", actor="a")
    with pytest.raises(NotFoundError):
        record_handover(store, SETTINGS, "C-0099", to="Policía", reason="x", actor="a")
    assert findings(store) == []
    store.close()
    set_language("es")
    out = CliRunner().invoke(app, [
        "evidence", "handover", str(store.dir), "C-0002", "--to", "DIRANDRO Pucallpa",
        "--reason", "pedido de información", "--by", "coordinadora"],
        env=store_factory.env(store.dir) | {"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert flat("Entrega del caso C-0002 a DIRANDRO Pucallpa registrada: entrada 7") \
        in flat(out.output)
    log = CliRunner().invoke(app, ["evidence", "log", str(store.dir), "--case", "C-0002"],
                             env=store_factory.env(store.dir) | {"COLUMNS": "200"})
    assert log.exit_code == 0, log.output
    assert "entrega" in log.output and "2 entradas" in log.output
    listed = CliRunner().invoke(app, ["evidence", "log", str(store.dir), "--case", "C-0002",
                                      "--json"], env=store_factory.env(store.dir))
    entries = json.loads(listed.stdout)
    assert [(e["seq"], e["action"], e["case"]) for e in entries] == [
        (4, "intake", "C-0002"), (7, "handover", "C-0002")]  # the photo's intake, the handover
    assert entries[-1]["recipient"] == "DIRANDRO Pucallpa"


def test_reports_record_their_content_hash_and_a_later_rewrite_no_longer_matches(workspace):
    """What the report service does: print the head, record a report entry."""
    store = workspace
    head = chain_head(store)
    content = "ab" * 32
    with store.transaction() as conn:
        entry = record_custody(store, conn, action=CustodyAction.REPORT, actor="coordinadora",
                               reason="informe para la fiscalía", case_id=1,
                               sha256s=(content,), settings=SETTINGS)
    assert entry.seq == head.seq + 1 and entry.prev_hash == head.hash
    assert chain_head(store).hash == entry.entry_hash
    case1 = case_custody(store, 1)
    assert [e.action for e in case1] == ["intake", "intake", "report"]
    assert [e.seq for e in case1] == sorted(e.seq for e in case1)
    assert [e.action for e in case_custody(store, 2)] == ["intake"]
    assert case1[-1].to_dict()["sha256s"] == [content]
    # someone rewrites an old entry and the whole chain after it, keeping it valid-looking:
    # the head a report printed is no longer the log's
    unguard(store)
    execute(store, "UPDATE custody_log SET reason = 'otro' WHERE seq = 1")
    assert chain_head(store).hash == entry.entry_hash  # (the head row itself is untouched)
    assert ("entry_altered", 1) in findings(store)


# ------------------------------------------------------------------------ concurrency


def test_two_imports_at_once_never_fork_the_chain(store_factory, tmp_path):
    """Two processes import different files at the same moment: the writer lock holds
    from the read of the last entry to the commit, so one appends after the other."""
    set_language("en")
    with store_factory.create(tmp_path / "ws", name="F") as store:
        build_cases(store, tmp_path)
    batches = [field_batch(tmp_path / f"campo{i}", tag="-" * (i + 1)) for i in range(2)]
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def run(paths):
        try:
            with store_factory.open(tmp_path / "ws") as own:
                barrier.wait()
                import_field(own, SETTINGS, paths, actor="ana")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with store_factory.open(tmp_path / "ws") as store:
        entries = list(store.custody.iter_all())
        assert len(store.field_files.list()) == 10
        assert [e.seq for e in entries] == list(range(1, 11))
        assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:],
                                                                strict=False))
        assert len(store.custody.public_keys()) == 1
        assert verify_evidence(store, SETTINGS, actor="ana").findings == ()
