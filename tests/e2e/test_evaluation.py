"""An evaluation in a real browser: the model page's form uploads a labelled CSV, the
evaluation page follows the real task worker by itself, then shows the metrics and the
download of the rows the version got wrong."""

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from registry.models import Evaluation
from tests.e2e.test_browser_flow import PASSWORD, TRAINING_TIMEOUT_MS
from tests.registry.evaluation.conftest import churn_rows, to_csv

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_evaluates_a_model_on_new_rows(
    page: Page, live_server, churn, task_worker, tmp_path, screenshot
):
    header, rows = churn_rows(300, 400)
    labelled = tmp_path / "june.csv"
    labelled.write_bytes(to_csv(header, rows))
    base = live_server.url
    page.goto(base + "/models/churn/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Evaluate on new data")).to_be_visible()

    form = page.locator("[data-evaluation-form]")
    form.get_by_label("CSV file").set_input_files(str(labelled))
    form.get_by_role("button", name="Evaluate").click()
    expect(page).to_have_url(re.compile(r"/models/churn/evaluations/\d+/$"))
    expect(page.get_by_role("heading", name="Waiting for a worker")).to_be_visible()
    page.evaluate("window.__sameDocument = true")  # to prove the page follows without reload

    task_worker()
    expect(page.get_by_role("heading", name="Metrics side by side")).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS
    )
    assert page.evaluate("window.__sameDocument") is True
    done = Evaluation.objects.get()
    assert done.status == "done"
    expect(page.locator("tr[data-metric=accuracy] td").first).to_have_text(
        f"{done.results['1']['metrics']['accuracy']:.4f}"
    )
    expect(page.locator("tr[data-version='1'] [data-unscorable]")).to_have_text("0")
    screenshot("30-evaluation")

    with page.expect_download() as caught:
        page.locator("[data-download]").first.click()
    text = caught.value.path().read_text()
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [*header, "predicted"]
    assert len(lines) - 1 == done.results["1"]["n_wrong"]
