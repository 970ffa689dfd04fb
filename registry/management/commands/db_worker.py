"""django-tasks-db's worker, single-threaded, with the stale-training reaper in its loop
(trainings and leaderboard trials alike) and the periodic alert step (the alert rules'
check, the recovery of lost webhook deliveries, the delivery log's pruning).

A training is forked from this process (registry/tasks.py), and a fork taken while
another thread holds a lock (SQLite's allocator, psycopg, a logging handler) hands the
child a lock nobody will release: the child hangs for good. So the worker runs no thread
of its own: the reaper runs here between tasks (and in the training's wait loop, see
tasks.run_isolated), not beside them.
"""

import logging
import random
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Count, Max, Q
from django.db.utils import OperationalError
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from registry.alerts.rules import evaluate_rules
from registry.alerts.webhooks import prune_deliveries, recover_lost_deliveries
from registry.models import ModelVersion, Trial
from registry.tasks import (
    _preload_training,
    reap_stale_batch_jobs,
    reap_stale_evaluations,
    reap_stale_trials,
    reap_stale_versions,
    run_trial,
    train_version,
)

logger = logging.getLogger(__name__)


def reap_safely() -> None:
    try:
        reap_stale_versions()
        reap_stale_trials()
        reap_stale_evaluations()
        reap_stale_batch_jobs()  # a batch job resumes at its next chunk (registry/batchjobs/)
    except Exception:  # the reaper must never take the worker down
        logger.exception("reaping stale trainings failed")
    finally:
        close_old_connections()


def evaluate_rules_safely() -> None:
    """The periodic alert step: check the alert rules, queue again the webhook deliveries
    whose task was lost, then prune the delivery log (each apart: one failing does not stop
    the others)."""
    try:
        evaluate_rules()
    except Exception:  # the alert rules must never take the worker down
        logger.exception("evaluating alert rules failed")
    try:
        recover_lost_deliveries()  # before the pruning: a delivery it fails may go at once
    except Exception:  # nor must the recovery of lost deliveries
        logger.exception("recovering lost webhook deliveries failed")
    try:
        prune_deliveries()
    except Exception:  # nor must the log's pruning
        logger.exception("pruning the webhook delivery log failed")
    finally:
        close_old_connections()


def fair_choice(tasks: Any) -> Any:
    """The id of the task to run next, taking turns between users rather than first come,
    first served: among the first FAIR_WINDOW ready tasks (in the library's order: priority,
    then age), a training or leaderboard trial of the user with the fewest of either
    running, and of those the user whose last one started longest ago (or never); ties go
    to the older task. So one user's board of many trials does not starve another user's
    single training: it waits for one trial at most. Tasks that are neither, or whose
    version or trial is no longer queued (cancelled, deleted: they only skip), go first."""
    candidates = list(tasks.values_list("pk", "task_path", "args_kwargs")[:FAIR_WINDOW])
    if not candidates:
        return None
    paths = {train_version.module_path: "version", run_trial.module_path: "trial"}
    work_of = {
        pk: (paths[path], args["args"][0])
        for pk, path, args in candidates
        if path in paths and args.get("args")
    }
    queued = {
        ("version", pk): owner
        for pk, owner in ModelVersion.objects.filter(
            pk__in=[i for kind, i in work_of.values() if kind == "version"],
            status=ModelVersion.Status.QUEUED,
        ).values_list("pk", "created_by_id")
    }
    queued.update(
        (("trial", pk), owner)
        for pk, owner in Trial.objects.filter(
            pk__in=[i for kind, i in work_of.values() if kind == "trial"],
            status=Trial.Status.QUEUED,
        ).values_list("pk", "leaderboard__owner_id")
    )
    turn = _turns(set(queued.values()))

    def key(item: tuple[int, tuple[Any, ...]]) -> tuple[Any, ...]:
        index, (pk, _, _) = item
        owner = queued.get(work_of.get(pk), _NOT_QUEUED)
        if owner is _NOT_QUEUED:
            return (0, 0, 0.0, index)
        return (1, *turn.get(owner, (0, float("-inf"))), index)

    return min(enumerate(candidates), key=key)[1][0]


def _turns(owners: set[Any]) -> dict[Any, tuple[int, float]]:
    """Each user -> (trainings and trials running, when the last of either started)."""
    turn: dict[Any, tuple[int, float]] = {}
    rows = list(
        ModelVersion.objects.filter(created_by_id__in=owners)
        .values("created_by_id")
        .annotate(
            running=Count("pk", filter=Q(status=ModelVersion.Status.RUNNING)),
            last_start=Max("started_at"),
        )
        .values_list("created_by_id", "running", "last_start")
    )
    rows += list(
        Trial.objects.filter(leaderboard__owner_id__in=owners)
        .values("leaderboard__owner_id")
        .annotate(
            running=Count("pk", filter=Q(status=Trial.Status.RUNNING)),
            last_start=Max("started_at"),
        )
        .values_list("leaderboard__owner_id", "running", "last_start")
    )
    for owner, running, last_start in rows:
        started = last_start.timestamp() if last_start else float("-inf")
        before = turn.get(owner, (0, float("-inf")))
        turn[owner] = (before[0] + running, max(before[1], started))
    return turn


# How many ready tasks the fair choice looks at: with MLSERVE_USER_MAX_TRAININGS per user,
# 500 is the queues of 125 users at least; further tasks wait their turn in age order.
FAIR_WINDOW = 500
_NOT_QUEUED = object()


class TrainingWorker(Worker):
    """The library's worker loop (django-tasks-db 0.13, Worker.run), plus the reaper
    between tasks and a fair choice of the next task (fair_choice)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.next_reap = 0.0
        self.next_alerts = 0.0

    def reap_when_due(self) -> None:
        now = time.monotonic()
        if now >= self.next_reap:
            self.next_reap = now + settings.MLSERVE_REAP_INTERVAL_S
            reap_safely()
        if now >= self.next_alerts:
            # The alert rules (registry/alerts/rules.py) are checked here too, between
            # tasks, for the same reason as the reaper: no thread beside the forks.
            self.next_alerts = now + settings.MLSERVE_ALERT_INTERVAL_S
            evaluate_rules_safely()

    def claim_next(self) -> tuple[bool, DBTaskResult | None]:
        """(whether the queue could be read, the task claimed or None)."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(tasks.db):
            try:
                chosen = fair_choice(tasks)
                task_result = tasks.filter(pk=chosen).get_locked() if chosen else None
                if task_result is None:  # taken meanwhile by another worker
                    task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)  # so no other worker runs it
            except OperationalError as exc:
                if is_locked_database_exception(exc):  # it unlocks eventually: try again
                    return False, None
                raise
        return True, task_result

    def run(self) -> None:
        logger.info("Starting worker worker_id=%s queues=%s", self.worker_id, self.queue_names)
        _preload_training()  # before the first task, not in its time
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # spreads workers started together
        while self.running:
            close_old_connections()
            self.reap_when_due()
            retrieved, task_result = self.claim_next()
            if task_result is not None:
                self.run_task(task_result)
            if self.batch and retrieved and task_result is None:
                logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                logger.info("Ran the maximum of %d tasks - exiting.", self._run_tasks)
                return
            close_old_connections()
            if self.running and not task_result:
                time.sleep(self.interval)


class Command(DBWorkerCommand):
    help = "Run the task worker (trainings), recovering trainings whose worker died."

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("reload"):
            # The autoreloader runs the worker in a thread beside its file watcher: a fork
            # from there is the unsafe kind this worker avoids.
            logger.warning("db_worker: --reload is not supported (trainings fork); ignored.")
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            from django.core.management.base import CommandError

            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = TrainingWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        worker.run()
