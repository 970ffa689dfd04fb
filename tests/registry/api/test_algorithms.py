import pytest

from registry.algorithms import ALGORITHMS

pytestmark = pytest.mark.django_db


def test_it_lists_every_algorithm_with_its_hyperparameters(owner_api):
    response = owner_api.get("/algorithms")
    assert response.status_code == 200
    body = {a["id"]: a for a in response.json()}
    assert (
        set(body)
        == set(ALGORITHMS)
        == {
            "linear_regression",
            "logistic_regression",
            "gaussian_nb",
            "multinomial_nb",
            "perceptron",
            "svm",
            "knn_classifier",
            "knn_regressor",
            "kmeans",
            "decision_tree_classifier",
            "decision_tree_regressor",
            "pca",
            "gmm",
        }
    )
    assert body["kmeans"]["kind"] == "clustering"
    assert body["kmeans"]["needs_target"] is False
    assert body["pca"]["kind"] == "decomposition"
    assert body["svm"]["kind"] == "classifier"
    kernel = next(p for p in body["svm"]["hyperparameters"] if p["name"] == "kernel")
    assert kernel == {**kernel, "type": "choice", "default": "rbf", "choices": ["rbf", "linear"]}
    k = next(p for p in body["knn_classifier"]["hyperparameters"] if p["name"] == "n_neighbors")
    assert (k["type"], k["default"], k["minimum"], k["maximum"]) == ("int", 5, 1, 1000)
    c = next(p for p in body["logistic_regression"]["hyperparameters"] if p["name"] == "C")
    assert c["exclusive_minimum"] == 0
