"""Security headers on every response: the Content-Security-Policy (no inline script, nothing
from another origin), nosniff, Referrer-Policy and X-Frame-Options on every page the site,
the admin and the sign-in page link to, and on every error page; HSTS on HTTPS only, when
configured; secure, HttpOnly cookies when configured."""

import os
import subprocess

import pytest
from django.db import OperationalError
from django.test import Client

from tests.helpers import PYTHON, ROOT
from tests.security.conftest import crawl

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
    "base-uri": {"'self'"},
    "object-src": {"'none'"},
}
PLOT_POLICY = {
    "default-src": {"'none'"},
    "style-src": {"'unsafe-inline'"},
    "img-src": {"data:"},
    "sandbox": set(),
}


def policy(response) -> dict[str, set[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    parsed = {}
    for directive in header.split(";"):
        name, *values = directive.split()
        assert name not in parsed, header
        parsed[name] = set(values)
    return parsed


def check(url: str, response) -> None:
    path = url.split("?")[0]
    expected = PLOT_POLICY if path.endswith(".svg") else POLICY
    assert policy(response) == expected, url
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["Referrer-Policy"] == "same-origin", url
    if "text/html" in response.get("Content-Type", ""):
        assert response["X-Frame-Options"] == "DENY", url
    assert "Strict-Transport-Security" not in response, url  # plain HTTP here


def test_every_page_carries_the_policy_and_the_headers(registry, owner, admin_user):
    site, admin, anonymous = Client(), Client(), Client()
    site.force_login(owner)
    admin.force_login(admin_user)
    pages = crawl(site, ["/", "/models/churn/versions/1/"], skip=("/admin/",))
    pages |= crawl(admin, ["/admin/"])
    pages |= crawl(anonymous, ["/accounts/login/", "/api/v1/docs", "/api/v1/openapi.json"])
    for url, response in pages.items():
        check(url, response)
    html = [u for u, r in pages.items() if "text/html" in r.get("Content-Type", "")]
    plots = [u for u in pages if u.endswith(".svg")]
    assert len(html) > 50
    print(f"\n{len(pages)} responses checked ({len(html)} HTML pages, {len(plots)} plots)")


def test_error_pages_carry_the_policy_and_the_headers(registry, owner, other, monkeypatch):
    from registry import selectors

    outsider = Client(raise_request_exception=False)
    outsider.force_login(other)
    responses = {
        "404": outsider.get("/no/such/page/"),
        "403 not yours": outsider.get("/models/churn/delete/"),
        "403 csrf": Client(enforce_csrf_checks=True).post("/accounts/login/", {}),
        "400 bad length": outsider.post("/tokens/", CONTENT_LENGTH="abc"),
        "413 too big": outsider.post("/tokens/", CONTENT_LENGTH=str(10**12)),
        "405": outsider.get("/models/churn/versions/1/predict/"),
        "401 api": Client().get("/api/v1/models"),
        "404 api": outsider.get("/api/v1/models/ghost"),
        "healthz": Client().get("/healthz"),
    }
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "olivia", "password": "wrong-guess"})
    responses["429 lockout"] = Client().post(
        "/accounts/login/", {"username": "olivia", "password": "wrong-guess"}
    )

    def boom(user):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(selectors, "running_versions", boom)
    responses["500"] = outsider.get("/")

    def down(user):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "running_versions", down)
    responses["503"] = outsider.get("/")
    for name, response in responses.items():
        expected = int(name[:3]) if name[0].isdigit() else 200
        assert response.status_code == expected, name
        check(name, response)


def test_it_sends_hsts_on_https_only_when_configured(settings, db):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    client = Client()  # its middleware reads the settings above on the first request
    secure = client.get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")


def test_it_marks_the_cookies_secure_and_http_only_when_configured(settings, owner):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    client.get("/accounts/login/", secure=True)
    csrf = client.cookies["csrftoken"]
    response = client.post(
        "/accounts/login/",
        {"username": "olivia", "password": "pw-olivia-123"},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert csrf["secure"] is True


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
@pytest.mark.parametrize(
    ("value", "expected"), [("1", "True True True"), ("0", "False False True")]
)
def test_it_takes_the_cookie_flags_from_the_environment(value, expected):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY)"
    )
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SECURE_COOKIES": value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
