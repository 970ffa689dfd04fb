"""The operations sections in a real browser: the model page's last 24 hours per version and
the version page's drift report, drawn as SVG bars that the page's CSP lets through."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.registry.monitoring.conftest import churn_rows, log_requests

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner


def bars_drawn(page: Page, label: str) -> int:
    """How many bars of the named chart have a visible size on the page."""
    return page.get_by_role("img", name=label).evaluate(
        """svg => [...svg.querySelectorAll('rect')].filter(r => {
               const box = r.getBoundingClientRect(); return box.width > 0 && box.height > 0;
           }).length"""
    )


def test_a_person_sees_traffic_and_drift_of_a_served_model(
    page: Page, live_server, churn, screenshot
):
    version = churn
    rows = churn_rows()
    # Traffic over the last hours, some of it failing; recent inputs whose tenure has shifted.
    for hours in range(1, 7):
        log_requests(version, rows[:40], latency_ms=4.0 * hours, ago=timedelta(hours=hours))
    log_requests(version, rows[:20], status=500, latency_ms=90.0, ago=timedelta(minutes=30))
    shifted = [{**row, "tenure_months": row["tenure_months"] + 100} for row in rows]
    log_requests(version, shifted, latency_ms=3.0, ago=timedelta(minutes=5))
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    page.goto(live_server.url + "/accounts/login/?next=/models/churn/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("churn")

    traffic = page.locator('[data-traffic-version="1"]')
    expect(traffic.locator("[data-requests]")).to_have_text(str(6 * 40 + 20 + len(shifted)))
    assert bars_drawn(page, "Requests per hour, v1") >= 6  # six past hours, maybe seven
    assert bars_drawn(page, "Error rate per hour, v1") >= 1
    screenshot("18-model-traffic")

    page.get_by_role("link", name="v1", exact=True).first.click()
    drift = page.locator("#drift")
    expect(drift).to_have_attribute("data-drift", "drifting")
    expect(drift.locator('[data-drift-feature="tenure_months"]')).to_have_attribute(
        "data-feature-status", "drifting"
    )
    expect(drift.locator('[data-drift-feature="contract"]')).to_have_attribute(
        "data-feature-status", "stable"
    )
    drawn = bars_drawn(page, "Share of rows per bin of tenure_months: training vs recent")
    assert drawn >= 2, "the drift chart of the shifted feature shows no bars"
    screenshot("19-version-drift", drift)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
