"""Benchmark: custody of evidence, against the unavoidable work measured in the same run.

    .venv/bin/python bench/evidence_verify.py                    # 300 photos of 1 MB, 10000 entries
    .venv/bin/python bench/evidence_verify.py --photos 50 --entries 2000   # quick

Workload (seeded, cached in ``OUT/photos_v1_<n>_<kb>_s<seed>/``): ``--photos`` JPEG
photos of about ``--photo-kb`` KB each (noise, so they do not compress), with EXIF
GPS and time, imported into a fresh workspace with ``field import`` (each kept file
gets a signed intake entry in the import's transaction); then ``--entries`` report
entries appended in one transaction (``record_custody``), so that the log is long.

Measured, in the same run:

1. ``files_reference_s``: SHA-256 of every kept file with hashlib, 1 MiB chunks, one
   thread, best of 2 (the files are then in the page cache, as for verify);
2. ``chain_reference_s``: for every entry, SHA-256 of its canonical bytes and one
   Ed25519 signature check (``cryptography``): the work a check cannot skip;
3. ``verify_s``: ``verify_evidence`` on the workspace (files with
   ``VIGILANCIA_WORKERS`` threads, and the whole log), best of 2; ``verify_files_s``
   and ``verify_chain_s`` split it (timed from its progress stages);
4. ``import_s`` and ``append_s``: the field import of the photos (with its intake
   entries), and appending the report entries (``append_entries_s`` per second).

Ratios: ``files_ratio = verify_files_s / files_reference_s`` and
``chain_ratio = verify_chain_s / chain_reference_s`` (1.0 = no overhead beyond the
unavoidable work; files below 1 when threads help). Output: a table and
``OUT/evidence_verify.json`` (with the machine).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

GENERATOR_VERSION = 1


def write_photos(folder: Path, n: int, kb: int, seed: int) -> list[Path]:
    """``n`` JPEG photos of about ``kb`` KB of noise, with EXIF GPS and time (cached)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / ".complete"
    paths = [folder / f"IMG_{i:05d}.jpg" for i in range(n)]
    if done.exists():
        return paths
    rng = np.random.default_rng(seed)
    side = max(64, int((kb * 1024 / 0.9) ** 0.5))  # RGB noise at quality 90: ~0.9 bytes/px
    for i, path in enumerate(paths):
        pixels = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
        im = Image.fromarray(pixels, "RGB")
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "motorola", "moto g04"
        exif[0x8769] = {0x9003: f"2024:05:{1 + i % 28:02d} 10:00:00", 0x9011: "-05:00"}
        lat, lon = -9.4 - (i % 100) * 0.001, -74.9 - (i // 100) * 0.001
        exif[0x8825] = {1: "S", 2: _dms(-lat), 3: "W", 4: _dms(-lon)}
        im.save(path, "JPEG", quality=90, exif=exif.tobytes())
    done.write_text("ok")
    return paths


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return (float(d), float(m), round(((value - d) * 60 - m) * 60, 4))


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--photo-kb", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from vigilancia.config import Settings
    from vigilancia.domain.evidence import CustodyAction
    from vigilancia.io.store import WorkspaceStore
    from vigilancia.services.custody import record_custody
    from vigilancia.services.evidence import verify_evidence
    from vigilancia.services.field import import_field

    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / (f"photos_v{GENERATOR_VERSION}_{args.photos}_{args.photo_kb}"
                        f"_s{args.seed}")
    photos = write_photos(cache, args.photos, args.photo_kb, args.seed)
    settings = Settings()
    result: dict = {
        "photos": args.photos, "photo_kb": args.photo_kb, "entries_added": args.entries,
        "workers": settings.workers,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
    }
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        store = WorkspaceStore.create(Path(tmp) / "ws", name="bench")
        t = time.perf_counter()
        res = import_field(store, settings, photos, actor="bench")
        result["import_s"] = time.perf_counter() - t
        result["files"] = res.files_kept
        t = time.perf_counter()
        with store.transaction() as conn:
            for i in range(args.entries):
                record_custody(store, conn, action=CustodyAction.REPORT, actor="bench",
                               reason=f"informe {i}", sha256s=(f"{i:064x}",),
                               settings=settings)
        result["append_s"] = time.perf_counter() - t
        result["append_entries_s"] = args.entries / result["append_s"]

        kept = [store.dir / f.stored_path for f in store.field_files.list()]
        result["bytes"] = sum(p.stat().st_size for p in kept)
        refs = []
        for _round in range(2):
            t = time.perf_counter()
            for p in kept:
                _sha_file(p)
            refs.append(time.perf_counter() - t)
        result["files_reference_s"] = min(refs)

        entries = list(store.custody.iter_all())
        keys = {k.key_id: Ed25519PublicKey.from_public_bytes(bytes.fromhex(k.public_key))
                for k in store.custody.public_keys()}
        t = time.perf_counter()
        for e in entries:
            data = e.signed_bytes()
            hashlib.sha256(data).hexdigest()
            keys[e.key_id].verify(bytes.fromhex(e.signature), data)
        result["chain_reference_s"] = time.perf_counter() - t
        result["entries"] = len(entries)

        best = None
        for _round in range(2):
            marks: dict[str, float] = {}

            def tick(stage: str, done: int, total: int | None, marks=marks) -> None:
                now = time.perf_counter()
                marks.setdefault(f"{stage}:start", now)
                marks[f"{stage}:end"] = now

            t = time.perf_counter()
            found = verify_evidence(store, settings, actor="bench", progress=tick)
            total = time.perf_counter() - t
            assert not found.findings, found.findings
            run = {
                "verify_s": total,
                "verify_files_s": marks["Checking evidence files:end"]
                - marks["Checking evidence files:start"],
                "verify_chain_s": marks["Checking the custody log:end"]
                - marks["Reading the custody log:start"],
            }
            if best is None or run["verify_s"] < best["verify_s"]:
                best = run
        assert best is not None
        result.update(best)
        store.close()
    result["files_mb_s"] = result["bytes"] / 1e6 / result["verify_files_s"]
    result["files_ratio"] = result["verify_files_s"] / result["files_reference_s"]
    result["chain_entries_s"] = result["entries"] / result["verify_chain_s"]
    result["chain_ratio"] = result["verify_chain_s"] / result["chain_reference_s"]
    (args.out / "evidence_verify.json").write_text(json.dumps(result, indent=2))
    for key in ("files", "bytes", "entries", "import_s", "append_entries_s",
                "files_reference_s", "verify_files_s", "files_mb_s", "files_ratio",
                "chain_reference_s", "verify_chain_s", "chain_entries_s", "chain_ratio",
                "verify_s"):
        value = result[key]
        print(f"{key:>20}  {value:,.3f}" if isinstance(value, float) else f"{key:>20}  {value:,}")
    return result


if __name__ == "__main__":
    main()
