"""Scoring a batch job chunk by chunk: each chunk's result is written once (with its `done`),
a job whose worker died resumes where it was, a cancel stops it between chunks, and a bad
row fails it with the rows it is in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry import services, serving
from registry.batchjobs import run
from registry.models import BatchChunk, BatchJob
from registry.tasks import reap_stale_batch_jobs
from tests.registry.batchjobs.conftest import churn_csv, upload

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The worker dying (SIGKILL): nothing in the job's code sees it coming."""


class DyingHeartbeat:
    """A heartbeat whose worker dies after `chunks` chunks are scored."""

    def __init__(self, chunks: int, then=None) -> None:
        self.left = chunks
        self.then = then

    def beat(self) -> None:
        self.left -= 1
        if self.left == 0:
            if self.then is None:
                raise Killed
            self.then()

    def quiet(self) -> None:
        pass


@pytest.fixture
def scored_rows(monkeypatch):
    """Every row the serving entry scored for a batch job, by its id column."""
    seen: list[str] = []
    real = serving.predict_csv_columns

    def spy(*args, **kwargs):
        columns, values = real(*args, **kwargs)
        seen.extend(values["id"])
        return columns, values

    monkeypatch.setattr(serving, "predict_csv_columns", spy)
    return seen


def make_job(owner, n_rows: int, **fields) -> BatchJob:
    return services.batch_job_create(
        user=owner, name="churn", upload=upload(churn_csv(n_rows)), **fields
    )


def lose_worker(job: BatchJob) -> None:
    """What the reaper sees of a job whose worker was killed: a heartbeat gone stale."""
    BatchJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))


def result_csv(job: BatchJob) -> bytes:
    from registry.batchjobs.result import stream

    return b"".join(stream(BatchJob.objects.get(pk=job.pk)))


def test_a_job_whose_worker_died_resumes_and_scores_every_row_exactly_once(
    owner, churn, small_chunks, scored_rows
):
    job = make_job(owner, 350)
    assert run.claim(job.pk)
    with pytest.raises(Killed):
        run.score(job.pk, DyingHeartbeat(2))  # dies once chunks 0 and 1 are written
    first = {c.index: c for c in BatchChunk.objects.filter(job=job, done=True)}
    assert sorted(first) == [0, 1]
    assert BatchJob.objects.get(pk=job.pk).rows_done == 200

    lose_worker(job)
    assert reap_stale_batch_jobs() == 1
    requeued = BatchJob.objects.get(pk=job.pk)
    assert requeued.status == "queued"
    assert requeued.error == "The worker stopped during this job; resuming at its next chunk."
    assert run.run(job.pk) == "done"

    done = BatchJob.objects.get(pk=job.pk)
    assert (done.rows_done, done.rows_total, done.chunks_done, done.claims) == (350, 350, 4, 2)
    chunks = {c.index: c for c in BatchChunk.objects.filter(job=job)}
    for index in (0, 1):  # not scored again
        assert chunks[index].scored_at == first[index].scored_at
        assert chunks[index].scored_by_claim == 1
    assert [chunks[i].scored_by_claim for i in (2, 3)] == [2, 2]
    assert sorted(scored_rows, key=int) == [str(i) for i in range(350)]  # each row once
    expected = serving.predict_csv(serving.resolve("churn", version=1), churn_csv(350), user=owner)
    assert result_csv(job) == expected


def test_a_chunk_interrupted_before_its_commit_is_scored_again_and_written_once(
    owner, churn, small_chunks, monkeypatch
):
    job = make_job(owner, 250)
    real_commit = run._commit
    calls = []

    def dies_on_second_chunk(job_, chunk, *args):
        calls.append(chunk.index)
        if chunk.index == 1 and calls.count(1) == 1:
            raise Killed  # scored, but the worker dies before the transaction
        real_commit(job_, chunk, *args)

    monkeypatch.setattr(run, "_commit", dies_on_second_chunk)
    assert run.claim(job.pk)
    with pytest.raises(Killed):
        run.score(job.pk)
    assert list(BatchChunk.objects.filter(job=job, done=True).values_list("index", flat=True)) == [
        0
    ]
    lose_worker(job)
    reap_stale_batch_jobs()
    assert run.run(job.pk) == "done"
    assert calls == [0, 1, 1, 2]
    assert BatchJob.objects.get(pk=job.pk).rows_done == 250
    assert result_csv(job).count(b"\n") == 251


def test_two_workers_writing_the_same_chunk_count_it_once(owner, churn, small_chunks):
    job = make_job(owner, 150)
    chunk = BatchChunk.objects.get(job=job, index=0)
    run._commit(job, chunk, b"1\n", ["x"], 100)
    run._commit(job, chunk, b"2\n", ["x"], 100)  # the slower racer: nothing written
    stored = BatchChunk.objects.get(pk=chunk.pk)
    assert bytes(stored.result) == b"1\n"
    assert BatchJob.objects.get(pk=job.pk).rows_done == 100


def test_a_cancel_stops_the_job_between_chunks(owner, churn, small_chunks, scored_rows):
    job = make_job(owner, 350)
    assert run.claim(job.pk)

    def cancel() -> None:
        services.batch_job_cancel(job=BatchJob.objects.get(pk=job.pk), user=owner)

    assert run.score(job.pk, DyingHeartbeat(1, then=cancel)) == "cancelled"
    cancelled = BatchJob.objects.get(pk=job.pk)
    assert (cancelled.rows_done, cancelled.chunks_done) == (100, 1)
    assert len(scored_rows) == 100
    assert list(BatchChunk.objects.filter(job=job, done=True).values_list("index", flat=True)) == [
        0
    ]


def test_a_job_whose_worker_dies_twice_without_a_chunk_is_failed(owner, churn, small_chunks):
    job = make_job(owner, 150)
    for _ in range(2):
        assert run.claim(job.pk)  # the worker claims, and dies before a chunk is done
        lose_worker(job)
        reap_stale_batch_jobs()
    failed = BatchJob.objects.get(pk=job.pk)
    assert failed.status == "failed"
    assert "2 times without finishing a chunk" in failed.error


def test_a_bad_row_fails_the_job_naming_its_rows_and_keeps_the_chunks_before(
    owner, churn, small_chunks
):
    lines = churn_csv(250).split(b"\n")
    cells = lines[206].split(b",")
    cells[1] = b"lots"  # tenure_months: a number
    lines[206] = b",".join(cells)
    job = services.batch_job_create(user=owner, name="churn", upload=upload(b"\n".join(lines)))

    assert run.run(job.pk) == "failed"

    failed = BatchJob.objects.get(pk=job.pk)
    assert failed.error.startswith("Rows 201-250 of the file")
    assert "'lots' is not a number" in failed.error
    assert failed.chunks_done == 2


def test_a_job_whose_version_was_deleted_fails_saying_so(owner, churn, small_chunks):
    job = make_job(owner, 150, version=1)
    services.alias_delete(model=churn.model, name="production", user=owner, via="api")
    services.version_delete(version=churn, user=owner)
    serving.forget_resolutions()
    assert run.run(job.pk) == "failed"
    assert BatchJob.objects.get(pk=job.pk).error == (
        "churn v1 was deleted before the job was done."
    )
