"""Deleting a version: confirmed first, refused while an alias points at it, owner only."""

import pytest
from django.urls import reverse

from registry.models import ModelVersion

pytestmark = pytest.mark.django_db

URL = reverse("version_delete", args=["churn", 2])


def test_it_asks_for_confirmation_first(owner_client, make_model):
    make_model("churn", versions=2)
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert b"Delete churn v2?" in response.content
    assert ModelVersion.objects.count() == 2


def test_it_deletes_the_version(owner_client, make_model):
    model = make_model("churn", versions=2)
    response = owner_client.post(URL)
    assert response.status_code == 302
    assert response["Location"] == "/models/churn/"
    assert list(model.versions.values_list("version", flat=True)) == [1]


def test_it_refuses_while_an_alias_points_at_it(owner_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=2))
    page = owner_client.get(URL).content.decode()
    assert "The alias production points at this version: move it to another version first." in page
    response = owner_client.post(URL)
    assert response.status_code == 200
    assert b"is the target of alias(es) production: move or delete them first." in response.content
    assert model.versions.count() == 2


def test_it_does_not_let_another_user_delete_it(other_client, make_model):
    make_model("churn", versions=2)
    assert other_client.post(URL).status_code == 403
    assert ModelVersion.objects.count() == 2
