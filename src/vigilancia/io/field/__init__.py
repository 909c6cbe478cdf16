"""Field-data importers: CoMapeo/Mapeo, ODK Central/KoboToolbox, GPX, KML/KMZ and photos.

One importer per format, behind one registry (:mod:`.registry`). Importing this
package registers the built-ins, through the same :func:`register_importer` a
plugin uses. Importers only read formats: they never match observations to
cases nor write to a workspace; they report every file they read with its
SHA-256 so the services can keep the originals byte for byte.

>>> from vigilancia.io.field import read_many
>>> results, failures = read_many(["ruta.gpx", "CoMapeo_export.zip"])  # doctest: +SKIP
>>> for r in results:  # doctest: +SKIP
...     print(r.format, len(r.observations), [f.sha256[:8] for f in r.files])
"""

from __future__ import annotations

from vigilancia.domain.field import (
    FieldFile,
    FieldImport,
    FieldObservation,
    FileRole,
    ObservationKind,
    Verdict,
)
from vigilancia.io.field.common import ImportOptions, read_field_file
from vigilancia.io.field.registry import (
    Importer,
    ImportFailure,
    Probe,
    detect,
    get_importer,
    importers,
    read,
    read_many,
    register_importer,
)

# Built-in importers register themselves on import, as plugins would.
from vigilancia.io.field import comapeo as _comapeo  # noqa: E402,F401  isort: skip
from vigilancia.io.field import gpx as _gpx  # noqa: E402,F401  isort: skip
from vigilancia.io.field import kml as _kml  # noqa: E402,F401  isort: skip
from vigilancia.io.field import odk as _odk  # noqa: E402,F401  isort: skip
from vigilancia.io.field import photos as _photos  # noqa: E402,F401  isort: skip
from vigilancia.io.field.xlsform import verdict_from_answer, write_xlsform, xlsform_path

__all__ = [
    "FieldFile",
    "FieldImport",
    "FieldObservation",
    "FileRole",
    "ImportFailure",
    "ImportOptions",
    "Importer",
    "ObservationKind",
    "Probe",
    "Verdict",
    "detect",
    "get_importer",
    "importers",
    "read",
    "read_field_file",
    "read_many",
    "register_importer",
    "verdict_from_answer",
    "write_xlsform",
    "xlsform_path",
]
