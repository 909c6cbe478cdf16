"""The synthetic sample region of ``vigilancia demo`` and the tests: seeded, offline.

It writes files (GeoJSON vectors and a GFW-encoded GeoTIFF of alerts) that the services
then import like real data, so it sits above ``io`` and below ``services``.

- :mod:`~vigilancia.sample.region`: :func:`build_sample_region` and what it describes
  (:class:`SampleRegion`);
- :mod:`~vigilancia.sample.frame`: the grid, constants and drawing tools;
- :mod:`~vigilancia.sample.vectors`: communities, reserves, rivers, roads and exits;
- :mod:`~vigilancia.sample.alerts`: the alert raster and its ground truth.
"""

from vigilancia.sample.region import SampleRegion, build_sample_region

__all__ = ["SampleRegion", "build_sample_region"]
