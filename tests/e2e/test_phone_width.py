"""Every page on a 390 px wide phone: nothing wider than the screen. A wide table or a code
box scrolls inside its own wrapper; the page itself never scrolls sideways. And the
dashboard on a laptop: long model names wrap between words, nothing beside them is clipped."""

import pytest
from playwright.sync_api import Browser, Page

from registry import services
from registry.models import RegisteredModel
from registry.tokens import token_create
from tests.registry.conftest import bulk_registry, make_version

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-olivia-123"  # tests/conftest.py's owner
PHONE = {"width": 390, "height": 844}
LONG = "quarterly-customer-churn-forecast-for-the-northern-region"

# What a failure names: the elements reaching past the screen's right edge that no narrower
# scrolling (or clipping) box holds.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const held = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible'
          && p.getBoundingClientRect().right <= width + 0.5) return true;
    }
    return false;
  };
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5 && !held(el))
    .slice(0, 8)
    .map(el => el.tagName.toLowerCase() + '.' + String(el.className).split(' ').join('.'));
}"""

# Where each model name on the dashboard breaks a line: the character before every break.
BREAKS = """() => [...document.querySelectorAll('.model-row-name > a')].map(a => {
  const text = a.firstChild, range = document.createRange(), before = [];
  let top = null;
  for (let i = 0; i < text.length; i++) {
    range.setStart(text, i); range.setEnd(text, i + 1);
    const y = Math.round(range.getBoundingClientRect().top);
    if (top !== null && y > top) before.push(text.data[i - 1]);
    top = y;
  }
  return [text.data, before];
})"""


def sign_in(page: Page, url: str) -> None:
    page.goto(url + "/accounts/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


@pytest.fixture
def registry(churn, owner):
    """A ready model with three versions (one training), a dozen long-named models, a token
    with a long name: the pages as a busy user sees them."""
    make_version(churn.model, 2)
    make_version(churn.model, 3, status="running", progress=40)
    # An alias history: production moved to v2 and rolled back to v1.
    services.alias_move(
        model=churn.model, name="production", version_number=2, user=owner, via="api"
    )
    services.alias_rollback(model=churn.model, name="production", user=owner, via="page")
    bulk_registry(owner, n_models=12, n_versions=2, prefix=LONG)
    token_create(user=owner, name="nightly scoring job for the quarterly churn forecast")
    return churn


def test_no_page_is_wider_than_a_phone(browser: Browser, live_server, registry, settings):
    from registry import services
    from registry.evaluation import run

    settings.MLSERVE_ALLOW_SIGNUP = True
    dataset = registry.dataset
    evaluated = services.evaluation_create(
        user=registry.model.owner, model=registry.model, dataset=dataset, versions=[1]
    )
    run.run(evaluated.pk)
    long_model = RegisteredModel.objects.filter(name__startswith=LONG).first().name
    # A phone: its layout viewport is 980 px wide unless the page asks for the device's.
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    page = context.new_page()
    wide = {}

    def visit(path: str) -> None:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        found = page.evaluate("document.documentElement.scrollWidth")
        if found > PHONE["width"]:
            wide[path] = (found, page.evaluate(OVERFLOWING))

    for path in ("/accounts/login/", "/accounts/signup/"):
        visit(path)
    sign_in(page, live_server.url)
    for path in (
        "/",
        "/datasets/",
        "/datasets/upload/",
        f"/datasets/{dataset.pk}/",
        f"/datasets/{dataset.pk}/delete/",
        "/train/",
        "/models/",
        "/models/churn/",
        f"/models/{long_model}/",
        "/models/churn/delete/",
        "/models/churn/compare/?a=1&b=2",
        "/models/churn/aliases/?alias=production&version=1",
        "/models/churn/aliases/production/rollback/",
        "/models/churn/?alias=production&at=2999-01-01T00:00:00#alias-history",
        "/models/churn/versions/1/",
        "/models/churn/versions/1/delete/",
        "/models/churn/versions/3/",
        "/models/churn/versions/3/cancel/",
        f"/models/churn/evaluations/{evaluated.pk}/",
        "/import/",
        "/tokens/",
        "/no-such-page/",
        "/api/v1/docs",
    ):
        visit(path)
    # A page as a form leaves it: the version page with a prediction and its probabilities.
    page.goto(live_server.url + "/models/churn/versions/1/")
    page.locator("#predict").get_by_role("button", name="Predict").click()
    page.locator("[data-prediction-value]").wait_for()
    if page.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
        wide["a prediction"] = page.evaluate(OVERFLOWING)
    context.close()
    assert not wide, wide


def test_the_dashboard_keeps_long_names_whole_and_production_in_view(
    page: Page, live_server, registry
):
    sign_in(page, live_server.url)
    for width in (1280, 1024, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        rows = page.locator(".model-rows > li")
        assert rows.count() == 10
        for name, before in page.evaluate(BREAKS):
            assert set(before) <= {"-"}, (width, name, before)  # lines break at hyphens only
        card = page.locator("section[aria-labelledby=models-title]").bounding_box()
        for box in page.locator("[data-production]").all():
            edge = box.bounding_box()
            assert edge["width"] > 0
            assert edge["x"] + edge["width"] <= card["x"] + card["width"], width
