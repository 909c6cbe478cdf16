"""Alert pixels to clearings, one strip of rows at a time, in bounded memory.

The raster is consumed top to bottom in strips. Each strip is reduced to
horizontal *runs* of accepted pixels (a fused lookup-table filter, so a pixel
is decoded once); runs are joined into 8-connected components with union-find
across rows and across strip edges; a component is finished as soon as no run
of it touches the last row seen, and is then measured and traced into rings.
Only the runs of unfinished components are kept, so memory follows the
alert front, not the tile size, and a clearing crossing a strip or tile edge
comes out whole.

Geometry is traced along pixel edges (crack following), keeping the pixel to
the right of the walking direction; diagonally touching parts become separate
simple rings of one MultiPolygon (their point set is the union of the pixel
squares, as GDAL's 8-connected polygonize gives).

Territory overlap is counted per run with a scanline over the territory edges:
a pixel belongs to a territory when its centre is inside it (GDAL rasterize and
rasterstats use the same rule), so per-territory areas add up exactly.

Coordinates here are pixel coordinates (column, row) of pixel corners; the
caller maps them to the raster CRS with its affine transform.

The stages, one module each:

- :mod:`~vigilancia.domain.labelling.runs`: strips to runs, union-find over runs;
- :mod:`~vigilancia.domain.labelling.components`: finished components to features
  and rings;
- :mod:`~vigilancia.domain.labelling.scanline`: territory overlap per run;
- :mod:`~vigilancia.domain.labelling.labeller`: the streaming labeller;
- :mod:`~vigilancia.domain.labelling.grids`: pixel metrics of the raster grid;
- :mod:`~vigilancia.domain.labelling.geometry`: rings to polygons (WKB or shapely);
- :mod:`~vigilancia.domain.labelling.rasterize`: stored polygons back to their runs
  (re-placing clearings when the territories change).
"""

from vigilancia.domain.labelling.components import Components, Overlaps
from vigilancia.domain.labelling.geometry import build_geometries, geometry_wkb, point_in_ring
from vigilancia.domain.labelling.grids import PixelGrid, geographic_grid, projected_grid
from vigilancia.domain.labelling.labeller import Labeller, Marks, aggregate_overlaps, runs_at
from vigilancia.domain.labelling.rasterize import PolygonRuns, polygon_runs, wkb_rings
from vigilancia.domain.labelling.runs import BadPixels, Runs, scan_strip
from vigilancia.domain.labelling.scanline import TerritoryScanline, grown

__all__ = [
    "BadPixels",
    "Components",
    "Labeller",
    "Marks",
    "Overlaps",
    "PixelGrid",
    "PolygonRuns",
    "Runs",
    "TerritoryScanline",
    "aggregate_overlaps",
    "build_geometries",
    "geographic_grid",
    "geometry_wkb",
    "grown",
    "point_in_ring",
    "polygon_runs",
    "projected_grid",
    "runs_at",
    "scan_strip",
    "wkb_rings",
]
