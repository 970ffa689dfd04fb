"""Deleting a dataset: a confirmation page, then gone; its versions keep its name."""

import pytest
from django.urls import reverse

from registry.models import Dataset, ModelVersion
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def test_it_asks_for_confirmation_first(owner_client, make_dataset, make_model):
    dataset = make_dataset("churn.csv")
    make_version(make_model("churn", versions=0), 1, dataset=dataset)
    response = owner_client.get(reverse("dataset_delete", args=[dataset.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete the dataset churn?" in html
    assert "The 1 model version trained on it keep working" in html
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_it_deletes_and_the_versions_keep_its_name(owner_client, make_dataset, make_model):
    dataset = make_dataset("churn.csv")
    make_version(make_model("churn", versions=0), 1, dataset=dataset, dataset_name="churn")
    response = owner_client.post(reverse("dataset_delete", args=[dataset.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("dataset_list")
    assert not Dataset.objects.exists()
    version = ModelVersion.objects.get()
    assert (version.dataset_id, version.dataset_name) == (None, "churn")


def test_it_does_not_let_another_user_delete_it(other_client, make_dataset):
    dataset = make_dataset("churn.csv")
    assert other_client.post(reverse("dataset_delete", args=[dataset.pk])).status_code == 404
    assert Dataset.objects.filter(pk=dataset.pk).exists()
