"""/metrics exports per version of recent activity its live metric, labelled rows and drift
per feature as gauges, read from the database (and cached between scrapes)."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from registry.models import Feedback
from registry.monitoring import drift, live
from tests.registry.conftest import make_version
from tests.registry.monitoring.conftest import churn_rows, log_requests, scrape, value

pytestmark = pytest.mark.django_db


def test_live_metric_and_drift_per_feature_are_gauges_of_recently_active_versions(
    client, churn, make_model
):
    log_requests(churn, churn_rows()[:300], per_request=10)
    now = timezone.now()
    Feedback.objects.bulk_create(
        Feedback(
            request_id=uuid.uuid4(), row=0, version=churn, label=y, predicted=p, predicted_at=now
        )
        for y, p in [("no", "no"), ("yes", "no"), ("no", "no"), ("yes", "yes")]
    )
    idle = make_version(churn.model, 2)  # no traffic, no labels: no gauge

    samples = scrape(client)
    labels = {"model": "churn", "version": "1"}
    assert value(samples, "mlserve_live_metric", **labels, metric="accuracy") == 0.75
    assert value(samples, "mlserve_live_labelled_rows", **labels) == 4
    report = drift.report(churn)
    assert report["status"] != "insufficient_data"
    for feature in report["features"]:
        got = value(samples, "mlserve_drift_psi", **labels, feature=feature["name"])
        assert got == pytest.approx(feature["psi"])
    assert value(samples, "mlserve_drift_drifting", **labels) == float(report["drifting"])
    # The idle version has no live gauge (other tests in this process may have left
    # prediction counters of a "churn" version 2: counters are not the gauges asked about).
    assert not [
        k
        for k in samples
        if k[0].startswith(("mlserve_live_", "mlserve_drift_"))
        and ("version", str(idle.version)) in k[1]
    ]

    # Between scrapes the gauges come from the cache: a new label shows after it expires.
    Feedback.objects.create(
        request_id=uuid.uuid4(), row=0, version=churn, label="yes", predicted="no", predicted_at=now
    )
    assert value(scrape(client), "mlserve_live_labelled_rows", **labels) == 4
    live.forget_gauges()
    assert value(scrape(client), "mlserve_live_labelled_rows", **labels) == 5


def test_the_number_of_versions_with_gauges_is_bounded(client, make_model, settings):
    model = make_model("many", versions=0)
    now = timezone.now()
    for number in range(1, live.GAUGE_MAX_VERSIONS + 3):
        version = make_version(model, number)
        Feedback.objects.create(
            request_id=uuid.uuid4(), row=0, version=version, label="no", predicted="no",
            predicted_at=now,
        )  # fmt: skip
    samples = scrape(client)
    versions = {dict(k[1])["version"] for k in samples if k[0] == "mlserve_live_labelled_rows"}
    assert len(versions) == live.GAUGE_MAX_VERSIONS
    assert str(live.GAUGE_MAX_VERSIONS + 2) in versions  # the newest first
