"""Writers of the offline package formats: one module per target app.

ADAPTERS only: each writer takes plain features (:class:`MapFeature`, lon/lat
EPSG:4326) and text already in the user's language, and writes one file that
its app opens; what goes in a package, and what must never, is decided by
:mod:`vigilancia.services.package`.

- :mod:`.vectors`: GeoPackage layers and GeoJSON (QGIS, any GIS);
- :mod:`.gpx`: GPX waypoints, route and track (Locus Map, OsmAnd, Garmin);
- :mod:`.kml`: KMZ with styled placemarks in folders (Google Earth);
- :mod:`.comapeo`: CoMapeo ``remoteDetectionAlert`` documents;
- :mod:`.odk`: the ODK entity-list CSV of the verification form;
- :mod:`.tiles`: a PMTiles vector tileset for offline maps.
"""

from vigilancia.io.package.common import MapFeature

__all__ = ["MapFeature"]
