"""Pure territory functions: ring closing, geometry repair and guessing Peruvian fields."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon

from vigilancia.domain.territories import (
    Tenure,
    close_rings,
    guess_name_field,
    guess_people,
    guess_tenure,
    guess_title_date,
    parse_date,
    repair_geometry,
)
from vigilancia.i18n import get_language, set_language

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = get_language()
    set_language("en")
    yield
    set_language(before)


# --------------------------------------------------------------------------- close_rings


def test_close_rings_levels_and_no_mutation() -> None:
    ring = [[0, 0], [1, 0], [1, 1]]
    assert close_rings(ring) == ([[0, 0], [1, 0], [1, 1], [0, 0]], 1)
    assert ring == [[0, 0], [1, 0], [1, 1]]  # input untouched
    closed = [[0, 0], [1, 0], [1, 1], [0, 0]]
    assert close_rings(closed) == (closed, 0)
    polygon = [ring, closed]
    assert close_rings(polygon)[1] == 1
    multi = [[ring, ring], [closed], [[[5, 5], [6, 5], [6, 6]]]]
    fixed, n = close_rings(multi)
    assert n == 3 and all(r[0] == r[-1] for poly in fixed for r in poly)
    assert close_rings([]) == ([], 0)
    # only x and y decide: a z that differs does not open a ring
    assert close_rings([[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0, 7]])[1] == 0


# --------------------------------------------------------------------------- repair_geometry


def test_valid_polygon_is_unchanged() -> None:
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    fixed, repairs = repair_geometry(square, "feature 1")
    assert fixed is square and repairs == []


def test_bowtie_is_made_valid_and_reported() -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    fixed, repairs = repair_geometry(bowtie, "feature 7 (id=CN-1)")
    assert fixed is not None and fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(2.0)
    (repair,) = repairs
    assert repair.feature == "feature 7 (id=CN-1)"
    assert repair.problem == "self-intersection at 1.00000, 1.00000"
    assert repair.action == "made valid with shapely.make_valid (2 parts)"


def test_collapsed_polygon_is_dropped_with_a_reason() -> None:
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    fixed, repairs = repair_geometry(flat, "feature 2")
    assert fixed is None
    assert repairs[0].action == "dropped: no polygon left after repair"


def test_non_polygons_have_nothing_to_repair() -> None:
    assert repair_geometry(None, "f") == (None, [])
    assert repair_geometry(Point(0, 0), "f") == (None, [])
    assert repair_geometry(LineString([(0, 0), (1, 1)]), "f") == (None, [])
    assert repair_geometry(Polygon(), "f") == (None, [])


def test_collection_keeps_its_polygons() -> None:
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    fixed, repairs = repair_geometry(GeometryCollection([Point(5, 5), square]), "f")
    assert fixed is not None and fixed.equals(square)
    assert [r.problem for r in repairs] == ["points or lines mixed with polygons"]
    assert repair_geometry(GeometryCollection([Point(5, 5)]), "f") == (None, [])


def test_overlapping_multipolygon_is_dissolved() -> None:
    a = Polygon([(0, 0), (2, 0), (2, 2), (0, 2)])
    b = Polygon([(1, 1), (3, 1), (3, 3), (1, 3)])
    fixed, repairs = repair_geometry(MultiPolygon([a, b]), "f")
    assert fixed is not None and fixed.is_valid and fixed.area == pytest.approx(7.0)
    assert len(repairs) == 1


coordinate = st.one_of(
    st.integers(-5, 5).map(float),
    st.floats(-80.0, -70.0, allow_nan=False, allow_infinity=False),
)
point = st.tuples(coordinate, coordinate)
ring = st.lists(point, min_size=3, max_size=12)


@st.composite
def polygonal(draw: st.DrawFn) -> shapely.Geometry:
    """Polygons and multipolygons of random (often self-intersecting) rings."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        shell = draw(ring)
        holes = draw(st.lists(ring, max_size=2))
        try:
            parts.append(Polygon(shell, holes))
        except (ValueError, shapely.errors.GEOSException):
            continue
    if not parts:
        return Polygon()
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


@settings(max_examples=150, deadline=None)
@given(polygonal())
def test_repaired_geometry_is_always_valid_and_polygonal(geom: shapely.Geometry) -> None:
    fixed, repairs = repair_geometry(geom, "feature 1")
    if fixed is None:
        assert geom.is_empty or not geom.is_valid or geom.area == 0
        return
    assert fixed.is_valid
    assert fixed.geom_type in ("Polygon", "MultiPolygon")
    assert not fixed.is_empty
    if geom.is_valid:
        assert fixed is geom and repairs == []
    else:
        assert repairs and all(r.feature == "feature 1" for r in repairs)


# --------------------------------------------------------------------------- guessing fields


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["OBJECTID", "codcom", "nomcom", "pueblo", "titcom", "fectit"], "nomcom"),  # SERFOR
        (["country", "id_field", "name_field", "status_field"], "name_field"),  # RAISG / AMW
        (["source_file", "nombre", "categoria_raw", "prefix", "ubpo"], "nombre"),  # SERNANP
        (["anp_cate", "anp_nombre", "anp_sect", "anp_ubpo"], "anp_nombre"),  # rc_el_sira
        (["objectid", "acr_codi", "acr_nomb", "acr_sect"], "acr_nomb"),
        (["objectid", "acp_codi", "acp_nomb", "acp_titu"], "acp_nomb"),
        (["OBJECTID", "IDDIST", "NOMBDIST", "NOMBPROV", "NOMBDEP"], "NOMBDIST"),  # INEI
        (["tag", "departamento", "provincia", "distrito", "capital"], "distrito"),
        (["id", "Name", "description"], "Name"),  # KML
        (["NOMBRE_CCPP", "ID"], "NOMBRE_CCPP"),
        (["codigo", "nom_territorio"], "nom_territorio"),
        (["fid", "area_ha"], None),
    ],
)
def test_guess_name_field(columns: list[str], expected: str | None) -> None:
    assert guess_name_field(columns) == expected


def test_guess_name_field_on_real_files() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    import pyogrio

    expected = {
        "territories/sernanp_protected_areas.gpkg": "nombre",
        "territories/rc_el_sira.gpkg": "anp_nombre",
        "territories/indigenous_territories_peru_amw.geojson": "name_field",
        "territories/broken_rings_acr.geojson": "acr_nomb",
        "admin/peru_districts.geojson": "NOMBDIST",
        "admin/prov_puerto_inca_districts.gpkg": "distrito",
    }
    for name, field in expected.items():
        columns = list(pyogrio.read_info(SHARED_DATA / name)["fields"])
        assert guess_name_field(columns) == field, name


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"titcom": "TITULADA"}, Tenure.TITLED),
        ({"titcom": "Titulado"}, Tenure.TITLED),
        ({"titcom": "SI"}, Tenure.TITLED),
        ({"titcom": "NO"}, Tenure.RECOGNISED),
        ({"titcom": "EN TRÁMITE"}, Tenure.IN_PROCESS),
        ({"titcom": "En proceso de titulación"}, Tenure.IN_PROCESS),
        ({"titcom": "POR TITULAR"}, Tenure.IN_PROCESS),
        ({"titcom": "RECONOCIDA"}, Tenure.RECOGNISED),
        ({"titcom": "SIN TÍTULO"}, Tenure.RECOGNISED),
        ({"titcom": "no titulada"}, Tenure.RECOGNISED),
        ({"status_field": "INSCRITA"}, Tenure.TITLED),  # RAISG / AMW wording
        ({"status_field": "AMPLIACION"}, Tenure.IN_PROCESS),
        ({"status_field": "Adecuada"}, Tenure.RECOGNISED),
        ({"estado": "Propuesta"}, Tenure.CLAIMED),
        ({"estado": "demanda territorial"}, Tenure.CLAIMED),
        ({"tenure": "claimed"}, Tenure.CLAIMED),
        ({"titcom": None, "fectit": "1998-05-12"}, Tenure.TITLED),
        ({"titcom": True}, Tenure.TITLED),
        ({"status_field": None, "name_field": "SAN MATEO"}, Tenure.UNKNOWN),
        ({"nombre": "El Sira", "categoria_raw": "Reserva Comunal"}, Tenure.UNKNOWN),
        ({"ESTADO": "vigente"}, Tenure.UNKNOWN),
        ({}, Tenure.UNKNOWN),
    ],
)
def test_guess_tenure(props: dict[str, object], expected: Tenure) -> None:
    assert guess_tenure(props) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1998-05-12", date(1998, 5, 12)),
        ("1998-05-12T00:00:00", date(1998, 5, 12)),
        ("12/05/1998", date(1998, 5, 12)),  # Peruvian order: day first
        ("19980512", date(1998, 5, 12)),
        (19980512, date(1998, 5, 12)),
        (516258000000, date(1986, 5, 12)),  # ArcGIS epoch ms (midnight in Lima)
        (datetime(2001, 2, 3, 4, 5), date(2001, 2, 3)),
        (date(2001, 2, 3), date(2001, 2, 3)),
        ("1998", None),  # a year alone is not a date
        ("31/02/1998", None),
        ("", None),
        (None, None),
        (0, None),
        ("1800-01-01", None),
        (float("nan"), None),
    ],
)
def test_parse_date(value: object, expected: date | None) -> None:
    assert parse_date(value) == expected


def test_guess_title_date_reads_only_title_fields() -> None:
    assert guess_title_date({"fectit": "12/05/1998"}) == date(1998, 5, 12)
    assert guess_title_date({"FECHA_TITULACION": "2004-01-30"}) == date(2004, 1, 30)
    # a district's creation law date is not a title date
    assert guess_title_date({"IDDIST": "230110", "FECHA": "02/02/2001"}) is None
    assert guess_title_date({"fectit": None, "fec_tit": "garbage"}) is None


def test_guess_people() -> None:
    assert guess_people({"pueblo": "KAKATAIBO"}) == "KAKATAIBO"
    assert guess_people({"ethnicities_field": "SHIPIBO-CONIBO"}) == "SHIPIBO-CONIBO"
    assert guess_people({"Etnia": " Asháninka "}) == "Asháninka"
    assert guess_people({"pueblo": "", "etnia": None}) is None
    assert guess_people({"nombre": "X"}) is None


def test_ring_doubling_back_on_itself_is_dissolved_into_one_valid_polygon():
    # found by Hypothesis: make_valid returned two triangles sharing an edge (invalid)
    from shapely import wkt

    geom = wkt.loads("POLYGON ((0 0, 0 1, 1 0, 0 0, 0 1, -1 0, 0 0))")
    fixed, repairs = repair_geometry(geom, "feature 1")
    assert fixed is not None and fixed.is_valid and fixed.geom_type == "Polygon"
    assert fixed.area == pytest.approx(1.0) and len(repairs) == 1
