"""The README's production values, in a real gunicorn behind a (simulated) TLS-terminating
load balancer: HTTP is redirected to HTTPS (health probes excepted), HTTPS responses carry
HSTS and the policy headers, cookies are Secure (the session's HttpOnly too), CSRF holds
for the public origin, and sign-in throttling counts the client from X-Forwarded-For."""

import http.client
import os
import re
import secrets
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from tests.helpers import (
    database_url,
    free_port,
    set_production_password,
    start_gunicorn,
    stop_group,
)
from tests.test_settings import PRODUCTION_ENV

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.system]

HOST = "ml.example.com"
ORIGIN = f"https://{HOST}"
BALANCER = "10.0.0.5"  # what nginx appends: the load balancer's address


@pytest.fixture
def owner(owner):
    """The owner signs in to the server below, whose production settings verify only
    production's password hashers."""
    set_production_password(owner, "pw-olivia-123")
    return owner


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url(),
        "MLSERVE_MANIFEST_STATIC": "0",  # no collectstatic in tests
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    proc = start_gunicorn(env, tmp_path / "gunicorn.log")
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.25)
        yield port
    finally:
        stop_group(proc)


def healthy(port) -> bool:
    try:
        return call(port, "GET", "/healthz", https=False)[0] == 200
    except OSError:
        return False


def call(port, method, path, *, https=True, client="198.51.100.7", body=None, headers=None):
    """One request as nginx forwards it: Host, X-Forwarded-Proto and -For set by the proxies."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = {"Host": HOST, "X-Forwarded-For": f"{client}, {BALANCER}", **(headers or {})}
    if https:
        sent["X-Forwarded-Proto"] = "https"
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def cookies(headers) -> SimpleCookie:
    jar = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    return jar


def sign_in(port, username, password, *, client="198.51.100.7"):
    status, headers, html = call(port, "GET", "/accounts/login/", client=client)
    assert status == 200
    csrf = cookies(headers)["csrftoken"].value
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    return call(
        port,
        "POST",
        "/accounts/login/",
        client=client,
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Origin": ORIGIN,
            "Referer": f"{ORIGIN}/accounts/login/",
        },
    )


def test_it_redirects_http_to_https_but_not_the_health_probes(server):
    status, headers, _ = call(server, "GET", "/accounts/login/", https=False)
    assert status == 301
    assert headers["Location"] == f"{ORIGIN}/accounts/login/"
    assert call(server, "GET", "/healthz", https=False)[0] == 200


def test_https_responses_carry_hsts_the_policy_and_secure_cookies(server, owner):
    status, headers, _ = call(server, "GET", "/accounts/login/")
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert cookies(headers)["csrftoken"]["secure"]

    status, headers, _ = sign_in(server, "olivia", "pw-olivia-123")
    assert status == 302, headers
    assert headers["Location"] == "/"
    session = cookies(headers)["sessionid"]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"


def test_a_post_from_another_origin_is_refused(server, owner):
    status, headers, html = call(server, "GET", "/accounts/login/")
    csrf = cookies(headers)["csrftoken"].value
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    body = urlencode({"username": "olivia", "password": "pw-olivia-123"})
    status, _, html = call(
        server,
        "POST",
        "/accounts/login/",
        body=body + f"&csrfmiddlewaretoken={token}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Origin": "https://evil.example.net",
        },
    )
    assert status == 403
    assert "This form has expired" in html


def test_it_throttles_sign_ins_by_the_forwarded_client_address(server, owner):
    attacker = "203.0.113.66"
    statuses = [sign_in(server, f"guess{i}", "wrong-guess", client=attacker)[0] for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    status, headers, html = sign_in(server, "olivia", "pw-olivia-123", client=attacker)
    assert status == 429
    assert headers["Retry-After"] == "900"
    assert "Too many failed sign-ins" in html
    assert "Traceback" not in html
    # Everybody else behind the same load balancer still signs in.
    assert sign_in(server, "olivia", "pw-olivia-123", client="198.51.100.8")[0] == 302
