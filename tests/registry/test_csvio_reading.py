"""How real files are read: the encoding, the delimiter, decimal commas, thousands separators
and pandas' blank index header, detected (or chosen) and the same on both parsers."""

import io
import zipfile

import numpy as np
import pytest

from registry import csvio

ENGINES = ["arrow", "python"]


def parse(data: str | bytes, engine: str = "arrow", **kwargs) -> csvio.Table:
    return csvio.parse_csv(
        data.encode() if isinstance(data, str) else data, engine=engine, **kwargs
    )


def both(data: str | bytes, **kwargs) -> csvio.Table:
    """The table, after checking that pyarrow and the reference parser read the same one."""
    fast, reference = parse(data, "arrow", **kwargs), parse(data, "python", **kwargs)
    assert fast.columns == reference.columns
    assert fast.schema == reference.schema
    assert fast.options == reference.options
    for name in fast.columns:
        np.testing.assert_array_equal(fast.data[name], reference.data[name])
    return fast


PENGUINS = (
    "species;bill_length_mm;body_mass_g\nAdelie;39,1;3750\nGentoo;46,5;5000\nChinstrap;49,2;3800\n"
)


def test_it_reads_a_semicolon_file_with_decimal_commas():
    table = both(PENGUINS)
    assert table.columns == ["species", "bill_length_mm", "body_mass_g"]
    np.testing.assert_array_equal(table.data["bill_length_mm"], [39.1, 46.5, 49.2])
    assert table.column_schema("bill_length_mm")["type"] == "number"
    assert table.options == {"encoding": "utf-8", "delimiter": ";", "decimal": ",", "thousands": []}


@pytest.mark.parametrize(("delimiter", "quoted"), [("\t", False), ("|", False), (";", True)])
def test_it_detects_tab_pipe_and_semicolon_delimiters(delimiter, quoted):
    name = '"Adelie, the small"' if quoted else "Adelie"
    text = f"species{delimiter}bill{delimiter}mass\n{name}{delimiter}39.1{delimiter}3750\n"
    text += f"Gentoo{delimiter}46.5{delimiter}5000\n"
    table = both(text)
    assert table.columns == ["species", "bill", "mass"]
    assert table.options["delimiter"] == delimiter
    assert table.options["decimal"] == "."
    np.testing.assert_array_equal(table.data["bill"], [39.1, 46.5])


@pytest.mark.parametrize("engine", ENGINES)
def test_a_ragged_semicolon_file_is_refused_in_its_own_terms(engine):
    with pytest.raises(csvio.CSVError, match=r"Line 3 has 2 field\(s\), but the header has 3"):
        parse("species;bill;mass\nAdelie;39,1;3750\nGentoo;46,5\n", engine)


def test_an_ambiguous_file_stays_comma_separated():
    # Both commas and semicolons split every line into two fields: nothing is guessed.
    table = both("a,b;c\n1,2;3\n4,5;6\n")
    assert table.options["delimiter"] == ","
    assert table.columns == ["a", "b;c"]


def test_a_file_mixing_decimal_points_and_commas_keeps_the_point():
    table = both("a;b;c\nx;39,1;1.5\ny;40,2;2.5\n")
    assert table.options["decimal"] == "."
    assert table.column_schema("b")["type"] == "category"
    assert table.column_schema("c")["type"] == "number"


def test_three_decimals_after_a_comma_are_a_decimal_only_when_unambiguous():
    # 1,234 could be a thousand: alone it is read with thousands separators...
    table = both("a;b\nx;1,234\ny;5\n")
    assert table.options["decimal"] == "."
    np.testing.assert_array_equal(table.data["b"], [1234, 5])
    # ...but 0,125 cannot be one, so the file has decimal commas.
    table = both("a;b\nx;1,234\ny;0,125\n")
    assert table.options["decimal"] == ","
    np.testing.assert_array_equal(table.data["b"], [1.234, 0.125])


def test_the_chosen_delimiter_and_decimal_mark_win_over_detection():
    table = both("a;b\nx;1,5\ny;2,5\n", options={"delimiter": ";", "decimal": ".", "thousands": []})
    assert table.column_schema("b")["type"] == "category"
    with pytest.raises(csvio.CSVError, match="Unknown delimiter"):
        parse("a;b\nx;1\ny;2\n", options={"delimiter": ":"})


def test_stored_options_without_read_keys_read_as_before():
    # A dataset stored before detection: one column, as it was read then.
    table = both("species;body_mass_g\nAdelie;3750\nGentoo;5000\n", options={})
    assert table.columns == ["species;body_mass_g"]
    assert table.options == {"encoding": "utf-8", "delimiter": ",", "decimal": ".", "thousands": []}


def test_it_reads_numbers_with_thousands_separators_and_says_so():
    table = both('city,population\nLyon,"4,253,195"\nAix,"142,000"\nVic,999\n')
    np.testing.assert_array_equal(table.data["population"], [4253195, 142000, 999])
    column = table.column_schema("population")
    assert column["type"] == "number"
    assert "read 'population' as numbers (thousands separators" in column["note"]
    assert table.options["thousands"] == ["population"]


def test_it_reads_dotted_thousands_with_a_decimal_comma():
    table = both("city;population;area\nLyon;4.253.195;47,87\nAix;142.000;186,1\n")
    assert table.options["decimal"] == ","
    np.testing.assert_array_equal(table.data["population"], [4253195, 142000])
    np.testing.assert_array_equal(table.data["area"], [47.87, 186.1])
    assert "note" not in table.column_schema("area")


def test_a_column_where_not_every_value_fits_one_pattern_stays_a_category():
    table = both('city,population\nLyon,"4,253,195"\nAix,1234\nVic,"12,5"\n')
    assert table.column_schema("population")["type"] == "category"
    assert table.options["thousands"] == []


def test_thousands_separators_are_read_only_in_the_stored_columns():
    text = 'a,b\n"1,000","2,000"\n"3,000","4,000"\n'
    table = both(text, options={"thousands": ["a"]})
    assert table.column_schema("a")["type"] == "number"
    assert table.column_schema("b")["type"] == "category"


def test_it_reads_a_cp1252_file_and_says_so():
    data = "name;city;v\nJosé;Zürich;1\nZoë;Besançon;2\n".encode("cp1252")
    table = both(data)
    assert table.data["city"].tolist() == ["Zürich", "Besançon"]
    assert table.options["encoding"] == "cp1252"
    assert both("a,b\né,1\nü,2\n").options["encoding"] == "utf-8"


def test_a_file_neither_utf8_nor_cp1252_gets_the_utf8_message():
    with pytest.raises(csvio.CSVError, match=r"Line 3 is not valid UTF-8") as caught:
        parse(b"a,b\n1,2\n3,\x81\x8d\n")
    assert caught.value.line == 3


def test_a_chosen_encoding_is_used_as_given():
    data = "a,b\né,1\nü,2\n".encode()
    table = both(data, options={"encoding": "latin-1"})
    assert table.data["a"].tolist() == ["Ã©", "Ã¼"]
    with pytest.raises(csvio.CSVError, match="not valid UTF-8"):
        parse("a,b\né,1\nü,2\n".encode("cp1252"), options={"encoding": "utf-8"})


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
        book.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data", [_xlsx(), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500], ids=["xlsx", "xls"]
)
def test_an_excel_workbook_is_told_to_export_as_csv(data):
    with pytest.raises(csvio.CSVError, match=r"Excel workbook.*File > Save As > CSV UTF-8"):
        parse(data)


def test_a_blank_first_header_cell_is_named_index():
    table = both(",bill,species\n0,39.1,Adelie\n1,46.5,Gentoo\n")
    assert table.columns == ["index", "bill", "species"]
    assert "pandas" in table.column_schema("index")["note"]
    # A real column named index keeps its name, and a blank one elsewhere is still refused.
    assert "note" not in both("index,a\n1,2\n3,4\n").column_schema("index")
    with pytest.raises(csvio.CSVError, match="Column 2 of the header has a blank name"):
        parse("a,,c\n1,2,3\n4,5,6\n")


def test_a_row_of_tabs_is_a_row_of_missing_cells_on_both_parsers():
    table = both("a\tb\n1\t2\n\t\n3\t4\n")
    assert table.n_rows == 3


def test_the_first_rows_split_with_the_stored_options():
    header, cells, _ = csvio.split_cells(
        PENGUINS.encode(), min_rows=0, options={"delimiter": ";", "decimal": ","}
    )
    assert header == ["species", "bill_length_mm", "body_mass_g"]
    assert cells[0].tolist() == ["Adelie", "39,1", "3750"]


# Rows to predict ---------------------------------------------------------------------------

FEATURES = [{"name": "bill", "type": "number"}, {"name": "species", "type": "category"}]


def predict(data: str | bytes, engine: str) -> csvio.Table:
    data = data.encode() if isinstance(data, str) else data
    return csvio.parse_with_schema(data, FEATURES, max_rows=100, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("data", "bill"),
    [
        ("species;bill\nAdelie;39,1\n", [39.1]),
        ("species\tbill\nAdelie\t39.1\nGentoo\t\n", [39.1, np.nan]),
        ('species,bill\nAdelie,"4,253,195"\nGentoo,12\n', [4253195, 12]),
        ("species;bill\nZoë;1.500,5\n".encode("cp1252"), [1500.5]),
    ],
    ids=["decimal-comma", "tab", "thousands", "cp1252"],
)
def test_rows_to_predict_are_read_like_an_upload(data, bill, engine):
    table = predict(data, engine)
    np.testing.assert_array_equal(table.data["bill"], bill)
    assert table.data["species"][0] in ("Adelie", "Zoë")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cell_that_is_not_a_number_is_named_with_a_decimal_comma(engine):
    with pytest.raises(csvio.CSVError, match=r"Line 3, column 'bill': 'abc' is not a number"):
        predict("species;bill\nAdelie;39,1\nGentoo;abc\n", engine)
