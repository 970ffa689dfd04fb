"""CSRF on every form: every page reachable by links (the site as its owner, the admin as a
superuser, sign-in and sign-up anonymously) is crawled; each POST form must carry a CSRF
token, and each form's action, posted without it, is refused with the app's own 403 page
and changes nothing. The JSON API, used with a browser session, needs the token too."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.security.conftest import api_operations, crawl, fill_path, parse_page, snapshot

pytestmark = pytest.mark.django_db

# Forms the crawl must find, so that a broken crawl cannot pass unnoticed.
EXPECTED_ACTIONS = {
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/signup/",
    "/datasets/upload/",
    "/datasets/{dataset}/delete/",
    "/train/",
    "/models/churn/delete/",
    "/models/churn/aliases/",
    "/models/churn/versions/1/predict/",
    "/models/churn/versions/1/batch/",
    "/models/churn/versions/2/delete/",
    "/import/",
    "/tokens/",
    "/tokens/{token}/revoke/",
    "/admin/logout/",
    "/admin/registry/registeredmodel/{model}/change/",
    "/admin/registry/dataset/{dataset}/delete/",
    "/admin/registry/modelversion/{v1}/predict/",
    "/admin/auth/user/add/",
}


def post_forms(pages: dict) -> list[tuple[str, dict]]:
    """(page, form) for every POST form on the crawled HTML pages."""
    found = []
    for url, response in pages.items():
        if "text/html" not in response.get("Content-Type", ""):
            continue
        for form in parse_page("http://testserver" + url, response.content.decode()).forms:
            if form["method"] == "post":
                found.append((url, form))
    return found


def crawl_everything(registry, owner, admin_user, settings) -> list[tuple[str, dict, object]]:
    """Every POST form of the site, with the user who saw it (None: anonymous)."""
    settings.MLSERVE_ALLOW_SIGNUP = True
    site, admin, anonymous = Client(), Client(), Client()
    site.force_login(owner)
    admin.force_login(admin_user)
    version = registry["model"].versions.get(version=1)
    start = [
        "/",
        f"/models/churn/versions/{version.version}/",
        "/models/churn/versions/2/delete/",
        f"/datasets/{registry['dataset'].pk}/delete/",
        "/models/churn/aliases/?alias=staging&version=1",
        "/import/",
    ]
    forms = [(u, f, owner) for u, f in post_forms(crawl(site, start, skip=("/admin/",)))]
    admin_start = [
        "/admin/",
        f"/admin/registry/dataset/{registry['dataset'].pk}/delete/",
        f"/admin/registry/modelversion/{version.pk}/predict/",
    ]
    forms += [(u, f, admin_user) for u, f in post_forms(crawl(admin, admin_start))]
    forms += [
        (u, f, None)
        for u, f in post_forms(crawl(anonymous, ["/accounts/login/", "/accounts/signup/"]))
    ]
    return forms


def test_it_puts_a_csrf_token_in_every_form_and_refuses_a_post_without_it(
    registry, owner, admin_user, settings
):
    forms = crawl_everything(registry, owner, admin_user, settings)
    missing = [
        (page, form["action"])
        for page, form, _ in forms
        if not any(
            f["name"] == "csrfmiddlewaretoken" and f["type"] == "hidden" and f["value"]
            for f in form["fields"]
        )
    ]
    assert missing == [], f"POST forms without a CSRF token: {missing}"

    actions: dict[str, tuple] = {}
    for page, form, user in forms:
        actions.setdefault(urlsplit(form["action"]).path, (page, form, user))
    ids = {
        "dataset": registry["dataset"].pk,
        "token": registry["token"].pk,
        "model": registry["model"].pk,
        "v1": registry["model"].versions.get(version=1).pk,
    }
    expected = {a.format(**ids) for a in EXPECTED_ACTIONS}
    assert expected <= set(actions), f"the crawl missed {sorted(expected - set(actions))}"

    before = snapshot()
    refused = []
    for action, (page, form, user) in sorted(actions.items()):
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        data = {
            f["name"]: f["value"]
            for f in form["fields"]
            if f["name"] != "csrfmiddlewaretoken" and f["type"] != "file"
        }
        response = client.post(action, data)
        if response.status_code != 403 or b"This form has expired" not in response.content:
            refused.append((action, page, response.status_code))
        if user is not None:
            assert client.get("/").status_code == 200, f"{action} signed the user out"
    assert refused == [], f"accepted or not refused as CSRF failures: {refused}"
    assert snapshot() == before
    print(f"\n{len(forms)} POST forms on the crawled pages, {len(actions)} distinct actions")


def test_the_api_with_a_browser_session_needs_the_csrf_token(registry, owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    operations = [(m, p) for m, p in api_operations(client) if m not in ("get", "head")]
    assert len(operations) >= 9
    values = {
        "dataset_id": registry["dataset"].pk,
        "name": "churn",
        "version": 1,
        "alias": "production",
        "board_id": 1,  # no such board: the CSRF check answers first
        "webhook_id": 1,
        "job_id": 1,
        "rule_id": 1,
    }
    before = snapshot()
    for method, template in operations:
        path = fill_path(template, values)
        response = getattr(client, method)(path, "{}", content_type="application/json")
        assert response.status_code == 403, (method, path, response.content)
        assert response["Content-Type"] == "application/problem+json"
        assert "CSRF" in response.json()["detail"], (method, path)
    assert snapshot() == before
    # With the token, the same session may act: the 403s above were the CSRF check.
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.put(
        "/api/v1/models/churn/aliases/staging",
        '{"version": 1}',
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.content
    assert registry["model"].aliases.filter(name="staging").exists()
