"""POST/GET /api/v1/models/{name}/evaluations: queue one on a dataset or an uploaded file,
read it side by side, download a version's wrong rows; every refusal is problem+json."""

import csv
import io

import pytest

from registry.evaluation import run
from registry.models import Dataset, Evaluation
from tests.conftest import assert_problem
from tests.registry.evaluation.conftest import churn_rows, to_csv

pytestmark = pytest.mark.django_db


def test_it_queues_an_evaluation_of_a_dataset_and_shows_it_side_by_side(
    owner_api, churn_two, fresh
):
    response = owner_api.post("/models/churn/evaluations", {"dataset": fresh.pk})

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["versions"] == [1, 2]
    assert body["target"] == "churned"
    assert body["dataset"] == {"id": fresh.pk, "name": "fresh", "sha256": fresh.sha256}
    assert body["results"] == {}
    created = Evaluation.objects.get(pk=body["id"])
    assert created.model == churn_two

    run.run(created.pk)
    detail = owner_api.get(f"/models/churn/evaluations/{created.pk}").json()
    assert detail["status"] == "done"
    assert detail["progress"] == 100
    one, two = detail["results"]["1"], detail["results"]["2"]
    assert one["n_scored"] == two["n_scored"] == 150
    assert "wrong_rows" not in one  # the download has them
    assert one["wrong_rows_url"] == (
        f"/api/v1/models/churn/evaluations/{created.pk}/versions/1/wrong_rows"
    )
    accuracy = next(r for r in detail["comparison"] if r["metric"] == "accuracy")
    assert [v["version"] for v in accuracy["values"]] == [1, 2]
    assert accuracy["values"][1]["delta"] == pytest.approx(
        two["metrics"]["accuracy"] - one["metrics"]["accuracy"]
    )

    listed = owner_api.get("/models/churn/evaluations").json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == created.pk
    assert "results" not in listed["items"][0]

    download = owner_api.get(one["wrong_rows_url"].removeprefix("/api/v1"))
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv"
    lines = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert lines[0][-1] == "predicted"
    assert len(lines) - 1 == one["n_wrong"]


def test_it_evaluates_an_uploaded_file_which_becomes_a_dataset_of_the_caller(
    owner_api, owner, churn_two
):
    header, rows = churn_rows(0, 40)
    upload = io.BytesIO(to_csv(header, rows))
    upload.name = "april.csv"

    response = owner_api.post(
        "/models/churn/evaluations",
        {"file": upload, "versions": "2,1"},
        content_type=None,
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["versions"] == [2, 1]
    made = Dataset.objects.get(pk=body["dataset"]["id"])
    assert made.owner == owner
    assert made.name == "april"
    assert made.n_rows == 40


def test_a_file_the_evaluation_refuses_leaves_no_dataset(owner_api, churn_two):
    upload = io.BytesIO(b"a,b\n1,2\n3,4\n")
    upload.name = "unlabelled.csv"
    response = owner_api.post("/models/churn/evaluations", {"file": upload}, content_type=None)
    assert_problem(response, 422, "no column 'churned'")
    assert not Dataset.objects.filter(name="unlabelled").exists()


def test_the_refusals_are_problems(owner_api, other_api, churn_two, fresh, settings):
    assert_problem(owner_api.post("/models/nope/evaluations", {"dataset": fresh.pk}), 404)
    assert_problem(
        owner_api.post("/models/churn/evaluations", {"dataset": fresh.pk, "versions": [9]}),
        422,
        "churn has no version 9",
    )
    assert_problem(
        owner_api.post("/models/churn/evaluations", {"dataset": fresh.pk, "versions": [1] * 6}),
        422,
    )
    assert_problem(owner_api.post("/models/churn/evaluations", {"versions": [1]}), 422)
    assert_problem(
        owner_api.post("/models/churn/evaluations", b"{", content_type="application/json"), 400
    )
    assert_problem(
        owner_api.post("/models/churn/evaluations", b"a,b", content_type="text/csv"), 415
    )
    settings.MLSERVE_MAX_EVALUATION_ROWS = 10
    assert_problem(
        owner_api.post("/models/churn/evaluations", {"dataset": fresh.pk}),
        413,
        "MLSERVE_MAX_EVALUATION_ROWS",
    )
    # Another user: not their model to evaluate, not their dataset to read.
    assert_problem(other_api.post("/models/churn/evaluations", {"dataset": fresh.pk}), 404)
    assert not Evaluation.objects.exists()
    assert_problem(owner_api.get("/models/churn/evaluations/12345"), 404)


def test_another_users_evaluation_does_not_exist_for_them(
    owner_api, other_api, other, churn_two, fresh, make_dataset
):
    created = owner_api.post("/models/churn/evaluations", {"dataset": fresh.pk}).json()
    run.run(created["id"])
    assert_problem(other_api.get(f"/models/churn/evaluations/{created['id']}"), 404)
    assert_problem(
        other_api.get(f"/models/churn/evaluations/{created['id']}/versions/1/wrong_rows"), 404
    )
    assert other_api.get("/models/churn/evaluations").json()["count"] == 0
    theirs = make_dataset("churn.csv", user=other, dataset_name="theirs")
    assert_problem(
        other_api.post("/models/churn/evaluations", {"dataset": theirs.pk}),
        403,
        "belongs to another user",
    )
