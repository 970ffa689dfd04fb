"""An MLflow client pointed at a real gunicorn: the request MLflow's pyfunc scoring client
sends (ScoringServerClient.invoke: POST, Content-Type application/json, the body
dump_input_data makes of a pandas DataFrame, {"dataframe_split": df.to_dict(orient="split")}
with an optional "params"), here with the API's bearer token, answered in MLflow's shape with
the predictions the /predict route gives for the same rows."""

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import install_churn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.system]

COLUMNS = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
DATA = [
    [3, 95.0, "month-to-month", "fiber", 4],
    [60, None, "two-year", "dsl", 0],
    [24, 70.0, "one-year", "never-seen", 1],
]


def post(url: str, body: bytes, token: str, content_type: str = "application/json"):
    """One POST as MLflow's client makes it (requests.post(url, data=..., headers=...))."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_an_mlflow_client_round_trip_against_gunicorn(owner, start_server):
    world = install_churn(owner)
    server = start_server("mlflow", workers=1)
    base = f"{server.url}/api/v1/models/churn"
    # dump_input_data(df, params=...): json.dumps of the DataFrame's "split" dict.
    split = {"index": [0, 1, 2], "columns": COLUMNS, "data": DATA}
    body = json.dumps({"dataframe_split": split, "params": {"threshold": 0.3}}).encode()

    status, headers, answer = post(f"{base}/invocations", body, world.token)
    assert status == 200, answer
    assert headers["Content-Type"] == "application/json"
    scored = json.loads(answer)
    assert set(scored) == {"predictions", "warnings"}
    assert "threshold" in scored["warnings"][0]
    assert headers["Warning"].startswith("299 ")

    rows = [dict(zip(COLUMNS, row, strict=True)) for row in DATA]
    status, _, answer = post(
        f"{base}/predict", json.dumps({"instances": rows}).encode(), world.token
    )
    assert status == 200, answer
    expected = json.loads(answer)["predictions"]
    assert scored["predictions"] == expected
    assert len(expected) == 3

    # Without params, at an alias or a version, or as CSV: the same rows, the same answer.
    plain = json.dumps({"dataframe_split": split}).encode()
    csv = (
        ",".join(COLUMNS)
        + "\n"
        + "\n".join(",".join("" if v is None else str(v) for v in row) for row in DATA)
        + "\n"
    ).encode()
    for url, data, content_type in (
        (f"{base}/invocations", plain, "application/json"),
        (f"{base}@production/invocations", plain, "application/json"),
        (f"{base}/versions/1/invocations", plain, "application/json"),
        (f"{base}/invocations", csv, "text/csv"),
    ):
        status, headers, answer = post(url, data, world.token, content_type)
        assert status == 200, (url, answer)
        assert json.loads(answer) == {"predictions": expected}, url
        assert headers["X-Model-Version"] == "1"

    # What a client gets wrong is a problem, as on every /api/ route.
    status, headers, answer = post(f"{base}@nope/invocations", plain, world.token)
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert "no alias 'nope'" in json.loads(answer)["detail"]
