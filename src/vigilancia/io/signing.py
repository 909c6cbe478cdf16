"""The workspace's Ed25519 signing key: kept owner-only on disk, used through ``cryptography``.

The private key is a PEM file (PKCS #8, unencrypted) that only its owner may read
(mode 0600, in a folder of mode 0700); vigilancia creates it on first use and never
overwrites one. Its public key is 32 bytes, written as hex in the workspace and as
PEM in exported bundles; its id (``key_id``) is the first 16 hex digits of the
SHA-256 of those bytes and its fingerprint the whole SHA-256, which a recipient
compares with the one the organisation published.

>>> import tempfile, pathlib
>>> key = load_signing_key(pathlib.Path(tempfile.mkdtemp()) / "clave.pem", create=True)
>>> sig = key.sign(b"hola")
>>> verify(key.public_hex, b"hola", sig), verify(key.public_hex, b"hola!", sig)
(True, False)
>>> len(key.key_id), key.key_id == key_id(key.public_hex)
(16, True)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from vigilancia.errors import InputError, NotFoundError, StoreError, UnreadableFileError
from vigilancia.i18n import _
from vigilancia.io.files import private_dir, temp_file

__all__ = [
    "SigningKey",
    "fingerprint",
    "key_id",
    "load_signing_key",
    "public_hex_from_pem",
    "public_pem",
    "verify",
]


def key_id(public_hex: str) -> str:
    """The id of a public key (32 bytes as hex): the first 16 hex digits of its SHA-256."""
    return fingerprint(public_hex)[:16]


def fingerprint(public_hex: str) -> str:
    """The fingerprint of a public key: the SHA-256 of its 32 bytes (hex)."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()


def verify(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """Whether ``signature_hex`` is the signature of ``message`` by that public key."""
    try:
        _public_key(public_hex).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=16)
def _public_key(public_hex: str) -> Ed25519PublicKey:
    """The key object of a public key (hex), made once (``ValueError`` for a bad one)."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))


def public_pem(public_hex: str) -> bytes:
    """A public key (hex) as a PEM ``PUBLIC KEY`` block (SubjectPublicKeyInfo)."""
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def public_hex_from_pem(data: bytes, source: str) -> str:
    """The public key (hex) of a PEM ``PUBLIC KEY`` block; :class:`InputError` for anything
    else (another algorithm, a damaged file)."""
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(_("the file is not a PEM public key"),
                         hint=_("give the public key the organisation published (.pem)"),
                         source=source) from exc
    if not isinstance(public, Ed25519PublicKey):
        raise InputError(_("the public key is not an Ed25519 key"),
                         hint=_("give the public key the organisation published (.pem)"),
                         source=source)
    return public.public_bytes(serialization.Encoding.Raw,
                               serialization.PublicFormat.Raw).hex()


@dataclass(frozen=True)
class SigningKey:
    """A private signing key and the file it came from."""

    path: Path
    private: Ed25519PrivateKey

    @property
    def public_hex(self) -> str:
        """The public key's 32 bytes, as hex."""
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        return raw.hex()

    @property
    def key_id(self) -> str:
        """The public key's id (:func:`key_id`)."""
        return key_id(self.public_hex)

    def sign(self, message: bytes) -> str:
        """The Ed25519 signature of ``message``, as hex (128 digits)."""
        return self.private.sign(message).hex()


def load_signing_key(path: Path, *, create: bool) -> SigningKey:
    """The signing key in ``path``; with ``create``, a new one when there is none.

    A new key is written owner-only (0600; its folder, when vigilancia makes it,
    0700), claimed atomically (two processes never both write one). Raises
    :class:`NotFoundError` when the file is missing (and ``create`` is false),
    :class:`StoreError` when others may read it or it cannot be written, and
    :class:`UnreadableFileError` when it is not an Ed25519 private key.
    """
    path = Path(path).expanduser()
    if not path.exists():
        if not create:
            raise NotFoundError(
                _("the signing key of the workspace was not found"),
                hint=_("set VIGILANCIA_SIGNING_KEY to the file of the workspace's key "
                       "(it may be on a USB stick)"),
                source=str(path))
        _write_new(path)
    _check_private(path)
    try:
        data = path.read_bytes()
        private = serialization.load_pem_private_key(data, password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise UnreadableFileError(
            _("the signing key cannot be read: it is damaged, protected by a password "
              "or not a PEM private key"),
            hint=_("give the workspace's own key file, unprotected and owner-only"),
            source=str(path)) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise UnreadableFileError(
            _("the signing key is not an Ed25519 key"),
            hint=_("give the workspace's own key file, unprotected and owner-only"),
            source=str(path))
    return SigningKey(path, private)


def _check_private(path: Path) -> None:
    """Refuse a key file that others may read (POSIX only)."""
    if os.name != "posix":
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StoreError(
            _("others may read the signing key (mode {mode}): it must be owner-only",
              mode=f"{stat.S_IMODE(mode):04o}"),
            hint=_("make the file readable by its owner only (chmod 600), and check "
                   "that nobody copied it"),
            source=str(path))


def _write_new(path: Path) -> None:
    """Write a new key under a temporary name, then link it into place: a reader never
    sees half a key, and when two processes race the first link wins."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        if not path.parent.exists():
            private_dir(path.parent)
        fd, tmp = temp_file(path.parent, label=path.name)  # (owner-only, 0600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process made it first: use that one
            except OSError:  # a file system without hard links (FAT on a USB stick)
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    except OSError as exc:
        raise StoreError(
            _("the signing key could not be created: {reason}",
              reason=exc.strerror or type(exc).__name__),
            hint=_("check that the folder exists and that you may write there"),
            source=str(path)) from exc
