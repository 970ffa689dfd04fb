"""The version and model pages chart the live metric (from ground-truth feedback) per day."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from registry.models import Feedback

pytestmark = pytest.mark.django_db


def labelled(version, pairs, *, days_ago=0):
    when = timezone.now() - timedelta(days=days_ago)
    Feedback.objects.bulk_create(
        Feedback(
            request_id=uuid.uuid4(), row=0, version=version, label=y, predicted=p, predicted_at=when
        )
        for y, p in pairs
    )


def test_the_version_page_charts_the_live_metric_per_day(owner_client, make_model):
    version = make_model("churn").versions.get()
    labelled(version, [("no", "no"), ("yes", "no")], days_ago=2)
    labelled(version, [("no", "no"), ("yes", "yes")])
    html = owner_client.get("/models/churn/versions/1/").content.decode()
    assert 'data-live-value="0.750"' in html
    assert 'data-live-n="4"' in html
    assert html.count('class="bar live"') == 2
    assert "0.500 of 2" in html  # the older day's bar title
    assert "/api/v1/models/churn/versions/1/live-metrics" in html


def test_a_version_without_labels_says_how_to_send_them(owner_client, make_model):
    make_model("churn")
    html = owner_client.get("/models/churn/versions/1/").content.decode()
    assert "data-live-empty" in html
    assert "/feedback" in html


def test_the_model_page_lists_the_live_metric_of_labelled_versions(owner_client, make_model):
    model = make_model("churn", versions=2)
    labelled(model.versions.get(version=2), [("no", "no"), ("yes", "no")])
    html = owner_client.get("/models/churn/").content.decode()
    assert 'data-live-version="2"' in html
    assert 'data-live-version="1"' not in html
    assert "0.500" in html


def test_a_prediction_made_on_the_version_page_shows_its_id(owner_client, churn):
    from tests.registry.monitoring.conftest import CHURN_ROW

    form = {f"f{i}": str(v) for i, v in enumerate(CHURN_ROW.values())}
    html = owner_client.post("/models/churn/versions/1/predict/", form).content.decode()
    assert "data-prediction-id=" in html
    ident = html.split('data-prediction-id="', 1)[1].split('"', 1)[0]
    request_id, row = ident.split(":")
    assert len(request_id) == 36
    assert row == "0"
