"""The leaderboard pages: start one from the dataset page or the train page, follow it, sort
its table, see its chart and every trial, register a row, cancel it; your boards only."""

import re

import pytest
from django.urls import reverse

from registry.models import Leaderboard, ModelVersion
from tests.registry.boards import finish, make_board

pytestmark = pytest.mark.django_db

FORM = {
    "board-target": "churned",
    "board-folds": "3",
    "board-metric": "",
    "board-n_iter": "1",
    "board-time_budget_s": "",
}


def test_the_dataset_and_train_pages_offer_the_form(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    action = reverse("leaderboard_create", args=[dataset.pk])
    for url in (reverse("dataset_detail", args=[dataset.pk]), f"/train/?dataset={dataset.pk}"):
        html = owner_client.get(url).content.decode()
        assert f'action="{action}"' in html, url
        assert 'name="board-folds"' in html
        assert 'name="board-n_iter"' in html
    # The nav links to your boards.
    assert 'href="/leaderboards/"' in html


def test_starting_a_board_from_the_form_opens_its_page(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    response = owner_client.post(reverse("leaderboard_create", args=[dataset.pk]), FORM)
    board = Leaderboard.objects.get()
    assert response.status_code == 302
    assert response["Location"] == board.get_absolute_url()
    assert (board.folds, board.n_iter, board.target, board.metric) == (3, 1, "churned", "accuracy")
    html = owner_client.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in html
    assert f'data-status-url="{reverse("leaderboard_status", args=[board.pk])}"' in html
    assert f"0 of {board.trials_total} trials done" in html
    assert "js/leaderboard.js" in html
    assert "<script>" not in html
    assert "style=" not in html


def test_a_bad_form_shows_its_error_by_the_field(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    response = owner_client.post(
        reverse("leaderboard_create", args=[dataset.pk]), {**FORM, "board-metric": "r2"}
    )
    assert response.status_code == 200
    assert not Leaderboard.objects.exists()
    assert "Choose one of: accuracy" in response.content.decode()


def test_the_status_json_follows_the_board(owner_client, owner, make_dataset):
    board = make_board(owner, make_dataset("churn.csv"))
    data = owner_client.get(reverse("leaderboard_status", args=[board.pk])).json()
    assert data == {
        "status": "queued",
        "finished": False,
        "trials_done": 0,
        "trials_total": 4,
        "best": None,
        "error": None,
    }
    finish(board)
    data = owner_client.get(reverse("leaderboard_status", args=[board.pk])).json()
    assert (data["status"], data["finished"], data["trials_done"]) == ("done", True, 4)
    assert data["best"]["algorithm"] == "logistic_regression"
    assert data["best"]["mean"] == pytest.approx(0.85)


def test_the_board_page_ranks_charts_and_shows_every_trial(owner_client, owner, make_dataset):
    board = finish(make_board(owner, make_dataset("churn.csv")))
    html = owner_client.get(board.get_absolute_url()).content.decode()
    rows = re.findall(r'<tr data-algorithm="([a-z_]+)"', html)
    assert rows == ["logistic_regression", "gaussian_nb"]
    # Accuracy of each over its two folds: the mean, the sd under it.
    assert '0.8500<br><span class="muted small">± 0.0500</span>' in html
    assert '0.7250<br><span class="muted small">± 0.0250</span>' in html
    assert html.count("data-board-chart") == 1
    assert html.count('class="whisker"') == 2
    assert html.count('<details class="trial"') == 4  # every trial, with its folds
    assert "Fold 2" in html
    assert "Accuracy 0.8500</summary>" in html  # each trial's mean in its summary
    assert html.count('action="{}"'.format(reverse("leaderboard_register", args=[board.pk]))) == 2


def test_sorting_by_a_metric_orders_the_rows_in_its_direction(owner_client, owner, make_dataset):
    # gaussian_nb wins on log loss when its accuracies are higher: set it so.
    board = finish(
        make_board(owner, make_dataset("churn.csv")),
        {"logistic_regression": [0.6, 0.7], "gaussian_nb": [0.9, 0.95]},
    )
    url = board.get_absolute_url()
    html = owner_client.get(url + "?sort=log_loss").content.decode()
    assert re.findall(r'<tr data-algorithm="([a-z_]+)"', html) == [
        "gaussian_nb",
        "logistic_regression",
    ]
    assert "Log loss ↓" in html
    assert 'href="?sort=accuracy"' in html
    # An unknown sort falls back to the board's metric.
    assert owner_client.get(url + "?sort=nonsense").status_code == 200


def test_an_algorithm_that_could_not_run_keeps_its_row_with_the_reason(
    owner_client, owner, make_dataset
):
    board = finish(
        make_board(owner, make_dataset("churn.csv")),
        failed={"gaussian_nb": "Gaussian naive Bayes cannot run on this data."},
    )
    html = owner_client.get(board.get_absolute_url()).content.decode()
    assert "Gaussian naive Bayes cannot run on this data." in html
    assert re.findall(r'<tr data-algorithm="([a-z_]+)"', html) == [
        "logistic_regression",
        "gaussian_nb",
    ]
    assert html.count('class="whisker"') == 1


def test_register_button_queues_a_version_linked_back(owner_client, owner, make_dataset):
    board = finish(make_board(owner, make_dataset("churn.csv")))
    response = owner_client.post(
        reverse("leaderboard_register", args=[board.pk]),
        {"model": "churn-lb", "algorithm": "gaussian_nb"},
    )
    version = ModelVersion.objects.get(model__name="churn-lb")
    assert response.status_code == 302
    assert response["Location"] == version.get_absolute_url()
    assert (version.algorithm, version.leaderboard_id) == ("gaussian_nb", board.pk)
    page = owner_client.get(version.get_absolute_url()).content.decode()
    assert f'href="/leaderboards/{board.pk}/"' in page
    board_page = owner_client.get(board.get_absolute_url()).content.decode()
    assert "Registered from this board" in board_page
    assert "churn-lb v1" in board_page


def test_register_with_a_bad_name_says_why(owner_client, owner, make_dataset):
    board = finish(make_board(owner, make_dataset("churn.csv")))
    response = owner_client.post(
        reverse("leaderboard_register", args=[board.pk]),
        {"model": "Not A Name", "algorithm": "gaussian_nb"},
    )
    assert response.status_code == 400
    assert "data-register-errors" in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_cancel_stops_the_board(owner_client, owner, make_dataset):
    board = make_board(owner, make_dataset("churn.csv"))
    response = owner_client.post(reverse("leaderboard_cancel", args=[board.pk]))
    assert response.status_code == 302
    board.refresh_from_db()
    assert board.status == "cancelled"
    html = owner_client.get(board.get_absolute_url()).content.decode()
    assert "Cancelled" in html
    assert reverse("leaderboard_cancel", args=[board.pk]) not in html


def test_the_list_shows_your_boards_only(owner_client, owner, other, make_dataset):
    mine = make_board(owner, make_dataset("churn.csv"))
    theirs = make_board(other, make_dataset("churn.csv", user=other))
    html = owner_client.get(reverse("leaderboard_list")).content.decode()
    assert f'href="{mine.get_absolute_url()}"' in html
    assert f'href="{theirs.get_absolute_url()}"' not in html


def test_another_users_board_is_not_found(other_client, owner, make_dataset):
    board = make_board(owner, make_dataset("churn.csv"))
    for name in ("leaderboard_detail", "leaderboard_status"):
        assert other_client.get(reverse(name, args=[board.pk])).status_code == 404
    for name in ("leaderboard_cancel", "leaderboard_register"):
        response = other_client.post(reverse(name, args=[board.pk]), {"model": "x"})
        assert response.status_code == 404
    board.refresh_from_db()
    assert board.status == "queued"


def test_the_form_can_choose_a_few_algorithms(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    chosen = {**FORM, "board-algorithms": ["gaussian_nb", "decision_tree_classifier"]}
    owner_client.post(reverse("leaderboard_create", args=[dataset.pk]), chosen)
    board = Leaderboard.objects.get()
    assert board.algorithms == ["gaussian_nb", "decision_tree_classifier"]
    assert board.trials_total == 4
