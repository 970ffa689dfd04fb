"""Leaderboard trials on real `manage.py db_worker` processes: a cancelled board has its
running trial's child stopped, and a worker killed mid-board loses only its running trial,
which another worker retries while the finished trials are kept."""

import os
import signal
import time

import pytest

from registry import services
from registry.models import Leaderboard, Trial
from tests.system.conftest import blobs_csv, child_pids, is_running, report, wait_until
from tests.system.test_faults import QUICK_REAPER

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# k-NN scoring compares every held-out row with every training row: seconds per fold here.
SLOW_ROWS = 30_000


def slow_board(owner, *, algorithms: list[str]) -> Leaderboard:
    dataset = services.dataset_create(owner=owner, data=blobs_csv(SLOW_ROWS), name="blobs")
    return services.leaderboard_create(
        user=owner, dataset=dataset, target="y", algorithms=algorithms, n_iter=0, folds=5, seed=0
    )


def trial_statuses(board: Leaderboard) -> list[str]:
    return list(Trial.objects.filter(leaderboard=board).values_list("status", flat=True))


def running_child(board: Leaderboard, number: int, worker) -> int | None:
    trial = Trial.objects.filter(leaderboard=board, number=number).first()
    children = child_pids(worker.pid)
    return children[0] if trial and trial.status == "running" and children else None


def test_cancel_stops_the_running_trials_child(owner, start_worker):
    board = slow_board(owner, algorithms=["knn_classifier"])
    worker = start_worker("w1")
    child = wait_until(lambda: running_child(board, 0, worker), 120, "the trial did not start")
    cancelled = time.monotonic()
    services.leaderboard_cancel(board=board, user=owner)
    wait_until(lambda: not is_running(child), 30, "the trial's child lives on")
    took = round(time.monotonic() - cancelled, 2)
    report("leaderboard cancelled: its running trial's child stopped", after_s=took)
    board.refresh_from_db()
    assert board.status == "cancelled"
    assert trial_statuses(board) == ["cancelled"]
    assert Trial.objects.get(leaderboard=board).scores == {}
    assert worker.proc.poll() is None


def test_a_worker_killed_mid_board_loses_only_its_running_trial(owner, start_worker):
    board = slow_board(owner, algorithms=["gaussian_nb", "knn_classifier"])
    first = start_worker("w1", env=QUICK_REAPER)
    child = wait_until(lambda: running_child(board, 1, first), 120, "trial 1 did not start")
    kept = Trial.objects.get(leaderboard=board, number=0)
    assert kept.status == "done"
    os.kill(first.pid, signal.SIGKILL)
    first.proc.wait(10)
    wait_until(lambda: not is_running(child), 10, "the trial's child outlived its worker")
    lost_at = time.monotonic()
    second = start_worker("w2", env=QUICK_REAPER)
    wait_until(
        lambda: Leaderboard.objects.get(pk=board.pk).status == "done",
        180,
        f"the board did not finish: {trial_statuses(board)}",
    )
    report(
        "worker killed mid-board: the board finished", after_s=round(time.monotonic() - lost_at, 1)
    )
    retried = Trial.objects.get(leaderboard=board, number=1)
    assert (retried.status, retried.attempts) == ("done", 2)
    again = Trial.objects.get(pk=kept.pk)
    assert (again.attempts, again.finished_at, again.scores) == (1, kept.finished_at, kept.scores)
    board.refresh_from_db()
    assert (board.trials_done, board.trials_total) == (2, 2)
    assert second.proc.poll() is None
