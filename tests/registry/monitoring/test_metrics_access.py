"""Who may read /metrics: the bearer token when MLSERVE_METRICS_TOKEN is set, otherwise
only the addresses in MLSERVE_METRICS_ALLOW (the client's, not a proxy's)."""

import os
import subprocess

import pytest
from django.test import Client

from tests.conftest import assert_problem
from tests.helpers import PYTHON, ROOT

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdef"


def get(remote_addr: str = "127.0.0.1", **headers):
    return Client(REMOTE_ADDR=remote_addr).get("/metrics", headers=headers)


def test_by_default_only_loopback_addresses_are_answered():
    assert get("127.0.0.1").status_code == 200
    assert get("::1").status_code == 200
    body = assert_problem(get("10.1.2.3"), 403, "MLSERVE_METRICS_ALLOW")
    assert "mlserve_" not in str(body)
    assert_problem(get("192.168.0.7"), 403)


def test_the_allow_list_takes_networks(settings):
    settings.MLSERVE_METRICS_ALLOW = ["10.0.0.0/8"]
    assert get("10.1.2.3").status_code == 200
    assert_problem(get("127.0.0.1"), 403)
    assert_problem(get("11.0.0.1"), 403)


def test_behind_the_load_balancer_the_client_address_counts_not_nginxs(settings):
    # Behind proxies every request reaches Django from the local nginx (127.0.0.1): the
    # client is read from X-Forwarded-For, so the allow-list cannot be walked around.
    settings.MLSERVE_PROXY_COUNT = 2
    outside = {"X-Forwarded-For": "203.0.113.9, 10.0.0.2"}
    assert_problem(get("127.0.0.1", **outside), 403)
    forged = {"X-Forwarded-For": "127.0.0.1, 203.0.113.9, 10.0.0.2"}
    assert_problem(get("127.0.0.1", **forged), 403)
    assert get("127.0.0.1").status_code == 200  # a scraper on the instance itself


def test_with_a_token_set_only_the_token_opens_it(settings):
    settings.MLSERVE_METRICS_TOKEN = TOKEN
    assert_problem(get("127.0.0.1"), 403, "metrics token")
    assert_problem(get("127.0.0.1", Authorization="Bearer wrong-token-0123456789"), 403)
    assert_problem(get("127.0.0.1", Authorization=f"Basic {TOKEN}"), 403)
    response = get("10.1.2.3", Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"mlserve_prediction_requests_total" in response.content
    assert response["Cache-Control"] == "no-store"


def test_only_get_is_allowed():
    assert Client(REMOTE_ADDR="127.0.0.1").post("/metrics").status_code == 405


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MLSERVE_METRICS_ALLOW", "127.0.0.1,not-an-address", "MLSERVE_METRICS_ALLOW"),
        ("MLSERVE_METRICS_TOKEN", "short", "MLSERVE_METRICS_TOKEN is too short"),
        ("MLSERVE_PREDICTION_LOG_RATE", "1.5", "MLSERVE_PREDICTION_LOG_RATE"),
        ("MLSERVE_PREDICTION_LOG_MAX_ROWS", "0", "MLSERVE_PREDICTION_LOG_MAX_ROWS"),
    ],
)
def test_bad_settings_stop_the_start_with_the_variables_name(tmp_path, variable, value, message):
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x" * 40,
        "MLSERVE_VAR_DIR": str(tmp_path),
        variable: value,
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert message in result.stderr
