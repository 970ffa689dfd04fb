"""Scoring a batch job: its chunks in order, each through the serving entry of the
synchronous batch route (serving.predict_csv_columns: the same reading, limits, predictions
and observation as the version page's "Predict a CSV file"), each chunk's result written
with the chunk marked done in one transaction.

So a worker killed mid-job loses at most the chunk it was scoring: the reaper
(tasks.reap_stale_batch_jobs) queues the job again and the next worker scores the chunks not
yet done; a chunk already done is never scored again (its update is conditional on
`done=False`, so even two workers racing on one job write each chunk once). A cancel is
seen between chunks (and the worker kills the child within a poll, tasks._run_child).
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from registry import csvio, serving
from registry.errors import RegistryError
from registry.models import BATCH_ACTIVE, BatchChunk, BatchJob, BatchJobStatus
from registry.training.progress import Heartbeat

logger = logging.getLogger(__name__)
Status = BatchJobStatus


def claim(job_id: int) -> bool:
    """queued (or running, for a job the reaper gave back) -> running, counting the claim;
    False when it is not to run (done, failed, cancelled or deleted meanwhile)."""
    now = timezone.now()
    return bool(
        BatchJob.objects.filter(pk=job_id, status__in=BATCH_ACTIVE).update(
            status=Status.RUNNING,
            attempts=F("attempts") + 1,
            claims=F("claims") + 1,
            heartbeat_at=now,
            started_at=now,
        )
    )


def run(job_id: int) -> str:
    """Claim and score a queued job in this process (tests, and small checks)."""
    if not claim(job_id):
        return "skipped"
    return score(job_id)


def fail(job_id: int, message: str) -> int:
    return BatchJob.objects.filter(pk=job_id, status__in=BATCH_ACTIVE).update(
        status=Status.FAILED, error=message[:5000], finished_at=timezone.now()
    )


def beat(job_id: int, **fields: Any) -> int:
    return BatchJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
        heartbeat_at=timezone.now(), **fields
    )


def score(job_id: int, heartbeat: Heartbeat | None = None) -> str:
    """Score the chunks of a running job not yet done, in order; the job ends done, or
    failed with the reason, or stops where it is when it is cancelled meanwhile. Returns
    its status."""
    heartbeat = heartbeat or Heartbeat()
    job = BatchJob.objects.filter(pk=job_id, status=Status.RUNNING).first()
    if job is None:
        return _status(job_id)
    try:
        _score_chunks(job, heartbeat)
    except RegistryError as exc:
        fail(job_id, exc.message)
    except serving.ArtifactError as exc:
        fail(job_id, f"The version cannot be used: {exc}")
    except MemoryError:
        fail(
            job_id,
            "Scoring a chunk ran out of memory (MLSERVE_TRAIN_MAX_MEMORY_MB): ask the operator "
            "for smaller chunks (MLSERVE_BATCH_CHUNK_ROWS).",
        )
    except Exception as exc:
        logger.exception("batch job %s failed", job_id)
        fail(job_id, f"The batch job stopped on an unexpected error ({type(exc).__name__}).")
    return _status(job_id)


def _status(job_id: int) -> str:
    return BatchJob.objects.filter(pk=job_id).values_list("status", flat=True).first() or "deleted"


class _Deleted(RegistryError):
    pass


def _score_chunks(job: BatchJob, heartbeat: Heartbeat) -> None:
    if job.version_id is None:
        raise _Deleted(
            f"{job.model_name} v{job.version_number} was deleted before the job was done."
        )
    try:
        served = serving.resolve(job.model_name, version=job.version_number)
    except RegistryError:
        served = None
    if served is None or served.id != job.version_id:
        raise _Deleted(
            f"{job.model_name} v{job.version_number} was deleted before the job was done."
        )
    owner = get_user_model().objects.get(pk=job.owner_id)
    header = bytes(BatchJob.objects.filter(pk=job.pk).values_list("header", flat=True).get())
    pending = list(
        BatchChunk.objects.filter(job=job, done=False)
        .order_by("index")
        .values_list("pk", flat=True)
    )
    for chunk_id in pending:
        if _status(job.pk) != Status.RUNNING:
            return  # cancelled (or deleted) between chunks: the rest is not scored
        chunk = BatchChunk.objects.filter(pk=chunk_id).only(
            "pk", "index", "start_row", "stop_row", "input", "done"
        )
        found = chunk.first()
        if found is None or found.done:
            continue
        result, columns, rows = _score(served, owner, job, found, header)
        _commit(job, found, result, columns, rows)
        heartbeat.beat()
    _finish(job)


def _score(
    served: serving.ServedVersion, owner: Any, job: BatchJob, chunk: BatchChunk, header: bytes
) -> tuple[bytes, list[str], int]:
    """The chunk's result in the job's format, its column names and its row count."""
    data = header + bytes(chunk.input)
    try:
        columns, values = serving.predict_csv_columns(served, data, user=owner, source="batchjob")
    except RegistryError as exc:
        exc.message = (
            f"Rows {chunk.start_row + 1:,}-{chunk.stop_row:,} of the file (a line number "
            f"counts from the header, line 1, with row {chunk.start_row + 1:,} on line 2): "
            f"{exc.message}"
        )
        raise
    rows = len(values[columns[0]]) if columns else 0
    if job.output_format == BatchJob.PARQUET:
        return arrow_stream(columns, values), columns, rows
    text = csvio.write_csv(columns, values)
    return text[len(csvio.write_csv(columns, {c: [] for c in columns})) :], columns, rows


def arrow_stream(columns: list[str], values: dict[str, Any]) -> bytes:
    """One chunk's columns as an Arrow IPC stream (Parquet is written from these at download,
    a row group per chunk): the file's columns as text, as sent; predictions typed."""
    import numpy as np
    import pyarrow as pa

    arrays = []
    for name in columns:
        column = values[name]
        if isinstance(column, np.ndarray) and column.dtype.kind == "T":  # StringDType
            column = column.tolist()
        arrays.append(pa.array(column))
    table = pa.Table.from_arrays(arrays, names=columns)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _commit(job: BatchJob, chunk: BatchChunk, result: bytes, columns: list[str], rows: int) -> None:
    """The chunk's result and its `done`, and the job's counts, in one transaction; nothing
    when another worker finished the chunk first."""
    now = timezone.now()
    with transaction.atomic():
        claims = BatchJob.objects.filter(pk=job.pk).values_list("claims", flat=True).first()
        written = BatchChunk.objects.filter(pk=chunk.pk, done=False).update(
            done=True,
            result=result,
            input=b"",
            rows=rows,
            scored_by_claim=claims,
            scored_at=now,
        )
        if written:
            BatchJob.objects.filter(pk=job.pk).update(
                rows_done=F("rows_done") + rows,
                chunks_done=F("chunks_done") + 1,
                columns=columns,
                attempts=1,  # this claim made progress: a lost worker is retried again
                heartbeat_at=now,
            )


def _finish(job: BatchJob) -> None:
    """running -> done once every chunk is; the total is what was scored (a line the
    planner counted that the CSV reader skips is not a row)."""
    with transaction.atomic():
        if BatchChunk.objects.filter(job=job, done=False).exists():
            return
        scored = BatchChunk.objects.filter(job=job).values_list("rows", flat=True)
        BatchJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            status=Status.DONE,
            rows_total=sum(scored),
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
