"""A done batch job's result, streamed a chunk at a time (never the whole file in memory):
CSV (the header, then each chunk's lines: byte for byte what the synchronous route writes for
the same file), or Parquet (a row group per chunk, written by pyarrow from the chunks'
Arrow streams)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse

from registry import csvio
from registry.errors import Conflict
from registry.models import BatchChunk, BatchJob

CONTENT_TYPES = {
    BatchJob.CSV: "text/csv; charset=utf-8",
    BatchJob.PARQUET: "application/vnd.apache.parquet",
}


def response(job: BatchJob) -> StreamingHttpResponse:
    """A done job's result as a streamed download (the API's and the jobs page's); 409
    while it is not done."""
    if job.status != BatchJob.Status.DONE:
        scored = f" ({job.rows_done:,} of {job.rows_total:,} rows scored)" if job.is_active else ""
        raise Conflict(
            f"Batch job {job.pk} is {job.status}{scored}: its result downloads once it is done."
        )
    streamed = StreamingHttpResponse(stream(job), content_type=CONTENT_TYPES[job.output_format])
    streamed["Content-Disposition"] = f'attachment; filename="{job.result_filename()}"'
    return streamed


def _chunk_results(job: BatchJob) -> Iterator[bytes]:
    ids = list(BatchChunk.objects.filter(job=job).order_by("index").values_list("pk", flat=True))
    for pk in ids:  # one chunk's bytes loaded at a time
        data = BatchChunk.objects.filter(pk=pk).values_list("result", flat=True).first()
        yield bytes(data or b"")


def stream(job: BatchJob) -> Iterator[bytes]:
    """The result of a done job in its format."""
    if job.output_format == BatchJob.PARQUET:
        return _parquet(job)
    return _csv(job)


def _csv(job: BatchJob) -> Iterator[bytes]:
    yield csvio.write_csv(job.columns, {c: [] for c in job.columns})
    yield from _chunk_results(job)


class _Drain:
    """A write-only file for pyarrow's Parquet writer whose bytes are taken as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.parts.append(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _parquet(job: BatchJob) -> Iterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    drain = _Drain()
    writer = None
    for data in _chunk_results(job):
        table = pa.ipc.open_stream(data).read_all()
        if writer is None:
            writer = pq.ParquetWriter(drain, table.schema)
        elif table.schema != writer.schema:
            table = table.cast(writer.schema)  # a column all missing in one chunk, say
        writer.write_table(table)
        yield drain.take()
    if writer is not None:
        writer.close()
    yield drain.take()
