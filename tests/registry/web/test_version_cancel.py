"""Cancelling a training from its page: a button, a confirmation, then `cancelled`."""

import pytest
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db

URL = reverse("version_cancel", args=["churn", 2])
PAGE = reverse("version_detail", args=["churn", 2])


def test_the_version_page_offers_cancel_while_it_trains(owner_client, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="running", progress=40)
    page = owner_client.get(PAGE).content.decode()
    assert f'href="{URL}"' in page
    assert "Cancel training" in page


def test_it_asks_for_confirmation_then_cancels(owner_client, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="queued")
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert b"Cancel the training of churn v2?" in response.content
    assert ModelVersion.objects.get(model=model, version=2).status == "queued"

    response = owner_client.post(URL)
    assert response.status_code == 302
    assert response["Location"] == PAGE
    version = ModelVersion.objects.get(model=model, version=2)
    assert (version.status, version.error) == ("cancelled", "Cancelled by olivia.")
    page = owner_client.get(PAGE).content.decode()
    assert "Training cancelled" in page
    assert f'href="{URL}"' not in page


def test_it_says_why_a_finished_version_cannot_be_cancelled(owner_client, make_model):
    make_model("churn", versions=2)
    response = owner_client.post(URL)
    assert response.status_code == 200
    assert b"only a queued or running training can be cancelled" in response.content
    assert ModelVersion.objects.get(version=2).status == "ready"


def test_it_does_not_let_another_user_cancel_it(other_client, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="running")
    assert other_client.post(URL).status_code == 403
    assert other_client.get(PAGE).content.decode().count(URL) == 0
    assert ModelVersion.objects.get(model=model, version=2).status == "running"
