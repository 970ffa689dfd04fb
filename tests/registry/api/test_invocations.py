"""POST /api/v1/models/{name}[@{alias}]/invocations and .../versions/{v}/invocations: MLflow's
scoring-server protocol (its bodies, `params`, text/csv, `{"predictions": [...]}`), served by
the one predict entry the /predict routes use."""

import json

import pytest

from registry import services
from registry.models import ModelVersion, PredictionLog, RegisteredModel
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
POSITIONAL = [
    [3, 95.0, "month-to-month", "fiber", 4],
    [60, None, "two-year", "satellite", 0],
]
RECORDS = [dict(zip(NAMES, row, strict=True)) for row in POSITIONAL]
# What MLflow's client sends for a pandas DataFrame: df.to_dict(orient="split").
SPLIT = {"index": [0, 1], "columns": NAMES, "data": POSITIONAL}
URL = "/models/churn/invocations"


def invoke(api, body, path=URL, content_type="application/json", **extra):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post(path, data, content_type=content_type, **extra)


def predictions_of_predict(api, path="/models/churn/predict"):
    response = api.post(path, {"instances": RECORDS})
    assert response.status_code == 200, response.content
    return response.json()["predictions"]


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": SPLIT},
        {"dataframe_split": {"columns": NAMES, "data": POSITIONAL}},
        {"dataframe_records": RECORDS},
        {"instances": RECORDS},
        {"instances": POSITIONAL},
        {"inputs": RECORDS},
        {"inputs": POSITIONAL},
        {"inputs": {name: [row[j] for row in POSITIONAL] for j, name in enumerate(NAMES)}},
    ],
    ids=[
        "dataframe_split",
        "dataframe_split-no-index",
        "dataframe_records",
        "instances-records",
        "instances-lists",
        "inputs-records",
        "inputs-lists",
        "inputs-columns",
    ],
)
def test_it_answers_every_mlflow_body_in_mlflows_shape(owner_api, churn, body):
    response = invoke(owner_api, body)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert answer == {"predictions": predictions_of_predict(owner_api)}
    assert set(answer["predictions"]) <= {"no", "yes"}
    assert response["X-Model-Version"] == "1"
    assert response["X-Prediction-Id"]
    assert "Warning" not in response


def test_it_reads_text_csv_as_mlflow_does(owner_api, churn):
    csv = ",".join(NAMES) + "\n3,95.0,month-to-month,fiber,4\n60,,two-year,satellite,0\n"
    response = invoke(owner_api, csv.encode(), content_type="text/csv")
    assert response.status_code == 200, response.content
    assert response.json() == {"predictions": predictions_of_predict(owner_api)}


def test_a_charset_of_utf8_is_accepted(owner_api, churn):
    response = invoke(
        owner_api, {"dataframe_split": SPLIT}, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 200, response.content


def _second_version(churn) -> ModelVersion:
    """Version 2 of churn: the same trained pipeline, another number."""
    fields = {
        f.attname: getattr(churn, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in ("id", "version")
    }
    return ModelVersion.objects.create(**{**fields, "version": 2})


def test_each_route_form_serves_its_version(owner_api, owner, churn):
    _second_version(churn)
    model = RegisteredModel.objects.get(name="churn")
    services.alias_move(model=model, name="staging", version_number=2, user=owner, via="api")
    body = {"dataframe_split": SPLIT}
    served = {
        URL: "1",  # production, as /predict without ?alias= or ?version=
        "/models/churn@production/invocations": "1",
        "/models/churn@staging/invocations": "2",
        "/models/churn/versions/1/invocations": "1",
        "/models/churn/versions/2/invocations": "2",
    }
    expected = predictions_of_predict(owner_api)
    for path, version in served.items():
        response = invoke(owner_api, body, path)
        assert response.status_code == 200, (path, response.content)
        assert response["X-Model-Version"] == version, path
        assert response.json() == {"predictions": expected}
    assert_problem(invoke(owner_api, body, "/models/churn@canary/invocations"), 404, "no alias")
    assert_problem(invoke(owner_api, body, "/models/churn/versions/9/invocations"), 404)
    assert_problem(invoke(owner_api, body, "/models/nope/invocations"), 404, "no model named")
    assert_problem(invoke(owner_api, body, "/models/nope@production/invocations"), 404)
    assert_problem(invoke(owner_api, body, "/models/churn/versions/0/invocations"), 422)


def test_without_a_production_alias_the_plain_route_answers_409(owner_api, churn):
    churn.model.aliases.all().delete()
    assert_problem(invoke(owner_api, {"dataframe_split": SPLIT}), 409, "no production alias")
    response = invoke(owner_api, {"dataframe_split": SPLIT}, "/models/churn/versions/1/invocations")
    assert response.status_code == 200, response.content


def test_params_are_accepted_and_ignored_with_a_warning(owner_api, churn):
    body = {"dataframe_split": SPLIT, "params": {"temperature": 0.2, "top_k": 3}}
    response = invoke(owner_api, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["predictions"] == predictions_of_predict(owner_api)
    assert len(answer["warnings"]) == 1
    assert "params" in answer["warnings"][0]
    assert "temperature, top_k" in answer["warnings"][0]
    assert response["Warning"].startswith('299 - "')
    assert "temperature, top_k" in response["Warning"]
    # params first, as some clients write it; empty or null params warn of nothing.
    first = b'{"params": {"a": 1}, "instances": ' + json.dumps(POSITIONAL).encode() + b"}"
    assert invoke(owner_api, first).json()["predictions"] == answer["predictions"]
    for empty in ({}, None):
        quiet = invoke(owner_api, {"instances": POSITIONAL, "params": empty})
        assert quiet.status_code == 200, quiet.content
        assert quiet.json() == {"predictions": answer["predictions"]}
        assert "Warning" not in quiet


def test_the_predict_route_still_refuses_params(owner_api, churn):
    """`params` is MLflow's protocol: the /predict route's bodies stay as they were."""
    assert_problem(
        owner_api.post("/models/churn/predict", {"instances": POSITIONAL, "params": {}}),
        400,
        "exactly one of",
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b'{"params": {}}', "application/json", 400, "exactly one of"),
        (b'{"instances": [], "inputs": []}', "application/json", 400, "exactly one of"),
        (b'{"instances": [[1, 2, 3, 4, 5]], "extra": 1}', "application/json", 400, "exactly one"),
        (b'{"instances": [[3, 95, "a", "b", 4]], "params": 1}', "application/json", 400, "params"),
        (b"[[1, 2]]", "application/json", 400, "JSON object"),
        (b'{"instances": [[1, 2]]}', "application/json", 422, "has 2 values"),
        (b'{"instances": [[Infinity, 1, "a", "b", 1]]}', "application/json", 400, "not valid"),
        (b'{"instances": [[NaNa, 1, "a", "b", 1]]}', "application/json", 400, "not valid JSON"),
        (b"tenure_months\n", "text/csv", 422, None),
        (b"a", "text/plain", 415, "application/json"),
        (b"{}", "application/json; charset=latin-1", 415, "latin-1"),
        (b"{}", "application/json; format=pandas-split", 415, "format"),
    ],
)
def test_it_refuses_as_problem_json(owner_api, churn, body, content_type, status, detail):
    problem = assert_problem(invoke(owner_api, body, content_type=content_type), status, detail)
    assert "Traceback" not in json.dumps(problem)


def test_missing_values_are_read_as_the_predict_route_reads_them(owner_api, churn):
    """null and the CSV spellings of missing ("", "NA", "nan") are missing values. A bare
    NaN is not JSON: the native /predict route refuses it (400), the MLflow route reads it as
    the missing value an MLflow client means by it (below)."""
    rows = [[3, None, "month-to-month", None, 4], [3, "nan", "month-to-month", "NA", 4]]
    by_mlflow = invoke(owner_api, {"dataframe_split": {"columns": NAMES, "data": rows}})
    by_predict = owner_api.post("/models/churn/predict", {"instances": rows})
    assert by_mlflow.status_code == by_predict.status_code == 200, by_mlflow.content
    assert by_mlflow.json()["predictions"] == by_predict.json()["predictions"]
    nan = b'{"dataframe_split": {"columns": ["tenure_months"], "data": [[NaN]]}}'
    assert_problem(owner_api.post("/models/churn/predict", nan), 400, "not valid JSON")


# What Python's json.dumps writes for a pandas DataFrame with a missing value: the bare
# token NaN (allow_nan=True is its default), which MLflow's own scoring server reads as one.
NAN_ROWS = [[3, float("nan"), "month-to-month", float("nan"), 4], [60, 20.0, "two-year", "dsl", 0]]
NULL_ROWS = [[3, None, "month-to-month", None, 4], [60, 20.0, "two-year", "dsl", 0]]


@pytest.mark.parametrize(
    "path", [URL, "/models/churn@production/invocations", "/models/churn/versions/1/invocations"]
)
@pytest.mark.parametrize(
    "shape",
    [
        lambda rows: {"dataframe_split": {"columns": NAMES, "data": rows}},
        lambda rows: {"dataframe_records": [dict(zip(NAMES, r, strict=True)) for r in rows]},
        lambda rows: {"instances": rows, "params": {}},
        lambda rows: {"inputs": {n: [r[j] for r in rows] for j, n in enumerate(NAMES)}},
    ],
    ids=["dataframe_split", "dataframe_records", "instances", "inputs-columns"],
)
def test_an_mlflow_client_s_bare_nan_is_a_missing_value(owner_api, churn, path, shape):
    body = json.dumps(shape(NAN_ROWS)).encode()
    assert b"NaN" in body  # what the client sends: not JSON, but Python's json.dumps
    response = invoke(owner_api, body, path=path)
    assert response.status_code == 200, response.content
    expected = invoke(owner_api, shape(NULL_ROWS), path=path)
    assert response.json() == expected.json()
    # The native route keeps its strict JSON (issue 14): the same body is refused there.
    assert_problem(owner_api.post("/models/churn/predict", body), 400, "not valid JSON")


def test_nan_inside_a_string_is_text_and_a_large_body_reads_nan_too(owner_api, churn):
    """Only the bare token is read as missing: "NaN" in a string is a value like any other
    (a category never seen), and a body large enough to be parsed in slices reads it alike."""
    quoted = [[3, 95.0, "month-to-month", "NaN, or not", 4]]
    body = json.dumps({"dataframe_split": {"columns": NAMES, "data": quoted}}).encode()
    response = invoke(owner_api, body)
    assert response.status_code == 200, response.content
    assert response.json() == invoke(owner_api, {"instances": quoted}).json()
    rows = NAN_ROWS * 6000  # over 256 KB: parsed a slice of rows at a time
    body = json.dumps({"dataframe_split": {"columns": NAMES, "data": rows}}).encode()
    assert len(body) > 1 << 18
    response = invoke(owner_api, body)
    assert response.status_code == 200, response.content
    expected = invoke(owner_api, {"dataframe_split": {"columns": NAMES, "data": NULL_ROWS * 6000}})
    assert response.json()["predictions"] == expected.json()["predictions"]


def test_it_checks_the_token_and_the_limits_as_predict_does(anon_api, owner_api, churn, settings):
    assert_problem(invoke(anon_api, {"dataframe_split": SPLIT}), 401)
    assert_problem(owner_api.get(URL), 405)
    settings.MLSERVE_MAX_PREDICT_ROWS = 1
    assert_problem(invoke(owner_api, {"dataframe_split": SPLIT}), 413, "more than the limit")


def test_a_canary_answers_its_share_of_the_alias_calls(owner_api, owner, churn):
    _second_version(churn)
    services.alias_rollout(
        model=RegisteredModel.objects.get(name="churn"),
        name="production",
        version_number=1,
        canary=(2, 99.99),
        shadow=None,
        user=owner,
        via="api",
    )
    versions = {
        invoke(owner_api, {"instances": POSITIONAL}, headers={"X-Request-Key": str(i)})[
            "X-Model-Version"
        ]
        for i in range(5)
    }
    assert versions == {"2"}


@pytest.mark.django_db(transaction=True)
def test_each_call_is_logged_as_a_prediction(owner_api, churn, settings):
    from registry.monitoring import predlog

    settings.MLSERVE_PREDICTION_LOG_RATE = 1.0
    predlog.reset_writer()
    try:
        response = invoke(owner_api, {"dataframe_split": SPLIT, "params": {"x": 1}})
        assert response.status_code == 200, response.content
        predlog.writer().flush()
    finally:
        predlog.writer().stop()
        predlog.reset_writer()
    row = PredictionLog.objects.get()
    assert str(row.request_id) == response["X-Prediction-Id"]
    assert (row.source, row.status, row.n_rows) == ("api", 200, 2)
