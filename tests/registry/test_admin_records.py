"""The admin registers every record. Leaderboards (with their trials) are read there and
changed nowhere (their pages and the API start and cancel them); a staff user who is not a
superuser sees their own only. (Tokens and the prediction log: test_admin_tokens_predlog.py;
feedback, webhooks and alert rules: test_admin_alerts.py.)"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from registry.models import BatchChunk, BatchJob, Leaderboard, Trial

pytestmark = pytest.mark.django_db


def test_every_record_is_registered():
    registered = set(admin.site._registry)
    # Trials are shown on their leaderboard's page; a batch job's chunks are its insides
    # (their input and result bytes), counted on its page.
    assert set(apps.get_app_config("registry").get_models()) - registered == {Trial, BatchChunk}


def test_a_staff_user_reads_their_own_batch_jobs_only(client, owner, other):
    owner.is_staff = True
    owner.save()
    owner.user_permissions.add(Permission.objects.get(codename="view_batchjob"))
    mine, theirs = (
        BatchJob.objects.create(owner=user, model_name=name, version_number=1, header=b"a\n")
        for user, name in ((owner, "mine"), (other, "theirs"))
    )
    client.force_login(owner)
    response = client.get(reverse("admin:registry_batchjob_changelist"))
    assert response.status_code == 200
    assert {obj.pk for obj in response.context["cl"].result_list} == {mine.pk}
    page = client.get(reverse("admin:registry_batchjob_change", args=[mine.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    hidden = client.get(reverse("admin:registry_batchjob_change", args=[theirs.pk]))
    assert hidden.status_code == 302  # the admin's "does not exist" redirect


def make_board(user, name: str) -> Leaderboard:
    board = Leaderboard.objects.create(
        owner=user,
        dataset_name=f"{name}-data",
        dataset_sha256="0" * 64,
        target="churned",
        task="classifier",
        metric="accuracy",
    )
    Trial.objects.create(leaderboard=board, number=1, algorithm=f"{name}-algo")
    return board


@pytest.fixture
def boards(owner, other):
    return make_board(owner, "mine"), make_board(other, "theirs")


def listed(client) -> set[int]:
    response = client.get(reverse("admin:registry_leaderboard_changelist"))
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_a_superuser_reads_every_leaderboard_and_changes_none(client, admin_user, boards):
    mine, theirs = boards
    client.force_login(admin_user)
    assert listed(client) == {mine.pk, theirs.pk}
    change = reverse("admin:registry_leaderboard_change", args=[mine.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert b"mine-algo" in page.content  # its trials
    assert b'name="_save"' not in page.content
    assert client.get(reverse("admin:registry_leaderboard_add")).status_code == 403
    assert client.post(change, {"target": "x"}).status_code == 403
    delete = reverse("admin:registry_leaderboard_delete", args=[mine.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Leaderboard.objects.get(pk=mine.pk).target == "churned"
    assert Trial.objects.count() == 2


def test_a_staff_user_reads_their_own_leaderboards_only(owner, boards):
    mine, theirs = boards
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    owner.user_permissions.add(Permission.objects.get(codename="view_leaderboard"))
    client = Client()
    client.force_login(owner)
    assert listed(client) == {mine.pk}
    change = reverse("admin:registry_leaderboard_change", args=[theirs.pk])
    assert client.get(change).status_code in (302, 404)


def test_a_staff_user_without_the_permission_gets_403_on_a_history_page(owner, other, boards):
    """Django's history page looks the row up first: a row hidden from the user would send
    them to the index instead of refusing (registry/admin.py's OwnRowsAdmin)."""
    _, theirs = boards
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(owner)
    history = reverse("admin:registry_leaderboard_history", args=[theirs.pk])
    assert client.get(history).status_code == 403
