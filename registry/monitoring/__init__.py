"""Serving metrics for Prometheus (`/metrics`) and the observation of each prediction.

Every prediction request through the serving entry (registry.serving.predict: the API, the
version page's forms, batch CSV, the admin's predict page) runs inside an `Observation`, which
on the way out counts it in the Prometheus metrics (registry/monitoring/metrics.py; labels
from the ServedVersion already resolved: no database) and hands it to the prediction log
(registry/monitoring/predlog.py: an append to a deque).

Under gunicorn the metrics are multiprocess-safe: gunicorn.conf.py points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before any worker imports prometheus_client,
each worker writes its values there, and `/metrics` adds them up (MultiProcessCollector).
Without that variable (runserver, tests, the task worker) they live in this process.
Training metrics are read from the database at scrape time: trainings run in the task
worker, a separate process whose counters no web server could see.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError
from django.db.models import Count, Q, Sum
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from registry.csvio import CSVError
from registry.monitoring import live, predlog
from registry.monitoring.metrics import (
    PREDICTED_ROWS,
    PREDICTION_ERRORS,
    PREDICTION_LATENCY,
    PREDICTION_REQUESTS,
    REGISTRY,
    ROLE_REQUESTS,
    TRAINING_BUCKETS,
)

if TYPE_CHECKING:
    from registry.serving import ServedVersion

logger = logging.getLogger(__name__)

# Observing a prediction --------------------------------------------------------------------

# Per version: its label children, made once (labels() takes a lock and a dict lookup).
_children: dict[tuple[int, str, int, str], tuple[Any, Any, Any, Any]] = {}


def _version_children(served: ServedVersion) -> tuple[Any, Any, Any, Any]:
    key = (served.id, served.model, served.version, served.role)
    children = _children.get(key)
    if children is None:
        labels = (served.model, str(served.version))
        children = (
            PREDICTION_REQUESTS.labels(*labels),
            PREDICTION_LATENCY.labels(*labels),
            PREDICTED_ROWS.labels(*labels),
            ROLE_REQUESTS.labels(*labels, served.role),
        )
        if len(_children) > 10_000:
            _children.clear()
        _children[key] = children
    return children


def status_of(exc: BaseException) -> int:
    """The HTTP status an exception from the serving path is answered with."""
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 600:
        return status
    if isinstance(exc, CSVError):
        return 413 if exc.too_large else 422
    return 500


class Observation:
    """Count and log one prediction request against its resolved version.

    with monitoring.Observation(served, user_id, "api") as seen:
        seen.table = ...   # the typed rows, once read
        seen.result = ...  # predict_table's answer
    On the way out (answer or exception, which propagates) the request is counted and
    offered to the prediction log; an exception is marked `observed` so that a caller
    counting unresolved failures does not count it twice. Recording never raises.
    """

    __slots__ = ("request_id", "result", "served", "source", "started", "table", "user_id")

    def __init__(self, served: ServedVersion, user_id: int | None, source: str) -> None:
        self.served = served
        self.user_id = user_id
        self.source = source
        self.started = time.perf_counter()
        self.table: dict[str, Any] | None = None
        self.result: dict[str, Any] | None = None
        # The answer's "prediction_id" and the log row's request_id (feedback joins by it).
        self.request_id = uuid.uuid4()

    def __enter__(self) -> Observation:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        elapsed = time.perf_counter() - self.started
        try:
            status = 200 if exc is None else status_of(exc)
            requests, latency, rows, by_role = _version_children(self.served)
            requests.inc()
            by_role.inc()
            latency.observe(elapsed)
            table = self.table
            n_rows = len(next(iter(table.values()))) if table else 0
            if status < 400:
                rows.inc(n_rows)
            else:
                PREDICTION_ERRORS.labels(
                    self.served.model, str(self.served.version), f"{status // 100}xx"
                ).inc()
                exc.observed = True  # type: ignore[union-attr]
            predlog.record(
                self.served,
                user_id=self.user_id,
                source=self.source,
                status=status,
                latency_ms=elapsed * 1000,
                n_rows=n_rows,
                table=table,
                result=self.result if status < 400 else None,
                error=str(exc) if exc is not None else "",
                request_id=self.request_id,
            )
        except Exception:  # observing must never change the answer
            logger.exception("recording a prediction failed")
        return False


def unresolved(status: int, exc: BaseException | None = None) -> None:
    """Count a prediction request that failed before a version was resolved (an exception
    an Observation already counted against its version is not counted again)."""
    if getattr(exc, "observed", False):
        return
    try:
        PREDICTION_REQUESTS.labels("", "").inc()
        PREDICTION_ERRORS.labels("", "", f"{status // 100}xx").inc()
    except Exception:
        logger.exception("counting a prediction failed")


# Training metrics, from the database -------------------------------------------------------


class TrainingCollector:
    """Model versions by status and the training time of ready ones, read at scrape time:
    two aggregate queries over the versions table (no bytes), the same on every server."""

    def collect(self) -> Any:
        from registry.models import ModelVersion

        Status = ModelVersion.Status
        try:
            counts = dict(
                ModelVersion.objects.order_by()
                .values_list("status")
                .annotate(n=Count("id"))
                .values_list("status", "n")
            )
            durations = ModelVersion.objects.filter(
                status=Status.READY, training_seconds__isnull=False
            ).aggregate(
                count=Count("id"),
                total=Sum("training_seconds"),
                **{
                    f"le{i}": Count("id", filter=Q(training_seconds__lte=bound))
                    for i, bound in enumerate(TRAINING_BUCKETS)
                },
            )
        except DatabaseError:
            logger.warning("training metrics skipped: the database is unavailable")
            return
        by_status = GaugeMetricFamily(
            "mlserve_trainings",
            "Model versions by training status (queued, running, ready, failed), from the "
            "database: every server reports the same numbers.",
            labels=["status"],
        )
        for status in Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        buckets = [(f"{bound:g}", durations[f"le{i}"]) for i, bound in enumerate(TRAINING_BUCKETS)]
        buckets.append(("+Inf", durations["count"]))
        yield HistogramMetricFamily(
            "mlserve_training_duration_seconds",
            "Training time of ready versions, from the database.",
            buckets=buckets,
            sum_value=durations["total"] or 0.0,
        )


_DATABASE_REGISTRY = CollectorRegistry()
_DATABASE_REGISTRY.register(TrainingCollector())
_DATABASE_REGISTRY.register(live.LiveCollector())


def exposition() -> bytes:
    """The Prometheus text format: this server's processes, then the database's numbers."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_DATABASE_REGISTRY)
