"""A large list of rows, dataframe_split or columnar inputs is parsed a slice at a time
(registry/serving/bodies.py, _table_in_slices): every answer, success or refusal, is the one
the whole parse gives."""

import json
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from registry.errors import RegistryError
from registry.serving import bodies
from registry.serving.resolve import resolve
from tests.conftest import examples, without_ids
from tests.registry.api.test_predict import NAMES, churn  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

ROW = [3, 95.0, "month-to-month", "fiber", 4]


def _record(row):
    return dict(zip(NAMES, row, strict=True))


def _columns(rows: list[list], names=NAMES) -> dict:
    return {"inputs": {n: [row[j] for row in rows] for j, n in enumerate(names)}}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


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
    "dataframe_split with an index and a null data": json.dumps(
        {"dataframe_split": {"columns": NAMES, "index": list(range(100)), "data": None}}
    ),
    "dataframe_split with data twice": json.dumps(
        {"dataframe_split": {"columns": NAMES, "data": _rows(10)}}
    )[:-2]
    + ', "data": null}}',
    "a row nested deeper than JSON allows": json.dumps({"instances": _rows(3)})[:-2]
    + ", "
    + _deep(1023)
    + "]}",
    "columns": json.dumps(_columns(_rows(10))),
    "columns reordered": json.dumps(
        {"inputs": {n: [r[j] for r in _rows(10)] for j, n in reversed(list(enumerate(NAMES)))}}
    ),
    "columns, spaced": '{ "inputs" : {\n '
    + " ,\n ".join(
        f'"{n}" : [ {", ".join(json.dumps(r[j]) for r in _rows(7))} ]' for j, n in enumerate(NAMES)
    )
    + " } }\n",
    "columns with problems in several slices": json.dumps(
        _columns(
            [
                [*r[:1], "x" if i == 8 else r[1], [1] if i == 2 else r[2], *r[3:]]
                for i, r in enumerate(_rows(10))
            ]
        )
    ).replace('"tenure_months": [0, 1, 2, 3, 4, 5', '"tenure_months": [0, 1, 2, 3, 4, "y"', 1),
    "columns with over 20 problems": json.dumps(
        _columns([[("z" if i == 29 else i), *r[1:4], "w"] for i, r in enumerate(_rows(30))])
    ),
    "columns with a NUL": json.dumps(_columns([*_rows(8), [1, 2, "a\u0000", "b", 1]])),
    "columns with invalid JSON": json.dumps(_columns(_rows(9))).replace("[0,", "[-,", 1),
    "columns with a value nested deeper than JSON allows": json.dumps(_columns(_rows(5))).replace(
        "[0,", "[" + _deep(1022) + ",", 1
    ),
    "columns of unequal lengths": json.dumps(
        {"inputs": {**_columns(_rows(6))["inputs"], "internet": ["dsl"] * 5}}
    ),
    "columns with an unknown one": json.dumps(_columns(_rows(6), [*NAMES[:4], "zz"])),
    "columns with a null one": json.dumps(
        {"inputs": {**_columns(_rows(6))["inputs"], "internet": None}}
    ),
    "columns with one twice": json.dumps(_columns(_rows(6)))[:-2] + ', "contract": null}}',
    "columns, empty": json.dumps(_columns([])),
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
    "a row nested deeper than JSON allows",
    "columns",
    "columns reordered",
    "columns, spaced",
    "columns with problems in several slices",
    "columns with over 20 problems",
    "columns with invalid JSON",
    "columns with a value nested deeper than JSON allows",
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_it_answers_as_the_whole_parse_does(owner_api, churn, monkeypatch, name):  # noqa: F811
    body = BODIES[name].encode()
    monkeypatch.setattr(bodies, "_SLICED_BODY_BYTES", 10**9)
    whole = owner_api.post("/models/churn/predict", body)
    monkeypatch.setattr(bodies, "_SLICED_BODY_BYTES", 0)
    monkeypatch.setattr(bodies, "_SLICE_ROWS", 3)
    calls = []
    for sliced in ("rows_to_table_in_slices", "columns_to_table_in_slices"):
        original = getattr(bodies, sliced)
        monkeypatch.setattr(
            bodies,
            sliced,
            lambda *a, original=original, **kw: calls.append(1) or original(*a, **kw),
        )
    sliced = owner_api.post("/models/churn/predict", body)
    assert bool(calls) == (name in SLICED), calls
    assert (sliced.status_code, sliced["Content-Type"]) == (
        whole.status_code,
        whole["Content-Type"],
    )
    assert without_ids(sliced.json()) == without_ids(whole.json())


# Random bodies of the new sliced shapes, read sliced and whole -------------------------------

_cell = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "NA", " 3 ", "x", "1e999", "fiber", " dsl", "two-year", "nan", "a\0"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
_good = {
    "tenure_months": st.one_of(st.none(), st.integers(0, 72)),
    "monthly_charges": st.floats(0, 200),
    "contract": st.sampled_from(["month-to-month", "one-year", "two-year", None]),
    "internet": st.sampled_from(["fiber", "dsl", "none"]),
    "support_calls": st.integers(0, 9),
}


@st.composite
def _columnar_bodies(draw) -> bytes:
    """Columns of random length and cells, mostly the model's features, now and then one
    unknown or of another length; spaced or compact."""
    n = draw(st.integers(1, 10))
    names = draw(st.permutations(NAMES))
    if draw(st.integers(0, 9)) == 0:
        names[-1] = "zz"
    columns = {}
    for name in names:
        cells = _cell if draw(st.integers(0, 2)) == 0 else _good.get(name, _cell)
        size = n if draw(st.integers(0, 9)) else draw(st.integers(0, 11))
        columns[name] = draw(st.lists(cells, min_size=size, max_size=size))
    return json.dumps({"inputs": columns}, indent=draw(st.sampled_from([None, 1]))).encode()


@st.composite
def _split_bodies(draw) -> bytes:
    """Good rows in columns of any order, with at most one problem: an odd cell, a short row
    or an unknown column (sliced rows report the first slice's problems only)."""
    names = draw(st.permutations(NAMES))
    rows = draw(
        st.lists(
            st.tuples(*(_good.get(n, _cell) for n in names)).map(list), min_size=1, max_size=10
        )
    )
    odd = draw(st.integers(0, len(rows) - 1))
    choice = draw(st.sampled_from(["none", "cell", "short", "unknown"]))
    if choice == "unknown":
        names[0] = "zz"
    elif choice == "cell":
        rows[odd][draw(st.integers(0, len(names) - 1))] = draw(_cell)
    elif choice == "short":
        rows[odd] = rows[odd][:-1]
    body = {"dataframe_split": {"columns": names, "data": rows}}
    return json.dumps(body, indent=draw(st.sampled_from([None, 1]))).encode()


def _read(served, body: bytes, *, sliced: bool, slice_rows: int):
    with (
        patch.object(bodies, "_SLICED_BODY_BYTES", 0 if sliced else 10**9),
        patch.object(bodies, "_SLICE_ROWS", slice_rows),
    ):
        try:
            table = bodies.request_table(served, body)
        except RegistryError as exc:
            return type(exc).__name__, str(exc), getattr(exc, "problems", None)
    return {
        name: [None if value != value else value for value in column.tolist()]  # NaN: missing
        for name, column in table.items()
    }


@given(body=st.one_of(_columnar_bodies(), _split_bodies()), slice_rows=st.sampled_from([1, 2, 3]))
@settings(
    max_examples=examples(300),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_random_columns_and_dataframe_splits_read_sliced_as_whole(churn, body, slice_rows):  # noqa: F811
    served = resolve("churn")
    whole = _read(served, body, sliced=False, slice_rows=slice_rows)
    event("refused" if isinstance(whole, tuple) else "read")
    assert _read(served, body, sliced=True, slice_rows=slice_rows) == whole


# MLflow's bodies (POST .../invocations): rows with "params" beside them -------------------

_SPLIT = {"index": list(range(10)), "columns": NAMES, "data": _rows(10)}
MLFLOW_BODIES = {
    "lists, params after": ({"instances": _rows(10), "params": {"a": 1}}, True),
    "lists, params before": ({"params": {"a": [1, 2]}, "instances": _rows(10)}, True),
    "records, null params": (
        {"dataframe_records": [_record(r) for r in _rows(10)], "params": None},
        True,
    ),
    "split with an index and params": ({"dataframe_split": _SPLIT, "params": {"k": "v"}}, True),
    "split, params holding lists": (
        {"params": {"a": [1], "b": [2]}, "dataframe_split": _SPLIT},
        True,
    ),
    "columns with params": ({**_columns(_rows(10)), "params": {"t": 0.1}}, True),
    "split with a bad row and params": (
        {"dataframe_split": {**_SPLIT, "data": [*_rows(7), [1, 2], *_rows(2)]}, "params": {}},
        True,
    ),
    "params a list": ({"instances": _rows(10), "params": [1]}, False),
    "params a number": ({"instances": _rows(10), "params": 3}, False),
    "params and a key": ({"instances": _rows(10), "params": {}, "key": "x"}, False),
    "params and another key": ({"instances": _rows(10), "params": {}, "x": 1}, False),
}


@pytest.mark.parametrize("name", sorted(MLFLOW_BODIES))
def test_mlflow_bodies_with_params_are_read_in_slices(owner_api, churn, monkeypatch, name):  # noqa: F811
    value, expect_sliced = MLFLOW_BODIES[name]
    body = json.dumps(value).encode()
    url = "/models/churn/invocations"
    monkeypatch.setattr(bodies, "_SLICED_BODY_BYTES", 10**9)
    whole = owner_api.post(url, body)
    monkeypatch.setattr(bodies, "_SLICED_BODY_BYTES", 0)
    monkeypatch.setattr(bodies, "_SLICE_ROWS", 3)
    calls = []
    for sliced in ("rows_to_table_in_slices", "columns_to_table_in_slices"):
        original = getattr(bodies, sliced)
        monkeypatch.setattr(
            bodies,
            sliced,
            lambda *a, original=original, **kw: calls.append(1) or original(*a, **kw),
        )
    sliced = owner_api.post(url, body)
    assert bool(calls) == expect_sliced, calls
    assert (sliced.status_code, sliced["Content-Type"], sliced.get("Warning")) == (
        whole.status_code,
        whole["Content-Type"],
        whole.get("Warning"),
    )
    assert sliced.json() == whole.json()
