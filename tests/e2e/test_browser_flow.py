"""The whole product in a real browser: sign in, upload a CSV, train a classifier, watch the
progress bar reach 100%, see the confusion matrix, predict one row, batch-predict a CSV,
see the first version become production, and promote a second one. Every page is
screenshotted on the way."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from registry.models import Alias, ApiToken, Dataset, ModelVersion
from tests.conftest import DEMO

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "pw-olivia-123"
TRAINING_TIMEOUT_MS = 90_000


def sign_in(page: Page, base: str, shot) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    shot("01-sign-in")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, olivia")
    shot("02-dashboard-empty")


def upload_churn(page: Page, shot) -> Dataset:
    page.get_by_role("link", name="Upload a dataset").first.click()
    page.wait_for_load_state()  # upload.js is loaded (deferred)
    # Drag and drop: a file dropped on the zone lands in the form's file input.
    dropped = page.evaluate_handle(
        """text => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], "churn.csv", {type: "text/csv"}));
            return transfer;
        }""",
        (DEMO / "churn.csv").read_text(),
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": dropped})
    expect(page.locator("[data-dropzone-name]")).to_contain_text("churn.csv")
    assert page.get_by_label("CSV file").evaluate("input => input.files[0].name") == "churn.csv"
    shot("03-upload")
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("churn")
    expect(page.locator("svg.histogram")).to_have_count(3)
    shot("04-dataset")
    dataset = Dataset.objects.get()
    assert (dataset.n_rows, dataset.n_columns) == (600, 6)
    return dataset


def fill_train_form(page: Page, shot, *, name: str, c: str) -> None:
    target = page.locator("[data-target-field]")
    page.get_by_label("Model name").fill(name)
    page.locator("input[name=algorithm][value=kmeans]").check()
    expect(target).to_be_hidden()  # unsupervised: no target
    expect(page.locator("[data-params-for=kmeans]")).to_be_visible()
    page.locator("input[name=algorithm][value=logistic_regression]").check()
    expect(target).to_be_visible()
    expect(page.locator("[data-params-for=kmeans]")).to_be_hidden()
    expect(page.locator("#id_target")).to_have_value("")  # no target is guessed
    page.locator("#id_target").select_option("churned")
    expect(page.locator("input[name=features][value=churned]")).to_be_disabled()
    page.locator("#id_logistic_regression-C").fill(c)
    page.locator("#id_logistic_regression-max_iter").fill("200")


def watch_training(page: Page, task_worker, shot) -> None:
    """From queued to ready on the page, with the worker started only once the page shows
    the queued version, so the bar is seen moving all the way."""
    bar = page.locator("progress")
    expect(bar).to_have_attribute("value", "0")
    expect(page.locator("[data-progress-label]")).to_have_text("queued")
    shot("06-version-queued")
    task_worker()
    expect(bar).to_have_attribute("value", "100", timeout=TRAINING_TIMEOUT_MS)
    # The results replace the bar without a page reload.
    expect(page.get_by_role("img", name="Confusion matrix")).to_be_visible(timeout=15_000)


def test_a_person_trains_watches_predicts_and_promotes(
    page: Page, live_server, django_user_model, task_worker, screenshot, tmp_path
):
    django_user_model.objects.create_user("olivia", "olivia@example.com", PASSWORD)
    base = live_server.url
    shot = screenshot

    sign_in(page, base, shot)
    upload_churn(page, shot)

    # Train a classifier.
    page.get_by_role("link", name="Train a model on it").click()
    fill_train_form(page, shot, name="churn", c="1.0")
    shot("05-train")
    page.get_by_role("button", name="Start training").click()
    expect(page).to_have_url(base + "/models/churn/versions/1/")
    page.evaluate("window.__sameDocument = true")  # to prove no reload happens

    watch_training(page, task_worker, shot)
    assert page.evaluate("window.__sameDocument") is True
    version = ModelVersion.objects.get(model__name="churn", version=1)
    assert version.status == "ready"
    assert version.progress == 100
    holdout = page.locator('table.confusion[aria-label^="Confusion matrix: rows"]')
    expect(holdout.locator("td.diagonal")).to_have_count(2)  # the threshold's has its own
    loaded = page.get_by_role("img", name="Confusion matrix").evaluate(
        "img => img.complete && img.naturalWidth > 0"
    )
    assert loaded, "the confusion matrix SVG did not load"
    shot("07-version-ready")

    # Predict one row through the form.
    page.get_by_label("tenure_months").fill("2")
    page.get_by_label("monthly_charges").fill("99.5")
    page.get_by_label("contract").select_option("month-to-month")
    page.get_by_label("internet").select_option("fiber")
    page.get_by_label("support_calls").fill("5")
    page.get_by_role("button", name="Predict", exact=True).click()
    expect(page.locator("[data-prediction-value]")).to_have_text(re.compile(r"^(yes|no)$"))
    expect(page.get_by_role("table", name="Class probabilities").locator("tbody tr")).to_have_count(
        2
    )
    shot("08-prediction")

    # Batch-predict a CSV and check the downloaded file.
    rows = (DEMO / "churn.csv").read_text().splitlines()[:26]
    upload = tmp_path / "to-score.csv"
    upload.write_text("\n".join(rows) + "\n")
    page.locator("#batch input[type=file]").set_input_files(upload)
    with page.expect_download() as info:
        page.get_by_role("button", name="Predict and download").click()
    download = info.value
    assert download.suggested_filename == "to-score-churn-v1-predictions.csv"
    scored = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(scored) == 25
    assert list(scored[0]) == [
        *rows[0].split(","),
        "prediction",
        "probability_no",
        "probability_yes",
        "warnings",
    ]
    assert {row["prediction"] for row in scored} <= {"yes", "no"}
    assert all(row["prediction"] for row in scored)

    # The first ready version became production by itself.
    alias = Alias.objects.select_related("version").get(model__name="churn", name="production")
    assert alias.version.version == 1

    # A second version, promoted with the confirmation step, then compared side by side.
    page.get_by_role("link", name="Train a new version").click()
    expect(page.get_by_label("Model name")).to_have_value("churn")
    page.locator("#id_logistic_regression-C").fill("0.05")
    page.get_by_role("button", name="Start training").click()
    expect(page).to_have_url(base + "/models/churn/versions/2/")
    expect(page.get_by_role("img", name="Confusion matrix")).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS
    )
    page.get_by_role("button", name="Promote to production").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move production to v2?")
    expect(page.locator("[data-promotion-comparison]")).to_contain_text("Logistic regression")
    shot("09-promote-confirm")
    assert Alias.objects.get(model__name="churn", name="production").version.version == 1
    page.get_by_role("button", name="Move production to v2").click()
    expect(page).to_have_url(base + "/models/churn/")
    expect(page.locator(".messages")).to_contain_text("The production alias now points at v2.")
    assert Alias.objects.get(model__name="churn", name="production").version.version == 2
    expect(page.locator("table.versions tbody tr")).to_have_count(2)
    shot("10-model")
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/models/churn/compare/\?a=1&b=2$"))
    expect(page.get_by_role("img", name="Confusion matrix of v2")).to_be_visible()
    shot("11-compare")

    # The listing pages and API tokens.
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Your models")).to_be_visible()
    shot("12-dashboard")
    page.get_by_role("link", name="Models", exact=True).click()
    shot("13-models")
    page.get_by_role("link", name="Datasets").click()
    shot("14-datasets")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("nightly scoring")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("[data-new-token]")).to_have_value(re.compile(r"^mls_[0-9a-f]{8}_"))
    shot("15-tokens")
    assert ApiToken.objects.get().name == "nightly scoring"

    # The app's own 404 page, and the version page on a phone.
    page.goto(base + "/models/no-such-model/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This page does not exist")
    shot("16-not-found")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/models/churn/versions/1/")
    expect(page.get_by_role("img", name="Confusion matrix")).to_be_visible()
    shot("17-version-phone")
