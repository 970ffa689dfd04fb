"""?explain=true on the predict routes: per row a base value and contributions keyed by the
user's columns, in stated units; bounded by MLSERVE_MAX_EXPLAIN_ROWS before any work."""

import numpy as np
import pytest

from numpyml.linear_model import LogisticRegression
from tests.conftest import assert_problem, train_once, without_ids

pytestmark = pytest.mark.django_db

NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
ROWS = [
    [3, 95.0, "month-to-month", "fiber", 4],
    [60, None, "two-year", "dsl", 0],
    [12, 50.0, "one-year", "none", 1],
]


@pytest.mark.parametrize("path", ["/models/churn/predict", "/models/churn/versions/1/predict"])
def test_it_explains_every_row_in_logits_of_the_positive_class(owner_api, churn, path):
    response = owner_api.post(f"{path}?explain=true", {"instances": ROWS})
    assert response.status_code == 200, response.content
    body = response.json()
    explained = body["explanations"]
    assert (explained["method"], explained["output"], explained["class"]) == (
        "linear",
        "logit",
        "yes",
    )
    assert len(explained["rows"]) == len(ROWS)
    p_yes = np.array(body["probabilities"])[:, body["classes"].index("yes")]
    for row, p in zip(explained["rows"], p_yes, strict=True):
        assert list(row["contributions"]) == NAMES
        total = row["base_value"] + sum(row["contributions"].values())
        assert total == pytest.approx(np.log(p / (1 - p)), abs=1e-9)
    # the same predictions as without explain, which adds nothing else
    plain = owner_api.post(path, {"instances": ROWS}).json()
    assert "explanations" not in plain
    assert without_ids(plain) == without_ids({k: v for k, v in body.items() if k != "explanations"})


def test_it_explains_csv_bodies_too(owner_api, churn):
    csv = ",".join(NAMES) + "\n3,95.0,month-to-month,fiber,4\n"
    response = owner_api.post(
        "/models/churn/predict?explain=true", csv.encode(), content_type="text/csv"
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["explanations"]["rows"]) == 1


@pytest.mark.parametrize("value", ["maybe", "2", ""])
def test_it_refuses_an_explain_that_is_not_a_boolean(owner_api, churn, value):
    response = owner_api.post(f"/models/churn/predict?explain={value}", {"instances": ROWS})
    assert_problem(response, 422, "explain")


def test_it_refuses_more_rows_than_it_explains_before_predicting(
    owner_api, churn, settings, monkeypatch
):
    settings.MLSERVE_MAX_EXPLAIN_ROWS = 2
    calls = []
    original = LogisticRegression.decision_function
    monkeypatch.setattr(
        LogisticRegression,
        "decision_function",
        lambda self, X: calls.append(len(X)) or original(self, X),
    )
    problem = assert_problem(
        owner_api.post("/models/churn/predict?explain=true", {"instances": ROWS}),
        413,
        "MLSERVE_MAX_EXPLAIN_ROWS",
    )
    assert "at most 2 rows" in problem["detail"]
    assert calls == []
    assert owner_api.post("/models/churn/predict", {"instances": ROWS}).status_code == 200
    explained = owner_api.post("/models/churn/predict?explain=true", {"instances": ROWS[:2]})
    assert explained.status_code == 200, explained.content


def test_it_refuses_to_explain_a_clustering_model(owner_api, owner, make_dataset):
    train_once(
        owner=owner,
        dataset=make_dataset("churn.csv"),
        name="groups",
        algorithm="kmeans",
        target=None,
        features=["tenure_months", "monthly_charges"],
    )
    rows = [[3, 95.0], [60, 20.0]]
    assert owner_api.post("/models/groups/predict", {"instances": rows}).status_code == 200
    assert_problem(
        owner_api.post("/models/groups/predict?explain=true", {"instances": rows}),
        422,
        "classifiers and regressors",
    )


def test_the_cost_budget_counts_the_model_calls_of_an_estimate(
    owner_api, owner, make_dataset, settings
):
    shapley = pytest.importorskip("registry.serving.shapley")
    version = train_once(
        owner=owner,
        dataset=make_dataset("churn.csv"),
        name="near",
        algorithm="knn_classifier",
        target="churned",
    )
    from registry import serving

    served = serving.resolve("near", version=1)
    per_row = serving.row_cost(served, serving.pipeline_cache().get(served))
    # two plain rows fit; one explained row costs 1 + MAX_CALLS plain ones
    settings.MLSERVE_MAX_PREDICT_COST = per_row * (1 + shapley.MAX_CALLS) + per_row
    rows = [dict(zip(NAMES, row, strict=True)) for row in ROWS[:2]]
    assert owner_api.post("/models/near/predict", {"instances": rows}).status_code == 200
    one = owner_api.post("/models/near/predict?explain=true", {"instances": rows[:1]})
    assert one.status_code == 200, one.content
    assert one.json()["explanations"]["method"] == "sampling_shapley"
    problem = assert_problem(
        owner_api.post("/models/near/predict?explain=true", {"instances": rows}),
        413,
        "MLSERVE_MAX_PREDICT_COST",
    )
    assert "explaining" in problem["detail"]
    assert version.status == "ready"


def test_the_openapi_document_describes_explain(owner_api):
    doc = owner_api.client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/models/{name}/predict",
        "/api/v1/models/{name}/versions/{version}/predict",
    ):
        names = [p["name"] for p in doc["paths"][path]["post"]["parameters"]]
        assert "explain" in names
    schemas = doc["components"]["schemas"]
    assert set(schemas["Explanations"]["properties"]) == {
        "method",
        "output",
        "class",
        "rows",
        "stderr",
    }
    assert set(schemas["ExplainedRow"]["properties"]) == {"base_value", "contributions", "class"}
    assert "explanations" in schemas["PredictionOut"]["properties"]
