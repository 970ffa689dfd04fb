"""The version page's live metric in a real browser: one bar per day of labelled
predictions, drawn as SVG that the page's CSP lets through."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from registry.models import Feedback
from tests.e2e.test_ops_pages import PASSWORD, bars_drawn

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_sees_the_live_accuracy_of_a_version_day_by_day(
    page: Page, live_server, churn, screenshot
):
    now = timezone.now()
    # Ten days of labelled predictions, accuracy sliding from 0.9 to 0.45.
    rows = []
    for day in range(10):
        right = 18 - day  # one right answer fewer each day
        for i in range(20):
            rows.append(
                Feedback(
                    request_id=uuid.uuid4(),
                    row=0,
                    version=churn,
                    label="no" if i < right else "yes",
                    predicted="no",
                    predicted_at=now - timedelta(days=9 - day, hours=1),
                )
            )
    Feedback.objects.bulk_create(rows)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    page.goto(live_server.url + "/accounts/login/?next=/models/churn/versions/1/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    live = page.locator("#live")
    expect(live.locator("[data-live-n]")).to_have_text("200")
    assert bars_drawn(page, "Live accuracy per day, v1") == 10
    screenshot("24-version-live-metric", live)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
