"""Password guessing is throttled (django-axes): a username, or an address, with 5 failed
sign-ins within 15 minutes is locked out for 15 minutes, on the sign-in page and the admin's;
the lockout page is the app's own (429, Retry-After); an admin unlocks at once; API tokens
and open sessions keep working; X-Forwarded-For counts only behind the proxies."""

import os
import subprocess
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from mlsite.login_throttle import client_ip
from tests.helpers import PYTHON, ROOT

pytestmark = pytest.mark.django_db

LIMIT = 5  # the defaults: MLSERVE_LOGIN_FAILURE_LIMIT, MLSERVE_LOGIN_COOLOFF_MINUTES
COOLOFF_S = 15 * 60
PASSWORD = "pw-olivia-123"


def sign_in(client, username="olivia", password=PASSWORD, *, url=None, **extra):
    return client.post(
        url or reverse("login"), {"username": username, "password": password}, **extra
    )


def assert_lockout_page(response) -> None:
    assert response.status_code == 429, response.content[:300]
    html = response.content.decode()
    assert "Too many failed sign-ins" in html
    assert "Try again in 15 minutes" in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html  # our own template
    for leak in ("Traceback", "axes.", "Account locked"):  # no stack trace, not axes' text
        assert leak not in html
    assert response["Retry-After"] == str(COOLOFF_S)
    assert "Content-Security-Policy" in response


def fail(client, times: int, **extra) -> list[int]:
    return [sign_in(client, password="wrong-guess", **extra).status_code for _ in range(times)]


def test_it_locks_a_username_out_after_the_failure_limit_from_any_address(client, owner):
    statuses = [
        sign_in(client, password="wrong-guess", REMOTE_ADDR=f"203.0.113.{i}").status_code
        for i in range(1, LIMIT + 1)
    ]
    assert statuses == [200] * (LIMIT - 1) + [429]
    # Now even the right password, from yet another address, is refused.
    response = sign_in(client, REMOTE_ADDR="198.51.100.99")
    assert_lockout_page(response)
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="olivia").count() == LIMIT + 1


def test_it_locks_an_address_out_after_failures_on_many_usernames(client, owner):
    addr = "203.0.113.50"
    for i in range(LIMIT):
        sign_in(client, f"guess{i}", "wrong-guess", REMOTE_ADDR=addr)
    assert_lockout_page(sign_in(client, REMOTE_ADDR=addr))  # the right password: refused
    assert "_auth_user_id" not in client.session
    # The same user from another address is not affected (the username has no failures).
    elsewhere = Client()
    assert sign_in(elsewhere, REMOTE_ADDR="198.51.100.1").status_code == 302
    assert elsewhere.session["_auth_user_id"] == str(owner.pk)


def test_it_counts_failures_below_the_limit_and_explains_them(client, owner):
    response = sign_in(client, password="wrong-guess")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert sign_in(client).status_code == 302  # 1 failure of 5: still free to sign in
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_it_lets_the_user_in_again_after_the_cool_off(client, owner):
    assert fail(client, LIMIT)[-1] == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert_lockout_page(sign_in(client))  # 14 minutes on: still locked (and the wait restarts)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=5))
    response = sign_in(client)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_it_throttles_the_admin_sign_in_too(client, admin_user):
    url = reverse("admin:login")
    statuses = [sign_in(client, "ada", "wrong-guess", url=url).status_code for _ in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert_lockout_page(sign_in(client, "ada", "pw-ada-123", url=url))
    assert "_auth_user_id" not in client.session


def test_an_admin_unlocks_a_user_with_the_command(client, owner):
    fail(client, LIMIT)
    assert sign_in(client).status_code == 429
    call_command("axes_reset_username", "olivia", verbosity=0)
    assert not AccessAttempt.objects.filter(username="olivia").exists()
    assert sign_in(client).status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_an_admin_unlocks_a_user_in_the_admin(client, owner, admin_user):
    fail(client, LIMIT)
    assert sign_in(client).status_code == 429
    admin = Client()
    admin.force_login(admin_user)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert b"olivia" in listing.content
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    response = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0
    assert sign_in(client).status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_a_locked_out_user_keeps_api_tokens_and_open_sessions(client, owner, owner_api):
    open_session = Client()
    open_session.force_login(owner)
    fail(client, LIMIT)
    assert sign_in(client).status_code == 429
    assert owner_api.get("/models").status_code == 200
    assert open_session.get(reverse("dashboard")).status_code == 200


def test_it_ignores_x_forwarded_for_unless_behind_a_proxy(client, owner):
    for i in range(LIMIT):  # one address forging a new X-Forwarded-For each time
        sign_in(
            client,
            f"guess{i}",
            "wrong-guess",
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    response = sign_in(client, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert_lockout_page(response)


def test_it_counts_the_client_address_behind_the_proxies(client, owner, settings):
    settings.MLSERVE_PROXY_COUNT = 2  # DJANGO_BEHIND_PROXY=1: load balancer + nginx
    nginx = {"REMOTE_ADDR": "127.0.0.1"}
    for i in range(LIMIT):
        sign_in(
            client,
            f"guess{i}",
            "wrong-guess",
            HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.5",
            **nginx,
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    # The client cannot escape by writing its own X-Forwarded-For: the proxies append.
    forged = sign_in(client, HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7, 10.0.0.5", **nginx)
    assert_lockout_page(forged)
    # Another client behind the same load balancer is not locked out.
    neighbour = Client()
    response = sign_in(neighbour, HTTP_X_FORWARDED_FOR="198.51.100.8, 10.0.0.5", **nginx)
    assert response.status_code == 302
    assert neighbour.session["_auth_user_id"] == str(owner.pk)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "203.0.113.9"),  # not behind a proxy: the header is ignored
        (1, "192.0.2.1, 198.51.100.7", "198.51.100.7"),
        (2, "192.0.2.1, 198.51.100.7, 10.0.0.5", "198.51.100.7"),
        (2, "198.51.100.7", "198.51.100.7"),  # came in past the load balancer
        (2, "", "203.0.113.9"),
        (2, "not-an-address, 10.0.0.5", "203.0.113.9"),
    ],
)
def test_it_takes_the_address_the_trusted_proxies_saw(settings, count, forwarded, expected):
    settings.MLSERVE_PROXY_COUNT = count
    request = RequestFactory().post(
        "/accounts/login/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=forwarded
    )
    assert client_ip(request) == expected


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_reads_the_limits_from_the_environment(settings, client, owner):
    env = {
        **os.environ,
        "MLSERVE_LOGIN_FAILURE_LIMIT": "3",
        "MLSERVE_LOGIN_COOLOFF_MINUTES": "2",
        "DJANGO_BEHIND_PROXY": "1",
    }
    code = (
        "from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), "
        "s.MLSERVE_PROXY_COUNT, s.AUTHENTICATION_BACKENDS[0])"
    )
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["3", "120", "2", "axes.backends.AxesStandaloneBackend"]
    # And the limit is what the lockout obeys.
    settings.AXES_FAILURE_LIMIT = 3
    assert fail(client, 3) == [200, 200, 429]


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_refuses_a_bad_limit_by_name(tmp_path):
    env = {**os.environ, "MLSERVE_LOGIN_FAILURE_LIMIT": "0"}
    result = subprocess.run(
        [PYTHON, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "MLSERVE_LOGIN_FAILURE_LIMIT=0 must be at least 1" in result.stderr
