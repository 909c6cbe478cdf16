"""Exported layers in the user's language: layer names, column names and coded values.

Every layer vigilancia writes for people (the clearings export, runway candidates, the
corridors GeoPackage, the risk table and layer) is built with English column names and
English codes; :func:`localise` renames its columns and rewrites its coded values into the
language of the call. Spanish is the default (``primera_fecha``, ``causa`` = ``pista``,
``clase`` = ``critico``); under ``VIGILANCIA_LANGUAGE=en`` the English names and codes stay.
:data:`COLUMNS` is the one table of both names (the README shows it, and a test keeps
the two equal); :data:`LAYERS` names the layers. The layers of the offline package for
phones have their own Spanish names (:mod:`vigilancia.services.package`), in both
languages, because the field apps' forms read them.

Coded values are the codes of :mod:`vigilancia.domain.codes` (typed back as they are,
e.g. ``vigilancia labels import`` reads ``causa``); free text (names, explanations) is
written in the user's language where it is made.

>>> import pandas as pd
>>> frame = pd.DataFrame({"first_date": ["2024-05-01"], "driver": ["airstrip"]})
>>> list(localise(frame, "es").itertuples(index=False))
[Pandas(primera_fecha='2024-05-01', causa='pista')]
>>> list(localise(frame, "en").columns)
['first_date', 'driver']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from vigilancia.domain.codes import word_in
from vigilancia.domain.drivers import DRIVERS
from vigilancia.domain.risk import Factor
from vigilancia.i18n import get_language

if TYPE_CHECKING:
    import pandas

__all__ = ["CODED", "COLUMNS", "LAYERS", "column_name", "layer_name", "localise"]

F = TypeVar("F", bound="pandas.DataFrame")

#: English column name -> Spanish column name, for every exported layer.
COLUMNS: dict[str, str] = {
    # the clearings export
    "id": "id",
    "batch_id": "lote",
    "product": "producto",
    "first_date": "primera_fecha",
    "last_date": "ultima_fecha",
    "area_ha": "area_ha",
    "perimeter_m": "perimetro_m",
    "length_m": "largo_m",
    "width_m": "ancho_m",
    "orientation_deg": "orientacion_grados",
    "elongation": "alargamiento",
    "compactness": "compacidad",
    "centroid_lon": "centro_lon",
    "centroid_lat": "centro_lat",
    "pixels_low": "pixeles_baja",
    "pixels_high": "pixeles_alta",
    "pixels_highest": "pixeles_maxima",
    "pixel_count": "pixeles",
    "source_ref": "referencia_fuente",
    "status": "estado",
    "nearest_territory_id": "territorio_cercano_id",
    "nearest_territory": "territorio_cercano",
    "boundary_distance_m": "distancia_limite_m",
    "within_buffer": "dentro_del_margen",
    "driver": "causa",
    "driver_probability": "probabilidad_causa",
    **{f"prob_{d.value}": f"prob_{word_in(d.value, 'es')}" for d in DRIVERS},
    "driver_reasons": "razones_causa",
    "driver_text": "texto_causa",
    "model_version": "version_modelo",
    "territories": "territorios",
    "reserves": "reservas",
    "protected_areas": "areas_protegidas",
    "districts": "distritos",
    "lon": "lon",
    "lat": "lat",
    # runway candidates
    "n_clearings": "n_claros",
    "clearing_ids": "ids_claros",
    "fill": "relleno",
    "branches": "ramales",
    "airstrip_probability": "probabilidad_pista",
    "likely": "probable",
    "known_airstrip": "pista_conocida",
    "known_distance_m": "distancia_pista_conocida_m",
    "text": "texto",
    # corridors
    "origin": "origen",
    "exit": "salida",
    "modes": "modos",
    "modes_text": "texto_modos",
    "length_km": "largo_km",
    "cost_h": "costo_h",
    "river_km": "rio_km",
    "road_km": "carretera_km",
    "trail_km": "trocha_km",
    "air_km": "avioneta_km",
    "walk_km": "a_pie_km",
    "kind": "tipo",
    "name": "nombre",
    "reachable": "alcanza_salida",
    "air": "aerea",
    "routes": "rutas",
    "territory_id": "territorio_id",
    "distance_km": "distancia_km",
    "n_crossing": "n_cruzan",
    "crossing": "cruzan",
    # risk
    "rank": "puesto",
    "unit": "unidad",
    "score": "puntaje",
    "risk_class": "clase",
    "class_name": "nombre_clase",
    "regional_class": "clase_regional",
    "regional_class_name": "nombre_clase_regional",
    "coverage": "cobertura",
    "explanation": "explicacion",
    "missing": "faltan",
    **{f"points_{f.value}": f"pts_{word_in(f.value, 'es')}" for f in Factor},
    "as_of": "fecha_evaluacion",
}

#: Columns whose values are codes (:mod:`vigilancia.domain.codes`), one per cell, or a
#: list joined by ", " where the value is ``"list"``.
CODED: dict[str, str] = {
    "status": "one",
    "driver": "one",
    "kind": "one",
    "unit": "one",
    "risk_class": "one",
    "regional_class": "one",
    "modes": "list",
    "missing": "list",
}

#: English layer name -> Spanish layer name.
LAYERS: dict[str, str] = {
    "clearings": "claros",
    "runway_candidates": "pistas_candidatas",
    "routes": "rutas",
    "production_zones": "zonas_produccion",
    "exits": "salidas",
    "corridor_communities": "comunidades_corredor",
    "risk": "riesgo",
}

assert len(set(COLUMNS.values())) == len(COLUMNS), "two columns share a Spanish name"


def column_name(name: str, lang: str | None = None) -> str:
    """The name of column ``name`` (English) in ``lang`` (default: the current language)."""
    return COLUMNS.get(name, name) if (lang or get_language()) == "es" else name


def layer_name(name: str, lang: str | None = None) -> str:
    """The name of layer ``name`` (English) in ``lang`` (default: the current language)."""
    return LAYERS.get(name, name) if (lang or get_language()) == "es" else name


def localise(frame: F, lang: str | None = None) -> F:
    """``frame`` with its columns named, and its coded values written, in ``lang``
    (default: the current language); a copy. Columns missing from :data:`COLUMNS` keep
    their name; the geometry column keeps its own."""
    lang = lang or get_language()
    if lang != "es":
        return frame
    out = frame.copy()
    for column, how in CODED.items():
        if column not in out.columns:
            continue
        if how == "list":
            out[column] = [
                v if not isinstance(v, str) else ", ".join(
                    word_in(p.strip(), lang) for p in v.split(",") if p.strip())
                for v in out[column]
            ]
        else:
            out[column] = [word_in(v, lang) if isinstance(v, str) else v for v in out[column]]
    geometry = getattr(out, "_geometry_column_name", None)
    names = {c: column_name(c, lang) for c in out.columns if c != geometry}
    return out.rename(columns=names)
