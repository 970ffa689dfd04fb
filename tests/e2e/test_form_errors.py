"""A form sent back with errors says so where the person is looking: its summary is in the
viewport and has the focus, and each of its links takes the focus to the field."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner


def sign_in(page: Page, base: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def assert_summary_has_the_focus(page: Page, text: str) -> None:
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text(text)
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()


def test_a_refused_training_shows_its_errors_at_the_top_with_the_focus(
    page: Page, live_server, churn, screenshot
):
    sign_in(page, live_server.url, "/train/")
    page.get_by_label("Model name").fill("charges")
    page.locator("#id_target").select_option("monthly_charges")
    page.get_by_role("button", name="Start training").click()

    assert_summary_has_the_focus(page, "'monthly_charges' has 549 distinct numbers")
    screenshot("train-form-errors", full_page=False)
    page.locator("[data-error-summary] a[href='#id_target']").click()
    expect(page.locator("#id_target")).to_be_focused()
    expect(page.locator("#id_target")).to_be_in_viewport()


def test_a_refused_batch_file_shows_its_error_where_the_form_is(
    page: Page, live_server, churn, tmp_path
):
    sign_in(page, live_server.url, "/models/churn/versions/1/")
    upload = tmp_path / "rows.csv"
    upload.write_text("tenure_months,contract\n3,monthly\n")
    page.locator("#batch input[type=file]").set_input_files(upload)
    page.get_by_role("button", name="Predict and download").click()

    assert_summary_has_the_focus(page, "CSV file:")
    page.locator("[data-error-summary] a[href='#id_file']").click()
    expect(page.locator("#id_file")).to_be_focused()
