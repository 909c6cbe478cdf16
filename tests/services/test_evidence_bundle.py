"""Derived copies of photos and a case's self-verifying evidence bundle, on SQLite and
PostgreSQL: the copies carry no metadata and leave the originals untouched; a bundle
checks on another computer with no workspace, and fails when any of its bytes changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from evidence_samples import SETTINGS, findings, workspace_with_evidence
from field_samples import dji_xmp, write_jpeg
from PIL import Image
from typer.testing import CliRunner

from vigilancia.cli import app
from vigilancia.errors import ConflictError, StoreError
from vigilancia.i18n import set_language
from vigilancia.io.bundle import write_bundle
from vigilancia.services.custody import case_custody, chain_head
from vigilancia.services.derived import CopyKind, derive_copies
from vigilancia.services.evidence_bundle import check_bundle, export_case
from vigilancia.services.field import import_field


@pytest.fixture
def workspace(store_factory, tmp_path: Path):
    yield from workspace_with_evidence(store_factory, tmp_path)


def flat(text: str) -> str:
    """Text without its white space: what a terminal shows, however narrow."""
    return "".join(text.split())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kept(store, name: str):
    return next(f for f in store.field_files.list() if f.name == name)


# ------------------------------------------------------------------------ derived copies


def test_copies_carry_no_metadata_and_leave_the_originals_untouched(workspace, tmp_path):
    store = workspace
    drone = write_jpeg(tmp_path / "DJI_0001.JPG", lat=-9.4612, lon=-74.9592, size=(900, 600),
                       make="DJI", model="FC6310", xmp=dji_xmp(relative_altitude=80.0))
    import_field(store, SETTINGS, [drone], actor="coordinadora")
    before = {f.stored_path: (store.dir / f.stored_path).read_bytes()
              for f in store.field_files.list()}
    head = chain_head(store)

    stripped = derive_copies(store, SETTINGS, kind=CopyKind.STRIPPED, actor="coordinadora")
    resized = derive_copies(store, SETTINGS, kind="resized", max_px=300, actor="coordinadora")
    assert stripped.made == 3 and resized.made == 3 and not stripped.skipped
    by_name = {c.name: c for c in stripped.copies}
    assert set(by_name) == {"media/v1.jpg", "IMG_0002.jpg", "DJI_0001.JPG"}
    for copy in stripped.copies + resized.copies:
        data = (store.dir / copy.stored_path).read_bytes()
        assert sha(data) == copy.sha256 and copy.stored_path.startswith("derivados/")
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "JPEG"
            assert not im.getexif() and "xmp" not in im.info and "icc_profile" not in im.info
            assert (im.width, im.height) == (copy.width, copy.height)
        for marker in (b"Exif", b"drone-dji", b"xmpmeta", b"DJI", b"FC6310", b"motorola"):
            assert marker not in data, (copy.name, marker)
        assert (store.dir / copy.stored_path).stat().st_mode & 0o777 == 0o400
    assert (by_name["DJI_0001.JPG"].width, by_name["DJI_0001.JPG"].height) == (900, 600)
    assert {(c.name, c.width, c.height) for c in resized.copies} >= {("DJI_0001.JPG", 300, 200)}
    # originals: the same bytes, still read-only
    after = {f.stored_path: (store.dir / f.stored_path).read_bytes()
             for f in store.field_files.list()}
    assert after == before
    # one derived entry per copy, naming the original first, then the copy
    entries = [e for e in store.custody.iter_all() if e.seq > head.seq]
    assert [e.action for e in entries] == ["derived"] * 6
    drone_sha = kept(store, "DJI_0001.JPG").sha256
    assert (drone_sha, by_name["DJI_0001.JPG"].sha256) in {e.sha256s for e in entries}
    assert {e.case_id for e in entries if e.sha256s[0] == kept(store, "media/v1.jpg").sha256} \
        == {1}
    # asked again: the same copies, nothing new
    again = derive_copies(store, SETTINGS, kind=CopyKind.STRIPPED, actor="coordinadora")
    assert again.made == 0 and [c.sha256 for c in again.copies] == [
        c.sha256 for c in stripped.copies]
    assert store.custody.count() == head.seq + 6
    assert findings(store) == []
    # a copy that goes missing is named like any kept file
    gone = by_name["IMG_0002.jpg"].stored_path
    (store.dir / gone).unlink()
    assert findings(store) == [("file_missing", gone)]


def test_no_copy_is_made_of_an_altered_original(workspace):
    store = workspace
    photo = kept(store, "IMG_0002.jpg")
    path = store.dir / photo.stored_path
    os.chmod(path, 0o600)
    path.write_bytes(path.read_bytes() + b"x")
    res = derive_copies(store, SETTINGS, kind="stripped", case="C-0002", actor="ana")
    assert res.copies == () and [s.name for s in res.skipped] == ["IMG_0002.jpg"]
    assert "no longer matches" in res.skipped[0].message


def test_derive_cli(workspace, store_factory):
    store = workspace
    store.close()
    set_language("es")
    out = CliRunner().invoke(app, ["evidence", "derive", str(store.dir), "--case", "C-0001",
                                   "--kind", "stripped", "--by", "ana"],
                             env=store_factory.env(store.dir) | {"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert flat("1 copia hecha (0 hechas antes)") in flat(out.output)
    bad = CliRunner().invoke(app, ["evidence", "derive", str(store.dir), "--kind", "thumb"],
                             env=store_factory.env(store.dir))
    assert bad.exit_code == 2 and "--kind" in bad.output


# ------------------------------------------------------------------------ bundles


def test_a_bundle_checks_elsewhere_and_fails_when_any_byte_changes(
        workspace, store_factory, tmp_path, monkeypatch):
    store = workspace
    out = tmp_path / "salida" / "C-0001.zip"
    out.parent.mkdir()
    res = export_case(store, SETTINGS, "C-0001", out, actor="coordinadora",
                      reason="denuncia ante la FEMA")
    assert res.case == "C-0001" and res.files == 2
    head = chain_head(store)
    assert (res.head.seq, res.head.hash) == (head.seq, head.hash)
    export = list(store.custody.iter_all())[-1]
    assert export.action == "export" and export.reason == "denuncia ante la FEMA"
    assert sorted(export.sha256s) == sorted(
        [kept(store, "media/v1.jpg").sha256,
         kept(store, "vigilancia_visita_verificacion.csv").sha256])
    assert res.entries == len(case_custody(store, 1)) == 3
    assert out.stat().st_mode & 0o777 == 0o600
    # what it holds
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifiesto.json"))
        leeme = zf.read("LEEME.txt").decode("utf-8")
        photo = zf.read(f"archivos/{kept(store, 'media/v1.jpg').sha256}.jpg")
    assert names[:5] == ["LEEME.txt", "manifiesto.json", "manifiesto.sig", "clave_publica.pem",
                         "custodia.jsonl"]
    assert photo == (store.dir / kept(store, "media/v1.jpg").stored_path).read_bytes()
    assert manifest["head"] == {"seq": head.seq, "hash": head.hash}
    assert manifest["case"] == "C-0001" and len(manifest["files"]) == 2
    assert "Cómo verificarlo" in leeme and res.fingerprint in leeme and head.hash in leeme
    store.close()

    # another computer: a folder with only the bundle, no workspace, no settings
    elsewhere = tmp_path / "otra_computadora"
    elsewhere.mkdir()
    bundle = Path(shutil.copy(out, elsewhere / "paquete.zip"))
    monkeypatch.chdir(elsewhere)
    set_language("es")
    ok = CliRunner().invoke(app, ["evidence", "check", "paquete.zip"],
                            env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    assert "0 hallazgos" in ok.output and res.fingerprint in flat(ok.output)
    assert flat("Caso C-0001: 2 archivos, 3 entradas del registro") in flat(ok.output)
    # with the key the organisation published
    pem = elsewhere / "clave.pem"
    with zipfile.ZipFile(bundle) as zf:
        pem.write_bytes(zf.read("clave_publica.pem"))
    assert check_bundle(bundle, public_key=pem).findings == ()
    other = elsewhere / "otra.pem"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert [f.kind for f in check_bundle(bundle, public_key=other).findings] == ["foreign_key"]

    # every byte counts: change one, anywhere, and the check fails (one byte in 23, and
    # the end record; every byte of a small bundle: tests/io/test_evidence_files.py)
    data = bundle.read_bytes()
    changed = elsewhere / "cambiado.zip"
    passed = []
    for i in sorted({*range(0, len(data), 23), *range(len(data) - 22, len(data))}):
        b = bytearray(data)
        b[i] ^= 0x01
        changed.write_bytes(bytes(b))
        if check_bundle(changed).exit_code == 0:
            passed.append(i)
    assert passed == []
    bad = CliRunner().invoke(app, ["evidence", "check", "cambiado.zip"], env={"COLUMNS": "200"})
    assert bad.exit_code == 1 and "1 hallazgo" in bad.output


def test_a_rebuilt_bundle_is_named(workspace, tmp_path):
    """Someone changes a photo inside the bundle and rebuilds the ZIP cleanly: the manifest
    no longer matches; and re-writing the manifest breaks its signature. (A ZIP rebuilt
    with another tool is damaged already: see the byte test.)"""
    store = workspace
    out = tmp_path / "C-0001.zip"
    export_case(store, SETTINGS, "C-0001", out, actor="coordinadora")
    with zipfile.ZipFile(out) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    photo = next(n for n in members if n.endswith(".jpg"))
    members[photo] = members[photo][:-10] + b"0123456789"
    rebuilt = tmp_path / "rehecho.zip"
    write_bundle(rebuilt, list(members.items()))  # (the way vigilancia writes one)
    res = check_bundle(rebuilt)
    assert res.exit_code == 1
    assert [(f.kind, f.path) for f in res.findings if f.kind.startswith("file")] == [
        ("file_altered", photo)]
    manifest = json.loads(members["manifiesto.json"])
    manifest["files"] = [f | {"sha256": sha(members[photo]), "size": len(members[photo])}
                         if f["path"] == photo else f for f in manifest["files"]]
    members["manifiesto.json"] = json.dumps(manifest).encode()
    write_bundle(rebuilt, list(members.items()))
    kinds = [f.kind for f in check_bundle(rebuilt).findings]
    assert "manifest_signature" in kinds and "export_entry" in kinds


def test_shareable_bundle_holds_stripped_copies(workspace, tmp_path):
    store = workspace
    out = tmp_path / "compartir.zip"
    res = export_case(store, SETTINGS, "C-0001", out, actor="coordinadora", shareable=True)
    assert res.files == 1  # the photo; the form, with its points and names, stays out
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifiesto.json"))
        kinds = {f["name"]: f["kind"] for f in manifest["files"]}
        photo = next(f for f in manifest["files"] if f["kind"] == "stripped")
        data = zf.read(photo["path"])
    assert kinds == {"media/v1.jpg": "stripped"}
    assert photo["original_sha256"] == kept(store, "media/v1.jpg").sha256
    with Image.open(io.BytesIO(data)) as im:
        assert not im.getexif()
    assert b"Exif" not in data and b"motorola" not in data
    assert check_bundle(out).findings == ()


def test_export_refuses_altered_evidence_and_existing_files(workspace, tmp_path):
    store = workspace
    out = tmp_path / "C-0001.zip"
    out.write_bytes(b"mine")
    with pytest.raises(ConflictError):
        export_case(store, SETTINGS, "C-0001", out, actor="ana")
    assert out.read_bytes() == b"mine"
    photo = store.dir / kept(store, "media/v1.jpg").stored_path
    os.chmod(photo, 0o600)
    photo.write_bytes(b"otra cosa")
    head = chain_head(store)
    with pytest.raises(StoreError, match="no longer match"):
        export_case(store, SETTINGS, "C-0001", tmp_path / "otro.zip", actor="ana")
    assert chain_head(store) == head and not (tmp_path / "otro.zip").exists()


def test_export_cli(workspace, store_factory, tmp_path):
    store = workspace
    store.close()
    set_language("es")
    out = tmp_path / "C-0002.zip"
    res = CliRunner().invoke(app, ["evidence", "export", str(store.dir), "C-0002", "--output",
                                   str(out), "--by", "coordinadora"],
                             env=store_factory.env(store.dir) | {"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert flat(f"Escrito: {out}") in flat(res.output)
    again = CliRunner().invoke(app, ["evidence", "export", str(store.dir), "C-0002", "--output",
                                     str(out)], env=store_factory.env(store.dir))
    assert again.exit_code == 4 and "--overwrite" in again.output
    assert check_bundle(out).findings == ()


def test_the_published_key_checks_the_bundles(workspace, store_factory, tmp_path):
    store = workspace
    out = tmp_path / "C-0001.zip"
    export_case(store, SETTINGS, "C-0001", out, actor="coordinadora")
    store.close()
    set_language("es")
    pem = tmp_path / "clave_publica.pem"
    res = CliRunner().invoke(app, ["evidence", "key", str(store.dir), "--output", str(pem)],
                             env=store_factory.env(store.dir) | {"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out) as zf:
        assert pem.read_bytes() == zf.read("clave_publica.pem")
        fingerprint = json.loads(zf.read("manifiesto.json"))["key"]["fingerprint"]
    assert flat(f"Huella de la clave (SHA-256): {fingerprint}") in flat(res.output)
    assert check_bundle(out, public_key=pem).findings == ()
    pem.write_text("otra cosa")
    again = CliRunner().invoke(app, ["evidence", "key", str(store.dir), "--output", str(pem)],
                               env=store_factory.env(store.dir))
    assert again.exit_code == 4 and pem.read_text() == "otra cosa"
