"""Training, the registry's models, versions and aliases through /api/v1/models."""

import json
import time

import pytest

from registry.models import Alias, ModelVersion, RegisteredModel
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db
# The tests that run the worker commit: its training child reads the rows from its own
# connection.
WORKER_DB = pytest.mark.django_db(transaction=True)


@pytest.fixture
def houses(make_dataset):
    return make_dataset("houses.csv")


def train_body(dataset, **overrides):
    return {
        "name": "prices",
        "dataset": dataset.pk,
        "algorithm": "linear_regression",
        "target": "price",
        **overrides,
    }


def test_it_queues_a_new_model_and_answers_202(owner_api, houses):
    response = owner_api.post("/models", train_body(houses, description="Sale prices"))
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["model"], body["version"], body["status"], body["progress"]) == (
        "prices",
        1,
        "queued",
        0,
    )
    assert body["url"] == "/models/prices/versions/1/"
    assert body["params"] == {"alpha": 0.0, "fit_intercept": True}
    assert RegisteredModel.objects.get(name="prices").description == "Sale prices"


def test_it_answers_409_for_a_taken_name_and_422_for_bad_training(owner_api, houses):
    owner_api.post("/models", train_body(houses))
    assert_problem(owner_api.post("/models", train_body(houses)), 409, "already exists")
    body = assert_problem(
        owner_api.post("/models", train_body(houses, name="p2", params={"alpha": -1})), 422
    )
    assert {"field": "params.alpha", "detail": "must be at least 0"} in body["errors"]
    body = assert_problem(owner_api.post("/models", {"name": "p3"}), 422)
    assert {e["field"] for e in body["errors"]} >= {"dataset", "algorithm"}
    assert_problem(
        owner_api.post("/models", {**train_body(houses, name="p4"), "dataset": 99999}), 404
    )
    assert not RegisteredModel.objects.filter(name__in=["p2", "p3", "p4"]).exists()


def test_it_refuses_a_tol_below_its_floor_and_names_the_minimum(owner_api, make_dataset, settings):
    # tol=1e-300 can never be met: a 6-row SVM with C=1e6 ran 10 million SMO steps.
    settings.MLSERVE_USER_MAX_TRAININGS = 5  # five trainings queued here
    churn = make_dataset("churn.csv")
    for algorithm in ("svm", "logistic_regression", "perceptron", "kmeans", "gmm"):
        body = {
            "name": f"tiny-{algorithm}",
            "dataset": churn.pk,
            "algorithm": algorithm,
            "target": "churned"
            if algorithm in ("svm", "logistic_regression", "perceptron")
            else None,
            "params": {"tol": 1e-300, **({"C": 1e6} if algorithm == "svm" else {})},
        }
        problem = assert_problem(owner_api.post("/models", body), 422)
        assert {"field": "params.tol", "detail": "must be at least 1e-12"} in problem["errors"]
        body["params"]["tol"] = 1e-12
        assert owner_api.post("/models", body).status_code == 202
    svm = next(a for a in owner_api.get("/algorithms").json() if a["id"] == "svm")
    tol = next(p for p in svm["hyperparameters"] if p["name"] == "tol")
    assert tol["minimum"] == 1e-12


def test_it_refuses_a_max_iter_above_its_bound(owner_api, make_dataset):
    # max_iter=100,000 with a tol that is never met: 100,000 EM or Lloyd iterations.
    churn = make_dataset("churn.csv")
    for algorithm in ("logistic_regression", "perceptron", "kmeans", "gmm"):
        supervised = algorithm in ("logistic_regression", "perceptron")
        body = {
            "name": f"long-{algorithm}",
            "dataset": churn.pk,
            "algorithm": algorithm,
            "target": "churned" if supervised else None,
            "params": {"max_iter": 100_000, "tol": 1e-12},
        }
        problem = assert_problem(owner_api.post("/models", body), 422)
        assert {"field": "params.max_iter", "detail": "must be at most 10000"} in problem["errors"]
        body["params"]["max_iter"] = 10_000
        assert owner_api.post("/models", body).status_code == 202
    gmm = next(a for a in owner_api.get("/algorithms").json() if a["id"] == "gmm")
    assert next(p for p in gmm["hyperparameters"] if p["name"] == "max_iter")["maximum"] == 10_000


def id_column_csv(rows: int = 15_000) -> bytes:
    """A small CSV (~0.2 MB) whose `id` column has a distinct value on every row."""
    lines = ["id,x,label"] + [f"u{i:05d},{i % 97},{'yes' if i % 3 else 'no'}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_it_refuses_a_category_feature_with_too_many_values(owner_api, make_dataset, settings):
    # The issue: a 0.2 MB CSV with a 15,000-distinct id column gave a k-NN of 1.1 GB.
    data = id_column_csv()
    dataset = make_dataset(data=data, dataset_name="ids")
    body = {"name": "ids", "dataset": dataset.pk, "algorithm": "knn_classifier", "target": "label"}
    problem = assert_problem(owner_api.post("/models", body), 422)
    detail = next(e["detail"] for e in problem["errors"] if e["field"] == "features")
    print(f"{len(data) / 1e6:.2f} MB CSV, 15,000-value id column: 422 {detail!r}")
    assert detail.startswith("'id' has 15000 distinct values (at most 1000")
    assert "drop it from the features" in detail
    assert not RegisteredModel.objects.filter(name="ids").exists()
    assert owner_api.post("/models", {**body, "features": ["x"]}).status_code == 202
    # Without the width bound, the model memory bound refuses this k-NN (the 1.1 GB).
    settings.MLSERVE_MAX_CATEGORIES = 20_000
    problem = assert_problem(owner_api.post("/models", {**body, "name": "ids2"}), 422)
    detail = next(e["detail"] for e in problem["errors"] if e["field"] == "algorithm")
    print(f"with MLSERVE_MAX_CATEGORIES=20000: 422 {detail!r}")
    assert "more than the 512 MB a server keeps for loaded models" in detail
    body["algorithm"] = "decision_tree_classifier"
    assert owner_api.post("/models", {**body, "name": "ids2"}).status_code == 202


def test_it_answers_a_huge_features_list_with_a_short_422(owner_api, houses):
    # ["zz"] * N: a 24 MB body that was checked item by item against a list of columns.
    body = json.dumps(train_body(houses, features=["zz"] * 4_000_000))
    started = time.perf_counter()
    problem = assert_problem(owner_api.post("/models", body), 422)
    print(f"{len(body) / 1e6:.0f} MB features list: 422 in {time.perf_counter() - started:.2f} s")
    assert "features" in problem["detail"]
    assert "at most 1000" in problem["detail"]
    assert len(problem["detail"]) < 500
    assert len(json.dumps(problem)) < 1000
    for overrides in (
        {"params": {f"k{i}": 1 for i in range(100_000)}},
        {"target": "t" * 1_000_000},
        {"algorithm": "a" * 1_000_000},
        {"features": [1] * 1_000_000},
        {"features": [[1]] * 1000},
    ):
        problem = assert_problem(owner_api.post("/models", train_body(houses, **overrides)), 422)
        assert len(problem["detail"]) < 500
        assert len(json.dumps(problem)) < 2000, json.dumps(problem)[:2000]
    assert not RegisteredModel.objects.exists()


def test_it_refuses_training_on_another_users_dataset(other_api, houses):
    assert_problem(other_api.post("/models", train_body(houses, name="theirs")), 404)
    assert not RegisteredModel.objects.exists()


@WORKER_DB
def test_it_trains_the_next_version(owner_api, other_api, houses, worker):
    owner_api.post("/models", train_body(houses))
    response = owner_api.post(
        "/models/prices/versions",
        {"dataset": houses.pk, "algorithm": "knn_regressor", "target": "price"},
    )
    assert response.status_code == 202
    assert response.json()["version"] == 2
    assert_problem(
        other_api.post(
            "/models/prices/versions",
            {"dataset": houses.pk, "algorithm": "knn_regressor", "target": "price"},
        ),
        403,
    )
    assert_problem(
        owner_api.post(
            "/models/nope/versions",
            {"dataset": houses.pk, "algorithm": "knn_regressor", "target": "price"},
        ),
        404,
    )
    worker()
    detail = owner_api.get("/models/prices/versions/2").json()
    assert detail["status"] == "ready"
    assert detail["algorithm"] == "knn_regressor"
    assert detail["metrics"]["r2"] > 0.5
    assert [f["name"] for f in detail["features"]] == ["size_m2", "bedrooms", "age_years", "area"]
    assert detail["features"][3]["categories"] == ["centre", "rural", "suburb"]
    assert detail["classes"] is None


@WORKER_DB
def test_it_lists_models_by_page_with_aliases_and_newest_version(owner_api, make_dataset, worker):
    houses = make_dataset("houses.csv")
    for name in ("a-model", "b-model", "c-model"):
        owner_api.post("/models", train_body(houses, name=name))
    worker()
    owner_api.put("/models/b-model/aliases/production", {"version": 1})
    body = owner_api.get("/models?limit=2").json()
    assert body["count"] == 3
    assert [m["name"] for m in body["items"]] == ["a-model", "b-model"]
    assert body["next"].startswith("http://testserver/api/v1/models?limit=2&cursor=")
    assert body["items"][1]["aliases"] == {"production": 1}
    assert body["items"][0]["latest_version"]["status"] == "ready"
    detail = owner_api.get("/models/b-model").json()
    assert [v["version"] for v in detail["versions"]] == [1]
    assert_problem(owner_api.get("/models/zzz"), 404)


@WORKER_DB
def test_aliases_move_atomically_and_only_to_ready_versions(owner_api, other_api, houses, worker):
    owner_api.post("/models", train_body(houses))
    assert_problem(
        owner_api.put("/models/prices/aliases/production", {"version": 1}), 409, "queued"
    )
    worker()
    response = owner_api.put("/models/prices/aliases/production", {"version": 1})
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert Alias.objects.get(name="production").version.version == 1
    assert_problem(owner_api.put("/models/prices/aliases/production", {"version": 9}), 404)
    assert_problem(owner_api.put("/models/prices/aliases/Bad Alias", {"version": 1}), 422)
    assert_problem(owner_api.put("/models/prices/aliases/production", {"version": "x"}), 422)
    assert_problem(other_api.put("/models/prices/aliases/production", {"version": 1}), 403)
    assert_problem(owner_api.delete("/models/prices/versions/1"), 409, "production")
    assert_problem(other_api.delete("/models/prices/aliases/production"), 403)
    assert owner_api.delete("/models/prices/aliases/production").status_code == 204
    assert_problem(owner_api.delete("/models/prices/aliases/production"), 404)
    assert owner_api.delete("/models/prices/versions/1").status_code == 204
    assert not ModelVersion.objects.exists()


def test_only_the_owner_deletes_a_model(owner_api, other_api, houses):
    owner_api.post("/models", train_body(houses))
    assert_problem(other_api.delete("/models/prices"), 403)
    assert_problem(other_api.delete("/models/prices/versions/1"), 403)
    assert RegisteredModel.objects.filter(name="prices").exists()
    assert owner_api.delete("/models/prices").status_code == 204
    assert not RegisteredModel.objects.exists()
    assert_problem(owner_api.get("/models/prices/versions/1"), 404)


@WORKER_DB
def test_a_version_shows_a_failure_message(owner_api, make_dataset, worker):
    data = b"count,label\n" + b"".join(
        b"%d,%s\n" % (i - 5, b"ab"[i % 2 : i % 2 + 1]) for i in range(40)
    )
    dataset = make_dataset(data=data, dataset_name="neg")
    owner_api.post(
        "/models",
        {"name": "nb", "dataset": dataset.pk, "algorithm": "multinomial_nb", "target": "label"},
    )
    worker()
    body = owner_api.get("/models/nb/versions/1").json()
    assert body["status"] == "failed"
    assert "Multinomial naive Bayes learns from counts, but 'count' has a negative" in body["error"]
