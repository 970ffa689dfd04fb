"""A large list of rows is parsed a slice at a time (registry/serving/bodies.py, _table_in_slices):
every answer, success or refusal, is the one the whole parse gives."""

import json

import pytest

from registry.serving import bodies
from tests.api.test_predict import NAMES, churn  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

ROW = [3, 95.0, "month-to-month", "fiber", 4]


def _record(row):
    return dict(zip(NAMES, row, strict=True))


def _rows(n: int) -> list[list]:
    return [
        [i, 50.0 + i, "two-year" if i % 2 else "month-to-month", "dsl", i % 3] for i in range(n)
    ]


BODIES = {
    "lists": json.dumps({"instances": _rows(10)}),
    "objects": json.dumps({"inputs": [_record(r) for r in _rows(10)]}),
    "records": json.dumps({"dataframe_records": [_record(r) for r in _rows(10)]}),
    "spaced": '{ "instances" :\n [ ' + " ,\n ".join(json.dumps(r) for r in _rows(7)) + " ] }\n",
    "strings with commas, brackets and quotes": json.dumps(
        {"instances": [[1, 2.0, 'a,b]["}\\', 'c\\"d,', 1]] * 5}
    ),
    "a bad number in row 7": json.dumps(
        {"instances": [*_rows(7), [1, "x", "dsl", "dsl", 1], *_rows(2)]}
    ),
    "mixed shapes at row 3": json.dumps({"instances": [*_rows(3), _record(ROW), *_rows(3)]}),
    "mixed shapes at row 4": json.dumps({"instances": [*_rows(4), _record(ROW), *_rows(3)]}),
    "a NUL in row 8": json.dumps({"instances": [*_rows(8), [1, 2, "a\u0000", "b", 1]]}),
    "invalid JSON in row 5": json.dumps({"instances": _rows(9)}).replace("[5,", "[5,,", 1),
    "a second key": json.dumps({"instances": _rows(6), "inputs": _rows(1)}),
    "a key before": json.dumps({"x": 1, "instances": _rows(6)}),
    "an empty list": '{"instances": []}',
    "a scalar row": json.dumps({"instances": [*_rows(4), 7]}),
    "a wrong key": json.dumps({"rows": _rows(6)}),
    "dataframe_split": json.dumps({"dataframe_split": {"columns": NAMES, "data": _rows(10)}}),
    "dataframe_split, data first, columns reordered": json.dumps(
        {"dataframe_split": {"data": [r[::-1] for r in _rows(10)], "columns": NAMES[::-1]}}
    ),
    "dataframe_split with a short row 7": json.dumps(
        {"dataframe_split": {"columns": NAMES, "data": [*_rows(7), [1, 2], *_rows(2)]}}
    ),
    "dataframe_split with an unknown column": json.dumps(
        {"dataframe_split": {"columns": [*NAMES[:4], "zz"], "data": _rows(10)}}
    ),
    "dataframe_split with an index": json.dumps(
        {"dataframe_split": {"index": list(range(10)), "columns": NAMES, "data": _rows(10)}}
    ),
    "dataframe_split with more columns than rows": json.dumps(
        {"dataframe_split": {"columns": NAMES, "data": _rows(2)}}
    ),
}


# Bodies of the sliced shape; the others are parsed whole.
SLICED = {
    "lists",
    "objects",
    "records",
    "spaced",
    "strings with commas, brackets and quotes",
    "a bad number in row 7",
    "mixed shapes at row 3",
    "mixed shapes at row 4",
    "a NUL in row 8",
    "invalid JSON in row 5",
    "a scalar row",
    "dataframe_split",
    "dataframe_split, data first, columns reordered",
    "dataframe_split with a short row 7",
    "dataframe_split with an unknown column",
    "dataframe_split with an index",
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_it_answers_as_the_whole_parse_does(owner_api, churn, monkeypatch, name):  # noqa: F811
    body = BODIES[name].encode()
    monkeypatch.setattr(bodies, "_SLICED_BODY_BYTES", 10**9)
    whole = owner_api.post("/models/churn/predict", body)
    monkeypatch.setattr(bodies, "_SLICED_BODY_BYTES", 0)
    monkeypatch.setattr(bodies, "_SLICE_ROWS", 3)
    calls = []
    original = bodies.rows_to_table_in_slices
    monkeypatch.setattr(
        bodies, "rows_to_table_in_slices", lambda *a: calls.append(1) or original(*a)
    )
    sliced = owner_api.post("/models/churn/predict", body)
    assert bool(calls) == (name in SLICED), calls
    assert (sliced.status_code, sliced["Content-Type"]) == (
        whole.status_code,
        whole["Content-Type"],
    )
    assert sliced.json() == whole.json()
