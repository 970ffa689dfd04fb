"""The version page's batch job form, the sync form's pointer to it for a file too large,
and the jobs page: progress, cancel, download; nobody else's jobs."""

import pytest
from django.urls import reverse

from registry import serving
from registry.batchjobs import run
from registry.models import BatchJob
from tests.registry.batchjobs.conftest import churn_csv, upload

pytestmark = pytest.mark.django_db


def start_job(client, data: bytes, fmt: str = "csv"):
    return client.post(
        reverse("version_batch_job", args=["churn", 1]),
        {"job-file": upload(data), "job-format": fmt},
    )


def test_the_version_page_offers_a_batch_job_and_the_jobs_page_follows_it(
    owner_client, owner, churn, small_chunks
):
    page = owner_client.get(reverse("version_detail", args=["churn", 1])).content.decode()
    assert "Score a large file in the background" in page
    assert 'action="/models/churn/versions/1/batch-job/"' in page

    data = churn_csv(1500)
    response = start_job(owner_client, data)

    assert response.status_code == 302
    assert response["Location"] == reverse("batch_job_list")
    job = BatchJob.objects.get()
    assert (job.owner, job.version_number, job.rows_total, job.chunks_total) == (owner, 1, 1500, 15)
    listing = owner_client.get(reverse("batch_job_list")).content.decode()
    assert f"Batch job {job.pk} queued: 1,500 rows of churn v1." in listing
    assert f'data-status-url="/batch-jobs/{job.pk}/status/"' in listing
    assert "Cancel" in listing

    run.run(job.pk)
    status = owner_client.get(reverse("batch_job_status", args=[job.pk])).json()
    assert (status["status"], status["progress"], status["finished"]) == ("done", 100, True)
    listing = owner_client.get(reverse("batch_job_list")).content.decode()
    assert f'href="/batch-jobs/{job.pk}/result/"' in listing
    assert "1,500 / 1,500" in listing
    download = owner_client.get(reverse("batch_job_result", args=[job.pk]))
    assert download.status_code == 200
    expected = serving.predict_csv(serving.resolve("churn", version=1), data, user=owner)
    assert b"".join(download.streaming_content) == expected


def test_a_page_cancel_stops_a_job(owner_client, churn):
    start_job(owner_client, churn_csv(20))
    job = BatchJob.objects.get()
    response = owner_client.post(reverse("batch_job_cancel", args=[job.pk]), follow=True)
    assert f"Cancelled batch job {job.pk}" in response.content.decode()
    assert BatchJob.objects.get().status == "cancelled"


def test_another_users_jobs_are_not_there(owner_client, other_client, churn):
    start_job(owner_client, churn_csv(20))
    job = BatchJob.objects.get()
    run.run(job.pk)
    assert f"Job {job.pk}" not in other_client.get(reverse("batch_job_list")).content.decode()
    for name in ("batch_job_status", "batch_job_result"):
        assert other_client.get(reverse(name, args=[job.pk])).status_code == 404
    assert other_client.post(reverse("batch_job_cancel", args=[job.pk])).status_code == 404


def test_a_bad_file_is_refused_on_the_version_page(owner_client, churn):
    response = start_job(owner_client, b"a,b\n1,2\n")
    assert response.status_code == 400
    assert "lacks the model&#x27;s column(s)" in response.content.decode()
    assert not BatchJob.objects.exists()


def test_the_sync_forms_refusal_of_too_many_rows_points_to_the_batch_job(
    owner_client, churn, settings
):
    settings.MLSERVE_MAX_PREDICT_ROWS = 100
    response = owner_client.post(
        reverse("version_batch_predict", args=["churn", 1]), {"file": upload(churn_csv(101))}
    )
    html = response.content.decode()
    assert "MLSERVE_MAX_PREDICT_ROWS" in html
    assert "Score a larger file with a background batch job (below)." in html


def test_the_sync_forms_refusal_of_a_large_file_points_to_the_batch_job(
    owner_client, churn, settings
):
    settings.MLSERVE_MAX_UPLOAD_MB = 1
    response = owner_client.post(
        reverse("version_batch_predict", args=["churn", 1]), {"file": upload(churn_csv(40_000))}
    )
    html = response.content.decode()
    assert "the limit is 1 MB. Score a larger file with a background batch job (below)." in html
    # ... which takes it.
    assert start_job(owner_client, churn_csv(40_000)).status_code == 302


def test_the_jobs_page_is_in_the_menu(owner_client):
    html = owner_client.get(reverse("batch_job_list")).content.decode()
    assert '<a href="/batch-jobs/" aria-current="page">Batch jobs</a>' in html
    assert "No batch jobs yet." in html
