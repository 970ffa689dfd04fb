"""A change to what a name serves is served at once by the process that made it, whoever
made it (page, API or admin): the services forget this process's resolutions on commit."""

import pytest
from django.urls import reverse

from registry import services, serving
from registry.models import Alias, ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _resolutions_kept_long(monkeypatch):
    """Without the services' forgetting, a resolution would outlive the test."""
    monkeypatch.setattr(serving, "RESOLVE_TTL_S", 3600.0)


@pytest.fixture
def churn_model(owner, make_model):
    model = make_model("churn", versions=2)
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    return model


def test_it_serves_an_alias_moved_in_the_admin(client, admin_user, churn_model):
    assert serving.resolve("churn", alias="production").version == 1
    alias = Alias.objects.get(model=churn_model, name="production")
    v2 = churn_model.versions.get(version=2)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:registry_alias_change", args=[alias.pk]),
        {"model": churn_model.pk, "name": "production", "version": v2.pk},
    )
    assert response.status_code == 302
    alias.refresh_from_db()
    assert alias.version_id == v2.pk
    assert alias.updated_by == admin_user
    assert serving.resolve("churn", alias="production").version == 2


def test_it_serves_an_alias_added_in_the_admin(client, admin_user, churn_model):
    with pytest.raises(services.NotFound):
        serving.resolve("churn", alias="staging")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:registry_alias_add"),
        {
            "model": churn_model.pk,
            "name": "staging",
            "version": churn_model.versions.get(version=2).pk,
        },
    )
    assert response.status_code == 302
    assert Alias.objects.get(model=churn_model, name="staging").updated_by == admin_user
    assert serving.resolve("churn", alias="staging").version == 2


def test_it_stops_serving_an_alias_deleted_in_the_admin(client, admin_user, churn_model):
    assert serving.resolve("churn", alias="production").version == 1
    alias = Alias.objects.get(model=churn_model, name="production")
    client.force_login(admin_user)
    response = client.post(reverse("admin:registry_alias_delete", args=[alias.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Alias.objects.filter(pk=alias.pk).exists()
    with pytest.raises(services.NotFound):
        serving.resolve("churn", alias="production")


def test_it_serves_an_alias_moved_in_the_model_admin(client, admin_user, churn_model):
    assert serving.resolve("churn").version == 1
    alias = Alias.objects.get(model=churn_model, name="production")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:registry_registeredmodel_change", args=[churn_model.pk]),
        {
            "name": "churn",
            "description": "",
            "owner": churn_model.owner_id,
            "aliases-TOTAL_FORMS": "1",
            "aliases-INITIAL_FORMS": "1",
            "aliases-0-id": alias.pk,
            "aliases-0-model": churn_model.pk,
            "aliases-0-name": "production",
            "aliases-0-version": churn_model.versions.get(version=2).pk,
            "versions-TOTAL_FORMS": "2",
            "versions-INITIAL_FORMS": "2",
            "tags-TOTAL_FORMS": "0",  # the model's tags, shown read-only
            "tags-INITIAL_FORMS": "0",
            **{
                f"versions-{i}-id": pk
                for i, pk in enumerate(churn_model.versions.values_list("pk", flat=True))
            },
            **{f"versions-{i}-model": churn_model.pk for i in range(2)},
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    alias.refresh_from_db()
    assert alias.version.version == 2
    assert serving.resolve("churn").version == 2


def test_it_stops_serving_a_version_deleted_in_the_admin(client, admin_user, churn_model):
    assert serving.resolve("churn", version=2).version == 2
    v2 = churn_model.versions.get(version=2)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:registry_modelversion_delete", args=[v2.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not ModelVersion.objects.filter(pk=v2.pk).exists()
    with pytest.raises(services.NotFound):
        serving.resolve("churn", version=2)


def test_it_stops_serving_a_version_deleted_through_the_api(owner_api, churn_model):
    assert serving.resolve("churn", version=2).version == 2
    response = owner_api.delete("/models/churn/versions/2")
    assert response.status_code == 204
    assert not churn_model.versions.filter(version=2).exists()
    with pytest.raises(services.NotFound):
        serving.resolve("churn", version=2)


def test_it_stops_serving_a_model_deleted_through_the_api(owner_api, churn_model):
    assert serving.resolve("churn").version == 1
    response = owner_api.delete("/models/churn")
    assert response.status_code == 204
    assert not RegisteredModel.objects.filter(name="churn").exists()
    with pytest.raises(services.NotFound):
        serving.resolve("churn")


def test_a_service_call_alone_is_enough(owner, churn_model):
    """The services forget on commit, so no caller has to."""
    assert serving.resolve("churn", version=2).version == 2
    services.version_delete(version=churn_model.versions.get(version=2), user=owner)
    with pytest.raises(services.NotFound):
        serving.resolve("churn", version=2)
    services.alias_delete(model=churn_model, name="production", user=owner, via="api")
    with pytest.raises(services.NotFound):
        serving.resolve("churn", alias="production")
