"""services.leaderboard_create and leaderboard_cancel: validation, the plan, the queue."""

import pytest
from django_tasks_db.models import DBTaskResult

from registry import services
from registry.algorithms import ALGORITHMS, CLASSIFIER, REGRESSOR
from registry.errors import Conflict, Forbidden, InvalidInput
from registry.models import Leaderboard, Trial

pytestmark = pytest.mark.django_db


def test_it_plans_every_classifier_with_its_defaults_and_queues_each_trial(
    owner, make_dataset, django_capture_on_commit_callbacks
):
    dataset = make_dataset("churn.csv")
    with django_capture_on_commit_callbacks(execute=True):
        board = services.leaderboard_create(
            user=owner, dataset=dataset, target="churned", n_iter=2, seed=7
        )
    classifiers = [a.id for a in ALGORITHMS.values() if a.kind == CLASSIFIER]
    assert board.task == CLASSIFIER
    assert board.metric == "accuracy"
    assert board.folds == 5
    assert board.algorithms == classifiers
    assert board.status == "queued"
    assert board.seed == 7
    trials = list(board.trials.all())
    assert board.trials_total == len(trials) == len(classifiers) * 3
    assert [t.number for t in trials] == list(range(len(trials)))
    defaults = {t.algorithm: t.params for t in trials if t.is_default}
    assert defaults == {a: ALGORITHMS[a].defaults() for a in classifiers}
    assert [t.algorithm for t in trials[: len(classifiers)]] == classifiers  # defaults first
    assert {f["name"] for f in board.features} == {
        "tenure_months",
        "monthly_charges",
        "contract",
        "internet",
        "support_calls",
    }
    queued = DBTaskResult.objects.filter(task_path="registry.tasks.run_trial")
    assert sorted(r.args_kwargs["args"][0] for r in queued) == sorted(t.pk for t in trials)


def test_it_infers_a_regression_for_a_numeric_target(owner, make_dataset):
    board = services.leaderboard_create(
        user=owner, dataset=make_dataset("houses.csv"), target="price", n_iter=0, folds=3
    )
    assert board.task == REGRESSOR
    assert board.metric == "r2"
    assert set(board.algorithms) == {a.id for a in ALGORITHMS.values() if a.kind == REGRESSOR}
    assert board.trials.count() == len(board.algorithms)
    assert 0 <= board.seed < 2**31  # a seed is chosen and recorded


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"target": "nope"}, "target"),
        ({"task": "clustering"}, "task"),
        ({"algorithms": ["linear_regression"]}, "algorithms"),
        ({"metric": "r2"}, "metric"),
        ({"folds": 1}, "folds"),
        ({"folds": 2.5}, "folds"),
        ({"n_iter": 1000}, "search.n_iter"),
        ({"time_budget_s": 0}, "time_budget_s"),
        ({"seed": -1}, "seed"),
        ({"features": ["churned"]}, "features"),
    ],
)
def test_it_refuses_a_bad_request_with_the_field_named(owner, make_dataset, request_, field):
    fields = {"target": "churned"} | request_
    with pytest.raises(InvalidInput) as caught:
        services.leaderboard_create(user=owner, dataset=make_dataset("churn.csv"), **fields)
    assert field in caught.value.errors
    assert not Leaderboard.objects.exists()
    assert not Trial.objects.exists()


def test_it_plans_only_the_algorithms_asked_for(owner, make_dataset):
    board = services.leaderboard_create(
        user=owner,
        dataset=make_dataset("churn.csv"),
        target="churned",
        algorithms=["gaussian_nb", "svm"],
        n_iter=1,
        metric="log_loss",
        time_budget_s=60,
    )
    assert board.algorithms == ["gaussian_nb", "svm"]
    assert board.metric == "log_loss"
    assert board.time_budget_s == 60.0
    assert [t.algorithm for t in board.trials.all()] == ["gaussian_nb", "svm"] * 2


def test_it_cancels_a_queued_board_and_its_trials_once(owner, other, make_dataset):
    board = services.leaderboard_create(
        user=owner, dataset=make_dataset("churn.csv"), target="churned", n_iter=0
    )
    with pytest.raises(Forbidden):
        services.leaderboard_cancel(board=board, user=other)
    board = services.leaderboard_cancel(board=board, user=owner)
    assert board.status == "cancelled"
    assert board.finished_at is not None
    assert board.trials_done == board.trials_total
    assert set(board.trials.values_list("status", flat=True)) == {"cancelled"}
    with pytest.raises(Conflict):
        services.leaderboard_cancel(board=board, user=owner)


def test_too_few_rows_for_the_folds_names_the_folds(owner, make_dataset):
    rows = ["x,label"] + [f"{i},{'ab'[i % 2]}" for i in range(6)]
    dataset = make_dataset(data=("\n".join(rows) + "\n").encode(), dataset_name="tiny")
    with pytest.raises(InvalidInput) as caught:
        services.leaderboard_create(user=owner, dataset=dataset, target="label", folds=10)
    assert caught.value.errors == {"folds": "tiny has too few rows (6) for 10 folds."}


def test_a_user_may_have_so_many_boards_active_at_once(owner, make_dataset, settings):
    from registry.errors import QuotaExceeded

    settings.MLSERVE_USER_MAX_TRAININGS = 1
    dataset = make_dataset("churn.csv")
    first = services.leaderboard_create(user=owner, dataset=dataset, target="churned", n_iter=0)
    with pytest.raises(QuotaExceeded, match="You have 1 leaderboards queued or running"):
        services.leaderboard_create(user=owner, dataset=dataset, target="churned", n_iter=0)
    services.leaderboard_cancel(board=first, user=owner)
    services.leaderboard_create(user=owner, dataset=dataset, target="churned", n_iter=0)
    assert Leaderboard.objects.count() == 2
