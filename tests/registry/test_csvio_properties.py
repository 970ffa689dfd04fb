"""Property tests of the CSV parser and the dataset upload, on valid, mutated and random files.

Whatever the bytes, parsing either succeeds with a table whose counts agree with its
schema, or fails with a CSVError that says what is wrong; an upload that fails writes
nothing.
"""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from registry import csvio, services
from registry.models import Dataset
from tests.conftest import examples

EXAMPLES = examples(150)
PROPERTIES = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same files on every run, so CI is reproducible
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Valid files ------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_NAME = st.builds(
    str.__add__, st.sampled_from(_LETTERS), st.text(_LETTERS + "0123456789_", max_size=8)
)
_NUMBER = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
)
_WORD = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(_LETTERS),
    st.text(_LETTERS + " -", max_size=10),
    st.sampled_from(_LETTERS),
)
_MISSING = st.sampled_from(["", "NA", "n/a", "null", "?"])


@st.composite
def valid_csvs(draw) -> tuple[bytes, int, int]:
    """An unquoted CSV (header + rows of numbers, words or missing values), rows, columns."""
    names = draw(st.lists(_NAME, min_size=1, max_size=6, unique=True))
    if all(csvio._is_number(n) for n in names):
        names[0] = "x" + names[0]
    n_rows = draw(st.integers(2, 15))
    kinds = [draw(st.sampled_from([_NUMBER, _WORD])) for _ in names]
    rows = [
        [
            draw(st.one_of(kind, _MISSING)) if draw(st.integers(0, 9)) == 0 else draw(kind)
            for kind in kinds
        ]
        for _ in range(n_rows)
    ]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join([",".join(names), *(",".join(r) for r in rows)]) + newline
    return text.encode(), n_rows, len(names)


# Mutations --------------------------------------------------------------------------------

_INSERTS = [
    b'"', b",", b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"\xc3", b"\xe2\x82",
    b"\xef\xbb\xbf", b"\n\n\n", b'""', b'"a,b\nc"', b"\t", b" ", b"\\", b"'",
    "é".encode(), "\u2028".encode(), b"1e999", b"-inf", b"NaN",
]  # fmt: skip


@st.composite
def mutations(draw, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "huge", "duplicate", "truncate"]))
        if kind == "insert":
            data = data[:at] + draw(st.sampled_from(_INSERTS)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 20)) :]
        elif kind == "huge":  # a field of up to 1 MB
            size = draw(st.sampled_from([1000, 100_000, 1_000_000]))
            data = data[:at] + draw(st.sampled_from([b"x", b"9", b'"', b","])) * size + data[at:]
        elif kind == "duplicate":
            data = data[:at] + data[at : at + draw(st.integers(1, 200))] * 2 + data[at:]
        else:
            data = data[:at]
    return data


mutated_csvs = valid_csvs().flatmap(lambda made: mutations(made[0]))
any_csv_bytes = st.one_of(
    mutated_csvs,
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.text(alphabet=',"\n\r ab1.', max_size=200).map(str.encode),
)


# The properties ---------------------------------------------------------------------------


def assert_consistent(table: csvio.Table) -> None:
    """The parsed columns, their arrays and the schema agree with each other."""
    assert table.columns, "a table without columns"
    assert len(set(table.columns)) == len(table.columns)
    assert all(name and name == name.strip() for name in table.columns)
    assert [c["name"] for c in table.schema] == table.columns
    assert list(table.data) == table.columns
    assert table.n_rows >= 2
    for column in table.schema:
        values = table.data[column["name"]]
        assert len(values) == table.n_rows
        if column["type"] == "number":
            assert values.dtype == np.float64
            assert not np.isinf(values).any()
            assert column["missing"] == int(np.isnan(values).sum())
        else:
            assert column["type"] == "category"
            assert values.dtype == object
            assert column["missing"] == sum(v is None for v in values)
            assert all(v is None or isinstance(v, str) for v in values)


def parse_or_error(data: bytes) -> csvio.Table | csvio.CSVError:
    """The table, or the CSVError (with a message); any other exception fails the test."""
    try:
        return csvio.parse_csv(data)
    except csvio.CSVError as exc:
        error = exc
    assert str(error).strip(), "a CSVError without a message"
    return error


@given(valid_csvs())
@PROPERTIES
def test_it_parses_every_valid_file_with_its_row_and_column_counts(made):
    data, n_rows, n_columns = made
    table = csvio.parse_csv(data)
    assert_consistent(table)
    assert (table.n_rows, len(table.columns)) == (n_rows, n_columns)


@given(valid_csvs())
@PROPERTIES
def test_its_quoted_and_unquoted_paths_agree(made):
    data = made[0]
    lines = data.decode().replace("\r\n", "\n").splitlines()
    quoted = "\n".join(",".join(f'"{cell}"' for cell in line.split(",")) for line in lines)
    plain, via_csv_module = csvio.parse_csv(data), csvio.parse_csv(quoted.encode())
    assert plain.columns == via_csv_module.columns
    assert plain.schema == via_csv_module.schema
    for name in plain.columns:
        np.testing.assert_array_equal(plain.data[name], via_csv_module.data[name])


@given(any_csv_bytes)
@PROPERTIES
def test_it_parses_or_refuses_any_bytes_with_a_csv_error(data):
    result = parse_or_error(data)
    event("parsed" if isinstance(result, csvio.Table) else "refused")
    if isinstance(result, csvio.Table):
        assert_consistent(result)


@pytest.mark.django_db
@given(data=st.one_of(mutated_csvs, valid_csvs().map(lambda made: made[0])))
@settings(PROPERTIES, suppress_health_check=[*PROPERTIES.suppress_health_check,
                                             HealthCheck.function_scoped_fixture])  # fmt: skip
def test_an_upload_either_stores_the_parsed_file_or_writes_nothing(data, owner):
    # The owner and the test's transaction are shared by every example on purpose: the
    # uploads pile up, and each one is judged by the count before and after it.
    expected = parse_or_error(data)
    event("stored" if isinstance(expected, csvio.Table) else "refused")
    before = Dataset.objects.count()
    if isinstance(expected, csvio.CSVError):
        with pytest.raises(services.InvalidInput) as refused:
            services.dataset_create(owner=owner, data=data, filename="fuzz.csv")
        assert refused.value.message == str(expected)
        assert refused.value.status == 422
        assert Dataset.objects.count() == before
        return
    dataset = services.dataset_create(owner=owner, data=data, filename="fuzz.csv")
    assert Dataset.objects.count() == before + 1
    stored = Dataset.objects.get(pk=dataset.pk)
    assert bytes(stored.csv) == data
    assert stored.sha256 == csvio.sha256_hex(data)
    assert (stored.n_rows, stored.n_columns) == (expected.n_rows, len(expected.columns))
    assert [c["name"] for c in stored.schema] == expected.columns


# pyarrow's fast path against the reference parser -----------------------------------------

# Texts pyarrow types differently from our rules: booleans, dates, times, infinities, numbers
# with signs, spaces, underscores or non-ASCII digits, missing markers in odd spellings.
_TRICKY = st.sampled_from([
    "true", "False", "2024-01-31", "2024-01-31 10:00:00", "12:30", "1e400", "-1e400", "inf",
    "-Infinity", "nAn", "NaN", " 1.5", "2.5 ", "+3", "1_000", "0x1A", "0X0", "\u0661\u0662", "1.",
    ".5", "1e5", "-0", "nA", " na ", "NULL", "?", "", "   ", "9007199254740993", "1" * 25,
])  # fmt: skip


@st.composite
def tricky_csvs(draw) -> bytes:
    """Columns that each mix one tricky text with plain numbers or words."""
    names = draw(st.lists(_NAME, min_size=1, max_size=4, unique=True))
    if all(csvio._is_number(n) for n in names):
        names[0] = "x" + names[0]
    cells = [
        [draw(st.one_of(_TRICKY, _NUMBER, _WORD, _MISSING)) for _ in names]
        for _ in range(draw(st.integers(2, 12)))
    ]
    if draw(st.booleans()):  # quote some cells, some holding a comma, a newline or a quote
        cells = [[draw(_quoted(cell)) for cell in row] for row in cells]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join([",".join(names), *(",".join(row) for row in cells)]).encode()


_LOCAL_NUMBER = st.sampled_from([
    "39,1", "-0,5", ",5", "1,5e3", "4.253.195", "4.253.195,5", "12.000", "1.500", "1,234",
    "4,253,195", "1,234.5", "39.1", "7", "-12", "1e5", "0x1F", "inf", " 3,5 ",
])  # fmt: skip


@st.composite
def local_csvs(draw) -> bytes:
    """Files as European and spreadsheet exports write them: another delimiter, decimal
    commas, thousands separators, a blank first header cell, cp1252 text."""
    delimiter = draw(st.sampled_from([";", "\t", "|", ","]))
    names = draw(st.lists(_NAME, min_size=2, max_size=4, unique=True))
    if draw(st.booleans()):
        names[0] = ""
    cells = [
        [draw(st.one_of(_LOCAL_NUMBER, _NUMBER, _WORD, _MISSING)) for _ in names]
        for _ in range(draw(st.integers(2, 8)))
    ]
    if draw(st.booleans()):
        cells = [[f'"{cell}"' if draw(st.booleans()) else cell for cell in row] for row in cells]
    text = "\n".join(delimiter.join(row) for row in [names, *cells]) + "\n"
    if draw(st.booleans()):
        return text.replace("a", "é").encode("cp1252")
    return text.encode()


def _quoted(cell: str):
    return st.one_of(
        st.just(cell),
        st.sampled_from(["", ",", "\n", "\r\n", '""', 'say ""hi""']).map(
            lambda extra: f'"{cell}{extra}"'
        ),
    )


def parse_with(engine: str, data: bytes) -> csvio.Table | str:
    try:
        return csvio.parse_csv(data, engine=engine)
    except csvio.CSVError as exc:
        return f"CSVError: {exc}"


@given(
    st.one_of(
        tricky_csvs(),
        tricky_csvs().flatmap(mutations),
        any_csv_bytes,
        local_csvs(),
        local_csvs().flatmap(mutations),
    )
)
@settings(PROPERTIES, max_examples=examples(600))
def test_the_pyarrow_path_and_the_reference_parser_agree_on_any_bytes(data):
    fast, reference = parse_with("arrow", data), parse_with("python", data)
    event("parsed" if isinstance(reference, csvio.Table) else "refused")
    if isinstance(reference, str):
        assert fast == reference
        return
    assert isinstance(fast, csvio.Table), fast
    assert fast.columns == reference.columns
    assert fast.schema == reference.schema
    assert fast.options == reference.options
    for name in fast.columns:
        assert fast.data[name].dtype == reference.data[name].dtype
        np.testing.assert_array_equal(fast.data[name], reference.data[name])


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_a_large_file_takes_the_pyarrow_path_and_matches_the_reference(quoted):
    rng = np.random.default_rng(3)
    n = 20_000
    numbers = np.round(rng.normal(size=n) * 100, 3).astype(str)
    numbers[rng.random(n) < 0.05] = ""
    colours = rng.choice(np.array(["red", "green", " blue ", "NA"]), n).astype(object)
    if quoted:  # as spreadsheets write it: quotes only around the cells that need them
        colours[::7] = '"dark, ""deep"" red"'
    body = "\n".join(f"{a},{b},{i}" for a, b, i in zip(numbers, colours, range(n), strict=True))
    data = f"x,colour,id\n{body}\n".encode()
    fast = csvio._read_arrow(data, data.decode(), max_rows=n)
    assert fast is not None, "an ordinary file fell back to the slow parser"
    assert [type(column).__name__ for _, column in fast] == ["ndarray", "tuple", "ndarray"]
    table, reference = csvio.parse_csv(data), csvio.parse_csv(data, engine="python")
    assert table.schema == reference.schema
    for name in table.columns:
        np.testing.assert_array_equal(table.data[name], reference.data[name])
    assert table.column_schema("colour")["missing"] == int((colours == "NA").sum())
    if quoted:
        assert table.data["colour"][0] == 'dark, "deep" red'


@pytest.mark.parametrize(
    ("text", "strict"),
    [
        ('a,b\n"1","x"\n2,"y, z"\n', True),
        ('a,b\n"say ""hi""",1\n"",2\n""""," multi\nline"\n', True),
        ('a,b\n"x"y,1\n2,3\n', False),  # text after a closing quote
        ('a,b\nx"y,1\n2,3\n', False),  # a quote inside an unquoted field
        ('a,b\n"x,1\n2,3\n', False),  # never closed
        ('a,b\n"x" ,1\n2,3\n', False),  # a space after the closing quote
    ],
)
def test_only_well_formed_quoting_takes_the_pyarrow_path(text, strict):
    assert csvio._quotes_are_strict(text.encode()) is strict


def predict_with(engine: str, data: bytes, features: list[dict], max_rows: int):
    try:
        table = csvio.parse_with_schema(data, features, max_rows=max_rows, engine=engine)
    except csvio.CSVError as exc:
        return f"CSVError: {exc} (line {exc.line}, column {exc.column}, {exc.too_large})"
    assert table.text_columns is not None
    texts = [[str(cell) for cell in column] for column in table.text_columns()]
    return table, texts


@given(
    st.one_of(
        tricky_csvs(),
        valid_csvs().map(lambda made: made[0]),
        mutated_csvs,
        any_csv_bytes,
        local_csvs(),
    ),
    st.sampled_from([3, 1000, 1000]),
    st.data(),
)
@settings(PROPERTIES, max_examples=examples(600))
def test_rows_to_predict_read_by_pyarrow_match_the_reference_parser(data, max_rows, draw):
    first_line = data.split(b"\n", 1)[0].decode(errors="replace")
    names = sorted({n.strip().strip('"') for n in re.split("[,;\t|]", first_line) if n.strip()})
    if draw.draw(st.integers(0, 4)) == 0:  # a column the file lacks
        names.append(draw.draw(_NAME))
    kinds = [draw.draw(st.sampled_from(["number", "category", None])) for _ in names]
    features = [
        {"name": name, "type": kind} for name, kind in zip(names, kinds, strict=True) if kind
    ]
    fast = predict_with("arrow", data, features, max_rows)
    reference = predict_with("python", data, features, max_rows)
    event("parsed" if isinstance(reference, tuple) else "refused")
    if isinstance(reference, str):
        assert fast == reference
        return
    assert isinstance(fast, tuple), fast
    (table, texts), (expected, expected_texts) = fast, reference
    assert table.columns == expected.columns
    assert texts == expected_texts
    for name in table.columns:
        assert table.data[name].dtype == expected.data[name].dtype
        if table.data[name].dtype == np.float64:
            np.testing.assert_array_equal(table.data[name], expected.data[name])
        else:
            assert table.data[name].tolist() == expected.data[name].tolist()


def test_rows_to_predict_take_the_pyarrow_path_with_extra_and_missing_cells(monkeypatch):
    data = b'b,a,extra\n1,2.5,NA\n" x ",,"w, v"\nNA,3,7\n'
    features = [{"name": "a", "type": "number"}, {"name": "b", "type": "category"}]
    monkeypatch.setattr(csvio, "_split", None)  # the reference parser is not called
    table = csvio.parse_with_schema(data, features, max_rows=10)
    np.testing.assert_array_equal(table.data["a"], [2.5, np.nan, 3.0])
    assert table.data["b"].tolist() == ["1", "x", None]
    assert table.data["extra"].tolist() == [None, "w, v", "7"]
    assert table.text_columns() == [["1", " x ", "NA"], ["2.5", "", "3"], ["NA", "w, v", "7"]]
