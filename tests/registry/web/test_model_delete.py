"""Deleting a model with all its versions and aliases: confirmed first, owner only."""

import pytest
from django.urls import reverse

from registry.models import Alias, ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db

URL = reverse("model_delete", args=["churn"])


def test_it_asks_for_confirmation_first(owner_client, make_model):
    make_model("churn", versions=3)
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert b"Its 3 versions and aliases are removed for good" in response.content
    assert RegisteredModel.objects.count() == 1


def test_it_deletes_the_model_its_versions_and_aliases(owner_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=1))
    response = owner_client.post(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("model_list")
    assert not RegisteredModel.objects.exists()
    assert not ModelVersion.objects.exists()
    assert not Alias.objects.exists()


def test_it_lets_a_superuser_delete_any_model(client, admin_user, make_model):
    make_model("churn")
    client.force_login(admin_user)
    assert client.post(URL).status_code == 302
    assert not RegisteredModel.objects.exists()


def test_it_does_not_let_another_user_delete_it(other_client, make_model):
    make_model("churn")
    response = other_client.post(URL)
    assert response.status_code == 403
    assert b"You cannot change this" in response.content
    assert RegisteredModel.objects.count() == 1
