"""Filtering the models page by tag in a real browser: a tag's badge narrows the list to the
models carrying it, and a second tag typed into the form narrows it further."""

import pytest
from playwright.sync_api import Page, expect

from registry.models import ModelTag, RegisteredModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner


def test_a_person_filters_the_models_by_two_tags(page: Page, live_server, owner, other, screenshot):
    tags = {
        "churn": {"team": "growth"},
        "prices": {"team": "risk"},
        "fraud": {"team": "growth", "stage": "prod"},
        "upsell": {"stage": "prod"},
    }
    for name, pairs in tags.items():
        model = RegisteredModel.objects.create(
            name=name, owner=other if name == "prices" else owner
        )
        for key, value in pairs.items():
            ModelTag.objects.create(model=model, key=key, value=value)

    page.goto(live_server.url + "/accounts/login/?next=/models/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Models")
    rows = page.locator("[data-model-row]")
    expect(rows).to_have_count(4)

    page.locator('[data-model-row="churn"] [data-tag="team:growth"]').click()
    expect(rows).to_have_count(2)
    assert [r.get_attribute("data-model-row") for r in rows.all()] == ["churn", "fraud"]
    expect(page).to_have_url(live_server.url + "/models/?tag=team:growth")

    filters = page.locator("[data-model-filters]")
    expect(filters.locator("[data-tag-filter]").first).to_have_value("team:growth")
    filters.get_by_label("Tag (key:value)").fill("stage:prod")
    filters.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-model-row", "fraud")
    expect(filters.locator("[data-tag-filter]").nth(1)).to_have_value("stage:prod")
    screenshot("model-filters-by-tag")

    filters.get_by_label("Tag (key:value)").fill("not a tag")
    filters.get_by_role("button", name="Search").click()
    expect(page.locator("[data-filter-error]")).to_contain_text("Write a tag as key:value")
    expect(rows).to_have_count(0)
    assert ModelTag.objects.filter(key="stage", value="prod").count() == 2
