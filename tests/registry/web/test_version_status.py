"""The JSON the progress bars poll once a second."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import ModelVersion
from registry.tasks import reap_stale_versions
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def status(client, name="churn", number=1):
    return client.get(reverse("version_status", args=[name, number]))


def test_it_reports_progress_while_running(owner_client, make_model):
    model = make_model("churn", versions=0)
    make_version(model, 1, status="running", progress=42, heartbeat_at=timezone.now())
    response = status(owner_client)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert (data["status"], data["progress"], data["finished"]) == ("running", 42, False)
    assert data["url"] == "/models/churn/versions/1/"
    assert data["headline"] is None
    assert ModelVersion.objects.get().progress == 42


def test_it_reports_the_headline_once_ready(other_client, make_model):
    make_model("churn", versions=1)
    data = status(other_client).json()  # anyone signed in may read it
    assert (data["status"], data["progress"], data["finished"]) == ("ready", 100, True)
    assert data["headline"] == {"metric": "accuracy", "value": 0.85}


def test_it_reports_the_error_of_a_failed_version(owner_client, make_model):
    make_model("churn", versions=1, status="failed", error="Out of memory.")
    data = status(owner_client).json()
    assert (data["status"], data["finished"], data["error"]) == ("failed", True, "Out of memory.")


def test_it_recovers_a_version_whose_worker_died(owner_client, make_model, settings):
    model = make_model("churn", versions=0)
    stale = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S + 60)
    make_version(model, 1, status="running", heartbeat_at=stale, attempts=2)
    reap_stale_versions()  # the worker's reaper (pages only read)
    data = status(owner_client).json()
    assert (data["status"], data["finished"]) == ("failed", True)
    assert "Train a new version" in data["error"]
    assert ModelVersion.objects.get().status == "failed"


def test_it_404s_for_an_unknown_version(owner_client, make_model):
    make_model("churn", versions=1)
    assert status(owner_client, number=2).status_code == 404
    assert ModelVersion.objects.count() == 1


def test_a_queued_version_shows_its_place_in_the_queue_and_its_wait(owner_client, make_model):
    model = make_model("churn", versions=0)
    make_version(model, 1, status="queued")
    make_version(model, 2, status="queued")
    make_version(model, 3, status="ready")
    ModelVersion.objects.filter(version=2).update(created_at=timezone.now() - timedelta(seconds=75))
    data = status(owner_client, number=2).json()
    assert data["clock"]["queue_position"] == 2
    assert data["clock"]["text"].startswith(
        "Position 2 in the queue (1 ahead of it) · waiting 1 min"
    )
    html = owner_client.get(reverse("version_detail", args=["churn", 2])).content.decode()
    assert '<p class="muted small" data-training-clock>Position 2 in the queue' in html
    assert (
        status(owner_client, number=1)
        .json()["clock"]["text"]
        .startswith("Position 1 in the queue (next for a worker)")
    )
    assert status(owner_client, number=3).json()["clock"] is None


def test_a_running_version_shows_how_long_it_has_run(owner_client, make_model):
    model = make_model("churn", versions=0)
    started = timezone.now() - timedelta(seconds=12)
    make_version(model, 1, status="running", progress=40, started_at=started)
    data = status(owner_client).json()
    assert data["clock"]["queue_position"] is None
    assert data["clock"]["text"] in ("12 s elapsed", "13 s elapsed")
    html = owner_client.get(reverse("version_detail", args=["churn", 1])).content.decode()
    assert "s elapsed</p>" in html
    assert '<h2 id="training-title" data-training-heading>Training</h2>' in html
