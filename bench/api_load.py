"""Load on the web API: 20 concurrent clients, 5,000 mixed requests, SQLite and PostgreSQL.

Run::

    .venv/bin/python bench/api_load.py                                   # 40000², SQLite
    .venv/bin/python bench/api_load.py --postgres-url "$VIGILANCIA_TEST_POSTGRES_URL"
    .venv/bin/python bench/api_load.py --size 10000 --requests 2000      # quick

The workspace is the benchmark's own (``monitor_throughput.py``'s generator: a GFW
tile of SIZE² pixels and 2,000 territories; 40000² gives 689,186 clearings), made once
and cached in ``OUT`` (``vigilancia init``, ``territories import``, ``monitor
--no-classify``, ``cases open``; with ``--postgres-url``, the same in a database
``vigilancia_bench_api_<size>`` of that server). Setup is not timed.

For each backend, in the same run:

1. ``vigilancia serve`` is started on the workspace (a subprocess, one uvicorn process);
   20 client threads log in (one session each) and wait for the map's index; then one
   client alone sends 300 box and tile requests (the time a request takes when nothing
   else runs: ``one_client``);
2. **reference**: each client sends ``GET /api/session`` (session look-up, guard, JSON:
   the floor every request pays), the same number of requests as the mix;
3. **mix**: the 5,000 requests, shuffled, spread over the 20 clients:
   50 % ``GET /api/clearings?bbox=...&limit=100`` (boxes of 0.02-0.3° around random
   clearings), 35 % vector tiles (zooms 5-15 around random clearings), 15 %
   ``PATCH /api/cases/{case}`` with a note carrying a unique token;
4. **lost writes**: every update that was answered 200 must be in its case's history
   (its token is looked up in ``case_events``); ``lost`` counts those that are not.

Reported per backend and request kind: p50, p95 and max latency (ms), requests per
second, errors (any answer but 200/201/204, or no answer) and lost writes, with the
reference's p50 and p95 and the ratio of each to it, and the server's CPU time per
request (from ``/proc``: what the load costs, whatever else runs on the machine). Output:
a table and ``OUT/api_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from monitor_throughput import DEFAULT_SEED, ensure_workload, machine_info  # noqa: E402

USER, PASSWORD = "carga", "clave de la prueba de esfuerzo"
MIX = (("bbox", 0.50), ("tile", 0.35), ("update", 0.15))


def vigilancia(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "vigilancia", *args], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"vigilancia {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def pg_database(admin_url: str, name: str, *, fresh: bool = False) -> str:
    """The URL of database ``name`` on the server of ``admin_url`` (made when missing;
    dropped and made again with ``fresh``)."""
    url = sa.engine.make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        if fresh:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def ensure_workspace(out: Path, size: int, seed: int, backend: str,
                     admin_url: str | None) -> tuple[Path, dict[str, str], dict[str, Any]]:
    """The benchmark workspace of one backend (made once, then reused; a half-made one,
    the benchmark's own, is made again)."""
    tile, territories, _meta = ensure_workload(out, size, seed)
    ws = out / f"api_ws_{backend}_{size}_s{seed}"
    ready = (ws / ".bench-ready.json").exists()
    if not ready and ws.exists():
        shutil.rmtree(ws)
    database_url = None if admin_url is None else pg_database(
        admin_url, f"vigilancia_bench_api_{size}_s{seed}", fresh=not ready)
    env = dict(os.environ)
    env.pop("VIGILANCIA_DATABASE_URL", None)
    if database_url:
        env["VIGILANCIA_DATABASE_URL"] = database_url
    env["VIGILANCIA_LANGUAGE"] = "en"
    done = ws / ".bench-ready.json"
    if done.exists():
        return ws, env, json.loads(done.read_text())
    info: dict[str, Any] = {}
    t0 = time.perf_counter()
    vigilancia("init", str(ws), "--name", f"bench {size}", env=env)
    vigilancia("territories", "import", str(ws), str(territories), "--kind", "community",
               env=env)
    mon = json.loads(vigilancia("monitor", str(ws), "--alerts", str(tile), "--product", "gfw",
                                "--since", "2015-01-01", "--min-confidence", "low",
                                "--no-classify", "--json", env=env))
    info["clearings"] = int(mon.get("clearings") or sum(
        b.get("clearings", 0) for b in mon.get("batches", [])))
    info["monitor_s"] = round(time.perf_counter() - t0, 1)
    t1 = time.perf_counter()
    vigilancia("cases", "open", str(ws), "--since", "2024-07-01", env=env)
    info["cases_open_s"] = round(time.perf_counter() - t1, 1)
    proc = subprocess.run([sys.executable, "-m", "vigilancia", "users", "add", str(ws), USER,
                           "--role", "coordinator", "--password-stdin"], input=PASSWORD + "\n",
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    done.write_text(json.dumps(info))
    return ws, env, info


def facts(ws: Path, env: dict[str, str]) -> dict[str, Any]:
    """Clearing positions and case codes, read from the store (to aim the requests)."""
    sys.path.insert(0, str(BENCH.parent / "src"))
    from vigilancia.io.store import WorkspaceStore

    with WorkspaceStore.open(ws, database_url=env.get("VIGILANCIA_DATABASE_URL")) as store:
        pos = store.clearings.positions()
        cases = [c.code for c in store.cases.list()]
        n = len(pos)
    return {"lon": pos.lon, "lat": pos.lat, "cases": cases, "clearings": n}


def start_server(ws: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "vigilancia", "serve", str(ws), "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
        if server.poll() is not None:
            raise RuntimeError(server.stderr.read().decode() if server.stderr else "")
    server.kill()
    raise RuntimeError("the server did not start in 2 minutes")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def world_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    lat = max(-85.05, min(85.05, lat))
    n = 1 << z
    x = (lon + 180.0) / 360.0
    s = np.sin(np.radians(lat))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)
    return min(n - 1, int(x * n)), min(n - 1, int(y * n))


def plan_requests(f: dict[str, Any], n: int, seed: int) -> list[tuple[str, str, str, Any]]:
    """``n`` requests of the mix: (kind, method, url, json body)."""
    rng = random.Random(seed)
    kinds = rng.choices([k for k, _w in MIX], weights=[w for _k, w in MIX], k=n)
    out: list[tuple[str, str, str, Any]] = []
    for kind in kinds:
        i = rng.randrange(f["clearings"])
        lon, lat = float(f["lon"][i]), float(f["lat"][i])
        if kind == "bbox":
            half = rng.uniform(0.01, 0.15)
            box = f"{lon - half:.5f},{lat - half:.5f},{lon + half:.5f},{lat + half:.5f}"
            out.append((kind, "GET", f"/api/clearings?bbox={box}&limit=100", None))
        elif kind == "tile":
            z = rng.randint(5, 15)
            x, y = world_tile(lon, lat, z)
            out.append((kind, "GET", f"/api/tiles/clearings/{z}/{x}/{y}.mvt", None))
        else:
            case = rng.choice(f["cases"])
            token = uuid.uuid4().hex
            out.append((kind, "PATCH", f"/api/cases/{case}",
                        {"note": f"carga {token}", "_token": token}))
    return out


def run_clients(base: str, work: list[list[tuple[str, str, str, Any]]],
                sessions: list[tuple[httpx.Client, str]]) -> list[dict[str, Any]]:
    """Each client thread sends its list; returns one record per request."""
    records: list[list[dict[str, Any]]] = [[] for _ in work]
    barrier = threading.Barrier(len(work))

    def client(i: int) -> None:
        http, csrf = sessions[i]
        barrier.wait()
        for kind, method, url, body in work[i]:
            token = None
            payload = None
            if body is not None:
                token = body["_token"]
                payload = {"note": body["note"]}
            t0 = time.perf_counter()
            try:
                r = http.request(method, base + url, json=payload,
                                 headers={"X-CSRF-Token": csrf} if method != "GET" else None)
                status = r.status_code
                size = len(r.content)
            except httpx.HTTPError as exc:
                status, size = -1, 0
                print(f"  {method} {url}: {exc!r}", file=sys.stderr)
            records[i].append({"kind": kind, "status": status, "ms": (time.perf_counter() - t0)
                               * 1000.0, "bytes": size, "token": token})

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for rs in records for r in rs]


def summarise(records: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kinds = sorted({r["kind"] for r in records})
    for kind in [*kinds, "all"]:
        rs = [r for r in records if kind == "all" or r["kind"] == kind]
        ms = np.array([r["ms"] for r in rs])
        errors = sum(1 for r in rs if r["status"] not in (200, 201, 204))
        out[kind] = {"n": len(rs), "p50_ms": round(float(np.percentile(ms, 50)), 2),
                     "p95_ms": round(float(np.percentile(ms, 95)), 2),
                     "max_ms": round(float(ms.max()), 2), "errors": errors,
                     "mean_bytes": round(float(np.mean([r["bytes"] for r in rs])))}
    out["all"]["requests_per_s"] = round(len(records) / seconds, 1)
    return out


def lost_writes(ws: Path, env: dict[str, str], records: list[dict[str, Any]]) -> dict[str, int]:
    from vigilancia.io.store import WorkspaceStore

    acked = {r["token"] for r in records if r["kind"] == "update" and r["status"] == 200}
    found: set[str] = set()
    with WorkspaceStore.open(ws, database_url=env.get("VIGILANCIA_DATABASE_URL")) as store:
        for e in store.cases.events():
            note = str(dict(e.detail).get("note", ""))
            if note.startswith("carga "):
                found.add(note.split(" ", 1)[1])
    return {"acknowledged": len(acked), "found": len(acked & found),
            "lost": len(acked - found)}


def measure(ws: Path, env: dict[str, str], args: argparse.Namespace, port: int
            ) -> dict[str, Any]:
    f = facts(ws, env)
    server = start_server(ws, env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        sessions = []
        for _ in range(args.clients):
            http = httpx.Client(timeout=120)
            r = http.post(base + "/api/session", json={"username": USER, "password": PASSWORD})
            r.raise_for_status()
            sessions.append((http, r.json()["csrf_token"]))
        t0 = time.perf_counter()  # the map's index, built once after the batches changed
        sessions[0][0].get(base + "/api/tiles/clearings/10/300/500.mvt").raise_for_status()
        index_s = time.perf_counter() - t0
        mix = plan_requests(f, args.requests, args.seed)
        per_client = [mix[i::args.clients] for i in range(args.clients)]
        reference = [[("reference", "GET", "/api/session", None)] * len(w) for w in per_client]
        # one client alone first: the time a request takes when nothing else runs
        alone = plan_requests(f, args.single, args.seed + 1)
        alone = [r for r in alone if r[0] != "update"]
        t0 = time.perf_counter()
        alone_records = run_clients(base, [alone], sessions[:1])
        alone_s = time.perf_counter() - t0
        cpu0 = cpu_seconds(server.pid)
        t0 = time.perf_counter()
        ref_records = run_clients(base, reference, sessions)
        ref_s = time.perf_counter() - t0
        cpu1 = cpu_seconds(server.pid)
        t0 = time.perf_counter()
        records = run_clients(base, per_client, sessions)
        mix_s = time.perf_counter() - t0
        cpu2 = cpu_seconds(server.pid)
        for http, _csrf in sessions:
            http.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    result = {"clearings": f["clearings"], "cases": len(f["cases"]),
              "map_index_first_request_s": round(index_s, 2),
              "reference": summarise(ref_records, ref_s)["all"],
              "mix": summarise(records, mix_s), "writes": lost_writes(ws, env, records),
              "one_client": summarise(alone_records, alone_s),
              "server_cpu_ms_per_request": {
                  "reference": round((cpu1 - cpu0) * 1000 / max(1, len(ref_records)), 2),
                  "mix": round((cpu2 - cpu1) * 1000 / max(1, len(records)), 2)},
              "load_average": os.getloadavg()}
    ref = result["reference"]
    for s in result["mix"].values():
        s["p50_vs_reference"] = round(s["p50_ms"] / ref["p50_ms"], 1)
        s["p95_vs_reference"] = round(s["p95_ms"] / ref["p95_ms"], 1)
    return result


def print_table(results: dict[str, Any]) -> None:
    print(f"{'backend':10} {'kind':10} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
          f"{'x ref p50':>9} {'x ref p95':>9} {'errors':>6}")
    for backend, r in results["backends"].items():
        ref = r["reference"]
        print(f"{backend:10} {'reference':10} {ref['n']:>6} {ref['p50_ms']:>8} "
              f"{ref['p95_ms']:>8} {ref['max_ms']:>8} {'':>9} {'':>9} {ref['errors']:>6}")
        for kind, s in r["mix"].items():
            print(f"{backend:10} {kind:10} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} "
                  f"{s['max_ms']:>8} {s['p50_vs_reference']:>9} {s['p95_vs_reference']:>9} "
                  f"{s['errors']:>6}")
        for kind, one in r["one_client"].items():
            if kind != "all":
                print(f"{backend:10} {kind + ' (1)':10} {one['n']:>6} {one['p50_ms']:>8} "
                      f"{one['p95_ms']:>8} {one['max_ms']:>8} {'':>9} {'':>9} "
                      f"{one['errors']:>6}")
        w = r["writes"]
        cpu = r["server_cpu_ms_per_request"]
        print(f"{backend:10} writes acknowledged {w['acknowledged']}, found {w['found']}, "
              f"lost {w['lost']}; {r['mix']['all']['requests_per_s']} requests/s; server CPU "
              f"{cpu['mix']} ms/request (reference {cpu['reference']}); "
              f"{r['clearings']:,} clearings; load average {r['load_average'][0]:.1f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=40_000, help="tile side in pixels")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--single", type=int, default=300,
                   help="requests (boxes and tiles) sent by one client alone, before the load")
    p.add_argument("--out", type=Path, default=BENCH / "output")
    p.add_argument("--postgres-url", default=None,
                   help="admin URL of a PostgreSQL server: also measure on PostgreSQL")
    p.add_argument("--skip-sqlite", action="store_true")
    p.add_argument("--port", type=int, default=8931)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    backends: list[tuple[str, str | None]] = []
    if not args.skip_sqlite:
        backends.append(("sqlite", None))
    if args.postgres_url:
        backends.append(("postgresql", args.postgres_url))
    results: dict[str, Any] = {"machine": machine_info(), "size": args.size,
                               "requests": args.requests, "clients": args.clients,
                               "mix": dict(MIX), "backends": {}}
    for backend, url in backends:
        ws, env, setup = ensure_workspace(args.out, args.size, args.seed, backend, url)
        print(f"{backend}: workspace {ws} ({setup})", flush=True)
        r = measure(ws, env, args, args.port)
        r["setup"] = setup
        results["backends"][backend] = r
        (args.out / "api_load.json").write_text(json.dumps(results, indent=2))
    print_table(results)


if __name__ == "__main__":
    main()
