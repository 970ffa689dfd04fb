"""A prediction's cost is estimated before it runs: over MLSERVE_MAX_PREDICT_COST, 413.

A 100,000-row k-NN prediction on a 500k-row model held a web worker for 61 s; two at once
timed out everyone else. The estimate (rows x the model's per-row cost, registry/algorithms.py)
refuses such a request before the model computes anything, and says how to split it.
"""

import re
import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from numpyml.neighbors import KNeighborsClassifier
from registry.algorithms import ALGORITHMS
from tests.conftest import assert_problem, train_once

pytestmark = pytest.mark.django_db

TRAIN_ROWS = 3000
BUDGET = 10_000_000


def _csv(n: int, *, target: bool, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, 3))
    lines = ["a,b,c" + (",label" if target else "")]
    for row in values:
        cells = [f"{v:.4f}" for v in row]
        if target:
            cells.append("yes" if row[0] > 0 else "no")
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def knn(owner, make_dataset):
    return train_once(
        owner=owner,
        name="near",
        dataset=make_dataset(data=_csv(TRAIN_ROWS, target=True), dataset_name="near"),
        algorithm="knn_classifier",
        target="label",
    )


@pytest.fixture
def searches(monkeypatch):
    """Counts the k-NN neighbour searches: the model's actual work."""
    calls = []
    original = KNeighborsClassifier._kneighbors

    def counted(self, X, k):
        calls.append(X.shape[0])
        return original(self, X, k)

    monkeypatch.setattr(KNeighborsClassifier, "_kneighbors", counted)
    return calls


def _rows(n: int) -> list[list[float]]:
    return np.random.default_rng(1).normal(size=(n, 3)).round(3).tolist()


def _fits(detail: str) -> int:
    found = re.search(r"split it into requests of at most ([\d,]+) rows", detail)
    assert found, detail
    return int(found[1].replace(",", ""))


def test_it_refuses_a_costly_prediction_before_any_work(owner_api, knn, searches, settings):
    settings.MLSERVE_MAX_PREDICT_COST = BUDGET
    started = time.monotonic()
    response = owner_api.post("/models/near/predict", {"instances": _rows(5000)})
    took = time.monotonic() - started
    body = assert_problem(response, 413, "MLSERVE_MAX_PREDICT_COST")
    assert searches == []  # the model never searched
    fits = _fits(body["detail"])
    # The model holds its 2,400 training rows (80% of 3,000) of 3 features + 2 helper values:
    # 12,000 values read per predicted row.
    assert 500 < fits < 1000
    print(f"\n5,000-row k-NN request over the budget: 413 in {took:.3f} s, 0 searches; fits {fits}")

    response = owner_api.post("/models/near/predict", {"instances": _rows(fits + 1)})
    assert_problem(response, 413, f"at most {fits:,} rows")
    assert searches == []
    response = owner_api.post("/models/near/predict", {"instances": _rows(fits)})
    assert response.status_code == 200, response.content
    assert len(response.json()["predictions"]) == fits
    assert searches == [fits]  # one search for the labels and their probabilities


def test_it_refuses_a_costly_csv_body_too(owner_api, knn, searches, settings):
    settings.MLSERVE_MAX_PREDICT_COST = BUDGET
    response = owner_api.post(
        "/models/near/predict", _csv(5000, target=False), content_type="text/csv"
    )
    _fits(assert_problem(response, 413, "MLSERVE_MAX_PREDICT_COST")["detail"])
    assert searches == []


def test_the_batch_page_says_how_to_split_the_file(owner, client, knn, searches, settings):
    settings.MLSERVE_MAX_PREDICT_COST = BUDGET
    client.force_login(owner)
    upload = SimpleUploadedFile("rows.csv", _csv(5000, target=False), content_type="text/csv")
    response = client.post(reverse("version_batch_predict", args=["near", 1]), {"file": upload})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "MLSERVE_MAX_PREDICT_COST" in page
    assert 500 < _fits(page) < 1000
    assert searches == []


def test_the_default_budget_lets_ordinary_requests_through(owner_api, knn, searches):
    response = owner_api.post("/models/near/predict", {"instances": _rows(2000)})
    assert response.status_code == 200, response.content
    assert searches == [2000]


@pytest.mark.parametrize("algorithm_id", sorted(ALGORITHMS))
def test_every_algorithm_has_a_row_cost(algorithm_id):
    algorithm = ALGORITHMS[algorithm_id]
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(60, 4)))
    model = algorithm.build(algorithm.defaults())
    if algorithm.supervised:
        y = X[:, 0] > 1 if algorithm.kind == "classifier" else X[:, 0] * 2
        model.fit(X, y.astype(int) if algorithm.kind == "classifier" else y)
    else:
        model.fit(X)
    assert algorithm.row_cost(model) >= 1
