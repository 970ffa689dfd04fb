"""The operations sections of the pages: the version page's drift report and the model
page's last 24 hours per version (request count, error rate, p50/p95), as SVG bars."""

import re
from datetime import timedelta

import pytest

from registry.monitoring import predlog
from tests.registry.conftest import make_version
from tests.registry.monitoring.conftest import churn_rows, log_requests

pytestmark = pytest.mark.django_db


def section(html: str, marker: str) -> str:
    start = html.index(marker)
    return html[start : html.index("</section>", start)]


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_the_version_page_shows_the_drift_report(owner_client, churn):
    rows = churn_rows()
    log_requests(churn, [{**r, "tenure_months": r["tenure_months"] + 100} for r in rows])
    html = owner_client.get("/models/churn/versions/1/").content.decode()
    drift = section(html, 'id="drift"')
    assert 'data-drift="drifting"' in drift
    assert "data-drift-rows>600<" in drift
    statuses = dict(
        re.findall(r'data-drift-feature="([^"]+)" data-feature-status="([^"]+)"', drift)
    )
    assert statuses == {
        "tenure_months": "drifting",
        "monthly_charges": "stable",
        "contract": "stable",
        "internet": "stable",
        "support_calls": "stable",
    }
    assert drift.count("<svg") == 5
    assert 'class="bar expected"' in drift
    assert 'class="bar actual"' in drift
    assert "style=" not in drift  # the CSP allows no inline style
    assert "<script" not in drift


def test_without_logged_inputs_the_drift_section_says_there_is_no_verdict(owner_client, churn):
    drift = section(owner_client.get("/models/churn/versions/1/").content.decode(), 'id="drift"')
    assert 'data-drift="insufficient_data"' in drift
    assert "No predictions logged in this window yet" in drift


def test_a_version_without_a_profile_explains_why_there_is_no_report(owner_client, churn):
    make_version(churn.model, 2, profile={})
    drift = section(owner_client.get("/models/churn/versions/2/").content.decode(), 'id="drift"')
    assert 'data-drift="no_profile"' in drift
    assert "no profile of its training data" in drift


def test_the_model_page_shows_each_versions_last_24_hours(owner_client, churn):
    rows = churn_rows()
    log_requests(churn, rows[:90], latency_ms=10.0, ago=timedelta(minutes=30))
    log_requests(churn, rows[:10], latency_ms=200.0, status=500, ago=timedelta(minutes=20))
    log_requests(churn, rows[:50], latency_ms=1.0, ago=timedelta(days=2))  # too old
    html = owner_client.get("/models/churn/").content.decode()
    traffic = section(html, "data-traffic")
    row = traffic[traffic.index('data-traffic-version="1"') :]
    assert "data-requests>100<" in row
    assert "data-error-rate>10.0%<" in row
    p50, p95 = re.search(r"data-latency>([\d.]+) ms / ([\d.]+) ms<", row).groups()
    assert 10 / 1.25 <= float(p50) <= 10 * 1.25
    assert 200 / 1.25 <= float(p95) <= 200 * 1.25
    assert row.count("<svg") == 3
    assert row.count('<rect class="bar"') == 24  # one bar per hour
    assert "style=" not in traffic


def test_a_model_without_logged_requests_says_so(owner_client, churn):
    traffic = section(owner_client.get("/models/churn/").content.decode(), "data-traffic")
    assert "No predictions logged in the last 24 hours" in traffic


def test_the_summary_counts_and_percentiles_come_from_the_database(churn):
    rows = churn_rows()
    for ms in range(1, 101):  # latencies 1..100 ms, one request each
        log_requests(churn, rows[:1], latency_ms=float(ms))
    summary = predlog.traffic([churn.pk])[churn.pk]
    assert summary["requests"] == 100
    assert summary["error_rate"] == 0
    assert summary["p50_ms"] == pytest.approx(50, rel=0.125)
    assert summary["p95_ms"] == pytest.approx(95, rel=0.125)
    assert len(summary["hours"]) == 24
    assert summary["hours"][-1]["requests"] == 100
