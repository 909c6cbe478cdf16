"""A seeded, fully synthetic sample region for ``make demo`` and tests.

The region sits in the real geography of the Kakataibo homeland (Puerto Inca and
Padre Abad, Huánuco/Ucayali): by default 1 degree x 1 degree from
(-75.4, -8.6) to (-74.4, -9.6) at 0.00025 degrees per pixel (GFW's grid), so
``size=4000`` pixels. Everything in it is invented: alerts, territories,
names, rivers and roads. It needs no network and no shared data, and the same
``seed`` always gives the same GeoJSON bytes and the same raster pixels.

Files written to ``out_dir``:

- ``alertas_gfw.tif``: GFW-encoded alerts (uint16, ``confidence * 10000 + days
  since 2014-12-31``, confidence 2 low / 3 high / 4 highest, 0 = none), tiled
  400 x 400, DEFLATE, EPSG:4326, nodata 0. It holds coca-like patches
  (0.3-3 ha, in clusters near streams), runway-like strips (400-1,500 m long,
  1-2 pixels wide, some fragmented), a few large clearings (50-300 ha) near
  roads that grow outwards over time (one crosses a 400-pixel block edge),
  two pairs of patches that touch only diagonally, and single-pixel
  low-confidence noise. Dates run from 2023-01-01 to 2024-12-31.
- ``comunidades.geojson``: 12 community territories (``nombre``, ``pueblo``,
  ``titulacion``, ``fecha_titulo``); one has an unclosed ring and one a
  self-intersecting ring, as real cadastre files do.
- ``reservas.geojson`` (a reserve for peoples in isolation),
  ``areas_protegidas.geojson`` (a communal reserve), ``rios.geojson``,
  ``vias.geojson``, ``salidas.geojson`` (two exits of trafficking routes: a river
  port down the main river and the trunk road leaving the region),
  ``pistas_conocidas.geojson`` (known airstrips, fields as in
  the public runway labels: ``id``, ``yr``, ``largo``, ``Activo``) and
  ``verdad_terreno.geojson`` (the generator's ground truth: what each synthetic
  feature is, for checks and for simulated field verdicts).

Units: areas in hectares, lengths in metres, pixel coordinates (col, row) from
the upper-left corner.

>>> from tempfile import mkdtemp
>>> region = build_sample_region(Path(mkdtemp()), size=800)  # doctest: +SKIP
>>> region.bounds  # doctest: +SKIP
(-75.4, -8.8, -75.2, -8.6)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from rasterio.windows import Window

PIXEL_DEG = 0.00025
ORIGIN_LON = -75.4
ORIGIN_LAT = -8.6
BLOCK = 400
DEFAULT_SEED = 20241
DEFAULT_SIZE = 4000
MIN_SIZE = 400
GFW_EPOCH = date(2014, 12, 31)
PERIOD_START = date(2023, 1, 1)
PERIOD_END = date(2024, 12, 31)
DAY_START = (PERIOD_START - GFW_EPOCH).days  # 2923
DAY_END = (PERIOD_END - GFW_EPOCH).days  # 3653

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
UInt16Array = NDArray[np.uint16]

DESCRIPTION = """\
Región de muestra sintética (semilla {seed}, {size} x {size} píxeles de 0,00025°).

Ubicada en la geografía real del territorio kakataibo (Puerto Inca y Padre Abad,
Huánuco y Ucayali), entre {west:.4f} y {east:.4f} de longitud y entre {south:.4f}
y {north:.4f} de latitud. TODO su contenido es inventado: no describe
comunidades, pistas, cultivos ni desbosques reales.

- Alertas: ráster con la codificación de GFW (confianza x 10000 + días desde el
  31-12-2014; 2 baja, 3 alta, 4 muy alta; 0 = sin alerta), en bloques de
  400 x 400 con compresión DEFLATE. Contiene parches pequeños e irregulares de
  tipo cocal (0,3 a 3 ha, agrupados cerca de quebradas), franjas largas y
  angostas de tipo pista de aterrizaje (400 a 1 500 m de largo, 25 a 50 m de
  ancho, algunas fragmentadas), unos pocos desbosques grandes (50 a 300 ha)
  junto a las vías que crecen del centro hacia afuera, dos pares de parches que
  solo se tocan en diagonal y ruido de píxeles sueltos de confianza baja.
  Fechas entre enero de 2023 y diciembre de 2024.
- Comunidades: 12 territorios de comunidades nativas con nombres inventados,
  pueblo, situación de titulación y fecha de título. Dos geometrías están rotas
  a propósito, como en los archivos reales: un anillo sin cerrar y un anillo que
  se cruza a sí mismo.
- Una reserva para pueblos en aislamiento y una reserva comunal (ficticias),
  ríos y quebradas (los nombres de los ríos principales evocan la zona, pero los
  trazos son sintéticos), vías departamentales y vecinales, pistas conocidas y
  la verdad de terreno del generador.
"""

PEOPLES = ("Kakataibo", "Asháninka", "Shipibo-Konibo", "Yanesha")

# Community design: (name, people, tenure, centre u, centre v, radius, anchor), u/v
# and radius as fractions of the region's width (u from west, v from north).
# ``anchor`` says where the centre goes: "rio" (on the nearest river), "reserva" or
# "area" (on the edge of the reserve / protected area, so that they overlap partly).
# Names are invented; they do not name real communities.
_COMMUNITIES: tuple[tuple[str, str, str, float, float, float, str], ...] = (
    ("CN Bawaxëti", "Kakataibo", "titulada", 0.31, 0.55, 0.065, "reserva"),
    ("CN Isinyacu Alto", "Kakataibo", "reclamada", 0.25, 0.29, 0.050, "rio"),
    ("CN Manukaya", "Kakataibo", "titulada", 0.55, 0.36, 0.060, "rio"),
    ("CN Jonikaya", "Shipibo-Konibo", "titulada", 0.63, 0.56, 0.080, "rio"),
    ("CN Shinuyaku Nuevo", "Kakataibo", "en trámite", 0.73, 0.24, 0.050, "rio"),
    ("CN Tsomaveni Chico", "Asháninka", "reconocida", 0.71, 0.72, 0.070, "area"),
    ("CN Rëxin Bënaxama", "Shipibo-Konibo", "titulada", 0.46, 0.68, 0.040, "rio"),
    ("CN Pocharren Alto", "Yanesha", "titulada", 0.40, 0.88, 0.050, "rio"),
    ("CN Kirinkari", "Asháninka", "en trámite", 0.86, 0.45, 0.055, "rio"),
    ("CN Nëtëbu Xaka", "Kakataibo", "reclamada", 0.15, 0.14, 0.040, "rio"),
    ("CN Yompareni", "Yanesha", "reconocida", 0.90, 0.10, 0.045, "rio"),
    ("CN Uxebaya", "Kakataibo", "titulada", 0.22, 0.86, 0.030, "reserva"),
)
UNCLOSED_COMMUNITY = 4  # index in _COMMUNITIES written with an unclosed ring
BOWTIE_COMMUNITY = 8  # index written with a self-intersecting ring


@dataclass(frozen=True)
class SampleRegion:
    """Paths and extent of a generated sample region (all files in EPSG:4326).

    ``territories`` holds the community territories (with two broken geometries
    on purpose), ``reserves`` the reserve for peoples in isolation and
    ``protected_areas`` the communal reserve. ``bounds`` is (west, south, east,
    north) in degrees; ``description`` says in Spanish what is synthetic.
    """

    alerts_tif: Path
    territories: Path
    reserves: Path
    protected_areas: Path
    rivers: Path
    roads: Path
    exits: Path
    airstrips: Path
    truth: Path
    bounds: tuple[float, float, float, float]
    description: str
    seed: int
    size: int


# ---------------------------------------------------------------------------
# frame


@dataclass(frozen=True)
class _Frame:
    size: int

    @property
    def west(self) -> float:
        return ORIGIN_LON

    @property
    def north(self) -> float:
        return ORIGIN_LAT

    @property
    def east(self) -> float:
        return round(ORIGIN_LON + self.size * PIXEL_DEG, 9)

    @property
    def south(self) -> float:
        return round(ORIGIN_LAT - self.size * PIXEL_DEG, 9)

    @property
    def pixel_m(self) -> tuple[float, float]:
        """Pixel width and height in metres at the centre latitude."""
        lat = math.radians((self.north + self.south) / 2)
        return PIXEL_DEG * 111_320.0 * math.cos(lat), PIXEL_DEG * 110_574.0

    @property
    def pixel_ha(self) -> float:
        w, h = self.pixel_m
        return w * h / 10_000.0

    def uv_to_px(self, uv: FloatArray) -> FloatArray:
        return np.asarray(uv, dtype=np.float64) * self.size

    def px_to_lonlat(self, px: FloatArray) -> FloatArray:
        px = np.asarray(px, dtype=np.float64)
        lon = ORIGIN_LON + px[..., 0] * PIXEL_DEG
        lat = ORIGIN_LAT - px[..., 1] * PIXEL_DEG
        return np.stack([lon, lat], axis=-1)

    def uv_to_lonlat(self, uv: FloatArray) -> FloatArray:
        return self.px_to_lonlat(self.uv_to_px(uv))


# ---------------------------------------------------------------------------
# lines and polygons (fractional coordinates u, v)


def _meander(
    rng: np.random.Generator,
    start: ArrayLike,
    end: ArrayLike,
    *,
    n: int = 160,
    amplitude: float = 0.06,
    taper_start: bool = False,
    taper_end: bool = False,
) -> FloatArray:
    """A meandering polyline from ``start`` to ``end``; lateral swings of about
    ``amplitude`` times the straight length."""
    a = np.asarray(start, dtype=np.float64)
    b = np.asarray(end, dtype=np.float64)
    d = b - a
    length = float(np.hypot(*d))
    perp = np.array([-d[1], d[0]]) / length
    t = np.linspace(0.0, 1.0, n)
    off = np.zeros(n)
    # random Fourier modes with amplitude ~ 1/f: irregular, smooth swings
    for freq in np.sort(rng.uniform(0.6, 9.0, 14)):
        amp = amplitude * length * rng.uniform(0.3, 1.0) / freq
        off += amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    off -= off[0] + t * (off[-1] - off[0])  # ends stay on the straight line
    weight = np.ones(n)
    if taper_start:
        weight *= np.clip(t / 0.15, 0.0, 1.0)
    if taper_end:
        weight *= np.clip((1.0 - t) / 0.15, 0.0, 1.0)
    return a + t[:, None] * d + (off * weight)[:, None] * perp


def _point_along(line: FloatArray, frac: float) -> FloatArray:
    seg = np.hypot(*np.diff(line, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = frac * cum[-1]
    x = np.interp(s, cum, line[:, 0])
    y = np.interp(s, cum, line[:, 1])
    return np.array([x, y])


def _densify(line: FloatArray, step: float) -> FloatArray:
    """Points every ``step`` units along a polyline."""
    seg = np.hypot(*np.diff(line, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0, cum[-1], step)
    return np.column_stack([np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])])


def _blob_ring(
    rng: np.random.Generator,
    centre: ArrayLike,
    radius: float,
    *,
    n: int = 72,
    aspect: float = 1.0,
    rotation: float = 0.0,
    roughness: float = 0.25,
) -> FloatArray:
    """A perturbed ellipse (counter-clockwise in lon/lat, not closed), shape (n, 2)."""
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += roughness * rng.uniform(0.2, 1.0) / (k - 1) * np.cos(k * theta + rng.uniform(0, 6.3))
    r *= 1.0 + rng.normal(0.0, 0.02, n)
    r = np.clip(r, 0.35, None) * radius
    x = r * np.cos(theta) * aspect
    y = r * np.sin(theta) / aspect
    cr, sr = math.cos(rotation), math.sin(rotation)
    centre = np.asarray(centre, dtype=np.float64)
    return np.column_stack([centre[0] + x * cr - y * sr, centre[1] + x * sr + y * cr])


# ---------------------------------------------------------------------------
# GeoJSON writing (by hand, so bytes are stable and broken rings stay broken)


def _coords(lonlat: FloatArray) -> list[list[float]]:
    return [[round(float(x), 6), round(float(y), 6)] for x, y in lonlat]


def _closed(ring: list[list[float]]) -> list[list[float]]:
    return [*ring, ring[0]]


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _write_geojson(path: Path, name: str, features: list[dict[str, Any]]) -> None:
    lines = [
        json.dumps(f, ensure_ascii=False, separators=(",", ":"), sort_keys=False) for f in features
    ]
    text = (
        '{"type":"FeatureCollection","name":'
        + json.dumps(name, ensure_ascii=False)
        + ',"features":[\n'
        + ",\n".join(lines)
        + "\n]}\n"
    )
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------
# vectors


@dataclass
class _Vectors:
    rivers: list[tuple[str, str, FloatArray]]  # nombre, tipo, uv line
    roads: list[tuple[str, str, str, FloatArray]]  # codigo, tipo, nombre, uv line
    reserve: FloatArray  # uv ring
    protected: FloatArray
    communities: list[FloatArray]  # lon/lat rings


def _make_vectors(rng: np.random.Generator, frame: _Frame) -> _Vectors:
    main = _meander(rng, (0.50, 1.02), (0.93, -0.02), n=260, amplitude=0.05)
    rivers: list[tuple[str, str, FloatArray]] = [("Río Pachitea", "Río", main)]
    tributaries = (
        ("Río Sungaro", 0.25, (0.05, 0.78)),
        ("Río San Alejandro", 0.70, (0.12, 0.30)),
        ("Río Yuyapichis", 0.35, (0.98, 0.88)),
        ("Quebrada Shanoya", 0.85, (0.58, 0.05)),
    )
    for name, at, far in tributaries:
        a = _point_along(main, at)
        far_pt = np.asarray(far) + rng.normal(0.0, 0.02, 2)
        kind = "Río" if name.startswith("Río") else "Quebrada"
        rivers.append(
            (name, kind, _meander(rng, a, far_pt, n=160, amplitude=0.07, taper_start=True))
        )
    creeks = ("Isuya", "Chanibari", "Mapuya", "Bëxo", "Tanaxa", "Pinshaya", "Kuxari", "Yaminu")
    for i, cname in enumerate(creeks):
        parent = rivers[1 + i % 4][2]
        a = _point_along(parent, rng.uniform(0.25, 0.85))
        ang = rng.uniform(0, 2 * np.pi)
        ln = rng.uniform(0.06, 0.16)
        b = np.clip(a + ln * np.array([math.cos(ang), math.sin(ang)]), -0.02, 1.02)
        rivers.append(
            (
                f"Quebrada {cname}",
                "Quebrada",
                _meander(rng, a, b, n=80, amplitude=0.08, taper_start=True),
            )
        )

    main_road = _meander(rng, (-0.02, 0.37), (0.54, -0.02), n=200, amplitude=0.015)
    roads: list[tuple[str, str, str, FloatArray]] = [
        ("UC-104", "departamental", "Carretera troncal (muestra)", main_road)
    ]
    junction = _point_along(main_road, 0.66)
    south_road = _meander(rng, junction, (0.40, 1.02), n=200, amplitude=0.02, taper_start=True)
    roads.append(("HU-115", "departamental", "Carretera marginal (muestra)", south_road))
    rural = (
        ("UC-650", main_road, 0.25, 0.9),
        ("UC-651", main_road, 0.45, -2.0),
        ("HU-720", south_road, 0.40, 0.2),
        ("HU-721", south_road, 0.70, 3.0),
    )
    for code, parent, at, ang in rural:
        a = _point_along(parent, at)
        ln = rng.uniform(0.08, 0.16)
        b = a + ln * np.array([math.cos(ang), math.sin(ang)])
        roads.append(
            (
                code,
                "vecinal",
                f"Camino vecinal {code} (muestra)",
                _meander(rng, a, b, n=80, amplitude=0.04, taper_start=True),
            )
        )

    reserve = _blob_ring(rng, (0.14, 0.60), 0.17, n=140, aspect=0.75, rotation=0.2, roughness=0.15)
    protected = _blob_ring(rng, (0.86, 0.84), 0.18, n=140, aspect=1.1, roughness=0.15)

    communities = []
    river_pts = np.concatenate([_densify(line, 0.004) for _, _, line in rivers])
    for _name, _people, _tenure, u, v, radius, anchor in _COMMUNITIES:
        centre_uv = np.array([u, v]) + rng.normal(0.0, 0.01, 2)
        if anchor == "rio":
            # communities sit on a river: pull the centre towards the nearest one
            gap = river_pts - centre_uv
            dist = np.hypot(gap[:, 0], gap[:, 1])
            k = int(np.argmin(dist))
            if dist[k] > 0.6 * radius:
                centre_uv = centre_uv + gap[k] * (1.0 - 0.6 * radius / dist[k])
        else:
            # on the edge of the reserve or protected area: they overlap partly
            edge = reserve if anchor == "reserva" else protected
            gap = edge - centre_uv
            centre_uv = edge[int(np.argmin(np.hypot(gap[:, 0], gap[:, 1])))].copy()
        ring_uv = _blob_ring(
            rng,
            (0.0, 0.0),
            radius * rng.uniform(0.9, 1.1),
            n=int(rng.integers(40, 90)),
            aspect=rng.uniform(0.75, 1.3),
            rotation=rng.uniform(0, np.pi),
            roughness=0.3,
        )
        # build in lon/lat (y up) so that increasing angle is counter-clockwise
        lon = frame.west + (centre_uv[0] + ring_uv[:, 0]) * (frame.east - frame.west)
        lat = (
            frame.north
            - centre_uv[1] * (frame.north - frame.south)
            + ring_uv[:, 1] * (frame.north - frame.south)
        )
        communities.append(np.column_stack([lon, lat]))
    return _Vectors(rivers, roads, reserve, protected, communities)


def _uv_ring_to_lonlat(frame: _Frame, ring_uv: FloatArray) -> FloatArray:
    """uv rings are built with v downwards; flip to keep lon/lat rings counter-clockwise."""
    return frame.uv_to_lonlat(ring_uv[::-1])


def _bowtie(ring: list[list[float]]) -> list[list[float]]:
    """Reverse a quarter of the vertices: the ring twists into a bow-tie that crosses
    itself (as a digitising slip does)."""
    n = len(ring)
    i, j = n // 3, n // 3 + max(n // 4, 3)
    return [list(p) for p in ring[:i]] + [list(p) for p in ring[i:j][::-1]] + ring[j:]


def _write_vectors(
    out: Path, frame: _Frame, vec: _Vectors, rng: np.random.Generator
) -> dict[str, Path]:
    paths = {
        "territories": out / "comunidades.geojson",
        "reserves": out / "reservas.geojson",
        "protected_areas": out / "areas_protegidas.geojson",
        "rivers": out / "rios.geojson",
        "roads": out / "vias.geojson",
        "exits": out / "salidas.geojson",
    }
    feats = []
    for i, ((name, people, tenure, *_), ring) in enumerate(
        zip(_COMMUNITIES, vec.communities, strict=True)
    ):
        coords = _coords(ring)
        title_date = None
        if tenure == "titulada":
            days = int(rng.integers(0, 14_000))
            title_date = (date(1976, 1, 1) + timedelta(days=days)).isoformat()
        if i == UNCLOSED_COMMUNITY:
            rings = [coords]  # the first point is not repeated: ring not closed
        elif i == BOWTIE_COMMUNITY:
            rings = [_closed(_bowtie(coords))]
        else:
            rings = [_closed(coords)]
        feats.append(
            _feature(
                {"type": "Polygon", "coordinates": rings},
                {
                    "id": f"CN-{i + 1:03d}",
                    "nombre": name,
                    "pueblo": people,
                    "titulacion": tenure,
                    "fecha_titulo": title_date,
                    "fuente": "sintético (región de muestra)",
                },
            )
        )
    _write_geojson(paths["territories"], "comunidades_muestra", feats)

    reserve = _coords(_uv_ring_to_lonlat(frame, vec.reserve))
    _write_geojson(
        paths["reserves"],
        "reservas_muestra",
        [
            _feature(
                {"type": "Polygon", "coordinates": [_closed(reserve)]},
                {
                    "id": "RI-001",
                    "nombre": "Reserva Indígena Kakataibo (muestra)",
                    "categoria": "reserva indígena",
                    "pueblo": "Kakataibo (en aislamiento)",
                    "fuente": "sintético (región de muestra)",
                },
            )
        ],
    )
    protected = _coords(_uv_ring_to_lonlat(frame, vec.protected))
    _write_geojson(
        paths["protected_areas"],
        "areas_protegidas_muestra",
        [
            _feature(
                {"type": "Polygon", "coordinates": [_closed(protected)]},
                {
                    "id": "RC-001",
                    "nombre": "Reserva Comunal (muestra)",
                    "categoria": "reserva comunal",
                    "prefix": "rc",
                    "fuente": "sintético (región de muestra)",
                },
            )
        ],
    )
    _write_geojson(
        paths["rivers"],
        "rios_muestra",
        [
            _feature(
                {"type": "LineString", "coordinates": _coords(frame.uv_to_lonlat(line))},
                {"id": i + 1, "nombre": name, "tipo": kind},
            )
            for i, (name, kind, line) in enumerate(vec.rivers)
        ],
    )
    _write_geojson(
        paths["roads"],
        "vias_muestra",
        [
            _feature(
                {"type": "LineString", "coordinates": _coords(frame.uv_to_lonlat(line))},
                {"id": i + 1, "codigo": code, "tipo": kind, "nombre": name},
            )
            for i, (code, kind, name, line) in enumerate(vec.roads)
        ],
    )
    # where trafficking leaves the region: down the main river and along the trunk road
    # (both run out across the northern edge)
    exits = (
        ("Puerto fluvial de salida (muestra)", "puerto fluvial", vec.rivers[0][2][-1]),
        ("Salida por carretera (muestra)", "salida por carretera", vec.roads[0][3][-1]),
    )
    _write_geojson(
        paths["exits"],
        "salidas_muestra",
        [
            _feature(
                {"type": "Point", "coordinates": _coords(frame.uv_to_lonlat(np.asarray([uv])))[0]},
                {"id": i + 1, "nombre": name, "tipo": kind},
            )
            for i, (name, kind, uv) in enumerate(exits)
        ],
    )
    return paths


# ---------------------------------------------------------------------------
# raster


@dataclass
class _Truth:
    features: list[dict[str, Any]]


def _day_iso(day: int) -> str:
    return (GFW_EPOCH + timedelta(days=int(day))).isoformat()


def _confidence(
    rng: np.random.Generator, p_low: FloatArray, p_highest: FloatArray
) -> NDArray[np.uint16]:
    """Per-pixel confidence 2/3/4 from per-pixel probabilities of low and highest."""
    u = rng.random(len(p_low))
    conf = np.full(len(p_low), 3, np.uint16)
    conf[u < p_low] = 2
    conf[u > 1.0 - p_highest] = 4
    return conf


def _paint(
    value: UInt16Array, rows: IntArray, cols: IntArray, days: IntArray, conf: NDArray[np.uint16]
) -> None:
    n = value.shape[0]
    ok = (rows >= 0) & (rows < n) & (cols >= 0) & (cols < n)
    days = np.clip(days, DAY_START, DAY_END)
    value[rows[ok], cols[ok]] = (conf[ok].astype(np.uint32) * 10_000 + days[ok]).astype(np.uint16)


def _clear_box(value: UInt16Array, r0: int, c0: int, r1: int, c1: int) -> None:
    n = value.shape[0]
    value[max(r0, 0) : min(r1, n), max(c0, 0) : min(c1, n)] = 0


def _coca(
    rng: np.random.Generator,
    frame: _Frame,
    value: UInt16Array,
    streams_px: FloatArray,
    truth: _Truth,
) -> None:
    """Small irregular patches (4-40 px, 0.3-3 ha) grown by random walks, in clusters
    5-40 px from streams."""
    size = frame.size
    scale2 = (size / DEFAULT_SIZE) ** 2
    n_clusters = max(4, round(70 * scale2))
    anchors = streams_px[rng.integers(0, len(streams_px), n_clusters)]
    ang = rng.uniform(0, 2 * np.pi, n_clusters)
    dist = rng.uniform(5, 40, n_clusters)
    centres = anchors + np.column_stack([np.cos(ang), np.sin(ang)]) * dist[:, None]
    per = rng.integers(2, 11, n_clusters)
    cl_id = np.repeat(np.arange(n_clusters), per)
    n_patch = len(cl_id)
    patch_c = centres[cl_id] + rng.normal(0.0, 14.0, (n_patch, 2))
    target = np.clip(np.round(rng.lognormal(math.log(12), 0.6, n_patch)), 4, 40).astype(np.int64)
    steps = 4 * 40
    moves = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], np.int64)
    walk = moves[rng.integers(0, 4, (n_patch, steps))]
    walk[:, 0] = 0
    pos = np.cumsum(walk, axis=1)  # (n_patch, steps, 2) offsets (dx, dy)
    cols = np.round(patch_c[:, 0]).astype(np.int64)[:, None] + pos[..., 0]
    rows = np.round(patch_c[:, 1]).astype(np.int64)[:, None] + pos[..., 1]
    pid = np.repeat(np.arange(n_patch), steps)
    span = 2 * steps + 1
    key = pid * span * span + (pos[..., 1].ravel() + steps) * span + pos[..., 0].ravel() + steps
    _, first = np.unique(key, return_index=True)
    first.sort()  # first visits, in patch then step order
    fp = pid[first]
    starts = np.searchsorted(fp, np.arange(n_patch))
    rank = np.arange(len(first)) - starts[fp]
    keep = first[rank < target[fp]]
    kp = pid[keep]
    r = rows.ravel()[keep]
    c = cols.ravel()[keep]

    day0 = rng.integers(DAY_START, DAY_END - 20, n_patch)
    npx = np.bincount(kp, minlength=n_patch)
    age = (DAY_END - day0) / (DAY_END - DAY_START)
    p_low_patch = np.clip(0.6 - 0.35 * npx / 40 - 0.25 * age, 0.05, 0.9)
    p_top_patch = np.clip(0.05 + 0.25 * npx / 40 + 0.15 * age, 0.0, 0.5)
    days = day0[kp] + rng.integers(0, 15, len(kp))
    conf = _confidence(rng, p_low_patch[kp], p_top_patch[kp])
    _paint(value, r, c, days, conf)

    lonlat = frame.px_to_lonlat(patch_c + 0.5)
    for i in range(n_patch):
        truth.features.append(
            _feature(
                {"type": "Point", "coordinates": _coords(lonlat[i : i + 1])[0]},
                {
                    "tipo": "parche_coca",
                    "causa": "coca",
                    "grupo": int(cl_id[i]),
                    "pixeles": int(npx[i]),
                    "area_ha": round(float(npx[i] * frame.pixel_ha), 3),
                    "fecha_inicio": _day_iso(int(day0[i])),
                    "fecha_fin": _day_iso(int(day0[i]) + 14),
                },
            )
        )


def _clearings(
    rng: np.random.Generator,
    frame: _Frame,
    value: UInt16Array,
    roads_px: list[FloatArray],
    truth: _Truth,
) -> None:
    """Large irregular clearings (50-300 ha) beside roads, growing outwards over time.
    The first one is centred on a 400-px block column edge crossed by the main road."""
    size = frame.size
    n = max(3, round(5 * (size / DEFAULT_SIZE) ** 2))
    main = roads_px[0]
    inside = main[
        (main[:, 0] > BLOCK * 0.5)
        & (main[:, 0] < size - BLOCK * 0.5)
        & (main[:, 1] > 60)
        & (main[:, 1] < size - 60)
    ]
    for k in range(n):
        area_ha = rng.uniform(50, 300) if k else rng.uniform(120, 250)
        r0 = math.sqrt(area_ha / frame.pixel_ha / math.pi)
        if k == 0 and len(inside):
            # where the main road crosses a block column edge
            edge_cols = np.arange(BLOCK, size, BLOCK)
            d = np.abs(inside[:, 0][:, None] - edge_cols[None, :])
            i, j = np.unravel_index(np.argmin(d), d.shape)
            anchor = np.array([float(edge_cols[j]), inside[i, 1]])
            side = 1.0 if anchor[1] + r0 + 12 < size else -1.0
            centre = anchor + np.array([0.0, side * (r0 * 0.8 + 10)])
        else:
            road = roads_px[int(rng.integers(0, len(roads_px)))]
            p = road[int(rng.integers(len(road) // 8, len(road) * 7 // 8))]
            ang = rng.uniform(0, 2 * np.pi)
            centre = p + (r0 * 0.9 + rng.uniform(5, 20)) * np.array([math.cos(ang), math.sin(ang)])
        centre = np.clip(centre, r0, size - r0)
        ext = int(math.ceil(r0 * 1.8)) + 2
        cr, cc = int(round(centre[1])), int(round(centre[0]))
        yy, xx = np.mgrid[cr - ext : cr + ext + 1, cc - ext : cc + ext + 1]
        dy = yy + 0.5 - centre[1]
        dx = xx + 0.5 - centre[0]
        rho = np.hypot(dx, dy)
        theta = np.arctan2(dy, dx)
        rad = np.ones_like(theta)
        for h in range(2, 6):
            rad += rng.uniform(0.0, 0.16) * np.cos(h * theta + rng.uniform(0, 6.3))
        rad *= r0
        rel = rho / rad
        inside_px = rel <= 1.0 + rng.normal(0.0, 0.03, rel.shape)
        span = int(rng.integers(90, 420))
        start = int(rng.integers(DAY_START, DAY_END - span))
        rel_in = np.clip(rel[inside_px], 0.0, 1.0)
        days = (start + rel_in * span + rng.integers(0, 12, rel_in.size)).astype(np.int64)
        conf = _confidence(rng, 0.05 + 0.45 * rel_in, 0.45 * (1.0 - rel_in))
        rows = yy[inside_px].astype(np.int64)
        cols = xx[inside_px].astype(np.int64)
        _paint(value, rows, cols, days, conf)
        crosses = bool(
            (rows // BLOCK).min() != (rows // BLOCK).max()
            or (cols // BLOCK).min() != (cols // BLOCK).max()
        )
        truth.features.append(
            _feature(
                {"type": "Point", "coordinates": _coords(frame.px_to_lonlat(centre[None, :]))[0]},
                {
                    "tipo": "desbosque_grande",
                    "causa": "agricultura",
                    "pixeles": int(rows.size),
                    "area_ha": round(float(rows.size * frame.pixel_ha), 2),
                    "fecha_inicio": _day_iso(start),
                    "fecha_fin": _day_iso(min(start + span + 11, DAY_END)),
                    "cruza_borde_de_bloque": crosses,
                },
            )
        )


def _runways(
    rng: np.random.Generator,
    frame: _Frame,
    value: UInt16Array,
    roads_px: list[FloatArray],
    truth: _Truth,
) -> list[tuple[FloatArray, int, float, int]]:
    """Straight strips 400-1,500 m long and 1-2 px wide, away from roads; some have a
    gap. Returns (end points in px, year, length m, active flag) per runway."""
    size = frame.size
    n = max(3, round(8 * (size / DEFAULT_SIZE) ** 2))
    pw, ph = frame.pixel_m
    px_m = (pw + ph) / 2
    road_pts = np.concatenate([_densify(r, 8.0) for r in roads_px])
    made: list[tuple[FloatArray, int, float, int]] = []
    centres: list[FloatArray] = []
    tries = 0
    while len(made) < n and tries < 500:
        tries += 1
        length_m = float(rng.uniform(400, 1500))
        lpx = length_m / px_m
        theta = float(rng.uniform(0, np.pi))
        width = int(rng.integers(1, 3))
        margin = lpx / 2 + 8
        if size - 2 * margin < 1:
            continue
        c = rng.uniform(margin, size - margin, 2)
        if np.min(np.hypot(*(road_pts - c).T)) < 100 * min(1.0, size / DEFAULT_SIZE) + lpx / 2:
            continue
        if any(np.hypot(*(c - o)) < lpx + 40 for o in centres):
            continue
        direction = np.array([math.cos(theta), math.sin(theta)])
        normal = np.array([-direction[1], direction[0]])
        # carve a margin so the strip stays its own component
        half = int(math.ceil(lpx / 2)) + 5
        cr, cc = int(c[1]), int(c[0])
        yy, xx = np.mgrid[cr - half : cr + half + 1, cc - half : cc + half + 1]
        rel = np.stack([xx + 0.5 - c[0], yy + 0.5 - c[1]], axis=-1)
        along = rel @ direction
        across = rel @ normal
        near = (np.abs(along) <= lpx / 2 + 3) & (np.abs(across) <= width + 3)
        inb = (yy >= 0) & (yy < size) & (xx >= 0) & (xx < size)
        value[yy[near & inb], xx[near & inb]] = 0

        t = np.arange(-lpx / 2, lpx / 2, 0.5)
        if rng.random() < 0.5:  # fragmented: a gap of 2-4 px somewhere in the middle
            g = rng.uniform(-lpx / 4, lpx / 4)
            t = t[(t < g) | (t > g + rng.uniform(2, 4))]
        pts = np.concatenate([c + t[:, None] * direction + w * normal for w in range(width)])
        ij = np.unique(np.floor(pts).astype(np.int64), axis=0)
        start = int(rng.integers(DAY_START, DAY_END - 60))
        days = start + rng.integers(0, 45, len(ij))
        conf = _confidence(rng, np.full(len(ij), 0.15), np.full(len(ij), 0.3))
        _paint(value, ij[:, 1], ij[:, 0], days, conf)

        ends = np.stack([c - direction * lpx / 2, c + direction * lpx / 2])
        year = int(rng.integers(2016, 2024))
        active = int(rng.integers(0, 3))
        made.append((ends, year, length_m, active))
        centres.append(c)
        truth.features.append(
            _feature(
                {"type": "LineString", "coordinates": _coords(frame.px_to_lonlat(ends))},
                {
                    "tipo": "pista",
                    "causa": "pista",
                    "pixeles": len(ij),
                    "largo_m": round(length_m, 1),
                    "ancho_px": width,
                    "fecha_inicio": _day_iso(start),
                    "fecha_fin": _day_iso(start + 44),
                },
            )
        )
    return made


def _diagonal_pairs(
    rng: np.random.Generator, frame: _Frame, value: UInt16Array, truth: _Truth
) -> None:
    """Two pairs of 3x3 patches that touch only at a corner: one clearing with
    8-connectivity, two with 4-connectivity."""
    size = frame.size
    for _ in range(2):
        for _try in range(200):  # a spot with nothing around, so the pair stays alone
            r = int(rng.integers(20, size - 30))
            c = int(rng.integers(20, size - 30))
            if not value[r - 3 : r + 9, c - 3 : c + 9].any():
                break
        _clear_box(value, r - 3, c - 3, r + 9, c + 9)
        d1 = int(rng.integers(DAY_START, DAY_END - 200))
        d2 = d1 + int(rng.integers(60, 180))
        for dr, day in ((0, d1), (3, d2)):
            yy, xx = np.mgrid[r + dr : r + dr + 3, c + dr : c + dr + 3]
            k = yy.size
            _paint(
                value,
                yy.ravel().astype(np.int64),
                xx.ravel().astype(np.int64),
                np.full(k, day, np.int64),
                np.full(k, 3, np.uint16),
            )
        corner = frame.px_to_lonlat(np.array([[c + 3.0, r + 3.0]]))
        truth.features.append(
            _feature(
                {"type": "Point", "coordinates": _coords(corner)[0]},
                {
                    "tipo": "par_diagonal",
                    "causa": "otra",
                    "pixeles": 18,
                    "fila": r,
                    "columna": c,
                    "fecha_inicio": _day_iso(d1),
                    "fecha_fin": _day_iso(d2),
                },
            )
        )


def _noise(rng: np.random.Generator, value: UInt16Array) -> None:
    """Scattered single pixels of low confidence (about 1 in 10,000 pixels)."""
    size = value.shape[0]
    n = max(10, round(size * size / 10_000))
    rows = rng.integers(0, size, n)
    cols = rng.integers(0, size, n)
    days = rng.integers(DAY_START, DAY_END + 1, n)
    _paint(value, rows, cols, days, np.full(n, 2, np.uint16))


def _write_alerts(path: Path, frame: _Frame, value: UInt16Array) -> None:
    profile = {
        "driver": "GTiff",
        "dtype": "uint16",
        "count": 1,
        "width": frame.size,
        "height": frame.size,
        "crs": "EPSG:4326",
        "transform": Affine(PIXEL_DEG, 0.0, ORIGIN_LON, 0.0, -PIXEL_DEG, ORIGIN_LAT),
        "nodata": 0,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
    }
    with rasterio.Env(GDAL_NUM_THREADS="1"), rasterio.open(path, "w", **profile) as dst:
        dst.update_tags(
            PRODUCT="gfw_integrated_alerts (sintético, región de muestra)",
            ENCODING="confidence*10000 + days since 2014-12-31; 2 low, 3 high, 4 highest",
        )
        for r0 in range(0, frame.size, BLOCK):
            for c0 in range(0, frame.size, BLOCK):
                h = min(BLOCK, frame.size - r0)
                w = min(BLOCK, frame.size - c0)
                dst.write(value[r0 : r0 + h, c0 : c0 + w], 1, window=Window(c0, r0, w, h))


# ---------------------------------------------------------------------------


def build_sample_region(
    out_dir: Path, *, seed: int = DEFAULT_SEED, size: int = DEFAULT_SIZE
) -> SampleRegion:
    """Write the sample region into ``out_dir`` (created if needed) and describe it.

    ``size`` is the raster width and height in pixels of 0.00025 degrees
    (4000 = 1 degree, about 110 km); vectors scale with the extent and the
    number of alert features with its area. The same ``seed`` and ``size``
    always give byte-identical GeoJSON and identical raster pixels.
    """
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} pixels, not {size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = _Frame(size)
    seqs = np.random.SeedSequence(seed).spawn(8)
    rngs = [np.random.default_rng(s) for s in seqs]

    vec = _make_vectors(rngs[0], frame)
    paths = _write_vectors(out, frame, vec, rngs[1])

    value = np.zeros((size, size), np.uint16)
    truth = _Truth([])
    streams_px = np.concatenate(
        [_densify(frame.uv_to_px(line), 2.0) for _, _, line in vec.rivers[1:]]
    )
    streams_px = streams_px[
        (streams_px[:, 0] >= 0)
        & (streams_px[:, 0] < size)
        & (streams_px[:, 1] >= 0)
        & (streams_px[:, 1] < size)
    ]
    roads_px = [frame.uv_to_px(line) for *_, line in vec.roads]
    _noise(rngs[2], value)
    _coca(rngs[3], frame, value, streams_px, truth)
    _clearings(rngs[4], frame, value, roads_px, truth)
    runways = _runways(rngs[5], frame, value, roads_px, truth)
    _diagonal_pairs(rngs[6], frame, value, truth)

    alerts = out / "alertas_gfw.tif"
    _write_alerts(alerts, frame, value)

    airstrips = out / "pistas_conocidas.geojson"
    _write_geojson(
        airstrips,
        "pistas_conocidas_muestra",
        [
            _feature(
                {"type": "LineString", "coordinates": _coords(frame.px_to_lonlat(ends))},
                {"id": i + 1, "yr": year, "largo": round(length_m), "Activo": active},
            )
            for i, (ends, year, length_m, active) in enumerate(runways)
            if i % 2 == 0
        ],
    )
    truth_path = out / "verdad_terreno.geojson"
    _write_geojson(truth_path, "verdad_terreno_muestra", truth.features)

    bounds = (frame.west, frame.south, frame.east, frame.north)
    description = DESCRIPTION.format(
        seed=seed,
        size=size,
        west=frame.west,
        east=frame.east,
        south=frame.south,
        north=frame.north,
    )
    (out / "LEEME.txt").write_text(description, encoding="utf-8")
    return SampleRegion(
        alerts_tif=alerts,
        territories=paths["territories"],
        reserves=paths["reserves"],
        protected_areas=paths["protected_areas"],
        rivers=paths["rivers"],
        roads=paths["roads"],
        exits=paths["exits"],
        airstrips=airstrips,
        truth=truth_path,
        bounds=bounds,
        description=description,
        seed=seed,
        size=size,
    )
