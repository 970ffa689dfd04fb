"""Canary and shadow in a real browser: the model page shows production's canary, its
shadow and the shadow's agreement; the owner starts a canary from the page's rollout form,
and promotes a canary after confirming."""

import pytest
from playwright.sync_api import Page, expect

from registry import services, serving
from registry.models import AuditEntry, ModelVersion
from registry.monitoring import predlog
from tests.registry.monitoring.conftest import churn_rows
from tests.registry.monitoring.conftest import prediction_log as prediction_log

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.usefixtures("prediction_log"),
]
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner


def copy_of(churn, number: int, **fields) -> None:
    base = {
        f.attname: getattr(churn, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in {"id", "version", "created_at"}
    }
    ModelVersion.objects.create(
        **{**base, "version": number, "artifact": bytes(churn.artifact), **fields}
    )


def sign_in(page: Page, live_server, next_url: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_owner_starts_a_canary_from_the_model_page(
    page: Page, live_server, churn, owner, screenshot
):
    copy_of(churn, 2)
    sign_in(page, live_server, "/models/churn/")
    form = page.locator('[data-rollout-form="production"]')
    expect(page.locator('[data-rollout="production"]')).to_have_count(0)  # no rollout yet
    form.get_by_label("Canary version").select_option("2")
    form.get_by_role("button", name="Set the production rollout").click()
    # No share given: said beside the field, the choice kept, nothing changed.
    form = page.locator('[data-rollout-form="production"]')
    expect(form.locator(".field-error")).to_have_text(
        "Give the canary's share of the calls, 0 to 100."
    )
    expect(form.get_by_label("Canary version")).to_have_value("2")
    assert not AuditEntry.objects.filter(action="alias.canary").exists()

    form.get_by_label("Canary share (%)").fill("10")
    form.get_by_role("button", name="Set the production rollout").click()
    expect(
        page.get_by_text("production now sends 10% of its calls to v2 (canary); no shadow.")
    ).to_be_visible()
    rollouts = page.locator("[data-rollouts]")
    row = rollouts.locator('[data-rollout="production"]')
    expect(row).to_contain_text("v2 at 10%")
    # The form shows the running canary, ready to change.
    expect(form.get_by_label("Canary share (%)")).to_have_value("10")
    screenshot("28-canary-start", rollouts)
    entry = AuditEntry.objects.get(action="alias.canary")
    assert (entry.via, entry.after) == (
        "page",
        {"alias": "production", "canary": {"version": 2, "percent": 10.0}},
    )


def test_the_owner_sees_the_rollout_and_promotes_the_canary(
    page: Page, live_server, churn, owner, screenshot
):
    copy_of(churn, 2)
    copy_of(churn, 3, threshold=0.3)  # the challenger: answers "yes" more often
    services.alias_rollout(
        model=churn.model, name="production", version_number=1, canary=(2, 10), shadow=3,
        user=owner, via="api",
    )  # fmt: skip
    rows = churn_rows()[:200]
    for start in range(0, 200, 4):
        serving.predict(serving.resolve("churn"), rows[start : start + 4], user=owner, source="api")
    predlog.writer().stop()  # the log written, the shadow scored

    sign_in(page, live_server, "/models/churn/")
    rollouts = page.locator("[data-rollouts]")
    row = rollouts.locator('[data-rollout="production"]')
    expect(row).to_contain_text("v2 at 10%")
    expect(row.locator("[data-agreement]")).to_contain_text("of 200 rows")
    screenshot("24-canary-shadow", rollouts)

    row.locator('[data-canary-promote="production"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Promote v2 to production?")
    page.get_by_role("button", name="Promote v2").click()
    expect(page.get_by_text("The production alias's canary is the version now.")).to_be_visible()
    expect(page.locator('[data-rollout="production"]')).to_contain_text("none")
    assert ModelVersion.objects.get(model=churn.model, aliases__name="production").version == 2
