"""Background training through Django's tasks API, isolated in a child process.

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

from registry.models import ModelVersion

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


def enqueue_trial(trial_id: int) -> None:
    run_trial.enqueue(trial_id)


@task()
def train_version(version_id: int) -> str:
    """Train one version in a child process; called by the task worker."""
    claimed = ModelVersion.objects.filter(pk=version_id).claim(attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    return run_isolated(version_id)


@task()
def run_trial(trial_id: int) -> str:
    """Run one leaderboard trial (every fold) in a child process; called by the task worker."""
    from registry.leaderboard.run import claim_trial

    if not claim_trial(trial_id):
        return "skipped"
    return "claimed"


def _child_main(version_id: int, memory_mb: int, heartbeat_fd: int) -> None:
    """Entry point of the training child: die with the parent, cap memory, train."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the heartbeat reaper still recovers
        pass
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from registry.training import Heartbeat, train

    try:
        train(version_id, Heartbeat(heartbeat_fd))
    finally:
        connections.close_all()


@functools.cache
def _preload_training() -> None:
    """Import the training stack once in the worker, so that every forked child starts
    with it: importing matplotlib (for the plots) and pyarrow (for the CSV) in each child
    cost seconds per training, counted against MLSERVE_TRAIN_TIMEOUT_S. (The import starts
    only jemalloc's background thread, which jemalloc's fork handlers look after; the CSV
    reader's own thread starts in the child, on first use.)"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    import registry.training  # noqa: F401
    from registry import csvio

    csvio.import_reader()


def run_isolated(version_id: int) -> str:
    """Train in a child; a child that stalls (no heartbeat for MLSERVE_TRAIN_STALL_S) is
    killed and the training run again, once, then failed. Explain any crash."""
    _preload_training()
    while _run_child(version_id) == STALLED:
        stall = settings.MLSERVE_TRAIN_STALL_S
        attempts = (
            ModelVersion.objects.filter(pk=version_id).values_list("attempts", flat=True).first()
        )
        if attempts is None:
            break
        if attempts >= MAX_ATTEMPTS:
            from registry.training import fail

            fail(
                version_id,
                f"Training made no progress for {stall:g} s (MLSERVE_TRAIN_STALL_S); "
                f"stopped after {attempts} attempts.",
            )
            break
        logger.warning("version %s made no progress for %g s: retrying", version_id, stall)
        ModelVersion.objects.filter(pk=version_id).beat(
            attempts=attempts + 1,
            progress=0,
            loss_curve=[],
            error=f"The training made no progress for {stall:g} s; retrying.",
        )
    status = _status(version_id)
    return status or "deleted"


STALLED = "stalled"


def _run_child(version_id: int) -> str | None:
    """Fork one training child and wait for it: with a time limit, a watchdog on its
    heartbeats (training.Heartbeat, down a pipe), and a look at the version's row every
    POLL_S (cancelled or deleted: the child is killed). Returns STALLED for a child the
    watchdog killed, else None with the version's outcome written."""
    from registry.training import Heartbeat  # imported already by _preload_training

    timeout, stall = settings.MLSERVE_TRAIN_TIMEOUT_S, settings.MLSERVE_TRAIN_STALL_S
    connections.close_all()  # the child must not share the parent's database socket
    reader, writer = os.pipe()
    os.set_blocking(writer, False)  # a child never waits on its heartbeat
    child = multiprocessing.get_context("fork").Process(
        target=_child_main,
        args=(version_id, settings.MLSERVE_TRAIN_MAX_MEMORY_MB, writer),
        name=f"train-v{version_id}",
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
            status = _status(version_id)
            if status not in (Status.RUNNING, Status.READY):  # cancelled or deleted
                logger.info("version %s is %s: stopping its training", version_id, status)
                _kill(child)
                break
            stalled = watching and stall and time.monotonic() - last_sign >= stall
            if stalled and status == Status.RUNNING:
                _kill(child)
                return STALLED
            if time.monotonic() - last_beat >= _heartbeat_interval():
                last_beat = time.monotonic()
                ModelVersion.objects.filter(pk=version_id).beat()
            if time.monotonic() - started >= timeout:
                _kill(child)
                from registry.training import fail

                fail(
                    version_id,
                    f"Training took longer than the {timeout:g} s limit (MLSERVE_TRAIN_TIMEOUT_S) "
                    "and was stopped: use fewer rows, fewer iterations or a faster algorithm.",
                )
    finally:
        os.close(reader)
        if child.is_alive():
            _kill(child)
    if _status(version_id) in (Status.QUEUED, Status.RUNNING):
        from registry.training import fail

        fail(version_id, _crash_message(child.exitcode))
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


def _crash_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = (
            signal.Signals(-exitcode).name
            if -exitcode in signal.valid_signals()
            else str(-exitcode)
        )
        hint = " (most likely it ran out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"The training process was killed by {name}{hint}."
    return f"The training process stopped unexpectedly (exit code {exitcode})."


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
                still_stale.filter(status=Status.RUNNING).mark_failed(
                    f"The training worker stopped (killed or crashed) during {attempts} "
                    "attempts; the version was not retried again. Train a new version."
                )
                logger.warning("version %s lost its worker twice: failed", version_id)
    return len(stale)
