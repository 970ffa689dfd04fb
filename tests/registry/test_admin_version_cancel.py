"""The admin's "Cancel the selected trainings" action on versions."""

import pytest
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def test_an_admin_cancels_queued_and_running_versions_and_leaves_finished_ones(
    client, admin_user, make_model
):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="running", progress=30)
    make_version(model, 3, status="queued")
    client.force_login(admin_user)
    changelist = reverse("admin:registry_modelversion_changelist")
    assert b"Cancel the selected trainings" in client.get(changelist).content
    response = client.post(
        changelist,
        {
            "action": "cancel_trainings",
            "_selected_action": list(model.versions.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cancelled 2 trainings." in page
    # (the admin capitalises its messages)
    assert "Churn v1 is ready: only a queued or running training can be cancelled." in page
    statuses = dict(model.versions.values_list("version", "status"))
    assert statuses == {1: "ready", 2: "cancelled", 3: "cancelled"}
    assert ModelVersion.objects.get(version=2).error == "Cancelled by ada."
