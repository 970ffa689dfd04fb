"""selectors.leaderboard_rows, leaderboard and leaderboards: the table a board shows, and
who may read it."""

import numpy as np
import pytest

from registry import selectors, services
from registry.errors import NotFound
from registry.models import Trial

pytestmark = pytest.mark.django_db


def classifier_scores(accuracy: list[float], log_loss: list[float] | None = None) -> dict:
    scores = {
        name: [a - 0.1 for a in accuracy]
        for name in ("f1_macro", "precision_macro", "recall_macro")
    }
    scores["accuracy"] = accuracy
    scores["log_loss"] = log_loss if log_loss is not None else [None] * len(accuracy)
    return scores


@pytest.fixture
def board(owner, make_dataset):
    board = services.leaderboard_create(
        user=owner,
        dataset=make_dataset("churn.csv"),
        target="churned",
        algorithms=["logistic_regression", "gaussian_nb", "multinomial_nb", "perceptron", "svm"],
        n_iter=1,
        folds=2,
        seed=1,
    )

    def finish(algorithm, default, status="done", accuracy=None, log_loss=None, reason=""):
        trial = board.trials.get(algorithm=algorithm, is_default=default)
        Trial.objects.filter(pk=trial.pk).update(
            status=status,
            reason=reason,
            scores=classifier_scores(accuracy, log_loss) if accuracy else {},
            fit_seconds=[0.1, 0.3] if accuracy else [],
            predict_seconds=[0.01, 0.03] if accuracy else [],
        )

    finish("logistic_regression", True, accuracy=[0.8, 0.9], log_loss=[0.4, 0.5])
    finish("logistic_regression", False, accuracy=[0.7, 0.7], log_loss=[0.3, 0.3])
    finish("gaussian_nb", True, accuracy=[0.9, 0.8], log_loss=[0.6, 0.6])
    finish("gaussian_nb", False, accuracy=[0.6, 0.6], log_loss=[0.9, 0.9])
    finish("multinomial_nb", True, "failed", reason="Multinomial naive Bayes learns from counts")
    finish("multinomial_nb", False, "failed", reason="Multinomial naive Bayes learns from counts")
    finish("perceptron", True, accuracy=[0.5, 0.7])  # no probabilities: no log loss
    finish("svm", True, "running")
    return board


def test_it_ranks_each_algorithms_best_trial_by_the_boards_metric(board):
    rows = selectors.leaderboard_rows(board)
    assert [(r["algorithm"], r["rank"]) for r in rows] == [
        ("logistic_regression", 1),  # 0.85 ties with gaussian_nb: both first
        ("gaussian_nb", 1),
        ("perceptron", 3),
        ("multinomial_nb", None),
        ("svm", None),
    ]
    best = rows[0]
    assert (best["trial"], best["is_default"], best["status"]) == (0, True, "done")
    assert best["params"] == board.trials.get(number=0).params
    assert best["metrics"]["accuracy"] == {
        "mean": pytest.approx(0.85),
        "std": pytest.approx(np.std([0.8, 0.9])),
    }
    assert best["metrics"]["f1_macro"]["mean"] == pytest.approx(0.75)
    assert best["metrics"]["log_loss"]["mean"] == pytest.approx(0.45)
    assert best["fit_seconds"] == pytest.approx(0.2)
    assert best["predict_seconds"] == pytest.approx(0.02)
    assert (best["trials_done"], best["trials_total"]) == (2, 2)
    assert rows[2]["metrics"]["log_loss"] == {"mean": None, "std": None}


def test_a_lower_is_better_metric_ranks_the_other_way(board):
    board.metric = "log_loss"
    rows = selectors.leaderboard_rows(board)
    assert [(r["algorithm"], r["rank"], r["trial"]) for r in rows] == [
        ("logistic_regression", 1, 5),  # its search trial: log loss 0.3
        ("gaussian_nb", 2, 1),
        ("multinomial_nb", None, None),
        ("perceptron", None, 3),  # done, but without a log loss
        ("svm", None, None),
    ]


def test_an_algorithm_without_a_result_says_why_or_how_far(board):
    rows = {r["algorithm"]: r for r in selectors.leaderboard_rows(board)}
    failed = rows["multinomial_nb"]
    assert failed["status"] == "failed"
    assert failed["reason"] == "Multinomial naive Bayes learns from counts"
    assert failed["metrics"]["accuracy"] == {"mean": None, "std": None}
    running = rows["svm"]
    assert (running["status"], running["reason"], running["trials_done"]) == ("running", "", 0)


def test_only_the_owner_or_a_superuser_reads_a_board(board, owner, other, admin_user):
    assert selectors.leaderboard(owner, board.pk) == board
    assert selectors.leaderboard(admin_user, board.pk) == board
    with pytest.raises(NotFound, match=f"You have no leaderboard {board.pk}."):
        selectors.leaderboard(other, board.pk)
    assert list(selectors.leaderboards(owner)) == [board]
    assert list(selectors.leaderboards(admin_user)) == [board]
    assert list(selectors.leaderboards(other)) == []
