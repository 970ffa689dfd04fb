"""The admin's audit log: read-only (no add, change or delete, not even for a superuser),
and a staff user who is not a superuser sees the entries of their own models only."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from registry import services
from registry.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(churn, owner, other, make_model):
    services.set_threshold(churn, 0.3, actor=owner, via="page")
    theirs = make_model("theirs", user=other)
    AuditEntry.objects.create(
        actor=other,
        via="api",
        action="threshold.set",
        model=theirs,
        version=theirs.versions.get(),
        before={"threshold": None},
        after={"threshold": 0.8},
    )
    return AuditEntry.objects.order_by("id")


def test_a_superuser_reads_every_entry_and_changes_none(client, admin_user, entries):
    client.force_login(admin_user)
    listing = client.get(reverse("admin:registry_auditentry_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "churn" in html
    assert "theirs" in html
    entry = entries.first()
    change_url = reverse("admin:registry_auditentry_change", args=[entry.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get(reverse("admin:registry_auditentry_add")).status_code == 403
    assert client.post(change_url, {"via": "admin"}).status_code == 403
    delete_url = reverse("admin:registry_auditentry_delete", args=[entry.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).via == "page"
    assert AuditEntry.objects.count() == 2


def test_a_staff_user_sees_the_entries_of_their_own_models_only(entries, owner):
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    owner.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    client = Client()
    client.force_login(owner)
    listing = client.get(reverse("admin:registry_auditentry_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "churn" in html
    assert "theirs" not in html
    theirs = entries.get(model__name="theirs")
    assert client.get(
        reverse("admin:registry_auditentry_change", args=[theirs.pk])
    ).status_code in (302, 404)
