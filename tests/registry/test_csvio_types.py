"""Column typing beyond numbers and categories: dates, column roles and per-column type
overrides (`options["types"]`); both engines must read every file the same way."""

from datetime import UTC, datetime

import numpy as np
import pytest

from registry import csvio

ENGINES = ("arrow", "python")


def parse(text: str, engine: str, **kwargs) -> csvio.Table:
    return csvio.parse_csv(text.encode(), engine=engine, **kwargs)


def epoch(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("engine", ENGINES)
def test_it_reads_iso_dates_as_epoch_seconds(engine):
    table = parse("day,y\n2024-01-02,1\n,2\n2023-12-31,3\n", engine)
    np.testing.assert_array_equal(
        table.data["day"], [epoch(2024, 1, 2), np.nan, epoch(2023, 12, 31)]
    )
    column = table.column_schema("day")
    assert column["type"] == "date"
    assert column["format"] == "%Y-%m-%d"
    assert (column["min"], column["max"], column["missing"]) == ("2023-12-31", "2024-01-02", 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_it_reads_iso_timestamps_with_t_fraction_and_offsets(engine):
    text = (
        "at,y\n2024-01-02T10:30:00Z,1\n2024-01-02 10:30,2\n"
        "2024-01-02T12:30:15.5+02:00,3\n2024-01-02T10:30:00,4\n"
    )
    table = parse(text, engine)
    stamp = epoch(2024, 1, 2, 10, 30)
    np.testing.assert_array_equal(table.data["at"], [stamp, stamp, stamp + 15.5, stamp])
    assert table.column_schema("at")["type"] == "date"
    assert table.column_schema("at")["format"] == "ISO 8601"


@pytest.mark.parametrize("engine", ENGINES)
def test_it_reads_slashed_and_dotted_dates_when_the_column_decides_the_order(engine):
    table = parse(
        "us,eu,dots,y\n01/02/2024,01/02/2024,02.01.2024,1\n12/31/2024,31/12/2024,31.12.2024,2\n",
        engine,
    )
    schema = {c["name"]: c for c in table.schema}
    assert [schema[n]["format"] for n in ("us", "eu", "dots")] == [
        "%m/%d/%Y",
        "%d/%m/%Y",
        "%d.%m.%Y",
    ]
    np.testing.assert_array_equal(table.data["us"], [epoch(2024, 1, 2), epoch(2024, 12, 31)])
    np.testing.assert_array_equal(table.data["eu"], [epoch(2024, 2, 1), epoch(2024, 12, 31)])
    np.testing.assert_array_equal(table.data["dots"], [epoch(2024, 1, 2), epoch(2024, 12, 31)])


@pytest.mark.parametrize("engine", ENGINES)
def test_it_leaves_ambiguous_mixed_and_impossible_dates_as_categories(engine):
    table = parse(
        "ambiguous,mixed,impossible,y\n01/02/2024,2024-01-02,2024-02-30,1\n"
        "03/04/2024,01/02/2024,2024-03-01,2\n",
        engine,
    )
    assert [c["type"] for c in table.schema[:3]] == ["category"] * 3


@pytest.mark.parametrize("engine", ENGINES)
def test_it_marks_id_constant_mostly_missing_and_free_text_columns(engine):
    rows = [
        f"{i},city {i},same,{'' if i % 4 else i},"
        f"this is a long free text comment number {i} from a user,{i % 3}"
        for i in range(30)
    ]
    table = parse("index,city,flag,rare,comment,y\n" + "\n".join(rows) + "\n", engine)
    roles = {c["name"]: c.get("role") for c in table.schema}
    assert roles == {
        "index": "id",
        "city": "id",
        "flag": "constant",
        "rare": "mostly_missing",
        "comment": "text",
        "y": None,
    }
    reason = table.column_schema("city")["role_reason"]
    assert "30 distinct" in reason
    assert "30 rows" in reason


@pytest.mark.parametrize("engine", ENGINES)
def test_it_does_not_call_distinct_measurements_an_id(engine):
    rows = [f"{i * 1.37:.2f},{i}" for i in range(30)]
    table = parse("length,y\n" + "\n".join(rows) + "\n", engine)
    assert "role" not in table.column_schema("length")


@pytest.mark.parametrize("engine", ENGINES)
def test_it_applies_type_overrides(engine):
    text = "zip,day,code,skip,y\n01234,2024-01-02,01/02/2024,1,1\n02345,,03/04/2024,2,2\n"
    options = {"types": {"zip": "category", "day": "category", "code": "date", "skip": "ignore"}}
    table = parse(text, engine, options=options)
    schema = {c["name"]: c for c in table.schema}
    assert table.data["zip"].tolist() == ["01234", "02345"]
    assert schema["zip"]["type"] == "category"
    assert schema["zip"]["override"] == "category"
    assert table.data["day"].tolist() == ["2024-01-02", None]
    # An ambiguous order, chosen by the user: read month first.
    assert schema["code"]["type"] == "date"
    assert schema["code"]["format"] == "%m/%d/%Y"
    np.testing.assert_array_equal(table.data["code"], [epoch(2024, 1, 2), epoch(2024, 3, 4)])
    assert schema["skip"]["type"] == "number"
    assert schema["skip"]["override"] == "ignore"
    number = parse("n,y\n1,a\n2,b\n", engine, options={"types": {"y": "category", "n": "number"}})
    assert number.column_schema("n")["type"] == "number"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("kind", "said"), [("number", "'abc' is not a number"), ("date", "'abc' is not a date")]
)
def test_it_refuses_an_override_the_column_cannot_take(engine, kind, said):
    with pytest.raises(csvio.CSVError, match=said) as caught:
        parse("x,y\n1,abc\n2,b\n", engine, options={"types": {"y": kind}})
    assert caught.value.column == "y"
    if kind == "date":  # numbers are not dates either
        with pytest.raises(csvio.CSVError, match="'1' is not a date"):
            parse("x,y\n1,abc\n2,b\n", engine, options={"types": {"x": kind}})


def test_it_converts_date_texts_as_the_schema_says():
    column = {"name": "d", "type": "date", "format": "%d/%m/%Y"}
    values, bad = csvio.to_dates(["31/12/2024", "2024-12-31", None, "  "], column["format"])
    assert bad is None
    np.testing.assert_array_equal(values, [epoch(2024, 12, 31)] * 2 + [np.nan] * 2)
    assert csvio.to_dates(["12/31/2024"], column["format"])[1] == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_it_reads_dates_to_predict_in_the_trained_format_or_iso(engine):
    features = [
        {"name": "d", "type": "date", "format": "%d/%m/%Y"},
        {"name": "n", "type": "number"},
    ]
    table = csvio.parse_with_schema(
        b"d,n\n31/12/2024,1\n2024-12-31T00:00:00Z,2\n,3\n", features, max_rows=10, engine=engine
    )
    np.testing.assert_array_equal(table.data["d"], [epoch(2024, 12, 31)] * 2 + [np.nan])
    with pytest.raises(csvio.CSVError, match=r"Line 3, column 'd': '12/31/2024' is not a date"):
        csvio.parse_with_schema(
            b"d,n\n31/12/2024,1\n12/31/2024,2\n", features, max_rows=10, engine=engine
        )
