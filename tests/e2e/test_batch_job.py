"""A batch job in a real browser: the version page's CSV form refuses a file over the
synchronous limit and points to the batch job form, which takes it; the jobs page follows
the real task worker by itself and offers the download once the job is done."""

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from registry.models import BatchJob
from tests.e2e.test_browser_flow import PASSWORD, TRAINING_TIMEOUT_MS
from tests.registry.batchjobs.conftest import churn_csv

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_scores_a_file_too_large_for_one_request_in_the_background(
    page: Page, live_server, churn, task_worker, tmp_path, settings, screenshot
):
    settings.MLSERVE_MAX_PREDICT_ROWS = 100  # this file: three requests' worth
    rows = tmp_path / "july.csv"
    rows.write_bytes(churn_csv(250))
    page.goto(live_server.url + "/models/churn/versions/1/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.locator("#batch form").get_by_label("CSV file").set_input_files(str(rows))
    page.get_by_role("button", name="Predict and download").click()
    expect(page.locator("#batch .field-error").first).to_contain_text(
        "Score a larger file with a background batch job (below)."
    )

    form = page.locator("[data-batch-job-form]")
    form.get_by_label("Large CSV file").set_input_files(str(rows))
    form.get_by_role("button", name="Start a batch job").click()
    expect(page).to_have_url(re.compile(r"/batch-jobs/$"))
    job = BatchJob.objects.get()
    expect(page.get_by_text(f"Batch job {job.pk} queued: 250 rows of churn v1.")).to_be_visible()
    row = page.locator(f"tr[data-batch-job='{job.pk}']")
    expect(row.locator("[data-status-badge]")).to_have_text("queued")
    page.evaluate("window.__sameDocument = true")  # to prove the page follows without reload

    task_worker()
    download_link = page.locator("[data-batch-download]")
    expect(download_link).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True
    expect(row.locator("[data-status-badge]")).to_have_text("done")
    expect(row).to_contain_text("250 / 250")
    screenshot("40-batch-jobs")

    with page.expect_download() as caught:
        download_link.click()
    assert caught.value.suggested_filename == "july-churn-v1-predictions.csv"
    lines = list(csv.DictReader(io.StringIO(caught.value.path().read_text())))
    assert [line["id"] for line in lines] == [str(i) for i in range(250)]
    assert {line["prediction"] for line in lines} <= {"yes", "no"}
