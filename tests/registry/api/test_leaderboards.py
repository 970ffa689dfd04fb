"""The leaderboard API: start one (202), list yours, read one with its rows and trials,
cancel it, and register a row as a model version; another user's board is a 404."""

import pytest

from registry.models import Leaderboard, ModelVersion, Trial
from tests.conftest import assert_problem
from tests.registry.boards import finish, make_board

pytestmark = pytest.mark.django_db


def test_it_starts_a_board_with_the_defaults_of_the_task(owner_api, make_dataset):
    dataset = make_dataset("churn.csv")
    response = owner_api.post(
        "/leaderboards",
        {"dataset": dataset.pk, "target": "churned", "search": {"n_iter": 1}, "seed": 3},
    )
    assert response.status_code == 202, response.content
    body = response.json()
    board = Leaderboard.objects.get(pk=body["id"])
    assert (body["status"], body["task"], body["folds"], body["metric"]) == (
        "queued",
        "classifier",
        5,
        "accuracy",
    )
    assert body["seed"] == board.seed == 3
    assert body["progress"] == {"trials_done": 0, "trials_total": board.trials_total}
    assert board.trials_total == 2 * len(board.algorithms)  # defaults + one random each
    assert "perceptron" in body["algorithms"]
    assert "linear_regression" not in body["algorithms"]
    assert body["best"] is None
    assert len(body["trials"]) == board.trials_total
    assert body["url"] == f"/leaderboards/{board.pk}/"
    assert body["dataset"]["id"] == dataset.pk


def test_it_refuses_a_bad_request_with_the_field_named(owner_api, make_dataset):
    dataset = make_dataset("churn.csv")
    response = owner_api.post(
        "/leaderboards", {"dataset": dataset.pk, "target": "churned", "metric": "r2"}
    )
    body = assert_problem(response, 422, "metric")
    assert body["errors"][0]["field"] == "metric"
    assert not Leaderboard.objects.exists()
    response = owner_api.post(
        "/leaderboards", {"dataset": dataset.pk, "target": "churned", "algorithms": ["kmeans"]}
    )
    assert_problem(response, 422)
    assert not Leaderboard.objects.exists()


def test_it_shows_rows_best_and_trials_of_a_finished_board(owner_api, owner, make_dataset):
    board = finish(make_board(owner, make_dataset("churn.csv")))
    response = owner_api.get(f"/leaderboards/{board.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done"
    assert body["progress"] == {"trials_done": 4, "trials_total": 4}
    best = body["best"]
    assert best["algorithm"] == "logistic_regression"
    assert best["mean"] == pytest.approx(0.85)
    assert best["std"] == pytest.approx(0.05)
    ranks = {row["algorithm"]: row["rank"] for row in body["rows"]}
    assert ranks == {"logistic_regression": 1, "gaussian_nb": 2}
    first = body["trials"][0]
    assert first["scores"]["accuracy"] == [0.8, 0.9]
    assert first["fit_seconds"] == [0.01, 0.02]
    assert set(first) >= {"number", "algorithm", "params", "is_default", "status", "reason"}


def test_it_lists_only_your_boards(owner_api, owner, other, make_dataset):
    mine = make_board(owner, make_dataset("churn.csv"))
    make_board(other, make_dataset("churn.csv", user=other))
    body = owner_api.get("/leaderboards").json()
    assert [b["id"] for b in body["items"]] == [mine.pk]
    assert body["count"] == 1


def test_another_users_board_does_not_exist(other_api, owner, make_dataset):
    board = make_board(owner, make_dataset("churn.csv"))
    assert_problem(other_api.get(f"/leaderboards/{board.pk}"), 404)
    assert_problem(other_api.post(f"/leaderboards/{board.pk}/cancel"), 404)
    assert_problem(other_api.post(f"/leaderboards/{board.pk}/register", {"model": "x"}), 404)
    board.refresh_from_db()
    assert board.status == "queued"
    assert not ModelVersion.objects.exists()


def test_it_cancels_a_board_then_refuses_again(owner_api, owner, make_dataset):
    board = make_board(owner, make_dataset("churn.csv"))
    response = owner_api.post(f"/leaderboards/{board.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert set(Trial.objects.filter(leaderboard=board).values_list("status", flat=True)) == {
        "cancelled"
    }
    assert_problem(owner_api.post(f"/leaderboards/{board.pk}/cancel"), 409)


def test_it_registers_the_best_row_as_a_queued_version(owner_api, owner, make_dataset):
    board = finish(make_board(owner, make_dataset("churn.csv")))
    response = owner_api.post(f"/leaderboards/{board.pk}/register", {"model": "churn-best"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["model"], body["version"], body["status"]) == ("churn-best", 1, "queued")
    assert body["algorithm"] == "logistic_regression"
    assert body["leaderboard"] == board.pk
    version = ModelVersion.objects.get(model__name="churn-best")
    assert version.leaderboard_id == board.pk
    winner = board.trials.get(algorithm="logistic_regression", is_default=True)
    assert version.params == winner.params
    read = owner_api.get("/models/churn-best/versions/1").json()
    assert read["leaderboard"] == board.pk


def test_it_registers_a_chosen_algorithm_and_refuses_one_that_did_not_run(
    owner_api, owner, make_dataset
):
    board = finish(
        make_board(owner, make_dataset("churn.csv")),
        failed={"gaussian_nb": "It cannot run here."},
    )
    refused = owner_api.post(
        f"/leaderboards/{board.pk}/register", {"model": "nb", "algorithm": "gaussian_nb"}
    )
    assert_problem(refused, 409, "It cannot run here.")
    missing = owner_api.post(
        f"/leaderboards/{board.pk}/register", {"model": "svm", "algorithm": "svm"}
    )
    assert_problem(missing, 404)
    assert not ModelVersion.objects.exists()
    chosen = owner_api.post(
        f"/leaderboards/{board.pk}/register",
        {"model": "lr", "algorithm": "logistic_regression"},
    )
    assert chosen.status_code == 202
    assert chosen.json()["algorithm"] == "logistic_regression"


def test_register_before_any_trial_finished_is_a_conflict(owner_api, owner, make_dataset):
    board = make_board(owner, make_dataset("churn.csv"))
    assert_problem(owner_api.post(f"/leaderboards/{board.pk}/register", {"model": "m"}), 409)


def test_a_numeric_target_gets_a_regression_board(owner_api, make_dataset):
    dataset = make_dataset("houses.csv")
    response = owner_api.post(
        "/leaderboards",
        {"dataset": dataset.pk, "target": "price", "folds": 3, "search": {"n_iter": 0}},
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["task"], body["metric"], body["folds"]) == ("regressor", "r2", 3)
    assert set(body["algorithms"]) == {
        "linear_regression",
        "knn_regressor",
        "decision_tree_regressor",
    }
    assert body["progress"]["trials_total"] == len(body["algorithms"])
