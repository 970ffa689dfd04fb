"""Property tests of the prediction body parser, through the real API (the test client).

Random JSON-ish bodies, the four documented shapes with random cells, deep nesting, huge
numbers, NaN/Infinity tokens, unicode, mutated CSVs and raw bytes, under every content
type: the answer is a prediction or a clear 4xx problem+json, never a 5xx, and predicting
never writes a dataset, model, version or alias. The same rows sent positionally, by name
or as dataframe_split get the same answer. Bounded and derandomized for CI.
"""

import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import examples, registry_state
from tests.registry.test_csvio_properties import mutations

pytestmark = pytest.mark.django_db

NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
ROW = [3, 95.0, "month-to-month", "fiber", 4]
PATHS = ["/api/v1/models/churn/predict", "/api/v1/models/churn/versions/1/predict"]

# Cells and rows ----------------------------------------------------------------------------

_TOKENS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400, "9" * 5000]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "nan", "inf", "-inf", "1e999", " 3 ", "fiber", "month-to-month"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
_cell = st.one_of(_scalars, st.sampled_from(ROW), _json)
_positional = st.lists(_cell, min_size=0, max_size=7)
_named = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), _cell, max_size=7)
_rows = st.lists(st.one_of(_positional, _named, _cell), max_size=6)


def _documented_shapes():
    return st.one_of(
        st.builds(lambda rows: {"instances": rows}, _rows),
        st.builds(lambda rows: {"inputs": rows}, _rows),
        st.builds(
            lambda columns: {"inputs": columns},
            st.dictionaries(st.sampled_from(NAMES), st.lists(_cell, max_size=4), max_size=5),
        ),
        st.builds(
            lambda columns, data: {"dataframe_split": {"columns": columns, "data": data}},
            st.one_of(st.just(NAMES), st.lists(_cell, max_size=6)),
            st.one_of(st.lists(_positional, max_size=4), _cell),
        ),
        st.builds(lambda rows: {"dataframe_records": rows}, st.lists(_named, max_size=4)),
        # Valid rows with one cell swapped for something random.
        st.builds(
            lambda i, value, n: {"instances": [[*ROW[:i], value, *ROW[i + 1 :]]] * n},
            st.integers(0, len(ROW) - 1),
            _cell,
            st.integers(1, 3),
        ),
        st.builds(
            lambda extra: {"instances": [ROW], **extra},
            st.dictionaries(
                st.sampled_from(["inputs", "extra", "dataframe_split"]), _cell, min_size=1
            ),
        ),
    )


def _deep(depth: int, opener: str, closer: str) -> str:
    return opener * depth + closer * depth


_text_bodies = st.one_of(
    _documented_shapes().map(lambda body: json.dumps(body)),  # NaN/Infinity tokens included
    _json.map(lambda body: json.dumps(body)),
    st.builds(
        lambda token, i: json.dumps({"instances": [ROW]}).replace(json.dumps(ROW[i]), token, 1),
        st.sampled_from(_TOKENS),
        st.sampled_from([0, 1, 4]),
    ),
    st.builds(_deep, st.sampled_from([10, 500, 10_000]), st.just("["), st.just("]")),
    st.builds(
        lambda depth: '{"instances": ' + _deep(depth, "[", "]") + "}",
        st.sampled_from([2, 3, 64, 2000]),
    ),
    st.builds(
        lambda depth: '{"instances": [' + '{"a": ' * depth + "1" + "}" * depth + "]}",
        st.sampled_from([5, 1000]),
    ),
    st.text(max_size=60),
)
_csv_cells = st.one_of(
    st.sampled_from(["3", "95.5", "", "NA", "fiber", "dsl", "two-year", "1e999", "x", '"a,b"']),
    st.text(alphabet='ab1.,"\n\r ', max_size=6),
)


@st.composite
def _csv_bodies(draw) -> bytes:
    """A CSV of rows to predict: the model's columns (shuffled, one dropped, extras), cells."""
    header = draw(st.permutations(NAMES))
    if draw(st.booleans()):
        header = header[: draw(st.integers(0, len(header)))] + draw(
            st.lists(st.sampled_from(["extra", "id", "", "contract"]), max_size=2)
        )
    row = st.lists(_csv_cells, min_size=len(header), max_size=len(header))
    rows = draw(st.lists(row, max_size=5))
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    data = text.encode()
    if draw(st.booleans()):
        data = draw(mutations(data))
    return data


_requests = st.one_of(
    st.tuples(_text_bodies.map(str.encode), st.just("application/json")),
    st.tuples(_documented_shapes().map(lambda body: json.dumps(body).encode()), st.just("")),
    st.tuples(_csv_bodies(), st.just("text/csv")),
    st.tuples(
        st.one_of(
            st.binary(max_size=60),
            st.sampled_from([b"", b"\xff\xfe{}", b'{"instances": [[3, 95.0, "\xc3", "x", 4]]}']),
        ),
        st.sampled_from(["application/json", "text/csv", "text/plain", "multipart/form-data"]),
    ),
)


def _check_answer(response, body: bytes) -> None:
    status = response.status_code
    event(f"status {status}")
    assert status < 500, (status, body[:300], response.content[:300])
    if status == 200:
        answer = response.json()
        assert answer["model"] == {"name": "churn", "version": 1, "role": "champion"}
        assert set(answer["predictions"]) <= {"no", "yes"}
        assert len(answer["probabilities"]) == len(answer["predictions"]) >= 1
        return
    assert 400 <= status < 500, status
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"].strip()
    for item in problem.get("errors") or []:
        assert item["detail"]


@given(sent=_requests, path=st.sampled_from(PATHS))
@settings(
    max_examples=examples(200),
    derandomize=True,  # the same bodies on every run, so CI is reproducible
    deadline=None,
    # One trained model (the `world` fixture) serves every example: it is only read.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_body_gets_a_prediction_or_a_clear_4xx_and_writes_nothing(sent, path, world, client):
    body, content_type = sent
    before = registry_state()
    headers = {"Authorization": f"Bearer {world.token}"}
    if content_type:
        response = client.post(path, body, content_type=content_type, headers=headers)
    else:  # no Content-Type header at all
        response = client.generic("POST", path, body, headers=headers)
    _check_answer(response, body)
    assert registry_state() == before


@given(rows=st.lists(st.lists(_cell, min_size=5, max_size=5), min_size=1, max_size=5))
@settings(
    max_examples=examples(100),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_rows_of_random_cells_in_every_shape_get_the_same_answer(rows, world, client):
    """Positional rows, named rows and dataframe_split are one parser: same rows, same answer."""
    headers = {"Authorization": f"Bearer {world.token}"}
    bodies = [
        {"instances": rows},
        {"instances": [dict(zip(NAMES, row, strict=True)) for row in rows]},
        {"dataframe_split": {"columns": NAMES, "data": rows}},
    ]
    answers = []
    for body in bodies:
        response = client.post(PATHS[0], body, content_type="application/json", headers=headers)
        _check_answer(response, json.dumps(body).encode())
        answers.append((response.status_code, response.json().get("predictions")))
    assert answers[1:] == answers[:1] * 2, answers


def test_a_model_deleted_by_another_server_meanwhile_gets_a_404_not_a_500(
    world, client, monkeypatch
):
    """Resolutions are cached for a second per process: a model deleted through another
    server may still resolve here, with its pipeline never loaded in this process."""
    from registry import services, serving
    from registry.models import RegisteredModel

    headers = {"Authorization": f"Bearer {world.token}"}
    body = {"instances": [ROW]}
    first = client.post(PATHS[1], body, content_type="application/json", headers=headers)
    assert first.status_code == 200, first.content
    model = RegisteredModel.objects.get(name="churn")
    with monkeypatch.context() as other_server:  # whose resolutions are not this process's
        other_server.setattr(serving, "forget_resolutions", lambda: None)
        services.model_delete(model=model, user=model.owner)
    serving.pipeline_cache().clear()  # this process never loaded it
    again = client.post(PATHS[1], body, content_type="application/json", headers=headers)
    assert again.status_code == 404, again.content
    assert again["Content-Type"] == "application/problem+json"
    assert "no longer exists" in again.json()["detail"]
