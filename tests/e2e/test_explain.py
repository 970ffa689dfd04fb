"""Explain on the version page's one-row form: the prediction, then each column's
contribution, largest first, with the units and the base value stated."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner


def test_ticking_explain_shows_the_contributions_largest_first(
    page: Page, live_server, churn, screenshot
):
    page.goto(f"{live_server.url}/accounts/login/?next=/models/churn/versions/1/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    form = page.locator("#predict")
    form.get_by_label("tenure_months").fill("3")
    form.get_by_label("monthly_charges").fill("95")
    form.get_by_label("Explain").check()
    form.get_by_role("button", name="Predict").click()

    explanation = page.locator("[data-explanation]")
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("log-odds of yes")
    expect(explanation).to_contain_text("Base value")
    rows = explanation.locator("tr[data-contribution]")
    expect(rows).to_have_count(5)
    values = [float(v) for v in rows.locator("td.num").all_inner_texts()]
    assert [abs(v) for v in values] == sorted((abs(v) for v in values), reverse=True)
    expect(page.get_by_label("Explain")).to_be_checked()  # the form keeps the choice
    screenshot("version-explain", page.locator("#predict"))
