"""The version page's decision threshold in a browser: moving the slider recomputes the
confusion matrix (static JS from the stored holdout counts, under the page's CSP), Save
stores it, and a one-row prediction from the page then uses it."""

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from registry import serving
from registry.models import AuditEntry, ModelVersion
from tests.registry.serving.test_threshold import demo_rows
from tests.registry.web.test_version_threshold import by_hand

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner
THRESHOLD = 0.2


def shown(page: Page) -> dict[str, str]:
    names = ("tn", "fp", "fn", "tp")
    cells = {n: page.locator(f'[data-threshold-cell="{n}"]').text_content() for n in names}
    metrics = ("accuracy", "precision", "recall", "f1")
    values = {n: page.locator(f'[data-threshold-metric="{n}"]').text_content() for n in metrics}
    return {**cells, **values}


def test_moving_the_slider_saving_and_predicting_with_the_threshold(
    page: Page, live_server, churn, owner, screenshot
):
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    # A row the model's own rule calls "no" and the threshold calls "yes".
    rows = demo_rows(200)
    p1 = serving.predict_rows(serving.resolve("churn", version=1), rows)["probabilities"][:, 1]
    row = rows[int(np.flatnonzero((p1 >= THRESHOLD) & (p1 < 0.5))[0])]

    page.goto(live_server.url + "/accounts/login/?next=/models/churn/versions/1/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#threshold-title")).to_be_visible()
    at_half = by_hand(churn, 0.5)
    expect(page.locator('[data-threshold-cell="tp"]')).to_have_text(at_half["tp"])
    page.locator("[data-threshold-input]").fill(str(THRESHOLD))
    expected = by_hand(churn, THRESHOLD)
    assert expected["tp"] != at_half["tp"]
    expect(page.locator('[data-threshold-cell="tp"]')).to_have_text(expected["tp"])
    expect(page.locator("[data-threshold-value]")).to_have_text(str(THRESHOLD))
    assert shown(page) == expected

    page.locator("[data-threshold-save]").click()
    expect(page.locator("[data-threshold-current]")).to_have_text(str(THRESHOLD))
    assert ModelVersion.objects.get(pk=churn.pk).threshold == THRESHOLD
    assert AuditEntry.objects.get().via == "page"
    expect(page.locator("[data-threshold-entry]")).to_have_count(1)
    assert shown(page) == expected  # as the page is first shown, at the saved threshold
    screenshot("24-version-threshold", page.locator("#threshold"))

    form = page.locator("form.predict-form")
    for index, value in enumerate(row.values()):
        field = form.locator(f'[name="f{index}"]')
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.get_by_role("button", name="Predict").click()
    expect(page.locator("[data-prediction-value]")).to_have_text("yes")
    expect(page.locator("[data-prediction-threshold]")).to_contain_text(str(THRESHOLD))
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
