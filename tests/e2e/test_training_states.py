"""The version page says one state at a time while a training goes from queued to ready:
heading, badge and progress label agree at every update, and no flash from the train form
stays above the finished model."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner
TRAINING_TIMEOUT_MS = 90_000

# Every state the page shows, recorded after each change of the page (a MutationObserver
# runs once a script's changes are done, so it sees what a person sees).
RECORD_STATES = """() => {
    window.__states = [];
    const snapshot = () => {
        const text = (selector) => {
            const node = document.querySelector(selector);
            return node ? node.textContent.trim() : null;
        };
        window.__states.push({
            heading: text("[data-training-heading]"),
            badge: text("h1 [data-status-badge]"),
            label: text("[data-progress-label]"),
            flash: text(".messages"),
        });
    };
    new MutationObserver(snapshot).observe(document.body, {
        subtree: true, childList: true, characterData: true, attributes: true,
    });
}"""

AGREE = {
    "queued": ("Waiting for a worker", lambda label: label == "queued"),
    "running": ("Training", lambda label: label.endswith("%")),
    "ready": ("Training finished", lambda label: label == "100% · done"),
}


def test_heading_badge_and_bar_agree_from_queued_to_ready(
    page: Page, live_server, churn, task_worker
):
    page.goto(f"{live_server.url}/accounts/login/?next=/train/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Model name").fill("churn")
    page.locator("#id_target").select_option("churned")
    page.get_by_role("button", name="Start training").click()
    expect(page).to_have_url(live_server.url + "/models/churn/versions/2/")

    expect(page.locator("[data-training-heading]")).to_have_text("Waiting for a worker")
    expect(page.locator("[data-training-clock]")).to_contain_text("Position 1 in the queue")
    expect(page.locator(".messages")).to_have_count(0)  # no "is queued" flash to go stale
    page.evaluate(RECORD_STATES)
    task_worker()
    expect(page.get_by_role("img", name="Confusion matrix")).to_be_visible(
        timeout=TRAINING_TIMEOUT_MS
    )

    states = page.evaluate("window.__states")
    shown = [s for s in states if s["heading"] is not None]
    assert any(s["badge"] == "ready" for s in shown), states
    for state in shown:
        heading, label_fits = AGREE[state["badge"]]
        assert state["heading"] == heading, state
        assert label_fits(state["label"]), state
    assert all(s["flash"] is None for s in states)
    # The results replaced the training section: one state, ready.
    expect(page.locator("[data-training-heading]")).to_have_count(0)
    expect(page.locator("h1 [data-status-badge]")).to_have_text("ready")
