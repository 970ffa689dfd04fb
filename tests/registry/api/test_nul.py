"""A NUL character (\\u0000) inside any JSON string of a request body is refused with 422.

PostgreSQL cannot store or compare text holding a NUL: a prediction value with one made the
prediction log's whole batch fail, and a name or column with one reached queries. The API's
one JSON reader refuses it, on the ninja operations and on the lean predict path alike.
"""

import json

import pytest

from tests.conftest import assert_problem
from tests.system.test_limits import (  # noqa: F401  (fixtures)
    ROW,
    assert_still_serving,
    live,
    post,
    server,
    state,
)
from tests.system.test_limits import assert_problem as assert_live_problem

pytestmark = pytest.mark.django_db

NUL = "\u0000"
NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]


def _bodies_with_a_nul() -> dict[str, dict]:
    row = dict(zip(NAMES, ROW, strict=True))
    return {
        "value": {"instances": [[3, 95.0, f"month{NUL}-to-month", "fiber", 4]]},
        "record value": {"dataframe_records": [{**row, "internet": NUL}]},
        "record key": {"instances": [{**row, f"x{NUL}": 1}]},
        "columnar": {"inputs": {**{n: [v] for n, v in row.items()}, "contract": [f"{NUL}"]}},
        "split column": {"dataframe_split": {"columns": [*NAMES[:4], f"s{NUL}"], "data": [ROW]}},
    }


def test_it_refuses_a_nul_in_a_prediction_body_with_422(owner_api, churn, subtests):
    for kind, body in _bodies_with_a_nul().items():
        with subtests.test(kind=kind):
            response = owner_api.post("/models/churn/predict", body)
            assert_problem(response, 422, "NUL")
    # An escaped backslash followed by "u0000" is six characters of text, not a NUL.
    text = json.dumps({"instances": [[3, 95.0, "month-to-month", "\\u0000", 4]]})
    assert "\\\\u0000" in text
    assert owner_api.post("/models/churn/predict", text).status_code == 200


def test_it_refuses_a_nul_in_a_training_request_with_422(owner_api, make_dataset, subtests):
    from registry.models import RegisteredModel

    dataset = make_dataset("churn.csv")
    base = {"dataset": dataset.pk, "algorithm": "logistic_regression", "target": "churned"}
    for field, value in [
        ("target", f"churned{NUL}"),
        ("name", f"m{NUL}"),
        ("description", f"a{NUL}b"),
        ("features", ["tenure_months", f"contract{NUL}"]),
        ("params", {f"C{NUL}": 1.0}),
    ]:
        with subtests.test(field=field):
            response = owner_api.post("/models", {"name": "m", **base, field: value})
            assert_problem(response, 422, "NUL")
    assert not RegisteredModel.objects.exists()


@pytest.mark.system
def test_it_refuses_a_nul_in_any_body_through_the_real_server(live, state, subtests):  # noqa: F811
    before = state()
    for kind, body in _bodies_with_a_nul().items():
        with subtests.test(kind=kind):
            answer = post(live, live.predict, json.dumps(body).encode(), "application/json")
            assert_live_problem(answer, 422, "NUL")
    training = {"name": "m", "dataset": 1, "algorithm": "logistic_regression", "target": NUL}
    answer = post(live, "/api/v1/models", json.dumps(training).encode(), "application/json")
    assert_live_problem(answer, 422, "NUL")
    assert state() == before
    assert_still_serving(live)
