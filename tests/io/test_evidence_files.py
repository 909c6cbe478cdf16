"""Evidence files on disk: copies without metadata, bundles where every byte counts, and
the signing key kept owner-only."""

from __future__ import annotations

import io
import os
from pathlib import Path, PurePosixPath

import pytest
from field_samples import dji_xmp, write_jpeg
from PIL import Image

from vigilancia.errors import DataFormatError, NotFoundError, StoreError, UnreadableFileError
from vigilancia.io.bundle import read_bundle, read_bundle_from, write_bundle
from vigilancia.io.evidence import hash_files, keep_bytes, list_files, render_copy
from vigilancia.io.signing import load_signing_key, public_hex_from_pem, public_pem, verify


def test_a_copy_is_upright_and_carries_nothing_but_pixels(tmp_path):
    photo = write_jpeg(tmp_path / "p.jpg", size=(120, 80), make="DJI", model="FC6310",
                       xmp=dji_xmp())
    # the camera held sideways: EXIF orientation 6 (turn 90 degrees clockwise to show)
    with Image.open(photo) as im:
        exif = im.getexif()
        exif[0x0112] = 6
        buf = io.BytesIO()
        im.save(buf, "JPEG", exif=exif.tobytes(), xmp=dji_xmp(), icc_profile=b"\0" * 128)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        assert im.getexif().get_ifd(0x8825)  # the original has its GPS position
    assert b"drone-dji" in data and b"FC6310" in data and b"ICC_PROFILE" in data
    copy = render_copy(data, max_px=None)
    assert (copy.width, copy.height) == (80, 120)  # upright
    for marker in (b"Exif", b"drone-dji", b"xmpmeta", b"FC6310", b"ICC_PROFILE"):
        assert marker not in copy.data
    small = render_copy(data, max_px=60)
    assert (small.width, small.height) == (40, 60)
    assert render_copy(data, max_px=60).data == small.data  # the same copy every time


def test_transparent_pictures_are_flattened_and_other_files_refused(tmp_path, english):
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(buf, "PNG")
    copy = render_copy(buf.getvalue(), max_px=None)
    with Image.open(io.BytesIO(copy.data)) as im:
        assert im.mode == "RGB" and im.getpixel((5, 5))[0] > 240
    with pytest.raises(DataFormatError, match="not a picture"):
        render_copy(b"<gpx></gpx>", max_px=None, source="ruta.gpx")


def test_keep_bytes_never_overwrites_and_lists_every_file(tmp_path, english):
    rel = PurePosixPath("derivados/ab/abc.jpg")
    keep_bytes(tmp_path, rel, b"hola", _sha(b"hola"))
    assert (tmp_path / rel).stat().st_mode & 0o777 == 0o400
    keep_bytes(tmp_path, rel, b"hola", _sha(b"hola"))  # there already: nothing to do
    with pytest.raises(StoreError, match="does not match"):
        keep_bytes(tmp_path, rel, b"otra", _sha(b"otra"))
    assert (tmp_path / rel).read_bytes() == b"hola"
    (tmp_path / "derivados" / "ab" / ".oculto").write_bytes(b"x")
    (tmp_path / "derivados" / "enlace").symlink_to(tmp_path)
    assert list_files(tmp_path, "derivados") == [
        "derivados/ab/.oculto", "derivados/ab/abc.jpg", "derivados/enlace"]
    assert list_files(tmp_path, "nada") == []
    assert hash_files(tmp_path, ["derivados/ab/abc.jpg", "derivados/no"], workers=2) == {
        "derivados/ab/abc.jpg": _sha(b"hola"), "derivados/no": None}


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_every_byte_of_a_bundle_counts(tmp_path):
    members = [("LEEME.txt", "léeme ñ".encode() * 5), ("manifiesto.json", b"{}"),
               ("archivos/a.jpg", bytes(range(256)) * 2), ("vacio.txt", b"")]
    path = tmp_path / "b.zip"
    source = tmp_path / "grande.bin"
    source.write_bytes(os.urandom(1500))
    write_bundle(path, [*members, ("archivos/b.bin", source)])
    assert read_bundle(path) == dict(members) | {"archivos/b.bin": source.read_bytes()}
    data = path.read_bytes()
    undetected = []
    for i in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            b = bytearray(data)
            b[i] ^= flip
            try:
                got = read_bundle_from(io.BytesIO(b), len(b), "c.zip")
            except DataFormatError:
                continue
            undetected.append((i, flip, got == read_bundle(path)))
    assert undetected == []
    # a byte more or less, or nothing at all
    for broken in (data + b"\0", data[:-1], b"\0" + data, b""):
        with pytest.raises(DataFormatError):
            read_bundle_from(io.BytesIO(broken), len(broken), "c.zip")
    with pytest.raises(UnreadableFileError):
        read_bundle(tmp_path / "no.zip")


def test_the_signing_key_is_created_owner_only_and_never_loosely(tmp_path, english):
    path = tmp_path / "custodia" / "clave.pem"
    with pytest.raises(NotFoundError):
        load_signing_key(path, create=False)
    key = load_signing_key(path, create=True)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert load_signing_key(path, create=True).key_id == key.key_id  # never replaced
    assert public_hex_from_pem(public_pem(key.public_hex), "k.pem") == key.public_hex
    assert verify(key.public_hex, b"x", key.sign(b"x"))
    assert not verify(key.public_hex, b"x", "00" * 64) and not verify(key.public_hex, b"x", "zz")
    os.chmod(path, 0o640)
    with pytest.raises(StoreError, match="owner-only"):
        load_signing_key(path, create=False)
    bad = tmp_path / "mala.pem"
    bad.write_bytes(b"-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n")
    os.chmod(bad, 0o600)
    with pytest.raises(UnreadableFileError):
        load_signing_key(bad, create=False)
    with pytest.raises(Exception, match="not a PEM public key"):
        public_hex_from_pem(b"hola", "k.pem")


def test_two_processes_creating_the_key_get_the_same_one(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "clave.pem"
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _i: load_signing_key(path, create=True).key_id, range(16)))
    assert len(ids) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["clave.pem"]


def test_no_key_file_is_left_half_written(tmp_path, monkeypatch, english):
    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", fail)
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(StoreError, match="could not be created"):
        load_signing_key(tmp_path / "clave.pem", create=True)
    assert list(tmp_path.iterdir()) == []
    _ = Path
