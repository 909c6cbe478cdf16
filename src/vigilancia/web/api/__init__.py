"""The JSON and GeoJSON API under ``/api/``, one module per area (documented by OpenAPI at
``/api/openapi.json``)."""
