"""A background batch job on real `manage.py db_worker` processes: the worker scoring a
200,000-row job is killed -9 mid-job, and a second worker finishes it, every row scored
exactly once (the chunks done before the kill are never scored again)."""

import csv
import io
import os
import signal
import time

import pytest

from registry import services
from registry.batchjobs.result import stream
from registry.models import BatchChunk, BatchJob
from tests.conftest import install_churn
from tests.registry.batchjobs.conftest import churn_csv, upload
from tests.system.conftest import child_pids, is_running, report, wait_until
from tests.system.test_faults import QUICK_REAPER

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROWS = 200_000
CHUNK_ROWS = 5_000


def chunks_done(job: BatchJob) -> int:
    return BatchJob.objects.get(pk=job.pk).chunks_done


def test_a_worker_killed_mid_job_loses_nothing_and_a_second_worker_finishes_it(
    owner, start_worker, settings
):
    settings.MLSERVE_BATCH_CHUNK_ROWS = CHUNK_ROWS
    install_churn(owner)
    job = services.batch_job_create(user=owner, name="churn", upload=upload(churn_csv(ROWS)))
    assert job.chunks_total == ROWS // CHUNK_ROWS

    first = start_worker("w1", env=QUICK_REAPER)
    wait_until(lambda: chunks_done(job) >= 2, 120, "the job did not start scoring")
    scorer = child_pids(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    first.proc.wait(10)
    for child in scorer:  # PR_SET_PDEATHSIG: the scoring child dies with its worker
        wait_until(lambda c=child: not is_running(c), 10, "the scoring child outlived its worker")
    killed_at = time.monotonic()
    before = {c.index: c.scored_at for c in BatchChunk.objects.filter(job=job, done=True)}
    at_kill = BatchJob.objects.get(pk=job.pk)
    assert at_kill.status == "running"
    assert 2 <= len(before) < job.chunks_total, "the kill did not land mid-job"

    second = start_worker("w2", env=QUICK_REAPER)
    wait_until(
        lambda: BatchJob.objects.get(pk=job.pk).status in ("done", "failed"),
        240,
        f"the job did not finish: {chunks_done(job)} chunks done",
    )
    done = BatchJob.objects.get(pk=job.pk)
    report(
        "batch worker killed -9 mid-job",
        chunks_at_kill=len(before),
        chunks=done.chunks_total,
        finished_after_s=round(time.monotonic() - killed_at, 1),
    )
    assert done.status == "done", done.error
    assert (done.rows_done, done.rows_total, done.claims) == (ROWS, ROWS, 2)
    chunks = {c.index: c for c in BatchChunk.objects.filter(job=job)}
    for index, scored_at in before.items():  # the first worker's chunks were not redone
        assert (chunks[index].scored_at, chunks[index].scored_by_claim) == (scored_at, 1)
    assert {chunks[i].scored_by_claim for i in chunks if i not in before} == {2}
    assert all(c.done and c.rows == CHUNK_ROWS for c in chunks.values())
    result = b"".join(stream(done)).decode()
    ids = [row["id"] for row in csv.DictReader(io.StringIO(result))]
    assert ids == [str(i) for i in range(ROWS)]  # every row exactly once, in order
    assert second.proc.poll() is None
