"""The strict CSV parser: every refusal names the line or column; types are inferred."""

import csv
import io

import numpy as np
import pytest

from registry import csvio


def parse(text: str | bytes, **kwargs):
    return csvio.parse_csv(text.encode() if isinstance(text, str) else text, **kwargs)


def test_it_infers_numbers_and_categories_with_missing_values():
    table = parse("a,b,c\n1,x,\n2.5,,yes\nNA,y,no\n")
    assert table.columns == ["a", "b", "c"]
    np.testing.assert_array_equal(table.data["a"], [1.0, 2.5, np.nan])
    assert table.data["b"].tolist() == ["x", None, "y"]
    schema = {c["name"]: c for c in table.schema}
    assert schema["a"]["type"] == "number"
    assert schema["a"]["missing"] == 1
    assert schema["a"]["min"] == 1.0
    assert schema["a"]["max"] == 2.5
    assert schema["b"] == {**schema["b"], "type": "category", "missing": 1, "distinct": 2}
    assert schema["b"]["values"] == ["x", "y"]
    assert schema["c"]["missing"] == 1


def test_it_parses_quoted_fields_with_commas_and_newlines():
    table = parse('name,note\n"Smith, J","said ""hi""\nthen left"\nLee,ok\n')
    assert table.data["name"].tolist() == ["Smith, J", "Lee"]
    assert table.data["note"].tolist() == ['said "hi"\nthen left', "ok"]


def test_it_accepts_crlf_bom_and_blank_trailing_lines():
    table = parse(b"\xef\xbb\xbfx,y\r\n1,2\r\n3,4\r\n\r\n\r\n")
    assert table.columns == ["x", "y"]
    assert table.n_rows == 2


@pytest.mark.parametrize(
    ("content", "message", "line", "column"),
    [
        ("", "The file is empty", None, None),
        ("   \n\n", "The file is empty", None, None),
        ("1,2,3\n4,5,6\n7,8,9\n", "must be a header", 1, None),
        ("a,,c\n1,2,3\n4,5,6\n", "Column 2 of the header has a blank name", 1, None),
        ("a,b,a\n1,2,3\n4,5,6\n", "Column name 'a' appears twice", 1, "a"),
        ("a,b\n1,2\n3\n5,6\n", "Line 3 has 1 field(s), but the header has 2", 3, None),
        ("a,b\n1,2\n3,4,5\n", "Line 3 has 3 field(s)", 3, None),
        ('a,b\n1,2\n"3,4\n', "Line", None, None),
        ("a,b\n1,2\n", "1 data row(s)", None, None),
        ("a,b\n", "0 data row(s)", None, None),
    ],
)
def test_it_refuses_bad_files_with_a_clear_message(content, message, line, column):
    with pytest.raises(csvio.CSVError) as caught:
        parse(content)
    assert message in str(caught.value)
    if line is not None:
        assert caught.value.line == line
    if column is not None:
        assert caught.value.column == column


def test_it_names_the_line_of_invalid_utf8():
    data = b"a,b\n1,2\n3,\x81\x8d\n"  # bytes cp1252 has no character for
    with pytest.raises(csvio.CSVError, match=r"Line 3 is not valid UTF-8") as caught:
        parse(data)
    assert caught.value.line == 3


def test_it_refuses_binary_files():
    with pytest.raises(csvio.CSVError, match="NUL byte"):
        parse(b"a,b\n1,\x002\n3,4\n")


def test_it_refuses_files_over_the_size_limit(settings):
    settings.MLSERVE_MAX_UPLOAD_MB = 1
    data = b"a,b\n" + b"1234567,7654321\n" * 70_000
    with pytest.raises(csvio.CSVError, match=r"the limit is 1 MB \(MLSERVE_MAX_UPLOAD_MB\)"):
        parse(data)


def test_it_refuses_files_over_the_row_limit(settings):
    settings.MLSERVE_MAX_ROWS = 3
    with pytest.raises(csvio.CSVError, match=r"4 data rows; the limit is 3 \(MLSERVE_MAX_ROWS\)"):
        parse("a,b\n1,2\n3,4\n5,6\n7,8\n")
    with pytest.raises(csvio.CSVError, match="the limit is 3"):
        parse('a,b\n"1",2\n3,4\n5,6\n7,8\n')


def test_it_treats_infinite_values_as_categories_not_numbers():
    table = parse("a,b\n1,inf\n2,3\n")
    assert table.column_schema("b")["type"] == "category"


def test_it_keeps_histograms_for_the_dataset_page():
    table = parse("v,c\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(100)))
    histogram = table.column_schema("v")["histogram"]
    assert sum(histogram["counts"]) == 100
    assert len(histogram["edges"]) == len(histogram["counts"]) + 1
    assert table.column_schema("c")["top"] == [["a", 50], ["b", 50]]


def test_a_column_of_one_huge_number_still_gets_a_histogram():
    # numpy cannot cut 9e15 +- 0.5 into 20 finite bins: the upload must not fail on it.
    table = parse("v,c\n9007199254740993,a\n9007199254740993,b\n")
    histogram = table.column_schema("v")["histogram"]
    assert histogram["counts"] == [2]
    assert len(histogram["edges"]) == 2


def test_fast_and_quoted_paths_agree():
    rows = "".join(f"{i},{i * 0.5},{'xyz'[i % 3]}\n" for i in range(50))
    plain = parse("a,b,c\n" + rows)
    quoted = parse('"a",b,c\n' + rows)
    assert plain.schema == quoted.schema
    for name in plain.columns:
        np.testing.assert_array_equal(plain.data[name], quoted.data[name])


def test_parse_with_schema_types_columns_as_trained_and_names_bad_cells():
    features = [{"name": "a", "type": "number"}, {"name": "b", "type": "category"}]
    table = csvio.parse_with_schema(b"b,a,extra\n1,2.5,z\nx,,w\n", features, max_rows=10)
    np.testing.assert_array_equal(table.data["a"], [2.5, np.nan])
    assert table.data["b"].tolist() == ["1", "x"]
    with pytest.raises(csvio.CSVError, match=r"Line 3, column 'a': 'oops' is not a number"):
        csvio.parse_with_schema(b"a,b\n1,x\noops,y\n", features, max_rows=10)
    with pytest.raises(csvio.CSVError, match=r"lacks the model's column\(s\) \['b'\]"):
        csvio.parse_with_schema(b"a\n1\n2\n", features, max_rows=10)


def test_write_csv_round_trips_values():
    data = csvio.write_csv(
        ["x", "label"], {"x": np.array([1.0, 2.5, np.nan]), "label": ["a", "b,c", None]}
    )
    assert data == b'x,label\n1,a\n2.5,"b,c"\n,\n'


def test_it_parses_repeating_codes_that_crash_numpys_string_sort():
    # numpy 2.4's sort of StringDType segfaults on this pattern; the parser must not sort it.
    data = ("code\n" + "\n".join(f"c{i % 1000:05d}" for i in range(2000)) + "\n").encode()
    table = parse(data)
    assert table.column_schema("code")["distinct"] == 1000
    assert table.data["code"][1001] == "c00001"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+A1", "'+A1"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("1e-5", "1e-5"),
        ("plain", "plain"),
        (-1.5, "-1.5"),
        (-2, "-2"),
    ],
)
def test_it_neutralises_formula_text_cells_and_keeps_numbers(value, written):
    out = csvio.write_csv(["c"], {"c": [value]}).decode()
    assert list(csv.reader(io.StringIO(out, newline=""))) == [["c"], [written]]
