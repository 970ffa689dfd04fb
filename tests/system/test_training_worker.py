"""The training worker as a process: it forks trainings from a single thread, stops a
stalled child, cancels on request, and schedules users fairly. Real `manage.py db_worker`
processes on the test database; the test process only queues work and watches.
"""

import json
import os
import signal
import time

import pytest

from registry import services
from registry.models import ModelVersion
from tests.conftest import demo_bytes
from tests.helpers import PYTHON, stop_group
from tests.system.conftest import (
    _env,
    _spawn,
    report,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The reaper as eager as the settings allow: it runs every 0.1 s, between and during tasks.
EAGER_REAPER = {"MLSERVE_REAP_INTERVAL_S": "0.1", "MLSERVE_STALE_TRAINING_S": "5"}

# `manage.py db_worker` with a hook that records, at each fork, the threads of the process.
FORK_PROBE = """
import json, os, sys, threading
import django
django.setup()
log = open(sys.argv[1], "a")
def before_fork():
    log.write(json.dumps([t.name for t in threading.enumerate()]) + "\\n")
    log.flush()
os.register_at_fork(before=before_fork)
from django.core.management import call_command
call_command("db_worker", "--no-startup-delay", "--interval", "0.1", "--max-tasks", sys.argv[2])
"""


def queue_churn(owner, name: str, dataset=None) -> ModelVersion:
    dataset = dataset or services.dataset_create(
        owner=owner, data=demo_bytes("churn.csv"), name=name
    )
    return services.model_create_with_version(
        owner=owner, name=name, dataset=dataset, algorithm="logistic_regression", target="churned"
    )


def fitting(version: ModelVersion) -> bool:
    """Whether the version's fit has reported its first iterations (its loss curve)."""
    found = ModelVersion.objects.filter(pk=version.pk).values_list("loss_curve", flat=True)
    return bool(found.first())


def statuses(versions: list[ModelVersion]) -> list[str]:
    found = dict(
        ModelVersion.objects.filter(pk__in=[v.pk for v in versions]).values_list("pk", "status")
    )
    return [found.get(v.pk, "deleted") for v in versions]


# Fork safety ------------------------------------------------------------------------------


def test_it_forks_every_training_from_a_worker_that_runs_no_other_thread(owner, tmp_path):
    versions = [queue_churn(owner, f"churn{i}") for i in range(3)]
    forks = tmp_path / "forks.jsonl"
    proc = _spawn(
        [PYTHON, "-c", FORK_PROBE, str(forks), str(len(versions))],
        _env(EAGER_REAPER),
        tmp_path / "worker.log",
    )
    try:
        proc.wait(timeout=180)
    finally:
        stop_group(proc)
    assert proc.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
    assert statuses(versions) == ["ready"] * len(versions)
    seen = [json.loads(line) for line in forks.read_text().splitlines()]
    report("threads of the worker at each training fork", forks=len(seen), threads=seen[0])
    assert len(seen) == len(versions)
    # No reaper thread (nor any other) that could hold a lock the child inherits.
    assert seen == [["MainThread"]] * len(versions)


def test_it_runs_many_short_trainings_back_to_back_with_an_eager_reaper_and_none_hangs(
    owner, start_worker, settings
):
    count = 30
    settings.MLSERVE_USER_MAX_TRAININGS = count
    dataset = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")
    versions = [queue_churn(owner, f"churn{i}", dataset) for i in range(count)]
    started = time.monotonic()
    worker = start_worker("w1", env=EAGER_REAPER)
    # ~1 s each on one core; a hung child would hold the queue for MLSERVE_TRAIN_TIMEOUT_S.
    wait_until(
        lambda: all(s in ("ready", "failed") for s in statuses(versions)),
        count * 10,
        f"trainings still waiting: {statuses(versions)}",
    )
    took = time.monotonic() - started
    report(f"{count} short trainings back to back, reaper every 0.1 s", total_s=round(took, 1))
    assert statuses(versions) == ["ready"] * count
    finished = ModelVersion.objects.filter(pk__in=[v.pk for v in versions])
    assert [v.attempts for v in finished] == [1] * count
    assert worker.proc.poll() is None


# Cancel --------------------------------------------------------------------------------


def test_it_stops_the_training_child_when_its_version_is_cancelled_or_deleted(owner, start_worker):
    from tests.system.conftest import blobs_csv, child_pids
    from tests.system.test_faults import SLOW_TRAINING

    # GMMs that would fit until their work budget runs out (about 390 EM iterations, ~50 s
    # each here): a child gone within 30 s was stopped, and its status says it did not finish.
    dataset = services.dataset_create(owner=owner, data=blobs_csv(40_000), name="blobs")
    training = {**SLOW_TRAINING, "params": {**SLOW_TRAINING["params"], "max_iter": 10_000}}
    versions = [
        services.model_create_with_version(owner=owner, name=n, dataset=dataset, **training)
        for n in ("cancelled", "deleted", "model-deleted")
    ]
    stops = {
        "cancelled": lambda v: services.version_cancel(version=v, user=owner),
        "deleted": lambda v: services.version_delete(version=v, user=owner),
        "model-deleted": lambda v: services.model_delete(model=v.model, user=owner),
    }
    worker = start_worker("w1")
    took = {}
    for version in versions:
        name = version.model.name
        trainer = wait_until(
            lambda v=version: fitting(v) and child_pids(worker.pid),
            120,
            f"{name}: the training did not start fitting",
        )[0]
        stopped = time.monotonic()
        stops[name](ModelVersion.objects.select_related("model").get(pk=version.pk))
        wait_until(lambda t=trainer: t not in child_pids(worker.pid), 30, f"{name}: child lives")
        took[name] = round(time.monotonic() - stopped, 2)
    report("training child stopped after its version was", **{f"{k}_s": v for k, v in took.items()})
    assert statuses(versions) == ["cancelled", "deleted", "deleted"]
    assert ModelVersion.objects.get(pk=versions[0].pk).error == "Cancelled by olivia."
    assert worker.proc.poll() is None


# Watchdog ------------------------------------------------------------------------------

STALL_S = 2  # MLSERVE_TRAIN_STALL_S for the watchdog test


def test_it_kills_a_child_that_stops_beating_retries_once_then_fails(owner, start_worker):
    from tests.system.conftest import blobs_csv, child_pids, is_running
    from tests.system.test_faults import SLOW_TRAINING

    # A child stopped by SIGSTOP is a real stall: alive, holding whatever it held, sending
    # nothing (as one hung on a lock inherited through fork). No test hook in the code.
    dataset = services.dataset_create(owner=owner, data=blobs_csv(40_000), name="blobs")

    def gmm(name: str, max_iter: int) -> ModelVersion:
        params = {**SLOW_TRAINING["params"], "max_iter": max_iter}
        training = {**SLOW_TRAINING, "params": params}
        return services.model_create_with_version(
            owner=owner, name=name, dataset=dataset, **training
        )

    recovers, stalls = gmm("recovers", 60), gmm("stalls", 10_000)
    worker = start_worker("w1", env={"MLSERVE_TRAIN_STALL_S": str(STALL_S)})
    seen: list[int] = []

    def freeze_next_child(version: ModelVersion) -> float:
        child = wait_until(
            lambda: fitting(version) and [p for p in child_pids(worker.pid) if p not in seen],
            120,
            f"{version.model.name}: no new training child fitting",
        )[0]
        seen.append(child)
        os.kill(child, signal.SIGSTOP)
        frozen = time.monotonic()
        wait_until(lambda: not is_running(child), 60, "the stalled child was not killed")
        return round(time.monotonic() - frozen, 2)

    killed_after = [freeze_next_child(recovers)]
    # The retry of `recovers` runs to the end.
    wait_until(lambda: statuses([recovers]) == ["ready"], 120, "the retry did not finish")
    killed_after += [freeze_next_child(stalls), freeze_next_child(stalls)]
    wait_until(lambda: statuses([stalls]) == ["failed"], 60, "the stalled version did not fail")
    report(f"stalled child killed (MLSERVE_TRAIN_STALL_S={STALL_S})", after_s=killed_after)

    recovered = ModelVersion.objects.get(pk=recovers.pk)
    assert (recovered.status, recovered.attempts) == ("ready", 2)
    failed = ModelVersion.objects.get(pk=stalls.pk)
    assert failed.attempts == 2
    assert failed.error == (
        f"Training made no progress for {STALL_S} s (MLSERVE_TRAIN_STALL_S); "
        "stopped after 2 attempts."
    )
    assert worker.proc.poll() is None


# `manage.py db_worker` whose linear regressions hang inside their fit: the least squares
# solve (one numpy call between the fit's two reports, numpyml.progress.Progress.part) waits
# forever, after noting each entry in a file. Only this test's worker is patched.
HANGING_SOLVE = """
import sys, threading
import django
django.setup()
import numpyml.linear_model
def hang(*args, **kwargs):
    with open(sys.argv[1], "a") as log:
        log.write("hung\\n")
    threading.Event().wait()
numpyml.linear_model._solve_least_squares = hang
from django.core.management import call_command
call_command("db_worker", "--no-startup-delay", "--interval", "0.2")
"""


# MLSERVE_TRAIN_STALL_S for the hung fit: the child runs at nice 19, and on a busy machine its
# reading of the data before the fit (which beats before and after, not inside) can take
# seconds: a short stall would kill it before it reaches the fit that hangs.
HUNG_FIT_STALL_S = 10


def test_it_kills_a_child_hung_inside_a_fit_without_iterations_retries_once_then_fails(
    owner, tmp_path
):
    from tests.system.conftest import _end

    # A fit without iterations beats from inside its own work: one that hangs between two
    # of its parts is the watchdog's (MLSERVE_TRAIN_STALL_S), not left to the time limit.
    dataset = services.dataset_create(owner=owner, data=demo_bytes("houses.csv"), name="houses")
    version = services.model_create_with_version(
        owner=owner, name="houses", dataset=dataset, algorithm="linear_regression", target="price"
    )
    hung = tmp_path / "hung.log"
    started = time.monotonic()
    env = {"MLSERVE_TRAIN_STALL_S": str(HUNG_FIT_STALL_S), "MLSERVE_TRAIN_TIMEOUT_S": "3600"}
    proc = _spawn([PYTHON, "-c", HANGING_SOLVE, str(hung)], _env(env), tmp_path / "worker.log")
    try:
        wait_until(
            lambda: statuses([version]) == ["failed"],
            120,
            f"the hung version did not fail (the worker's log: {tmp_path / 'worker.log'})",
        )
        took = round(time.monotonic() - started, 1)
        assert proc.poll() is None
    finally:
        _end([proc])
    report(
        f"child hung in a fit without iterations (MLSERVE_TRAIN_STALL_S={HUNG_FIT_STALL_S})",
        failed_after_s=took,
    )
    failed = ModelVersion.objects.get(pk=version.pk)
    assert failed.attempts == 2
    assert failed.error == (
        f"Training made no progress for {HUNG_FIT_STALL_S} s (MLSERVE_TRAIN_STALL_S); "
        "stopped after 2 attempts."
    )
    assert hung.read_text().splitlines() == ["hung", "hung"]  # both attempts, inside the fit


# Fair scheduling -----------------------------------------------------------------------


def test_one_worker_takes_turns_between_users_not_first_come_first_served(
    owner, other, start_worker
):
    mine = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")
    theirs = services.dataset_create(owner=other, data=demo_bytes("churn.csv"), name="churn")
    # Olivia queues 3 trainings, then Oscar 1: he should not wait for all of hers.
    versions = [queue_churn(owner, f"olivia{i}", mine) for i in range(3)]
    versions.append(queue_churn(other, "oscar", theirs))
    worker = start_worker("w1")
    wait_until(
        lambda: all(s in ("ready", "failed") for s in statuses(versions)),
        120,
        f"trainings still waiting: {statuses(versions)}",
    )
    assert statuses(versions) == ["ready"] * 4
    order = list(
        ModelVersion.objects.filter(pk__in=[v.pk for v in versions])
        .order_by("started_at")
        .values_list("model__name", flat=True)
    )
    report("one worker, Olivia queues 3 then Oscar 1: trainings started", order=order)
    assert order == ["olivia0", "oscar", "olivia1", "olivia2"]
    assert worker.proc.poll() is None
