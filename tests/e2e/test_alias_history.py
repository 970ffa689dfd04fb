"""The alias history in a real browser: the owner rolls production back in one click (and
a confirmation), sees the change on the timeline and asks which version served it then."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from registry import services
from registry.models import AuditEntry, ModelVersion

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner


def test_the_owner_rolls_production_back_and_reads_the_timeline(
    page: Page, live_server, churn, owner, screenshot
):
    # v2: v1's artifact under another number, with a lower accuracy to tell them apart.
    fields = {
        f.attname: getattr(churn, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in {"id", "version", "created_at"}
    }
    metrics = {**churn.metrics, "accuracy": 0.5}
    ModelVersion.objects.create(
        **{**fields, "version": 2, "artifact": bytes(churn.artifact), "metrics": metrics}
    )
    services.alias_move(
        model=churn.model, name="production", version_number=2, user=owner, via="api"
    )
    # Moved an hour ago (the log is append-only for the app; a test may set the clock).
    moved_at = timezone.now() - timedelta(hours=1)
    AuditEntry.objects.update(created_at=moved_at)

    page.goto(live_server.url + "/accounts/login/?next=/models/churn/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("churn")

    page.locator('[data-rollback="production"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Roll production back to v1?")
    page.get_by_role("button", name="Roll production back to v1").click()

    expect(
        page.get_by_text("The production alias is back on v1 (it pointed at v2).")
    ).to_be_visible()
    history = page.locator("[data-alias-history]")
    rows = history.locator("[data-alias-change]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-alias-change", "alias.rollback")
    expect(rows.first.locator("[data-from]")).to_contain_text("v2")
    expect(rows.first.locator("[data-from]")).to_contain_text("0.500")
    expect(rows.first.locator("[data-to]")).to_contain_text("v1")
    assert ModelVersion.objects.get(model=churn.model, aliases__name="production").version == 1

    # Which version served production half an hour ago?
    history.get_by_label("Which version served").fill("production")
    asked = (moved_at + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    history.get_by_label("at (UTC)").fill(asked)
    history.get_by_role("button", name="Ask").click()
    answer = page.locator("[data-alias-at-answer]")
    expect(answer).to_contain_text("production served v2")
    screenshot("23-alias-history", page.locator("[data-alias-history]"))
