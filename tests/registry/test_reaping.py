"""Only the worker reaps trainings whose worker died: pages and the API only read."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import ModelVersion
from registry.tasks import reap_stale_versions
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def lost(make_model, settings):
    """A running version whose worker died long ago."""
    model = make_model("churn", versions=0)
    stale = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S + 60)
    return make_version(model, 1, status="running", heartbeat_at=stale, attempts=1)


def test_it_leaves_reaping_to_the_worker_when_pages_and_the_api_read(owner_client, owner_api, lost):
    for url in (
        reverse("version_detail", args=["churn", 1]),
        reverse("version_status", args=["churn", 1]),
    ):
        assert owner_client.get(url).status_code == 200
    response = owner_api.get("/models/churn/versions/1")
    assert response.status_code == 200
    assert response.json()["status"] == "running"
    assert ModelVersion.objects.get().status == "running"
    assert reap_stale_versions() == 1
    assert ModelVersion.objects.get().status == "queued"
