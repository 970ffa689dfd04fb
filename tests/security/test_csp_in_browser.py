"""The pages satisfy their Content-Security-Policy in a real browser (Debian's Chromium):
every page the site and the admin link to, the error and lockout pages, and the API docs
(Swagger UI, served from our own static files), with no CSP violation reported, neither as
a securitypolicyviolation event nor on the console, and no script error."""

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from registry.models import RegisteredModel
from tests.registry.boards import finish, make_board
from tests.security.conftest import crawl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Runs in every document before its own scripts: records what the policy blocked.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


class Watcher:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.current = ""
        page.add_init_script(WATCH)
        page.on("console", self.on_console)
        page.on("pageerror", lambda error: self.problems.append(f"{self.current}: {error}"))

    def on_console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"{self.current}: console: {message.text}")

    def settle(self) -> None:
        """Let queued violation events fire, then collect them."""
        self.page.wait_for_load_state("load")
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        for violation in self.page.evaluate("() => window.__violations || []"):
            self.problems.append(f"{self.current}: {violation}")
        self.page.evaluate("() => { window.__violations = []; }")

    def visit(self, base: str, path: str) -> None:
        self.current = path
        self.page.goto(base + path)
        self.settle()


def html_pages(client: Client, start: list[str], skip=()) -> list[str]:
    pages = crawl(client, start, skip=skip)
    return [
        url
        for url, response in pages.items()
        if response.status_code == 200 and "text/html" in response.get("Content-Type", "")
    ]


def sign_in(page: Page, base: str, path: str, username: str, password: str) -> None:
    page.goto(base + path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state("load")


def test_no_page_violates_the_policy_in_a_real_browser(
    page: Page, live_server, registry, owner, other, admin_user
):
    RegisteredModel.objects.create(name="theirs", owner=other)
    board = finish(make_board(owner, registry["dataset"]))  # its chart, table and trials
    base = live_server.url
    watcher = Watcher(page)
    site, admin = Client(), Client()
    site.force_login(owner)
    admin.force_login(admin_user)
    start = [
        "/",
        "/models/churn/versions/1/",
        "/import/",
        "/datasets/upload/",
        board.get_absolute_url(),
    ]
    site_pages = html_pages(site, start, skip=("/admin/", "/api/"))
    admin_pages = html_pages(admin, ["/admin/"])
    assert len(site_pages) > 15
    assert len(admin_pages) > 20

    watcher.visit(base, "/accounts/login/")
    sign_in(page, base, "/accounts/login/", "olivia", "pw-olivia-123")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, olivia")
    for path in [*site_pages, "/no/such/page/", "/models/theirs/delete/"]:
        watcher.visit(base, path)
    # Scripts that run on the pages did run: the version page drew its plots and forms.
    watcher.visit(base, "/models/churn/versions/1/")
    expect(page.get_by_role("img", name="Confusion matrix")).to_be_visible()

    # The API docs: Swagger UI renders the operations under the policy.
    watcher.visit(base, "/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ML Serving API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 16
    watcher.settle()

    sign_in(page, base, "/admin/login/", "ada", "pw-ada-123")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    for path in admin_pages:
        watcher.visit(base, path)

    assert watcher.problems == [], "\n".join(watcher.problems)
    print(
        f"\n{len(site_pages) + 2} site pages, {len(admin_pages)} admin pages and the API docs: "
        "no CSP violation"
    )


def test_the_lockout_page_satisfies_the_policy(page: Page, live_server, owner):
    watcher = Watcher(page)
    base = live_server.url
    for _ in range(5):
        sign_in(page, base, "/accounts/login/", "olivia", "wrong-guess")
    watcher.current = "lockout"
    watcher.settle()
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed sign-ins")
    assert watcher.problems == [], watcher.problems


def test_the_watcher_sees_a_violation(page: Page, live_server):
    """The check above can fail: an inline script is blocked, and reported."""
    watcher = Watcher(page)
    watcher.visit(live_server.url, "/accounts/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__ran = true";
            document.body.append(script);
        }"""
    )
    watcher.settle()
    assert page.evaluate("() => window.__ran") is None
    assert any("script-src" in p for p in watcher.problems), watcher.problems
