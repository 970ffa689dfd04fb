"""Trials on the task queue: turns with other users' trainings, the time budget, the
board's progress, cancel and lost workers (the reaper), and the children's CPU priority."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from registry import services, tasks
from registry.management.commands.db_worker import fair_choice
from registry.models import Leaderboard, ModelVersion, Trial

pytestmark = pytest.mark.django_db(transaction=True)


def small_board(user, dataset, **request):
    request = {"algorithms": ["gaussian_nb", "decision_tree_classifier"], "n_iter": 1} | request
    return services.leaderboard_create(
        user=user, dataset=dataset, target="churned", folds=3, seed=1, **request
    )


def test_one_users_board_does_not_starve_another_users_single_training(
    owner, other, make_dataset, worker
):
    board = small_board(owner, make_dataset("churn.csv"))
    theirs = services.model_create_with_version(
        owner=other,
        name="oscar",
        dataset=make_dataset("churn.csv", user=other),
        algorithm="gaussian_nb",
        target="churned",
    )
    worker()
    board.refresh_from_db()
    assert board.status == "done"
    started = sorted(
        [(t.started_at, f"trial {t.number}") for t in board.trials.all()]
        + [(ModelVersion.objects.get(pk=theirs.pk).started_at, "oscar")]
    )
    # Olivia's board was queued first, yet Oscar waits for one of its trials at most.
    assert [name for _, name in started].index("oscar") <= 1


def test_the_fair_choice_counts_running_trials_as_the_users_turn(owner, other, make_dataset):
    board = small_board(owner, make_dataset("churn.csv"))
    first = board.trials.get(number=0)
    # A worker runs the first trial: its task claimed, the trial running.
    Trial.objects.filter(pk=first.pk).update(status="running", started_at=timezone.now())
    DBTaskResult.objects.filter(args_kwargs__args=[first.pk]).delete()
    theirs = services.model_create_with_version(
        owner=other,
        name="oscar",
        dataset=make_dataset("churn.csv", user=other),
        algorithm="gaussian_nb",
        target="churned",
    )
    ready = DBTaskResult.objects.ready()
    chosen = ready.get(pk=fair_choice(ready))
    assert chosen.task_path == "registry.tasks.train_version"
    assert chosen.args_kwargs["args"] == [theirs.pk]
    # Without Oscar's training, Olivia's next queued trial (not the running one).
    ModelVersion.objects.filter(pk=theirs.pk).delete()
    DBTaskResult.objects.filter(task_path="registry.tasks.train_version").delete()
    chosen = ready.get(pk=fair_choice(ready))
    assert chosen.args_kwargs["args"] == [board.trials.get(number=1).pk]


def test_a_training_is_seen_by_the_fair_choice_however_many_trials_wait(
    owner, other, make_dataset, monkeypatch
):
    from registry.management.commands import db_worker

    small_board(owner, make_dataset("churn.csv"), n_iter=3)  # 8 trials queued first
    monkeypatch.setattr(db_worker, "FAIR_WINDOW", 4)  # fewer than the board's trials
    theirs = services.model_create_with_version(
        owner=other,
        name="oscar",
        dataset=make_dataset("churn.csv", user=other),
        algorithm="gaussian_nb",
        target="churned",
    )
    ready = DBTaskResult.objects.ready()
    chosen = ready.get(pk=fair_choice(ready))
    assert chosen.args_kwargs["args"] == [theirs.pk]
    assert chosen.task_path == "registry.tasks.train_version"


def test_a_board_goes_from_queued_to_running_to_done_counting_its_trials(
    owner, make_dataset, worker
):
    board = small_board(owner, make_dataset("churn.csv"))
    assert (board.status, board.trials_done, board.trials_total) == ("queued", 0, 4)
    assert tasks.run_trial.call(board.trials.get(number=0).pk) == "done"
    board.refresh_from_db()
    assert (board.status, board.trials_done) == ("running", 1)
    assert board.started_at is not None
    worker()
    board.refresh_from_db()
    assert (board.status, board.trials_done) == ("done", 4)
    assert board.finished_at >= board.started_at


def test_trials_not_started_when_the_time_budget_runs_out_are_skipped(owner, make_dataset, worker):
    board = small_board(owner, make_dataset("churn.csv"), time_budget_s=60)
    assert tasks.run_trial.call(board.trials.get(number=0).pk) == "done"
    # The budget runs out (the board started over a minute ago).
    Leaderboard.objects.filter(pk=board.pk).update(
        started_at=timezone.now() - timedelta(seconds=61)
    )
    worker()
    board.refresh_from_db()
    assert board.status == "done"
    assert board.trials_done == board.trials_total == 4
    trials = list(board.trials.all())
    assert trials[0].status == "done"
    for trial in trials[1:]:
        assert trial.status == "skipped"
        assert trial.reason == "Not started: the board's time budget of 60 s ran out first."
        assert trial.scores == {}


def test_a_cancelled_board_runs_no_more_trials(owner, make_dataset, worker):
    board = small_board(owner, make_dataset("churn.csv"))
    assert tasks.run_trial.call(board.trials.get(number=0).pk) == "done"
    services.leaderboard_cancel(board=board, user=owner)
    worker()
    board.refresh_from_db()
    assert board.status == "cancelled"
    assert board.error == "Cancelled by olivia."
    statuses = list(board.trials.values_list("status", flat=True))
    assert statuses == ["done", "cancelled", "cancelled", "cancelled"]
    assert board.trials_done == 4


def test_a_trial_whose_worker_died_is_retried_once_then_failed_keeping_the_others(
    owner, make_dataset, worker, settings
):
    board = small_board(owner, make_dataset("churn.csv"))
    assert tasks.run_trial.call(board.trials.get(number=0).pk) == "done"
    kept = Trial.objects.get(leaderboard=board, number=0)
    lost = board.trials.get(number=1)
    # Its worker was killed mid-trial: running, with a heartbeat long stopped.
    stale = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S + 1)
    Trial.objects.filter(pk=lost.pk).update(status="running", attempts=1, heartbeat_at=stale)
    assert tasks.reap_stale_trials() == 1
    lost.refresh_from_db()
    assert lost.status == "queued"
    assert lost.reason == "The worker stopped during this trial; retrying."
    worker()
    board.refresh_from_db()
    assert board.status == "done"
    lost.refresh_from_db()
    assert (lost.status, lost.attempts, lost.reason) == ("done", 2, "")
    assert Trial.objects.get(pk=kept.pk).finished_at == kept.finished_at  # not run again

    # A second loss fails it, with the board finishing around it.
    second = small_board(owner, board.dataset, algorithms=["gaussian_nb"], n_iter=0)
    trial = second.trials.get()
    Trial.objects.filter(pk=trial.pk).update(status="running", attempts=2, heartbeat_at=stale)
    DBTaskResult.objects.all().delete()
    assert tasks.reap_stale_trials() == 1
    trial.refresh_from_db()
    assert trial.status == "failed"
    assert trial.reason.startswith("The worker stopped (killed or crashed) during 2 attempts")
    second.refresh_from_db()
    assert (second.status, second.trials_done) == ("failed", 1)


AUTOGROUP = Path("/proc/self/autogroup")


def _record_niceness(path):
    def record(*args, **kwargs):
        group = AUTOGROUP.read_text().split()[-1] if AUTOGROUP.exists() else "none"
        leader = os.getsid(0) == os.getpid()
        path.write_text(f"{os.getpriority(os.PRIO_PROCESS, 0)} {leader} {group}")
        raise RuntimeError("recorded")

    return record


def test_training_children_run_at_a_lower_cpu_priority_than_the_worker(
    owner, make_dataset, worker, monkeypatch, tmp_path, children_yield_cpu
):
    from registry.leaderboard import run

    dataset = make_dataset("churn.csv")
    small_board(owner, dataset, algorithms=["gaussian_nb"], n_iter=0)
    services.model_create_with_version(
        owner=owner, name="churn", dataset=dataset, algorithm="gaussian_nb", target="churned"
    )
    trial_file, training_file = tmp_path / "trial", tmp_path / "training"
    monkeypatch.setattr(run, "score_trial", _record_niceness(trial_file))
    monkeypatch.setattr("registry.training.train", _record_niceness(training_file))
    worker()
    expected = min(os.getpriority(os.PRIO_PROCESS, 0) + tasks.CHILD_NICENESS, 19)
    # A nice value weighs only inside the scheduling group of a session (autogroup): each
    # child leads a session of its own, whose group is lowered too.
    group = str(tasks.CHILD_NICENESS) if AUTOGROUP.exists() else "none"
    assert trial_file.read_text() == f"{expected} True {group}"
    assert training_file.read_text() == f"{expected} True {group}"


def test_a_later_board_is_seen_by_the_fair_choice_behind_a_long_one(
    owner, other, make_dataset, monkeypatch
):
    """The fair choice reads only the first FAIR_WINDOW ready tasks: a board queued behind
    another user's longer board must be among them, or it waits for that whole board."""
    from registry.management.commands import db_worker

    monkeypatch.setattr(db_worker, "FAIR_WINDOW", 6)
    long = small_board(owner, make_dataset("churn.csv"), n_iter=9)  # 20 trials
    first = long.trials.get(number=0)
    Trial.objects.filter(pk=first.pk).update(status="running", started_at=timezone.now())
    DBTaskResult.objects.filter(args_kwargs__args=[first.pk]).delete()
    theirs = small_board(other, make_dataset("churn.csv", user=other), n_iter=0)
    ready = DBTaskResult.objects.ready()
    chosen = ready.get(pk=fair_choice(ready))
    assert chosen.args_kwargs["args"] == [theirs.trials.get(number=0).pk]
