"""The ZIP of an evidence bundle, written so that every byte of it is checked when read back.

:func:`write_bundle` writes members uncompressed (``ZIP_STORED``: a photo is
compressed already, and every stored byte is then covered by the member's CRC and
by the SHA-256 the manifest names), in the order given, with fixed attributes, no
comments and no data descriptors, under a temporary name renamed into place.

:func:`read_bundle` reads such a ZIP strictly: each member's local header must
repeat its central directory entry field for field, the members must follow each
other with no gap or overlap, the central directory must come right after them,
and the end record right after it, with no comment and no byte beyond. A change of
any byte therefore fails one of these checks, a CRC, or a hash of the manifest,
whose signature covers every file.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "b.zip"
>>> _ = write_bundle(path, [("LEEME.txt", b"hola"), ("archivos/a.bin", b"\\x00\\x01")])
>>> read_bundle(path)
{'LEEME.txt': b'hola', 'archivos/a.bin': b'\\x00\\x01'}
"""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.i18n import _
from vigilancia.io.files import temp_file

__all__ = ["read_bundle", "read_bundle_from", "write_bundle"]

#: Fixed timestamp of every member (the bundle's own time is in its manifest).
_DATE_TIME = (2000, 1, 1, 0, 0, 0)
#: Unix regular file, read-only for everyone who can open the archive.
_EXTERNAL_ATTR = (0o100444 & 0xFFFF) << 16
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
_LOCAL_SIG = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_EOCD_SIG = b"PK\x05\x06"
_EOCD64_LOCATOR_SIG = b"PK\x06\x07"
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record, 56 bytes
_EOCD64_SIG = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory file header, 46 bytes
_CENTRAL_SIG = b"PK\x01\x02"
#: Versions ("made by" and "needed to extract") Python writes: 2.0, or 4.5 with zip64.
_VERSIONS = frozenset({20, 45})


def write_bundle(path: Path, members: Iterable[tuple[str, bytes | Path]]) -> int:
    """Write the bundle ``path`` (replacing it) from ``(name, bytes or file)`` pairs.

    Returns its size in bytes. Raises :class:`UnreadableFileError` when it cannot be
    written (nothing is left half-written).
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        fd, tmp = temp_file(path.parent, label=path.name)
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for name, content in members:
                    info = zipfile.ZipInfo(name, date_time=_DATE_TIME)
                    info.compress_type = zipfile.ZIP_STORED
                    info.create_system = 3
                    info.external_attr = _EXTERNAL_ATTR
                    if isinstance(content, Path):
                        info.file_size = content.stat().st_size
                        with content.open("rb") as src, zf.open(info, "w", force_zip64=(
                                info.file_size > 0x7FFFFFFF)) as dst:
                            while chunk := src.read(1 << 20):
                                dst.write(chunk)
                    else:
                        zf.writestr(info, content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        tmp = None
        return path.stat().st_size
    except OSError as exc:
        raise UnreadableFileError(
            _("{path} could not be written", path=path),
            hint=_("check the folder exists and that you may write there"),
            source=str(path)) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _broken(path: Path, what: str) -> DataFormatError:
    return DataFormatError(
        _("the bundle is damaged or was changed: {what}", what=what),
        hint=_("ask for the bundle again from whoever sent it"),
        source=str(path))


def read_bundle(path: Path) -> dict[str, bytes]:
    """The members of a bundle written by :func:`write_bundle`, by name, in order.

    Raises :class:`UnreadableFileError` when ``path`` is missing or not a ZIP, and
    :class:`DataFormatError` naming the first structural check that fails (see the
    module text) or a member whose CRC does not match.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except OSError as exc:
        raise UnreadableFileError(_("the bundle cannot be opened"),
                                  hint=_("check the path of the file"),
                                  source=str(path)) from exc
    with fh:
        return read_bundle_from(fh, size, str(path))


def read_bundle_from(fh: BinaryIO, size: int, source: str) -> dict[str, bytes]:
    """:func:`read_bundle` of an open, seekable file of ``size`` bytes (``source`` names it
    in errors)."""
    path = Path(source)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError, struct.error, NotImplementedError,
            EOFError) as exc:
        raise _broken(path, _("it is not a readable ZIP archive")) from exc
    with zf:
        infos = zf.infolist()
        _check_layout(path, fh, size, infos)
        out: dict[str, bytes] = {}
        for info in infos:
            if info.filename in out:
                raise _broken(path, _("{name} appears twice", name=info.filename))
            try:
                out[info.filename] = zf.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError,
                    NotImplementedError) as exc:
                raise _broken(path, _("the content of {name} does not match its checksum",
                                      name=info.filename)) from exc
    return out


def _check_layout(path: Path, fh: BinaryIO, size: int, infos: list[zipfile.ZipInfo]) -> None:
    """Every byte of the file belongs to exactly one checked structure (see the module)."""
    offset = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        name = info.filename
        if info.header_offset != offset:
            raise _broken(path, _("the entry of {name} is not where it should be", name=name))
        fh.seek(offset)
        head = fh.read(_LOCAL.size)
        if len(head) != _LOCAL.size:
            raise _broken(path, _("the file is cut short"))
        (sig, version, flags, method, mtime, mdate, crc, csize, usize, nlen,
         elen) = _LOCAL.unpack(head)
        raw_name = fh.read(nlen)
        extra = fh.read(elen)
        zip64 = csize == 0xFFFFFFFF or usize == 0xFFFFFFFF
        expected_name = name.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        checks = [
            sig == _LOCAL_SIG,
            version == info.extract_version and version in _VERSIONS,
            info.create_version == info.extract_version,
            info.create_system == 3,
            flags == info.flag_bits and not flags & 0x08,  # no data descriptor
            method == info.compress_type == zipfile.ZIP_STORED,
            (mdate, mtime) == _dos_time(info.date_time),
            info.date_time == _DATE_TIME,
            crc == info.CRC,
            zip64 or (csize, usize) == (info.compress_size, info.file_size),
            info.compress_size == info.file_size,
            raw_name == expected_name,
            zip64 or extra == info.extra,
            info.external_attr == _EXTERNAL_ATTR,
            info.internal_attr == 0,
            info.volume == 0,
            info.comment == b"",
            info.reserved == 0,
        ]
        if not all(checks):
            raise _broken(path, _("the headers of {name} do not agree", name=name))
        offset += _LOCAL.size + nlen + elen + info.compress_size
    directory = _central_size(path, fh, size, offset, len(infos))
    fh.seek(offset)
    _check_central(path, fh.read(directory), infos)


def _check_central(path: Path, data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """The central directory holds exactly its entries, in order, with the lengths read."""
    pos = 0
    for info in infos:  # in the order of the central directory
        fixed = data[pos:pos + _CENTRAL.size]
        if len(fixed) != _CENTRAL.size:
            raise _broken(path, _("the file is cut short"))
        sig, *_fields, nlen, elen, clen, _disk, _internal, _external, _offset = \
            _CENTRAL.unpack(fixed)
        name = info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        if sig != _CENTRAL_SIG or (nlen, elen, clen) != (len(name), len(info.extra), 0) \
                or data[pos + _CENTRAL.size:pos + _CENTRAL.size + nlen] != name:
            raise _broken(path, _("the headers of {name} do not agree", name=info.filename))
        pos += _CENTRAL.size + nlen + elen + clen
    if pos != len(data):
        raise _broken(path, _("the end of the archive is not where it should be"))


def _central_size(path: Path, fh: BinaryIO, size: int, start: int, count: int) -> int:
    """The central directory's size, after checking that it starts at ``start`` and that
    the end records follow it exactly, to the last byte of the file."""
    if size < _EOCD.size:
        raise _broken(path, _("the file is cut short"))
    fh.seek(size - _EOCD.size)
    (sig, disk, cd_disk, on_disk, total, cd_size, cd_offset,
     comment) = _EOCD.unpack(fh.read(_EOCD.size))
    if sig != _EOCD_SIG or comment != 0:
        raise _broken(path, _("the end of the archive is not where it should be"))
    end = size - _EOCD.size
    locator_at = end - 20
    fh.seek(max(locator_at, 0))
    locator = fh.read(20)
    if locator_at >= 0 and locator[:4] == _EOCD64_LOCATOR_SIG:
        _sig, loc_disk, eocd64_at, disks = struct.unpack("<4sLQL", locator)
        fh.seek(eocd64_at)
        (sig64, rec_size, _made, _need, disk64, cd_disk64, on_disk64, total64, cd_size64,
         cd_offset64) = _EOCD64.unpack(fh.read(_EOCD64.size))
        ok = (sig64 == _EOCD64_SIG and rec_size == _EOCD64.size - 12
              and eocd64_at + _EOCD64.size == locator_at
              and (loc_disk, disks, disk64, cd_disk64) == (0, 1, 0, 0)
              and on_disk64 == total64 == count and cd_offset64 == start
              and start + cd_size64 == eocd64_at)
        if not ok:
            raise _broken(path, _("the end of the archive is not where it should be"))
        return int(cd_size64)
    ok = ((disk, cd_disk) == (0, 0) and on_disk == total == count
          and cd_offset == start and start + cd_size == end)
    if not ok:
        raise _broken(path, _("the end of the archive is not where it should be"))
    return int(cd_size)


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return (y - 1980) << 9 | mo << 5 | d, h << 11 | mi << 5 | s // 2
