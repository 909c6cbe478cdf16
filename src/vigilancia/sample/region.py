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
  the public runway labels: ``id``, ``yr``, ``largo``, ``Activo``),
  ``verdad_terreno.geojson`` (the generator's ground truth: what each synthetic
  feature is, for checks and for simulated field verdicts) and
  ``zona_mapeada.geojson`` (the region's outline: its rivers, roads and known
  airstrips are complete there, so it is their coverage).

Units: areas in hectares, lengths in metres, pixel coordinates (col, row) from
the upper-left corner.

>>> from tempfile import mkdtemp
>>> region = build_sample_region(Path(mkdtemp()), size=800)  # doctest: +SKIP
>>> region.bounds  # doctest: +SKIP
(-75.4, -8.8, -75.2, -8.6)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigilancia.sample.alerts import paint_alerts, write_alerts
from vigilancia.sample.frame import (
    DEFAULT_SEED,
    DEFAULT_SIZE,
    MIN_SIZE,
    Frame,
    coord_list,
    feature,
    write_geojson,
)
from vigilancia.sample.vectors import make_vectors, write_vectors

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
- Zona mapeada: el contorno de la región, donde sus ríos, vías y pistas conocidas
  están completos (la cobertura de esas capas).
"""


@dataclass(frozen=True)
class SampleRegion:
    """Paths and extent of a generated sample region (all files in EPSG:4326).

    ``territories`` holds the community territories (with two broken geometries
    on purpose), ``reserves`` the reserve for peoples in isolation and
    ``protected_areas`` the communal reserve, ``mapped_area`` the outline where
    its context layers are complete. ``bounds`` is (west, south, east,
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
    mapped_area: Path
    bounds: tuple[float, float, float, float]
    description: str
    seed: int
    size: int


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
    frame = Frame(size)
    seqs = np.random.SeedSequence(seed).spawn(8)
    rngs = [np.random.default_rng(s) for s in seqs]

    vec = make_vectors(rngs[0], frame)
    paths = write_vectors(out, frame, vec, rngs[1])

    value, truth, runways = paint_alerts(rngs[2:7], frame, vec)

    alerts = out / "alertas_gfw.tif"
    write_alerts(alerts, frame, value)

    airstrips = out / "pistas_conocidas.geojson"
    write_geojson(
        airstrips,
        "pistas_conocidas_muestra",
        [
            feature(
                {"type": "LineString", "coordinates": coord_list(frame.px_to_lonlat(ends))},
                {"id": i + 1, "yr": year, "largo": round(length_m), "Activo": active},
            )
            for i, (ends, year, length_m, active) in enumerate(runways)
            if i % 2 == 0
        ],
    )
    truth_path = out / "verdad_terreno.geojson"
    write_geojson(truth_path, "verdad_terreno_muestra", truth.features)

    bounds = (frame.west, frame.south, frame.east, frame.north)
    mapped = out / "zona_mapeada.geojson"
    west, south, east, north = bounds
    outline = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    write_geojson(mapped, "zona_mapeada_muestra",
                  [feature({"type": "Polygon", "coordinates": [outline]},
                           {"nombre": "región de muestra"})])
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
        mapped_area=mapped,
        bounds=bounds,
        description=description,
        seed=seed,
        size=size,
    )
