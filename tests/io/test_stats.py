"""DEVIDA's coca tables and Geobosques' district forest loss, with the quirks of the real
files: the national TOTAL row, empty cells of zones not monitored, text percentages,
numbers with thousands separators, and UBIGEO codes that keep their leading zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigilancia.errors import DataFormatError, UnreadableFileError
from vigilancia.io.stats import parse_number, read_coca_table, read_forest_loss


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_department_table_keeps_the_total_apart(tmp_path):
    t = read_coca_table(write(tmp_path, "dep.csv",
                              "Departamento,2023,2024,Variación_2024_2023\n"
                              "Ayacucho,20051,18749,-1302\nHuánuco,4960,4627,-333\n"
                              "TOTAL,25011,23376,-1635\n", "utf-8-sig"))
    assert (t.kind, t.years, t.change_unit) == ("department", (2023, 2024), "ha")
    assert [r.name for r in t.rows] == ["Ayacucho", "Huánuco"]
    assert t.rows[1].hectares == {2023: 4960.0, 2024: 4627.0} and t.rows[1].change == -333
    assert t.total is not None and t.total.hectares[2024] == 23376
    assert t.source == "dep.csv" and len(t.sha256) == 64


def test_zone_table_with_empty_cells_and_text_percentages(tmp_path):
    t = read_coca_table(write(tmp_path, "zonas.csv",
                              "zona_cocalera,ha_2022,ha_2023,ha_2024,var_pct_2024_2023\n"
                              "Aguaytía,3914,4019,4364,8.6%\nCotuhé,,,105,-\n"
                              "TOTAL,95008,92784,89755,-3.3%\n"))
    assert (t.kind, t.change_unit) == ("zone", "%")
    aguaytia, cotuhe = t.rows
    assert aguaytia.change == pytest.approx(8.6)
    assert cotuhe.hectares == {2022: None, 2023: None, 2024: 105.0} and cotuhe.change is None
    assert t.total.change == pytest.approx(-3.3)


def test_forest_loss_keeps_ubigeo_text_and_reads_thousands(tmp_path):
    t = read_forest_loss(write(tmp_path, "loss.csv",
                               "DEPARTAMENTO,PROVINCIA,DISTRITO,UBIGEO,2023_ha,2024_ha,"
                               "HIDROGRAFÍA_ha,BOSQUE AL 2024_ha\n"
                               'AMAZONAS,CHACHAPOYAS,BALSAS,010103,7.02,10.89,0.00,"2,403.72"\n'
                               "UCAYALI,CORONEL PORTILLO,CALLERIA,250101,"
                               '"1,353.78","1,356.12",1.0,"1,036,706.40"\n'
                               # a spreadsheet dropped the leading zero of this one
                               "AMAZONAS,CHACHAPOYAS,CHETO,10104,14.40,13.59,0,2360.34\n"))
    assert t.years == (2023, 2024)
    rows = t.by_ubigeo()
    assert set(rows) == {"010103", "250101", "010104"}
    assert rows["250101"].loss_ha == {2023: 1353.78, 2024: 1356.12}
    assert rows["250101"].forest_ha == pytest.approx(1036706.40)
    assert rows["010103"].forest_ha == pytest.approx(2403.72)
    assert rows["010104"].district == "CHETO"


@pytest.mark.parametrize(("text", "where"), [
    ("UBIGEO,2024_ha\n12345X,3\n", "fila 2"),
    ("UBIGEO,2024_ha\n010101,3\n010101,4\n", "dos veces"),
    ("UBIGEO,2024_ha\n010101,mucho\n", "no es un número"),
    ("DISTRITO,2024_ha\nBALSAS,3\n", "UBIGEO"),
    ("UBIGEO,nombre\n010101,x\n", "columnas de años"),
])
def test_forest_loss_errors_name_the_row(tmp_path, text, where):
    with pytest.raises(DataFormatError, match=where) as err:
        read_forest_loss(write(tmp_path, "perdida.csv", text))
    assert err.value.source.endswith("perdida.csv")


def test_coca_errors(tmp_path):
    with pytest.raises(DataFormatError, match="DEVIDA"):
        read_coca_table(write(tmp_path, "a.csv", "provincia,habitantes\nX,1\n"))
    with pytest.raises(DataFormatError, match="fila 3"):
        read_coca_table(write(tmp_path, "b.csv", "Departamento,2024\nCusco,1\nPuno,mil\n"))
    with pytest.raises(DataFormatError, match="no tiene filas"):
        read_coca_table(write(tmp_path, "c.csv", "Departamento,2024\n"))
    with pytest.raises(UnreadableFileError):
        read_coca_table(tmp_path / "no_existe.csv")


def test_a_windows_spreadsheet_csv(tmp_path):
    t = read_coca_table(write(tmp_path, "w.csv", "Departamento;2024\nHuánuco;4627\n", "cp1252"))
    assert t.rows[0].name == "Huánuco" and t.rows[0].hectares[2024] == 4627


def test_numbers():
    assert parse_number("12,221") == 12221 and parse_number("8,6") == 8.6
    assert parse_number(" -1,015 ") == -1015 and parse_number("N/A") is None


@pytest.mark.shared_data
def test_the_real_files(shared_data):
    stats = shared_data / "stats"
    dep = read_coca_table(stats / "coca_ha_by_department_2020_2024_devida.csv")
    assert len(dep.rows) == 13 and dep.total.hectares[2020] == 61777
    # the departments add up to the total, but for rounding (89,754 against 89,755 in 2024)
    assert sum(r.hectares[2024] for r in dep.rows) == pytest.approx(dep.total.hectares[2024], abs=2)
    zones = read_coca_table(stats / "coca_ha_by_zone_2020_2024_devida.csv")
    assert len(zones.rows) == 24 and zones.change_unit == "%"
    old = read_coca_table(stats / "coca_ha_by_department_2017_2021_devida.csv")
    assert old.years == (2017, 2018, 2019, 2020, 2021) and old.total is None
    loss = read_forest_loss(stats / "forest_loss_ha_by_district_2001_2024_geobosques.csv")
    assert len(loss.rows) == 411 and loss.years[0] == 2001 and loss.years[-1] == 2024
    assert all(len(r.ubigeo) == 6 for r in loss.rows)
    assert loss.by_ubigeo()["010103"].forest_ha == pytest.approx(2403.72)
