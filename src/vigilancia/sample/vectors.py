"""The sample region's vectors: communities, reserve, protected area, rivers, roads, exits.

:func:`make_vectors` draws them (seeded) in the region's :class:`~.frame.Frame`;
:func:`write_vectors` writes them as GeoJSON, two community rings broken on purpose
(one left unclosed, one crossing itself), as real cadastre files are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from vigilancia.sample.frame import (
    FloatArray,
    Frame,
    blob_ring,
    closed,
    coord_list,
    densify,
    feature,
    meander,
    point_along,
    write_geojson,
)

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



# ---------------------------------------------------------------------------
# vectors


@dataclass
class Vectors:
    rivers: list[tuple[str, str, FloatArray]]  # nombre, tipo, uv line
    roads: list[tuple[str, str, str, FloatArray]]  # codigo, tipo, nombre, uv line
    reserve: FloatArray  # uv ring
    protected: FloatArray
    communities: list[FloatArray]  # lon/lat rings


def make_vectors(rng: np.random.Generator, frame: Frame) -> Vectors:
    main = meander(rng, (0.50, 1.02), (0.93, -0.02), n=260, amplitude=0.05)
    rivers: list[tuple[str, str, FloatArray]] = [("Río Pachitea", "Río", main)]
    tributaries = (
        ("Río Sungaro", 0.25, (0.05, 0.78)),
        ("Río San Alejandro", 0.70, (0.12, 0.30)),
        ("Río Yuyapichis", 0.35, (0.98, 0.88)),
        ("Quebrada Shanoya", 0.85, (0.58, 0.05)),
    )
    for name, at, far in tributaries:
        a = point_along(main, at)
        far_pt = np.asarray(far) + rng.normal(0.0, 0.02, 2)
        kind = "Río" if name.startswith("Río") else "Quebrada"
        rivers.append(
            (name, kind, meander(rng, a, far_pt, n=160, amplitude=0.07, taper_start=True))
        )
    creeks = ("Isuya", "Chanibari", "Mapuya", "Bëxo", "Tanaxa", "Pinshaya", "Kuxari", "Yaminu")
    for i, cname in enumerate(creeks):
        parent = rivers[1 + i % 4][2]
        a = point_along(parent, rng.uniform(0.25, 0.85))
        ang = rng.uniform(0, 2 * np.pi)
        ln = rng.uniform(0.06, 0.16)
        b = np.clip(a + ln * np.array([math.cos(ang), math.sin(ang)]), -0.02, 1.02)
        rivers.append(
            (
                f"Quebrada {cname}",
                "Quebrada",
                meander(rng, a, b, n=80, amplitude=0.08, taper_start=True),
            )
        )

    main_road = meander(rng, (-0.02, 0.37), (0.54, -0.02), n=200, amplitude=0.015)
    roads: list[tuple[str, str, str, FloatArray]] = [
        ("UC-104", "departamental", "Carretera troncal (muestra)", main_road)
    ]
    junction = point_along(main_road, 0.66)
    south_road = meander(rng, junction, (0.40, 1.02), n=200, amplitude=0.02, taper_start=True)
    roads.append(("HU-115", "departamental", "Carretera marginal (muestra)", south_road))
    rural = (
        ("UC-650", main_road, 0.25, 0.9),
        ("UC-651", main_road, 0.45, -2.0),
        ("HU-720", south_road, 0.40, 0.2),
        ("HU-721", south_road, 0.70, 3.0),
    )
    for code, parent, at, ang in rural:
        a = point_along(parent, at)
        ln = rng.uniform(0.08, 0.16)
        b = a + ln * np.array([math.cos(ang), math.sin(ang)])
        roads.append(
            (
                code,
                "vecinal",
                f"Camino vecinal {code} (muestra)",
                meander(rng, a, b, n=80, amplitude=0.04, taper_start=True),
            )
        )

    reserve = blob_ring(rng, (0.14, 0.60), 0.17, n=140, aspect=0.75, rotation=0.2, roughness=0.15)
    protected = blob_ring(rng, (0.86, 0.84), 0.18, n=140, aspect=1.1, roughness=0.15)

    communities = []
    river_pts = np.concatenate([densify(line, 0.004) for _, _, line in rivers])
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
        ring_uv = blob_ring(
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
    return Vectors(rivers, roads, reserve, protected, communities)


def _uv_ring_to_lonlat(frame: Frame, ring_uv: FloatArray) -> FloatArray:
    """uv rings are built with v downwards; flip to keep lon/lat rings counter-clockwise."""
    return frame.uv_to_lonlat(ring_uv[::-1])


def _bowtie(ring: list[list[float]]) -> list[list[float]]:
    """Reverse a quarter of the vertices: the ring twists into a bow-tie that crosses
    itself (as a digitising slip does)."""
    n = len(ring)
    i, j = n // 3, n // 3 + max(n // 4, 3)
    return [list(p) for p in ring[:i]] + [list(p) for p in ring[i:j][::-1]] + ring[j:]


def write_vectors(
    out: Path, frame: Frame, vec: Vectors, rng: np.random.Generator
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
        coords = coord_list(ring)
        title_date = None
        if tenure == "titulada":
            days = int(rng.integers(0, 14_000))
            title_date = (date(1976, 1, 1) + timedelta(days=days)).isoformat()
        if i == UNCLOSED_COMMUNITY:
            rings = [coords]  # the first point is not repeated: ring not closed
        elif i == BOWTIE_COMMUNITY:
            rings = [closed(_bowtie(coords))]
        else:
            rings = [closed(coords)]
        feats.append(
            feature(
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
    write_geojson(paths["territories"], "comunidades_muestra", feats)

    reserve = coord_list(_uv_ring_to_lonlat(frame, vec.reserve))
    write_geojson(
        paths["reserves"],
        "reservas_muestra",
        [
            feature(
                {"type": "Polygon", "coordinates": [closed(reserve)]},
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
    protected = coord_list(_uv_ring_to_lonlat(frame, vec.protected))
    write_geojson(
        paths["protected_areas"],
        "areas_protegidas_muestra",
        [
            feature(
                {"type": "Polygon", "coordinates": [closed(protected)]},
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
    write_geojson(
        paths["rivers"],
        "rios_muestra",
        [
            feature(
                {"type": "LineString", "coordinates": coord_list(frame.uv_to_lonlat(line))},
                {"id": i + 1, "nombre": name, "tipo": kind},
            )
            for i, (name, kind, line) in enumerate(vec.rivers)
        ],
    )
    write_geojson(
        paths["roads"],
        "vias_muestra",
        [
            feature(
                {"type": "LineString", "coordinates": coord_list(frame.uv_to_lonlat(line))},
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
    write_geojson(
        paths["exits"],
        "salidas_muestra",
        [
            feature(
                {"type": "Point",
                 "coordinates": coord_list(frame.uv_to_lonlat(np.asarray([uv])))[0]},
                {"id": i + 1, "nombre": name, "tipo": kind},
            )
            for i, (name, kind, uv) in enumerate(exits)
        ],
    )
    return paths
