"""The train page refuses a training over MLSERVE_USER_MAX_TRAININGS with a form error."""

import pytest
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry.web.test_train import form_data

pytestmark = pytest.mark.django_db


def test_the_train_page_refuses_a_training_over_the_users_cap(owner_client, make_dataset, settings):
    settings.MLSERVE_USER_MAX_TRAININGS = 1
    dataset = make_dataset("churn.csv")
    assert owner_client.post(reverse("train"), form_data(dataset)).status_code == 302
    response = owner_client.post(reverse("train"), form_data(dataset))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field-error"' in html or 'class="alert alert-error"' in html
    assert "You have 1 trainings queued or running, the most one user may" in html
    assert ModelVersion.objects.count() == 1
