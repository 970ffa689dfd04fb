"""The pages refuse what is over a user's quota with the reason next to the field: the
bytes of their datasets (MLSERVE_USER_MAX_DATASET_MB) and their number of models
(MLSERVE_USER_MAX_MODELS)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry.models import Dataset, RegisteredModel
from tests.registry.api.test_quotas import csv_of
from tests.registry.web.test_train import form_data

pytestmark = pytest.mark.django_db


def test_the_upload_page_refuses_a_dataset_over_the_storage_quota(owner_client, settings):
    settings.MLSERVE_USER_MAX_DATASET_MB = 1
    for name in ("a", "b", "c"):
        upload = SimpleUploadedFile(f"{name}.csv", csv_of(400_000), content_type="text/csv")
        response = owner_client.post(reverse("dataset_upload"), {"file": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert "over your quota of 1 MB (MLSERVE_USER_MAX_DATASET_MB)" in html
    assert sorted(Dataset.objects.values_list("name", flat=True)) == ["a", "b"]


def test_the_train_page_refuses_a_model_over_the_model_quota(owner_client, make_dataset, settings):
    settings.MLSERVE_USER_MAX_MODELS = 1
    dataset = make_dataset("churn.csv")
    assert owner_client.post(reverse("train"), form_data(dataset)).status_code == 302
    response = owner_client.post(reverse("train"), form_data(dataset, name="churn2"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert "You own 1 models, the most one user may (MLSERVE_USER_MAX_MODELS)" in html
    assert not RegisteredModel.objects.filter(name="churn2").exists()
    # A new version of one's model is not a new model.
    assert owner_client.post(reverse("train"), form_data(dataset)).status_code == 302
    assert RegisteredModel.objects.get(name="churn").versions.count() == 2
