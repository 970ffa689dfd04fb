"""The version page's code snippet: the Copy button puts the whole curl call, which follows
production, on the clipboard (static JS, under the page's CSP)."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner


def test_the_copy_button_copies_the_snippet(page: Page, live_server, churn):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + "/accounts/login/?next=/models/churn/versions/1/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    button = page.locator('button[data-copy="#api-example"]')
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#api-example").text_content()
    assert copied.startswith(f"curl -X POST {live_server.url}/api/v1/models/churn/predict \\")
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
