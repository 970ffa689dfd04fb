"""The prediction log: a sample of prediction requests, recorded per version, off the
request path.

`record` (called by monitoring.Observation when a prediction request ends) samples the
request at MLSERVE_PREDICTION_LOG_RATE and appends one small tuple to an in-process deque:
the log row's values, with the typed rows and the answer (trimmed to
MLSERVE_PREDICTION_LOG_MAX_ROWS rows and MLSERVE_PREDICTION_LOG_MAX_BYTES bytes, long
strings clipped: `logged_json`) as JSON text; no database. A background thread
per server process wakes every FLUSH_INTERVAL_S (or sooner when FLUSH_AT requests wait)
and writes them in batches (one executemany, or COPY on PostgreSQL)
on its own database connection, which it closes when idle. Recording never blocks or
fails a prediction: when the buffer is full new requests are dropped (and counted); a batch
the database refuses for a value or a constraint in it is written again in halves down to
single rows, so a bad row loses only itself; a batch an unavailable database refuses is
dropped (counted and logged, the thread carries on); and a crash loses only the requests
still in the buffer.

The serving path never reads the log. The model page's traffic summary (`traffic`) and the
drift report (registry/monitoring/drift.py) read one version's recent rows through the
(version, created_at) index; `prune` deletes old rows in batches, oldest ids first
(`manage.py prune_prediction_log --days N`).
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from django.conf import settings
from django.db import DataError, IntegrityError, connections, transaction
from django.db.models import BigIntegerField, Case, Count, Func, IntegerField, Q, Value, When
from django.utils import timezone

from registry import jsonsafe
from registry.models import PredictionLog, rows_of
from registry.monitoring.metrics import (
    LOG_DROPPED,
    LOG_ROWS_SKIPPED,
    LOG_WRITTEN,
    SHADOW_FAILURES,
    shadow_requests,
)

if TYPE_CHECKING:
    from registry.serving import ServedVersion

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0
FLUSH_AT = 1000  # requests waiting: wake the writer before the interval is up (one batch)
BATCH_SIZE = 1000  # requests per INSERT
ERROR_LOG_INTERVAL_S = 60.0  # log a failing database at most this often

# An entry: (time, version id, user id, source, status, latency ms, n_rows, inputs JSON,
# outputs JSON, error, role, request id as its 32 hex digits): the columns of a log row,
# serialised when the request is recorded. Only numbers, strings and None: the collector
# stops tracking such a tuple, so the entries waiting in the buffer are never promoted to
# its older generations (with a UUID object inside, they made a full collection of the
# worker's heap every few thousand requests; benchmarks/README.md).
Entry = tuple[
    float, int, int | None, str, int, float, int, str | None, str | None, str, str,
    str | None,
]  # fmt: skip
# Work for the shadow (score_shadow): the shadow version, the champion's entry (its rows
# and the answer it got, as logged).
ShadowJob = tuple["ServedVersion", Entry]


def record(
    served: ServedVersion,
    *,
    user_id: int | None,
    source: str,
    status: int,
    latency_ms: float,
    n_rows: int,
    table: dict[str, np.ndarray] | None,
    result: dict[str, Any] | None,
    error: str = "",
    request_id: uuid.UUID | None = None,
) -> None:
    """Offer one prediction request to the log (sampled; never raises, never waits)."""
    rate = settings.MLSERVE_PREDICTION_LOG_RATE
    if rate < 1.0 and (rate <= 0.0 or random.random() >= rate):
        return
    # Serialised here, in the request's thread (cheap for a row), not by the writer:
    # a writer thread busy in Python holds the GIL while this process's requests wait for
    # it after every socket call, which cost a fifth of single-row throughput at
    # concurrency 32 (benchmarks/bench_serving.py); now the writer only copies strings.
    inputs, outputs = logged_json(
        table,
        result,
        limit=settings.MLSERVE_PREDICTION_LOG_MAX_ROWS,
        max_bytes=settings.MLSERVE_PREDICTION_LOG_MAX_BYTES,
    )
    error = error[:300]
    entry = (
        time.time(),
        served.id,
        user_id,
        source,
        status,
        round(latency_ms, 3),
        n_rows,
        inputs,
        outputs,
        error.replace("\x00", NUL_MARK) if "\x00" in error else error,
        served.role,
        request_id.hex if request_id is not None else None,
    )
    writer().add(entry)
    if served.shadow is not None and status < 400 and inputs is not None:
        writer().add_shadow((served.shadow, entry))


# The writer --------------------------------------------------------------------------------


class Writer:
    """A bounded buffer of entries and the thread that writes them to the database."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: deque[Entry] = deque()
        self.shadows: deque[ShadowJob] = deque()
        self.wake = threading.Event()
        self.flushing = threading.Lock()  # the thread and flush() never write the same entry
        self.stopped = False
        self.thread: threading.Thread | None = None
        self.failures = 0
        self.last_error_logged = -math.inf
        self.last_shadow_error_logged = -math.inf

    def add(self, entry: Entry) -> None:
        entries = self.entries
        if len(entries) >= self.capacity:
            LOG_DROPPED.labels("buffer_full").inc()
            return
        entries.append(entry)
        if self.thread is None:
            self.start()
        elif len(entries) >= FLUSH_AT:
            self.wake.set()

    def add_shadow(self, job: ShadowJob) -> None:
        """Queue a logged request for its alias's shadow, scored by this thread after it
        writes (never on the request path); dropped and counted when the queue is full."""
        if len(self.shadows) >= self.capacity:
            SHADOW_FAILURES.labels("buffer_full").inc()
            return
        self.shadows.append(job)

    def score_shadows(self) -> int:
        """Score every queued request with its shadow and queue the outputs as log rows
        of role "shadow"; returns how many were scored. The requests of one shadow are
        scored together (one prediction for all their rows: a prediction per single-row
        request would cost the server's requests the GIL for longer); when that fails,
        one by one, so a failure loses only its own request's shadow row (logged at most
        every ERROR_LOG_INTERVAL_S, and counted)."""
        groups: dict[int, tuple[ServedVersion, list[Entry]]] = {}
        while self.shadows:
            shadow, entry = self.shadows.popleft()
            groups.setdefault(shadow.id, (shadow, []))[1].append(entry)
        scored = 0
        for shadow, entries in groups.values():
            for start in range(0, len(entries), BATCH_SIZE):
                batch = entries[start : start + BATCH_SIZE]
                try:
                    done = score_shadow(shadow, batch)
                except Exception:
                    done = []
                    for entry in batch:
                        try:
                            done += score_shadow(shadow, [entry])
                        except Exception as exc:
                            self._shadow_failed(shadow, exc)
                self.entries.extend(done)
                scored += len(done)
        return scored

    def _shadow_failed(self, shadow: ServedVersion, exc: BaseException) -> None:
        SHADOW_FAILURES.labels("error").inc()
        now = time.monotonic()
        if now - self.last_shadow_error_logged >= ERROR_LOG_INTERVAL_S:
            self.last_shadow_error_logged = now
            logger.warning(
                "shadow %s v%s could not score a request (answers are not affected): %s",
                shadow.model,
                shadow.version,
                exc,
            )

    def start(self) -> None:
        with _writer_lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while not self.stopped:
            self.wake.wait(FLUSH_INTERVAL_S)
            self.wake.clear()
            keep = False
            try:
                failures = self.failures
                keep = self.flush() > 0 and self.failures == failures
                # The shadow scores what was just logged, then its rows are written too.
                if self.shadows and self.score_shadows():
                    self.flush()
            except Exception:  # the thread must outlive anything a flush raises
                logger.exception("the prediction log writer failed")
            finally:
                # Its own connection is kept while requests keep coming (opening one per
                # flush added to every request's cost); idle or after an error it holds none,
                # so a database restart or a test database being dropped never finds one.
                if not keep:
                    connections.close_all()
        connections.close_all()

    def flush(self) -> int:
        """Write every waiting entry now; returns how many were written."""
        written = 0
        with self.flushing:
            while self.entries:
                batch = [self.entries.popleft() for _ in range(min(BATCH_SIZE, len(self.entries)))]
                try:
                    write(batch)
                except Exception as exc:
                    if len(batch) > 1 and _refused_rows(exc):
                        saved, error = self._salvage(batch)
                        written += saved
                        if error is None:
                            continue
                        exc = error
                    else:
                        LOG_DROPPED.labels("write_error").inc(len(batch))
                    self._failed(exc, len(batch))
                    break  # the rest waits for the next flush (the database may be back)
                LOG_WRITTEN.inc(len(batch))
                written += len(batch)
        return written

    def _salvage(self, batch: list[Entry]) -> tuple[int, Exception | None]:
        """Write a batch the database refused for what is in it again, in halves down to
        single rows, so a bad row loses only itself (and a batch with one bad row costs
        about 2 log2(n) writes, not n). Returns the rows written, and the error if the
        database itself failed meanwhile (the rest of the batch is then dropped)."""
        written = 0
        parts = [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
        while parts:
            part = parts.pop(0)
            try:
                write(part)
            except Exception as exc:
                if not _refused_rows(exc):
                    LOG_DROPPED.labels("write_error").inc(len(part) + sum(map(len, parts)))
                    return written, exc
                if len(part) > 1:
                    parts[:0] = [part[: len(part) // 2], part[len(part) // 2 :]]
                else:
                    LOG_DROPPED.labels("write_error").inc()
                    self._failed(exc, 1)
                continue
            LOG_WRITTEN.inc(len(part))
            written += len(part)
        return written, None

    def _failed(self, exc: BaseException, dropped: int) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self.last_error_logged >= ERROR_LOG_INTERVAL_S:
            self.last_error_logged = now
            logger.warning(
                "prediction log: a batch of %d request(s) could not be written and was "
                "dropped (%d failure(s) so far; predictions are not affected): %s",
                dropped,
                self.failures,
                exc,
            )

    def stop(self, *, flush: bool = True) -> None:
        """Stop the thread (tests, process exit), writing what waits first."""
        self.stopped = True
        self.wake.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(10)
        if flush:
            self.flush()
            if self.score_shadows():
                self.flush()


def _refused_rows(exc: BaseException) -> bool:
    """Whether the database refused a batch for a value or a constraint in it (worth
    writing again in parts), not for being unreachable or missing its table."""
    if isinstance(exc, (DataError, IntegrityError)):
        return True
    try:  # COPY goes through psycopg's own cursor: its errors are not Django's
        import psycopg
    except ImportError:  # pragma: no cover (psycopg is installed with the app)
        return False
    return isinstance(exc, (psycopg.DataError, psycopg.IntegrityError))


_writer: Writer | None = None
_writer_lock = threading.Lock()


def writer() -> Writer:
    global _writer
    current = _writer
    if current is None:
        with _writer_lock:
            if _writer is None:
                _writer = Writer(settings.MLSERVE_PREDICTION_LOG_BUFFER)
            current = _writer
    return current


def reset_writer() -> None:
    """Forget this process's writer (its thread does not survive a fork; tests)."""
    global _writer
    _writer = None


os.register_at_fork(after_in_child=reset_writer)


# Entries -> rows ---------------------------------------------------------------------------

# The writer inserts rows serialised by orjson with executemany (COPY on PostgreSQL) rather
# than with bulk_create: building model instances and encoding JSON with the json module
# cost several times more per request in the writer thread, which shares the worker's CPU
# (and GIL) with the requests.
_COLUMNS = (
    "version_id",
    "created_at",
    "user_id",
    "source",
    "status",
    "latency_ms",
    "n_rows",
    "inputs",
    "outputs",
    "error",
    "role",
    "request_id",
)


def _dump(value: Any) -> bytes:
    """JSON bytes; numpy arrays and scalars written directly, NaN and infinities as null
    (JSON has neither)."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=jsonsafe.orjson_default)


def _json(value: Any) -> str:
    return _dump(value).decode()


def _columns(table: dict[str, Any], limit: int) -> dict[str, list[Any]]:
    """The first `limit` rows as the model saw them, by column: {"feature": [value, ...]}
    (how PredictionLog.inputs stores rows)."""
    return {name: column[:limit].tolist() for name, column in table.items()}


def _outputs(result: dict[str, Any], limit: int) -> dict[str, Any]:
    outputs = {"predictions": result["predictions"][:limit]}
    if result.get("probabilities") is not None:
        outputs["probabilities"] = result["probabilities"][:limit]
    return outputs


# What one request may put in the log. A string longer than STRING_MAX characters keeps its
# start and a marker saying how much was cut; a NUL becomes NUL_MARK (PostgreSQL's text and
# jsonb cannot hold one, and one refused row used to cost its whole batch). Then the
# request keeps only its first rows whose JSON fits MLSERVE_PREDICTION_LOG_MAX_BYTES (the
# others are counted in LOG_ROWS_SKIPPED): one request with a 44 MB category value stored
# 45.7 MB before.
STRING_MAX = 256
NUL_MARK = "\ufffd"  # the Unicode replacement character


def _clip(value: Any) -> Any:
    if type(value) is not str:
        return value
    if len(value) > STRING_MAX:
        value = f"{value[:STRING_MAX]}…[truncated {len(value) - STRING_MAX} chars]"
    return value.replace("\x00", NUL_MARK) if "\x00" in value else value


def _needs_clip(values: Any) -> bool:
    if isinstance(values, np.ndarray):
        if values.dtype != object:
            return False
        values = values.tolist()
    # Class labels and categories are all strings: measured in C, not a Python step a value.
    if set(map(type, values)) <= {str}:
        return max(map(len, values), default=0) > STRING_MAX or "\x00" in "".join(values)
    return any(type(v) is str and (len(v) > STRING_MAX or "\x00" in v) for v in values)


def logged_json(
    table: dict[str, Any] | None, result: dict[str, Any] | None, *, limit: int, max_bytes: int
) -> tuple[str | None, str | None]:
    """The inputs and outputs JSON text of a request as the log keeps them: at most `limit`
    rows, strings clipped, at most `max_bytes` bytes of JSON in all."""
    inputs = _columns(table, limit) if table else None
    outputs = _outputs(result, limit) if result is not None else None
    inputs_json = _dump(inputs) if inputs is not None else b""
    outputs_json = _dump(outputs) if outputs is not None else b""
    # The common case costs nothing more: short JSON cannot hold a long string, and orjson
    # writes a NUL as the escape \u0000 (searched for in C; a false alarm only costs time).
    size = len(inputs_json) + len(outputs_json)
    if (
        size <= max_bytes
        and b"\\u0000" not in inputs_json
        and b"\\u0000" not in outputs_json
        and (
            size <= STRING_MAX
            or not (
                any(_needs_clip(column[:limit]) for column in (table or {}).values())
                or (outputs is not None and _needs_clip(outputs["predictions"]))
            )
        )
    ):
        return (
            inputs_json.decode() if inputs is not None else None,
            outputs_json.decode() if outputs is not None else None,
        )
    return _bounded(inputs, outputs, max_bytes)


def _bounded(
    inputs: dict[str, list[Any]] | None, outputs: dict[str, Any] | None, max_bytes: int
) -> tuple[str | None, str | None]:
    """The slow path of `logged_json`: strings clipped, then the first rows that fit. Both
    parts are columns ({name: [value, ...]}), cut at the same row."""
    if inputs is not None:
        inputs = {name: [_clip(v) for v in values] for name, values in inputs.items()}
    if outputs is not None and _needs_clip(outputs["predictions"]):
        outputs = {**outputs, "predictions": [_clip(v) for v in outputs["predictions"]]}
    columns = [*(inputs or {}).values(), *(outputs or {}).values()]
    n = len(columns[0]) if columns else 0

    def dump(kept: int) -> tuple[bytes | None, bytes | None]:
        def cut(part: dict[str, Any] | None) -> bytes | None:
            return _dump({k: v[:kept] for k, v in part.items()}) if part is not None else None

        return cut(inputs), cut(outputs)

    def size(parts: tuple[bytes | None, bytes | None]) -> int:
        return sum(len(part) for part in parts if part is not None)

    # What each row adds to the JSON (its value and a comma in each column), then the longest
    # prefix that fits, checked once more on the real text.
    def cost(i: int) -> int:
        return sum(len(_dump(column[i])) + 1 for column in columns)

    used, kept = size(dump(0)), 0
    while kept < n and used + (step := cost(kept)) <= max_bytes:
        used += step
        kept += 1
    parts = dump(kept)
    while kept and size(parts) > max_bytes:
        kept -= 1
        parts = dump(kept)
    if kept < n:
        LOG_ROWS_SKIPPED.inc(n - kept)
    if kept == 0:  # not even one row fits: the request is logged without its rows
        return None, None
    return (
        parts[0].decode() if parts[0] is not None else None,
        parts[1].decode() if parts[1] is not None else None,
    )


def _names(connection: Any) -> tuple[str, str]:
    table = connection.ops.quote_name(PredictionLog._meta.db_table)
    return table, ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)


def _as_is(value: Any) -> Any:
    return value


def _params(entry: Entry, adapt: Any) -> tuple[Any, ...]:
    """A log row's values: the request id stays its 32 hex digits, which PostgreSQL's uuid
    reads and SQLite keeps as they are."""
    when, version_id, *rest = entry
    return (version_id, adapt(datetime.fromtimestamp(when, tz=UTC)), *rest)


def write(batch: list[Entry]) -> None:
    """Insert entries as log rows in one transaction, on this thread's connection."""
    connection = connections["default"]
    table, names = _names(connection)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY (psycopg escapes each row) costs less client CPU and server time than
            # executemany; and no wait for the WAL to reach the disk, since log rows may be
            # lost in a crash anyway (the buffer).
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for entry in batch:
                    copy.write_row(_params(entry, _as_is))
        else:
            adapt = connection.ops.adapt_datetimefield_value
            rows = [_params(entry, adapt) for entry in batch]
            values = ", ".join(["%s"] * len(_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({values})", rows)  # noqa: S608


# Shadow scoring -----------------------------------------------------------------------------


# rows -> predictions for a version: registry.serving.predict registers its predict_rows
# here when it is imported (monitoring never imports serving: serving imports monitoring).
_shadow_scorer: Callable[[ServedVersion, list[Any]], dict[str, Any]] | None = None


def use_shadow_scorer(scorer: Callable[[ServedVersion, list[Any]], dict[str, Any]]) -> None:
    global _shadow_scorer
    _shadow_scorer = scorer


def score_shadow(shadow: ServedVersion, entries: list[Entry]) -> list[Entry]:
    """The log entries of `shadow` scoring the rows logged requests were answered for, in
    one prediction: each with its request's time, caller and rows, its own outputs, and
    the answered predictions beside them ("answered": what the agreement rate compares,
    monitoring.rollout.shadow_agreement)."""
    if _shadow_scorer is None:
        raise RuntimeError("no shadow scorer: registry.serving is not loaded")
    parsed = [rows_of(orjson.loads(entry[7])) for entry in entries]
    started = time.perf_counter()
    result = _shadow_scorer(shadow, [row for rows in parsed for row in rows])
    latency_ms = round((time.perf_counter() - started) * 1000 / len(entries), 3)
    scored, offset = [], 0
    for entry, rows in zip(entries, parsed, strict=True):
        when, _, user_id, source, _, _, n_rows, inputs, answered, _, _, request_id = entry
        stop = offset + len(rows)
        outputs: dict[str, Any] = {"predictions": result["predictions"][offset:stop]}
        if result.get("probabilities") is not None:
            outputs["probabilities"] = result["probabilities"][offset:stop]
        outputs["answered"] = orjson.loads(answered)["predictions"] if answered else None
        offset = stop
        # The champion's request id: feedback for the request labels the shadow's row too.
        scored.append(
            (when, shadow.id, user_id, source, 200, latency_ms, n_rows, inputs, _json(outputs),
             "", "shadow", request_id)
        )  # fmt: skip
    shadow_requests(shadow).inc(len(entries))
    return scored


# Reading: the model page's traffic summary ------------------------------------------------

# Latency buckets for percentiles computed in the database, from the first edge to about a
# minute, each 25% wider than the last, so an interpolated percentile is within about 12%.
LATENCY_EDGES_MS = tuple(round(0.1 * 1.25**i, 4) for i in range(60))


def _latency_bucket() -> Case:
    return Case(
        *[When(latency_ms__lte=edge, then=Value(i)) for i, edge in enumerate(LATENCY_EDGES_MS)],
        default=Value(len(LATENCY_EDGES_MS)),
        output_field=IntegerField(),
    )


def percentile(counts: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of latencies given their bucket counts, interpolated in the
    bucket (like Prometheus's histogram_quantile)."""
    total = sum(counts.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        if seen + n >= rank:
            if bucket >= len(LATENCY_EDGES_MS):
                return LATENCY_EDGES_MS[-1]
            low = LATENCY_EDGES_MS[bucket - 1] if bucket else 0.0
            high = LATENCY_EDGES_MS[bucket]
            return low + (high - low) * ((rank - seen) / n)
        seen += n
    return LATENCY_EDGES_MS[-1]


class EpochHour(Func):
    """Whole hours since 1970 of a timestamp, computed by the database itself (Django's
    TruncHour is a Python function called for every row on SQLite, far slower)."""

    output_field = BigIntegerField()
    template = "CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / 3600) AS BIGINT)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            # %%%% -> %% (this template) -> % (the driver's parameter style): strftime's %s.
            template="(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / 3600)",
            **extra,
        )


def traffic_query(version_ids: list[int], since: datetime) -> Any:
    """Logged requests per version, hour and latency bucket since `since`, with their
    errors: one aggregate query through the (version, created_at) index."""
    return (
        PredictionLog.objects.filter(version_id__in=version_ids, created_at__gte=since)
        .annotate(hour=EpochHour("created_at"), bucket=_latency_bucket())
        .values("version_id", "hour", "bucket")
        .annotate(n=Count("id"), errors=Count("id", filter=Q(status__gte=400)))
        .order_by()
    )


def traffic(version_ids: list[int], *, hours: int = 24) -> dict[int, dict[str, Any]]:
    """Per version with logged requests in the last `hours` hours: totals and one entry per
    hour (oldest first) with requests, errors, error rate and p50/p95 latency in ms.

    Counts are of logged requests; with MLSERVE_PREDICTION_LOG_RATE below 1 they are
    divided by the rate to estimate all requests.
    """
    if not version_ids:
        return {}
    now = timezone.now()
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    scale = 1 / settings.MLSERVE_PREDICTION_LOG_RATE if settings.MLSERVE_PREDICTION_LOG_RATE else 1
    cells: dict[int, dict[datetime, dict[str, Any]]] = {}
    for row in traffic_query(version_ids, first_hour):
        hour = datetime.fromtimestamp(row["hour"] * 3600, tz=UTC)
        cell = cells.setdefault(row["version_id"], {}).setdefault(
            hour, {"n": 0, "errors": 0, "buckets": {}}
        )
        cell["n"] += row["n"]
        cell["errors"] += row["errors"]
        cell["buckets"][row["bucket"]] = cell["buckets"].get(row["bucket"], 0) + row["n"]
    summary: dict[int, dict[str, Any]] = {}
    for version_id, by_hour in cells.items():
        hours_out, all_buckets = [], {}
        for i in range(hours):
            hour = first_hour + timedelta(hours=i)
            cell = by_hour.get(hour, {"n": 0, "errors": 0, "buckets": {}})
            for bucket, n in cell["buckets"].items():
                all_buckets[bucket] = all_buckets.get(bucket, 0) + n
            hours_out.append(
                {
                    "hour": hour,
                    "requests": round(cell["n"] * scale),
                    "errors": round(cell["errors"] * scale),
                    "error_rate": cell["errors"] / cell["n"] if cell["n"] else None,
                    "p50_ms": percentile(cell["buckets"], 0.50),
                    "p95_ms": percentile(cell["buckets"], 0.95),
                }
            )
        n = sum(c["n"] for c in by_hour.values())
        errors = sum(c["errors"] for c in by_hour.values())
        summary[version_id] = {
            "requests": round(n * scale),
            "errors": round(errors * scale),
            "error_rate": errors / n if n else None,
            "p50_ms": percentile(all_buckets, 0.50),
            "p95_ms": percentile(all_buckets, 0.95),
            "hours": hours_out,
        }
    return summary


# Retention ----------------------------------------------------------------------------------


def prune(*, days: float, batch_size: int = 10_000) -> int:
    """Delete rows older than `days` days, `batch_size` at a time (short transactions that
    never hold a lock for long); returns how many were deleted.

    The log is written in time order, so its oldest rows have the smallest ids: this walks
    the primary key from the start and stops at the first batch that reaches the cutoff,
    with no index on the time alone. A row written late (its server had fallen behind) may
    wait for the next prune.
    """
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        head = list(
            PredictionLog.objects.order_by("id").values_list("id", "created_at")[:batch_size]
        )
        old = [pk for pk, created_at in head if created_at < cutoff]
        if old:
            deleted += PredictionLog.objects.filter(id__in=old).delete()[0]
        if len(old) < batch_size:
            return deleted
