"""Runway recall: the real runway centre-lines of Peru, burnt into GFW alert tiles, are found.

The generator (acceptance test of issue 3)
------------------------------------------
Input: the 100 real clandestine-runway centre-lines of
``../shared/data/airstrips/runways_peru.geojson`` (ITU/Zindi "GeoAI Amazon Basin
Secret Runway Detection" labels; 377-2,138 m long in this file). Runways whose
windows (bounding box plus 1.3 km) overlap share one window, so neighbouring
runways (two pairs meet end to end) are burnt together, as the alerts would show
them. Each window becomes one GeoTIFF at its real place on the GFW grid
(EPSG:4326, 0.00025 degree pixels, about 27.7 m; uint16 value = confidence x
10000 + days since 2014-12-31; confidence 2 low, 3 high, 4 highest, drawn
30/50/20 %). Every window is ingested with :func:`run_monitor` into one workspace.
Per window, with a seeded generator:

- **runways**: each centre-line is burnt as a strip of width U(20, 40) m: a pixel
  is alerted when its centre lies within width/2 + 8 m of the line (the strip
  covers a good part of it), so a strip is one or two pixels wide, as 20-40 m
  strips are on this grid. Alerts are partial and fragmented as real ones are:
  each end loses U(0, 12) % of the length; 0-(1 + length/500) gaps of
  U(30, 140) m cut the strip; each strip pixel is missed with probability 0.08
  (speckle) and pixels just outside the strip are added with probability 0.1
  (ragged edges). Each piece between gaps gets its own date (the runway's year,
  then up to 90 days later: clearing in stages);
- **coca-sized patches**: 2-4 clusters 300-2,500 m from the runways (clearings
  concentrate around runways), each of 3-10 patches spread N(0, 250 m) around
  the cluster centre; a patch is an irregular blob (a radius modulated by random
  harmonics 2-4, aspect 1-2, random rotation, ragged edge) of log-uniform
  0.3-3 ha;
- **large clearings**: 1-3 fields of U(5, 40) ha, rectangles of aspect 1-6 at a
  random angle with ragged edges (an aspect-6, 5 ha field is 550 m x 90 m);
- **logging tracks** (in 60 % of the windows): a random walk of 1-3 km (30 m
  steps, the heading turning N(0, 6) degrees a step) with one branch of
  300-900 m, burnt 20 m wide like the narrowest runways, each pixel missed with
  probability 0.08. Broken into pieces, their straight stretches look like
  runways: the hardest distractor here, beyond what the issue asks;
- **speckle**: isolated low-confidence pixels, 0.1 % of the window.

A distractor that would come within 100 m of a runway's centre-line (80 m
beyond the widest strip's edge) is dropped (fields and tracks are drawn again
elsewhere), so that a runway is not one connected clearing with a field next to
it (a known limit of shape rules).

Detection and scoring
---------------------
The stored clearings (``store.clearings.frame``) of each window are projected to
their UTM zone; :func:`runway_candidates` joins aligned patches into
candidates, whose shape features (:func:`candidate_features`, with the
candidate's ``branches``; no context layers) go to the :class:`RulesModel`; a
candidate is a detected runway when ``airstrip`` is its most likely driver. A real runway is
**found** when a detected candidate's centre-line lies along it (within 10
degrees, and at least half of the runway within 60 m of the candidate's
centre-line). A detection is **true** when at least half of its centre-line lies
within 60 m of a real runway. Recall must be >= 0.9 and precision >= 0.8.

The real runways also serve as a layer of known airstrips: :func:`match_known`
(60 m) must recognise at least 90 % of them in the candidates (re-clearing of a
known runway), and match no candidate that does not lie along its runway.

Stored drivers
--------------
The monitoring cycle classifies each window's clearings, and the clearings of
each runway candidate take the candidate's prediction. What a coordinator sees
(cases, care flags, exports) is the stored driver of each clearing, so a real
runway is **found by its clearings** when the clearings whose stored driver is
airstrip and that come within 60 m of it span, along it, at least half of its
length. That recall must equal the recall of the likely candidates of
``vigilancia airstrips find`` (:func:`find_runways`, with the same definition of
found as above), and the latter must also be at least 0.9.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine

from vigilancia.config import Settings
from vigilancia.domain.airstrips import candidate_features, match_known, runway_candidates
from vigilancia.domain.drivers import Driver
from vigilancia.domain.rules import RulesModel
from vigilancia.services.airstrips import find_runways
from vigilancia.services.monitor import MonitorRequest, run_monitor

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
RUNWAYS = REPO.parent / "shared" / "data" / "airstrips" / "runways_peru.geojson"

PIX = 0.00025  # degrees: the GFW alert grid
EPOCH = date(2014, 12, 31)  # GFW day 0
MARGIN_M = 1300.0
SEED = 20240503


# ------------------------------------------------------------------ generator


def load_runways(path: Path) -> list[tuple[int, int, np.ndarray]]:
    """(id, year opened, lon/lat vertices without repeated points) of each runway."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for feat in data["features"]:
        xy = np.asarray(feat["geometry"]["coordinates"], float)
        keep = np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]
        out.append((int(feat["properties"]["id"]), int(feat["properties"]["yr"]), xy[keep]))
    return out


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(east, north) metres per degree of longitude and latitude on WGS84 at ``lat``."""
    phi = np.radians(lat)
    north = 111132.92 - 559.82 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)
    east = 111412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi)
    return float(east), float(north)


def group_windows(runways: list[tuple[int, int, np.ndarray]]) -> list[list[int]]:
    """Runways whose boxes plus the margin overlap, grouped (union-find)."""
    boxes = []
    for _, _, xy in runways:
        mx, my = metres_per_degree(float(xy[:, 1].mean()))
        m = max(MARGIN_M / mx, MARGIN_M / my)
        boxes.append(shapely.box(*xy.min(axis=0) - m, *xy.max(axis=0) + m))
    parent = list(range(len(boxes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    a, b = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


class Window:
    """A window of the GFW grid around some runways, with local metric coordinates."""

    def __init__(self, lines: list[np.ndarray]) -> None:
        allxy = np.concatenate(lines)
        lat_c = float(allxy[:, 1].mean())
        self.mx, self.my = metres_per_degree(lat_c)
        lo = allxy.min(axis=0) - (MARGIN_M / self.mx, MARGIN_M / self.my)
        hi = allxy.max(axis=0) + (MARGIN_M / self.mx, MARGIN_M / self.my)
        self.west = np.floor(lo[0] / PIX) * PIX
        self.north = np.ceil(hi[1] / PIX) * PIX
        self.width = int(np.ceil((hi[0] - self.west) / PIX))
        self.height = int(np.ceil((self.north - lo[1]) / PIX))
        self.lon0, self.lat0 = self.west, self.north
        cols = self.west + (np.arange(self.width) + 0.5) * PIX
        rows = self.north - (np.arange(self.height) + 0.5) * PIX
        lon, lat = np.meshgrid(cols, rows)
        self.x, self.y = self.to_m(lon, lat)

    def to_m(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (lon - self.lon0) * self.mx, (lat - self.lat0) * self.my

    def line_m(self, xy: np.ndarray) -> np.ndarray:
        return np.column_stack(self.to_m(xy[:, 0], xy[:, 1]))


def along_and_across(x: np.ndarray, y: np.ndarray, line: np.ndarray) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """Distance along the polyline ``line`` (m from its start) of the nearest point, and the
    distance to it, for every pixel centre."""
    best_d = np.full(x.shape, np.inf)
    best_t = np.zeros(x.shape)
    start = 0.0
    for p, q in zip(line[:-1], line[1:], strict=True):
        v = q - p
        seg = float(np.hypot(*v))
        if seg == 0:
            continue
        s = np.clip(((x - p[0]) * v[0] + (y - p[1]) * v[1]) / seg**2, 0.0, 1.0)
        d = np.hypot(x - (p[0] + s * v[0]), y - (p[1] + s * v[1]))
        closer = d < best_d
        best_d[closer] = d[closer]
        best_t[closer] = start + s[closer] * seg
        start += seg
    return best_t, best_d


def code(conf: np.ndarray, day: np.ndarray) -> np.ndarray:
    return (conf * 10000 + day).astype(np.uint16)


def draw_conf(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice([2, 3, 4], size=n, p=[0.3, 0.5, 0.2])


def burn_strip(a: np.ndarray, win: Window, line: np.ndarray, width: float, day0: int,
               rng: np.random.Generator) -> np.ndarray:
    """Burn a partial, fragmented strip along ``line`` (metres); returns its pixel mask."""
    t, d = along_and_across(win.x, win.y, line)
    length = float(np.sum(np.hypot(*np.diff(line, axis=0).T)))
    lo = rng.uniform(0, 0.12) * length
    hi = length - rng.uniform(0, 0.12) * length
    inside = (d <= width / 2 + 8.0) & (t >= lo) & (t <= hi)
    cuts = np.sort(rng.uniform(lo, hi, size=rng.integers(0, 2 + int(length // 500))))
    for c in cuts:
        inside &= ~((t >= c) & (t < c + rng.uniform(30.0, 140.0)))
    inside &= rng.random(a.shape) >= 0.08
    edge = (d > width / 2 + 8.0) & (d <= width / 2 + 22.0) & (t >= lo) & (t <= hi)
    inside |= edge & (rng.random(a.shape) < 0.1)
    piece = np.searchsorted(cuts, t)  # pieces between gaps are cleared at different dates
    days = day0 + rng.integers(0, 91, size=len(cuts) + 1)[piece]
    a[inside] = code(draw_conf(rng, int(inside.sum())), days[inside])
    return inside


def blob(win: Window, cx: float, cy: float, area_ha: float,
         rng: np.random.Generator) -> np.ndarray:
    """An irregular patch: a radius modulated by harmonics 2-4, stretched and rotated."""
    aspect = rng.uniform(1.0, 2.0)
    rot = rng.uniform(0, np.pi)
    amp = rng.uniform(0, 0.2, size=3)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    r0 = np.sqrt(area_ha * 1e4 / (np.pi * (1 + 0.5 * np.sum(amp**2))))
    dx, dy = win.x - cx, win.y - cy
    u = (dx * np.cos(rot) + dy * np.sin(rot)) / np.sqrt(aspect)
    v = (-dx * np.sin(rot) + dy * np.cos(rot)) * np.sqrt(aspect)
    theta = np.arctan2(v, u)
    radius = r0 * (1 + sum(amp[k] * np.cos((k + 2) * theta + phase[k]) for k in range(3)))
    rho = np.hypot(u, v)
    ragged = (rho > radius - 20) & (rng.random(win.x.shape) < 0.3)
    return (rho <= radius) & ~ragged


def field(win: Window, cx: float, cy: float, area_ha: float,
          rng: np.random.Generator) -> np.ndarray:
    """A large field: a rectangle of aspect 1-6 at a random angle, with ragged edges."""
    aspect = rng.uniform(1.0, 6.0)
    long_side = np.sqrt(area_ha * 1e4 * aspect)
    rot = rng.uniform(0, np.pi)
    dx, dy = win.x - cx, win.y - cy
    u = np.abs(dx * np.cos(rot) + dy * np.sin(rot))
    v = np.abs(-dx * np.sin(rot) + dy * np.cos(rot))
    inside = (u <= long_side / 2) & (v <= long_side / aspect / 2)
    border = inside & ((u > long_side / 2 - 30) | (v > long_side / aspect / 2 - 30))
    return inside & ~(border & (rng.random(win.x.shape) < 0.35))


def track(win: Window, rng: np.random.Generator) -> np.ndarray:
    """A winding logging track (random walk) with one branch, 20 m wide, fragmented."""
    def walk(start: np.ndarray, heading: float, n: int) -> np.ndarray:
        turns = np.cumsum(rng.normal(0, np.radians(6), size=n)) + heading
        steps = 30.0 * np.column_stack([np.sin(turns), np.cos(turns)])
        return np.vstack([start, start + np.cumsum(steps, axis=0)])

    w, h = win.x.max(), -win.y.min()
    main = walk(np.array([rng.uniform(0.2, 0.8) * w, -rng.uniform(0.2, 0.8) * h]),
                rng.uniform(0, 2 * np.pi), int(rng.uniform(1000, 3000) / 30))
    k = int(rng.integers(5, len(main) - 5))
    branch = walk(main[k], rng.uniform(0, 2 * np.pi), int(rng.uniform(300, 900) / 30))
    out = np.zeros(win.x.shape, bool)
    for line in (main, branch):
        _, d = along_and_across(win.x, win.y, line)
        out |= d <= 18.0
    cut = rng.random(win.x.shape) < 0.08
    return out & ~cut


def generate_window(win: Window, runways: list[tuple[int, int, np.ndarray]],
                    rng: np.random.Generator) -> np.ndarray:
    a = np.zeros(win.x.shape, np.uint16)
    strips = np.zeros(a.shape, bool)
    for _, year, xy in runways:
        day0 = (date(year, 1, 1) - EPOCH).days + int(rng.integers(0, 300))
        strips |= burn_strip(a, win, win.line_m(xy), rng.uniform(20.0, 40.0), day0, rng)
    lines = [win.line_m(xy) for _, _, xy in runways]
    far = np.min([along_and_across(win.x, win.y, ln)[1] for ln in lines], axis=0)
    keep_out = far <= 20.0 + 80.0  # strip half-width plus 80 m
    day_bg = (date(min(y for _, y, _ in runways), 1, 1) - EPOCH).days

    def put(mask: np.ndarray, conf: np.ndarray | None = None, *, whole: bool = True) -> bool:
        """Burn ``mask``; an object (``whole``) touching the runways' keep-out is dropped."""
        if whole and (mask & keep_out).any():
            return False
        mask = mask & ~keep_out & (a == 0)
        n = int(mask.sum())
        days = day_bg + rng.integers(0, 700, size=n)
        a[mask] = code(draw_conf(rng, n) if conf is None else conf[:n], days)
        return True

    w, h = win.x.max(), -win.y.min()

    def spot(min_dist: float, max_dist: float) -> tuple[float, float]:
        for _ in range(200):
            x, y = rng.uniform(0, w), -rng.uniform(0, h)
            i = min(int(-y / (h / a.shape[0])), a.shape[0] - 1)
            j = min(int(x / (w / a.shape[1])), a.shape[1] - 1)
            if min_dist <= far[i, j] <= max_dist:
                return x, y
        return x, y

    for _ in range(int(rng.integers(2, 5))):  # coca clusters around the runways
        cx, cy = spot(300.0, 2500.0)
        for _ in range(int(rng.integers(3, 11))):
            px, py = cx + rng.normal(0, 250), cy + rng.normal(0, 250)
            put(blob(win, px, py, float(np.exp(rng.uniform(np.log(0.3), np.log(3.0)))), rng))
    for _ in range(int(rng.integers(1, 4))):  # large fields
        area = rng.uniform(5.0, 40.0)
        for _ in range(20):
            fx, fy = spot(200.0, 5000.0)
            if put(field(win, fx, fy, area, rng)):
                break
    if rng.random() < 0.6:  # a logging track
        for _ in range(20):
            if put(track(win, rng)):
                break
    speck = rng.random(a.shape) < 0.001
    put(speck, np.full(int(speck.sum()), 2), whole=False)
    return a


def write_window(path: Path, win: Window, a: np.ndarray) -> Path:
    prof = dict(driver="GTiff", width=win.width, height=win.height, count=1, dtype="uint16",
                crs="EPSG:4326", transform=Affine(PIX, 0.0, win.west, 0.0, -PIX, win.north),
                tiled=True, blockxsize=64, blockysize=64, compress="deflate")
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(a[None])
    return path


# ------------------------------------------------------------------ scoring


def utm_crs(lon: float, lat: float) -> str:
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{32700 + zone if lat < 0 else 32600 + zone}"


def lies_along(candidate: shapely.LineString, runway: shapely.LineString) -> bool:
    """The candidate's centre-line runs along the runway: within 10 degrees, and at least
    half of the runway within 60 m of it."""
    def heading(line: shapely.LineString) -> float:
        xy = np.asarray(line.coords)
        v = xy[-1] - xy[0]
        return float(np.degrees(np.arctan2(v[0], v[1])) % 180)

    diff = abs(heading(candidate) - heading(runway))
    if min(diff, 180 - diff) > 10:
        return False
    near = runway.intersection(candidate.buffer(60.0))
    return near.length >= 0.5 * runway.length


@dataclass
class Scores:
    runways: int = 0
    found: int = 0  # real runways with a detected candidate along them
    detections: int = 0  # candidates whose most likely driver is airstrip
    true: int = 0  # detections along a real runway
    known_matched: int = 0  # real runways (as a known-airstrip layer) matched by a candidate
    matches: int = 0  # candidates matched to a known runway
    wrong_matches: int = 0  # ... that do not lie along it
    by_clearings: int = 0  # real runways found by the clearings whose stored driver is airstrip
    by_likely: int = 0  # real runways along a likely candidate of ``airstrips find``

    @property
    def recall(self) -> float:
        return self.found / self.runways

    @property
    def precision(self) -> float:
        return self.true / max(self.detections, 1)


def found_by_clearings(clearings: gpd.GeoDataFrame, runway: shapely.LineString) -> bool:
    """The clearings whose stored driver is airstrip and that come within 60 m of the runway
    span, along it, at least half of its length (metric frame)."""
    air = clearings[clearings["driver"] == Driver.AIRSTRIP.value]
    near = air.geometry[air.geometry.intersects(runway.buffer(60.0))]
    if not len(near):
        return False
    along = runway.line_locate_point(shapely.points(shapely.get_coordinates(near.to_numpy())))
    return float(along.max() - along.min()) >= 0.5 * runway.length


def detect(tmp_path: Path, store_factory) -> Scores:
    """Generate, ingest, classify, detect and score (see the module docstring)."""
    runways = load_runways(RUNWAYS)
    rng = np.random.default_rng(SEED)
    store = store_factory.create(tmp_path / "ws")
    settings = Settings(language="en", strip_rows=128)
    truth: dict[int, list[np.ndarray]] = {}
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    try:
        for k, group in enumerate(group_windows(runways)):
            members = [runways[i] for i in group]
            win = Window([xy for _, _, xy in members])
            tif = write_window(tiles / f"window_{k:03d}.tif", win,
                               generate_window(win, members, rng))
            res = run_monitor(store, MonitorRequest(str(tif), "gfw"), settings)
            truth[res.batches[0].batch_id] = [xy for _, _, xy in members]
        frame = store.clearings.frame()  # the drivers the monitoring cycle stored
        likely = find_runways(store).frame
        likely = likely[likely["likely"]]
    finally:
        store.close()
    model = RulesModel()
    sc = Scores(runways=len(runways))
    for batch_id, lines in truth.items():
        part = frame[frame["batch_id"] == batch_id]
        crs = utm_crs(*np.concatenate(lines).mean(axis=0))
        part = part.to_crs(crs)
        cands = runway_candidates(part.geometry.to_numpy(), part["id"].to_numpy(),
                                  part["first_date"].to_numpy(), part["last_date"].to_numpy())
        preds = model.predict(candidate_features(cands))
        real = list(gpd.GeoSeries([shapely.LineString(xy) for xy in lines],
                                  crs="EPSG:4326").to_crs(crs))
        hits = [c.centreline for c, d in zip(cands, preds.driver, strict=True)
                if d == Driver.AIRSTRIP]
        sc.found += sum(any(lies_along(h, r) for h in hits) for r in real)
        sc.by_clearings += sum(found_by_clearings(part, r) for r in real)
        found_lines = list(likely.to_crs(crs).geometry)
        sc.by_likely += sum(any(lies_along(h, r) for h in found_lines) for r in real)
        sc.detections += len(hits)
        sc.true += sum(
            any(h.intersection(r.buffer(60.0)).length >= 0.5 * h.length for r in real)
            for h in hits
        )
        # the same runways as a layer of known airstrips: re-clearing is recognised
        m = match_known(cands, real, tolerance_m=60.0)
        sc.known_matched += len(set(m.known[m.matched].tolist()))
        sc.matches += int(m.matched.sum())
        sc.wrong_matches += sum(
            not lies_along(cands[i].centreline, real[k]) and
            cands[i].centreline.intersection(real[k].buffer(60.0)).length
            < 0.5 * cands[i].length_m
            for i, k in enumerate(m.known.tolist()) if k >= 0
        )
    return sc


@pytest.mark.shared_data
@pytest.mark.slow
def test_real_runways_are_found_among_coca_patches_and_fields(tmp_path, store_factory):
    if not RUNWAYS.is_file():
        pytest.skip(f"real runway centre-lines {RUNWAYS} are absent (../shared/data is not "
                    "part of the repository)")
    sc = detect(tmp_path, store_factory)
    print(f"runways {sc.runways}, found {sc.found} (recall {sc.recall:.3f}); detections "
          f"{sc.detections}, true {sc.true} (precision {sc.precision:.3f}); known runways "
          f"matched {sc.known_matched}, matches {sc.matches} ({sc.wrong_matches} wrong); "
          f"found by stored airstrip clearings {sc.by_clearings}, by likely candidates of "
          f"airstrips find {sc.by_likely}")
    assert sc.recall >= 0.9
    # what cases, care flags and exports see: the stored drivers hold every likely runway
    assert sc.by_clearings == sc.by_likely
    assert sc.by_likely >= 0.9 * sc.runways
    assert sc.precision >= 0.8
    assert sc.known_matched >= 0.9 * sc.runways
    assert sc.wrong_matches == 0
