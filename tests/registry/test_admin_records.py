"""The admin registers every record: leaderboards (with their trials), webhook endpoints
(never their secret) and deliveries, alert rules and feedback are read there, changed
nowhere (their pages and the API change them), and a staff user who is not a superuser sees
their own only."""

import uuid

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from registry import models as records
from registry.alerts import secrets as webhook_secrets

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + "s" * 32
READ_ONLY = ("leaderboard", "webhookendpoint", "webhookdelivery", "alertrule", "feedback")


def test_every_record_is_registered():
    from django.apps import apps

    registered = set(admin.site._registry)
    assert set(apps.get_app_config("registry").get_models()) - registered == {records.Trial}
    # Trials are shown on their leaderboard's page.


def make_records(user, model_name: str, make_model) -> dict[str, object]:
    model = make_model(model_name, user=user)
    version = model.versions.get()
    board = records.Leaderboard.objects.create(
        owner=user,
        dataset_name=f"{model_name}-data",
        dataset_sha256="0" * 64,
        target="churned",
        task="classifier",
        metric="accuracy",
    )
    records.Trial.objects.create(leaderboard=board, number=1, algorithm=f"{model_name}-algo")
    endpoint = records.WebhookEndpoint.objects.create(
        owner=user,
        url=f"https://{model_name}.example.com/hook",
        secret_encrypted=webhook_secrets.encrypt(SECRET),
    )
    delivery = records.WebhookDelivery.objects.create(
        endpoint=endpoint, message_id=f"msg_{model_name}", event="version.ready", payload={}
    )
    rule = records.AlertRule.objects.create(model=model, kind="error_rate", params={})
    feedback = records.Feedback.objects.create(
        request_id=uuid.uuid4(),
        row=0,
        version=version,
        label="yes",
        predicted="no",
        predicted_at=timezone.now(),
    )
    return {
        "leaderboard": board,
        "webhookendpoint": endpoint,
        "webhookdelivery": delivery,
        "alertrule": rule,
        "feedback": feedback,
    }


@pytest.fixture
def both(owner, other, make_model):
    return make_records(owner, "mine", make_model), make_records(other, "theirs", make_model)


def listed(client, name: str) -> set[int]:
    response = client.get(reverse(f"admin:registry_{name}_changelist"))
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.mark.parametrize("name", READ_ONLY)
def test_a_superuser_reads_every_row_and_changes_none(client, admin_user, both, name):
    mine, theirs = both
    client.force_login(admin_user)
    assert listed(client, name) == {mine[name].pk, theirs[name].pk}
    change = reverse(f"admin:registry_{name}_change", args=[mine[name].pk])
    page = client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get(reverse(f"admin:registry_{name}_add")).status_code == 403
    assert client.post(change, {}).status_code == 403
    delete = reverse(f"admin:registry_{name}_delete", args=[mine[name].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert type(mine[name]).objects.count() == 2


def test_a_leaderboard_page_shows_its_trials(client, admin_user, both):
    client.force_login(admin_user)
    board = both[0]["leaderboard"]
    page = client.get(reverse("admin:registry_leaderboard_change", args=[board.pk]))
    assert b"mine-algo" in page.content


def test_a_webhook_secret_is_never_shown(client, admin_user, both):
    client.force_login(admin_user)
    endpoint = both[0]["webhookendpoint"]
    for url in (
        reverse("admin:registry_webhookendpoint_changelist"),
        reverse("admin:registry_webhookendpoint_change", args=[endpoint.pk]),
    ):
        html = client.get(url).content.decode()
        assert "mine.example.com" in html
        assert SECRET not in html
        assert endpoint.secret_encrypted not in html
        assert "secret" not in html.lower()


@pytest.mark.parametrize("name", READ_ONLY)
def test_a_staff_user_reads_their_own_rows_only(owner, both, name):
    mine, theirs = both
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    owner.user_permissions.add(Permission.objects.get(codename=f"view_{name}"))
    client = Client()
    client.force_login(owner)
    assert listed(client, name) == {mine[name].pk}
    change = reverse(f"admin:registry_{name}_change", args=[theirs[name].pk])
    assert client.get(change).status_code in (302, 404)
