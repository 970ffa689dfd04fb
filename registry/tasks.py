"""Background training through Django's tasks API, isolated in a child process.

Leaderboard trials (`run_trial`) are tasks on the same queue, isolated the same way: a Job
(VersionJob, TrialJob) says how to read, beat and fail the row the child works for.

The worker (`python manage.py db_worker`) runs `train_version`, which forks a child to do
the training. The child has a memory limit and the parent a time limit, so a training
that runs out of either fails with a message and the worker lives on. While the child
runs, the parent writes a heartbeat; a version whose heartbeat stops (the worker was
killed) is retried once, then marked failed, by `reap_stale_versions`, which every worker
runs at start and every few seconds (only the worker: pages and the API only read).
The parent also reads the version's row every POLL_S: a version cancelled
(services.version_cancel) or deleted meanwhile has its child killed. And it watches the
child's own heartbeats (training.Heartbeat, sent from inside the work): a child silent for
MLSERVE_TRAIN_STALL_S is stuck, and is killed and trained again once, then failed.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import multiprocessing
import os
import resource
import signal
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TASK_MIN_PRIORITY

from registry.models import (
    BatchJob,
    BatchJobStatus,
    Evaluation,
    EvaluationStatus,
    ModelVersion,
    Trial,
    TrialStatus,
)

logger = logging.getLogger(__name__)
Status = ModelVersion.Status

HEARTBEAT_INTERVAL_S = 5.0
# How often the worker reads its training's row while the child runs: a version cancelled or
# deleted meanwhile has its child killed within about this.
POLL_S = 0.5
MAX_ATTEMPTS = 2
_PR_SET_PDEATHSIG = 1


def enqueue_training(version_id: int) -> None:
    train_version.enqueue(version_id)


def enqueue_trial(trial_id: int, number: int) -> None:
    run_trial.using(priority=trial_priority(number)).enqueue(trial_id)


def trial_priority(number: int) -> int:
    """Trial `number` of its board queues at TRIAL_PRIORITY for the first four trials, one
    lower for each next four (down to the queue's lowest), so that every board's early
    trials come before any board's later ones: the fair choice, which looks at the first
    FAIR_WINDOW ready tasks only, then sees another user's board however many trials the
    boards queued before it hold."""
    return max(TRIAL_PRIORITY - number // 4, TASK_MIN_PRIORITY)


@task()
def train_version(version_id: int) -> str:
    """Train one version in a child process; called by the task worker."""
    claimed = ModelVersion.objects.filter(pk=version_id).claim(attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    return run_isolated(version_id)


# Trials queue behind trainings (the queue reads tasks by priority, then age), so that the
# fair choice, which looks at the first FAIR_WINDOW ready tasks, always sees every queued
# training however many trials wait: a board's trials then take turns with it.
TRIAL_PRIORITY = -1


@task(priority=TRIAL_PRIORITY)
def run_trial(trial_id: int) -> str:
    """Score one leaderboard trial (every fold) in a child process, like a training; called
    by the task worker. The board's progress is counted once the child is done."""
    from registry.leaderboard.run import claim_trial, update_board

    if not claim_trial(trial_id):
        return "skipped"
    job = TrialJob(trial_id)
    status = _run_isolated(job)
    if job.board_id is not None:
        update_board(job.board_id)
    return status


def enqueue_evaluation(evaluation_id: int) -> None:
    run_evaluation.enqueue(evaluation_id)


@task()
def run_evaluation(evaluation_id: int) -> str:
    """Score an evaluation (registry/evaluation/) in a child process, like a training: its
    memory and time are limited the same way, and a crash fails it with the reason."""
    from registry.evaluation.run import claim

    if not claim(evaluation_id):
        return "skipped"
    return _run_isolated(EvaluationJob(evaluation_id))


class Job:
    """What the isolation (a forked child, its watchdog, its time limit) runs: a version's
    training (VersionJob) or a leaderboard's trial (TrialJob). Each says how to read its
    status, show a sign of life, fail, retry after a stall, and do its work in the child."""

    name: str
    noun: str  # as messages name it: "Training", "The trial"
    live: tuple[str, ...]  # statuses in which the child is let run (the rest: stopped)
    running: str
    active: tuple[str, ...]  # statuses that are not an outcome yet

    def status(self) -> str | None:
        raise NotImplementedError

    def beat(self, **fields: Any) -> None:
        raise NotImplementedError

    def fail(self, message: str) -> None:
        raise NotImplementedError

    def attempts(self) -> int | None:
        raise NotImplementedError

    def retry_after_stall(self, attempts: int, stall: float) -> None:
        raise NotImplementedError

    def work(self, heartbeat: Any) -> None:
        raise NotImplementedError

    def time_limit(self) -> float:
        return settings.MLSERVE_TRAIN_TIMEOUT_S


class VersionJob(Job):
    noun = "Training"
    live = (Status.RUNNING, Status.READY)
    running = Status.RUNNING
    active = (Status.QUEUED, Status.RUNNING)

    def __init__(self, version_id: int) -> None:
        self.version_id = version_id
        self.name = f"train-v{version_id}"
        self.rows = ModelVersion.objects.filter(pk=version_id)

    def status(self) -> str | None:
        return _status(self.version_id)

    def beat(self, **fields: Any) -> None:
        self.rows.beat(**fields)

    def fail(self, message: str) -> None:
        from registry.training import fail

        fail(self.version_id, message)

    def attempts(self) -> int | None:
        return self.rows.values_list("attempts", flat=True).first()

    def retry_after_stall(self, attempts: int, stall: float) -> None:
        self.rows.beat(
            attempts=attempts,
            progress=0,
            loss_curve=[],
            error=f"The training made no progress for {stall:g} s; retrying.",
        )

    def work(self, heartbeat: Any) -> None:
        from registry.training import train

        train(self.version_id, heartbeat)


class TrialJob(Job):
    noun = "The trial"
    live = (TrialStatus.RUNNING, TrialStatus.DONE, TrialStatus.FAILED)
    running = TrialStatus.RUNNING
    active = (TrialStatus.QUEUED, TrialStatus.RUNNING)

    def __init__(self, trial_id: int) -> None:
        self.trial_id = trial_id
        self.name = f"trial-{trial_id}"
        self.rows = Trial.objects.filter(pk=trial_id)
        self.board_id = self.rows.values_list("leaderboard_id", flat=True).first()

    def status(self) -> str | None:
        return self.rows.values_list("status", flat=True).first()

    def beat(self, **fields: Any) -> None:
        from registry.leaderboard.run import beat

        beat(self.trial_id, **fields)

    def fail(self, message: str) -> None:
        from registry.leaderboard.run import fail

        fail(self.trial_id, message)

    def attempts(self) -> int | None:
        return self.rows.values_list("attempts", flat=True).first()

    def retry_after_stall(self, attempts: int, stall: float) -> None:
        self.beat(
            attempts=attempts, reason=f"The trial made no progress for {stall:g} s; retrying."
        )

    def work(self, heartbeat: Any) -> None:
        from registry.leaderboard.run import run_trial as score

        score(self.trial_id, heartbeat)


class EvaluationJob(Job):
    noun = "The evaluation"
    live = (EvaluationStatus.RUNNING, EvaluationStatus.DONE, EvaluationStatus.FAILED)
    running = EvaluationStatus.RUNNING
    active = (EvaluationStatus.QUEUED, EvaluationStatus.RUNNING)

    def __init__(self, evaluation_id: int) -> None:
        self.evaluation_id = evaluation_id
        self.name = f"evaluation-{evaluation_id}"
        self.rows = Evaluation.objects.filter(pk=evaluation_id)
        self.tries = 1  # an evaluation keeps no count of its own: this process counts

    def status(self) -> str | None:
        return self.rows.values_list("status", flat=True).first()

    def beat(self, **fields: Any) -> None:
        pass  # its progress is its sign of life (the page shows it)

    def fail(self, message: str) -> None:
        from registry.evaluation.run import fail

        fail(self.evaluation_id, message)

    def attempts(self) -> int | None:
        return self.tries

    def retry_after_stall(self, attempts: int, stall: float) -> None:
        self.tries = attempts
        self.rows.update(
            progress=0, error=f"The evaluation made no progress for {stall:g} s; retrying."
        )

    def work(self, heartbeat: Any) -> None:
        from registry.evaluation.run import score

        score(self.evaluation_id, heartbeat)


def enqueue_batch_job(job_id: int) -> None:
    run_batch_job.enqueue(job_id)


@task()
def run_batch_job(job_id: int) -> str:
    """Score a background batch job (registry/batchjobs/) in a child process, like a
    training: a job queued again after its worker died resumes at its first chunk not done."""
    from registry.batchjobs.run import claim

    if not claim(job_id):
        return "skipped"
    return _run_isolated(BatchJobRun(job_id))


class BatchJobRun(Job):
    noun = "The batch job"
    live = (BatchJobStatus.RUNNING, BatchJobStatus.DONE, BatchJobStatus.FAILED)
    running = BatchJobStatus.RUNNING
    active = (BatchJobStatus.QUEUED, BatchJobStatus.RUNNING)

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.name = f"batch-job-{job_id}"
        self.rows = BatchJob.objects.filter(pk=job_id)

    def status(self) -> str | None:
        return self.rows.values_list("status", flat=True).first()

    def beat(self, **fields: Any) -> None:
        from registry.batchjobs.run import beat

        beat(self.job_id, **fields)

    def fail(self, message: str) -> None:
        from registry.batchjobs.run import fail

        fail(self.job_id, message)

    def attempts(self) -> int | None:
        return self.rows.values_list("attempts", flat=True).first()

    def retry_after_stall(self, attempts: int, stall: float) -> None:
        self.beat(attempts=attempts, error=f"A chunk made no progress for {stall:g} s; retrying.")

    def time_limit(self) -> float:
        # No limit on the whole job: each chunk is bounded like a request (rows and cost),
        # and a chunk that hangs is the stall watchdog's (MLSERVE_TRAIN_STALL_S).
        return float("inf")

    def work(self, heartbeat: Any) -> None:
        from registry.batchjobs.run import score
        from registry.monitoring import predlog

        try:
            score(self.job_id, heartbeat)
        finally:
            # The chunks' predictions are logged like requests; this child exits next,
            # and its log writer's thread with it.
            predlog.writer().stop()


# Training children (trainings and trials) run this much nicer than the worker, so that the
# web servers on the same machine keep their CPU share and their predictions their latency.
CHILD_NICENESS = 19


def _yield_cpu() -> None:
    """Lower this child below the web servers. A nice value only weighs against the threads
    of its own scheduling group, and Linux groups processes by session (autogroup), so the
    child also starts a session of its own and lowers that group. It still dies with the
    worker (PR_SET_PDEATHSIG), whose process group it leaves."""
    os.nice(CHILD_NICENESS)
    try:
        os.setsid()
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(CHILD_NICENESS))
    except OSError:  # no autogroups (or not Linux): the nice value is what there is
        pass


def _child_main(job: Job, memory_mb: int, heartbeat_fd: int) -> None:
    """Entry point of the training child: die with the parent, cap memory, yield the CPU to
    the web servers, do the work."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the heartbeat reaper still recovers
        pass
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _yield_cpu()
    from registry.training import Heartbeat

    try:
        job.work(Heartbeat(heartbeat_fd))
    finally:
        connections.close_all()


@functools.cache
def _preload_training() -> None:
    """Import the training stack once in the worker, so that every forked child starts
    with it: importing matplotlib (for the plots) and pyarrow (for the CSV) in each child
    cost seconds per training, counted against MLSERVE_TRAIN_TIMEOUT_S. Matplotlib's first
    figure (its fonts found, its text laid out) costs seconds more: one drawn here spares
    each child that first figure, a single call between two of its heartbeats, which the
    stall watchdog would otherwise have to wait out. (The import starts
    only jemalloc's background thread, which jemalloc's fork handlers look after; the CSV
    reader's own thread starts in the child, on first use.)"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    import registry.batchjobs.run
    import registry.leaderboard.run
    import registry.training  # noqa: F401
    from registry import csvio
    from registry.training import plots

    csvio.import_reader()
    plots.warm_up()


def run_isolated(version_id: int) -> str:
    """Train in a child; a child that stalls (no heartbeat for MLSERVE_TRAIN_STALL_S) is
    killed and the training run again, once, then failed. Explain any crash."""
    return _run_isolated(VersionJob(version_id))


def _run_isolated(job: Job) -> str:
    """Run a job in a child; a child that stalls (no heartbeat for MLSERVE_TRAIN_STALL_S)
    is killed and the job run again, once, then failed. Explain any crash."""
    _preload_training()
    while _run_child(job) == STALLED:
        stall = settings.MLSERVE_TRAIN_STALL_S
        attempts = job.attempts()
        if attempts is None:
            break
        if attempts >= MAX_ATTEMPTS:
            job.fail(
                f"{job.noun} made no progress for {stall:g} s (MLSERVE_TRAIN_STALL_S); "
                f"stopped after {attempts} attempts."
            )
            break
        logger.warning("%s made no progress for %g s: retrying", job.name, stall)
        job.retry_after_stall(attempts + 1, stall)
    status = job.status()
    return status or "deleted"


STALLED = "stalled"


def _run_child(job: Job) -> str | None:
    """Fork one child for the job and wait for it: with a time limit, a watchdog on its
    heartbeats (training.Heartbeat, down a pipe), and a look at the job's row every
    POLL_S (cancelled or deleted: the child is killed). Returns STALLED for a child the
    watchdog killed, else None with the job's outcome written."""
    from registry.training import Heartbeat  # imported already by _preload_training

    timeout, stall = job.time_limit(), settings.MLSERVE_TRAIN_STALL_S
    connections.close_all()  # the child must not share the parent's database socket
    reader, writer = os.pipe()
    os.set_blocking(writer, False)  # a child never waits on its heartbeat
    child = multiprocessing.get_context("fork").Process(
        target=_child_main,
        args=(job, settings.MLSERVE_TRAIN_MAX_MEMORY_MB, writer),
        name=job.name,
        daemon=True,
    )
    started = last_beat = last_sign = time.monotonic()
    watching = True  # until the child says a quiet step begins
    child.start()
    os.close(writer)
    os.set_blocking(reader, False)
    try:
        while child.is_alive():
            # Wake every POLL_S (a cancel or a delete stops the child within about that),
            # or when the time limit passes, so a short limit is kept to, not rounded up.
            remaining = timeout - (time.monotonic() - started)
            child.join(max(0.0, min(POLL_S, remaining)))
            signs = _read_signs(reader)
            if signs:
                last_sign, watching = time.monotonic(), not signs.endswith(Heartbeat.QUIET)
            if not child.is_alive():
                break
            status = job.status()
            if status not in job.live:  # cancelled or deleted
                logger.info("%s is %s: stopping its child", job.name, status)
                _kill(child)
                break
            stalled = watching and stall and time.monotonic() - last_sign >= stall
            if stalled and status == job.running:
                _kill(child)
                return STALLED
            if time.monotonic() - last_beat >= _heartbeat_interval():
                last_beat = time.monotonic()
                job.beat()
            if time.monotonic() - started >= timeout:
                _kill(child)
                job.fail(
                    f"{job.noun} took longer than the {timeout:g} s limit "
                    "(MLSERVE_TRAIN_TIMEOUT_S) and was stopped: use fewer rows, fewer "
                    "iterations or a faster algorithm."
                )
    finally:
        os.close(reader)
        if child.is_alive():
            _kill(child)
    if job.status() in job.active:
        job.fail(_crash_message(child.exitcode, job.noun))
    return None


def _read_signs(reader: int) -> bytes:
    """Every heartbeat byte the child has sent since the last read."""
    signs = b""
    while True:
        try:
            chunk = os.read(reader, 4096)
        except BlockingIOError:
            return signs
        if not chunk:  # the child closed its end (it exited)
            return signs
        signs += chunk


def _kill(child: Any) -> None:
    child.kill()
    child.join(10)


def _status(version_id: int) -> str | None:
    return ModelVersion.objects.filter(pk=version_id).values_list("status", flat=True).first()


def _heartbeat_interval() -> float:
    return min(HEARTBEAT_INTERVAL_S, settings.MLSERVE_STALE_TRAINING_S / 3)


def _crash_message(exitcode: int | None, noun: str = "Training") -> str:
    process = {
        "Training": "training",
        "The evaluation": "evaluation's",
        "The batch job": "batch job's",
    }.get(noun, "trial's")
    if exitcode is not None and exitcode < 0:
        name = (
            signal.Signals(-exitcode).name
            if -exitcode in signal.valid_signals()
            else str(-exitcode)
        )
        hint = " (most likely it ran out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"The {process} process was killed by {name}{hint}."
    return f"The {process} process stopped unexpectedly (exit code {exitcode})."


def reap_stale_versions() -> int:
    """Retry (once) or fail versions whose worker died mid-training. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S)
    stale = list(
        ModelVersion.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", "attempts"
        )
    )
    for version_id, attempts in stale:
        still_stale = ModelVersion.objects.filter(pk=version_id, heartbeat_at__lt=cutoff)
        with transaction.atomic():
            if attempts < MAX_ATTEMPTS:
                requeued = still_stale.requeue("The worker stopped during training; retrying.")
                if requeued:
                    logger.warning("version %s lost its worker: retrying", version_id)
                    transaction.on_commit(lambda v=version_id: enqueue_training(v))
            else:
                message = (
                    f"The training worker stopped (killed or crashed) during {attempts} "
                    "attempts; the version was not retried again. Train a new version."
                )
                if still_stale.filter(status=Status.RUNNING).mark_failed(message):
                    from registry.training.run import announce_failed

                    announce_failed(version_id, message)
                logger.warning("version %s lost its worker twice: failed", version_id)
    return len(stale)


def reap_stale_trials() -> int:
    """Retry (once) or fail leaderboard trials whose worker died mid-trial; the trials the
    board finished are kept. Returns how many."""
    from registry.leaderboard.run import update_board

    cutoff = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S)
    stale = list(
        Trial.objects.filter(status=TrialStatus.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", "attempts", "leaderboard_id", "number"
        )
    )
    for trial_id, attempts, board_id, number in stale:
        still_stale = Trial.objects.filter(
            pk=trial_id, status=TrialStatus.RUNNING, heartbeat_at__lt=cutoff
        )
        with transaction.atomic():
            if attempts < MAX_ATTEMPTS:
                requeued = still_stale.update(
                    status=TrialStatus.QUEUED,
                    heartbeat_at=timezone.now(),
                    reason="The worker stopped during this trial; retrying.",
                )
                if requeued:
                    logger.warning("trial %s lost its worker: retrying", trial_id)
                    transaction.on_commit(lambda t=trial_id, n=number: enqueue_trial(t, n))
            else:
                failed = still_stale.update(
                    status=TrialStatus.FAILED,
                    finished_at=timezone.now(),
                    reason=f"The worker stopped (killed or crashed) during {attempts} attempts "
                    "at this trial; it was not retried again.",
                )
                if failed:
                    logger.warning("trial %s lost its worker twice: failed", trial_id)
                    update_board(board_id)
    return len(stale)


def reap_stale_evaluations() -> int:
    """Fail evaluations whose worker died. An evaluation keeps no heartbeat of its own, but
    its worker stops it at MLSERVE_TRAIN_TIMEOUT_S (twice that with the one retry after a
    stall), so one still running well past that has lost its worker. Returns how many."""
    limit = 2 * settings.MLSERVE_TRAIN_TIMEOUT_S + settings.MLSERVE_STALE_TRAINING_S
    cutoff = timezone.now() - timedelta(seconds=limit)
    failed = Evaluation.objects.filter(
        status=EvaluationStatus.RUNNING, started_at__lt=cutoff
    ).update(
        status=EvaluationStatus.FAILED,
        error="The worker stopped (killed or crashed) during the evaluation: evaluate again.",
        finished_at=timezone.now(),
    )
    if failed:
        logger.warning("%s evaluations lost their worker: failed", failed)
    return failed


def reap_stale_batch_jobs() -> int:
    """Queue again the batch jobs whose worker died (their heartbeat stopped): the next
    worker resumes at the first chunk not done. A job whose worker died twice without a chunk
    scored in between is failed instead. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S)
    stale = list(
        BatchJob.objects.filter(status=BatchJobStatus.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", "attempts"
        )
    )
    for job_id, attempts in stale:
        still_stale = BatchJob.objects.filter(
            pk=job_id, status=BatchJobStatus.RUNNING, heartbeat_at__lt=cutoff
        )
        with transaction.atomic():
            if attempts < MAX_ATTEMPTS:
                requeued = still_stale.update(
                    status=BatchJobStatus.QUEUED,
                    heartbeat_at=timezone.now(),
                    error="The worker stopped during this job; resuming at its next chunk.",
                )
                if requeued:
                    logger.warning("batch job %s lost its worker: queued again", job_id)
                    transaction.on_commit(lambda j=job_id: enqueue_batch_job(j))
            else:
                failed = still_stale.update(
                    status=BatchJobStatus.FAILED,
                    finished_at=timezone.now(),
                    error=f"The worker stopped (killed or crashed) {attempts} times without "
                    "finishing a chunk; the job was not resumed again.",
                )
                if failed:
                    logger.warning("batch job %s lost its worker twice: failed", job_id)
    return len(stale)
