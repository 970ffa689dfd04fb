"""Visibility in a real browser (docs/access.md): the owner makes a public model team-only
on its page, and an outsider who found it a moment ago no longer does (not in the list,
its page a 404), while a member of the team still reads it."""

import pytest
from playwright.sync_api import Browser, Page, expect

from registry.models import AuditEntry, RegisteredModel, Team

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def sign_in(page: Page, base: str, username: str, password: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_owner_makes_a_model_team_only_and_an_outsider_no_longer_finds_it(
    page: Page, browser: Browser, live_server, churn, owner, other, django_user_model
):
    member = django_user_model.objects.create_user("mia", password="pw-mia-123")
    Team.objects.create(name="analysts").members.add(owner, member)
    base = live_server.url

    outsider = browser.new_context().new_page()
    sign_in(outsider, base, "oscar", "pw-oscar-123", "/models/")
    expect(outsider.get_by_role("link", name="churn", exact=True)).to_be_visible()

    sign_in(page, base, "olivia", "pw-olivia-123", "/models/churn/")
    card = page.locator("#visibility")
    expect(card.locator(".badge")).to_have_text("public")
    card.get_by_label("team: its owner and the members of its team").check()
    card.get_by_label("Team", exact=True).select_option("analysts")
    card.get_by_role("button", name="Save visibility").click()
    expect(page.get_by_text("churn is team now with the team analysts.")).to_be_visible()
    expect(page.locator("#visibility .badge")).to_have_text("team")

    outsider.goto(f"{base}/models/")
    expect(outsider.get_by_role("heading", level=1)).to_be_visible()
    expect(outsider.get_by_role("link", name="churn", exact=True)).to_have_count(0)
    answer = outsider.goto(f"{base}/models/churn/")
    assert answer is not None
    assert answer.status == 404

    teammate = browser.new_context().new_page()
    sign_in(teammate, base, "mia", "pw-mia-123", "/models/churn/")
    expect(teammate.get_by_role("heading", level=1)).to_have_text("churn")
    expect(teammate.locator("#visibility")).to_contain_text("the team analysts")
    expect(teammate.locator("[data-visibility-form]")).to_have_count(0)  # not theirs

    model = RegisteredModel.objects.get(name="churn")
    assert (model.visibility, model.team.name) == ("team", "analysts")
    entry = AuditEntry.objects.get(action="visibility.set")
    assert (entry.via, entry.actor, entry.after) == (
        "page",
        owner,
        {"visibility": "team", "team": "analysts"},
    )
