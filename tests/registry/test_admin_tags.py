"""The admin lists tags: read only (the pages and the API write them, recorded), inline on
the model and version pages and in their own lists, where a staff user who is not a
superuser sees the tags of their own models only."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from registry.models import ModelTag, VersionTag

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(make_model, other):
    mine = make_model("mine")
    theirs = make_model("theirs", user=other)
    ModelTag.objects.create(model=mine, key="team", value="growth")
    ModelTag.objects.create(model=theirs, key="team", value="secret-project")
    VersionTag.objects.create(version=mine.versions.get(), key="dataset", value="q3-mine")
    VersionTag.objects.create(version=theirs.versions.get(), key="dataset", value="q3-theirs")
    return mine, theirs


def test_a_superuser_lists_every_tag_and_changes_none(client, admin_user, tagged):
    mine, _ = tagged
    client.force_login(admin_user)
    html = client.get(reverse("admin:registry_modeltag_changelist")).content.decode()
    assert "growth" in html
    assert "secret-project" in html
    html = client.get(reverse("admin:registry_versiontag_changelist")).content.decode()
    assert "q3-mine" in html
    assert "q3-theirs" in html
    assert client.get(reverse("admin:registry_modeltag_add")).status_code == 403
    tag = ModelTag.objects.get(model=mine)
    change_url = reverse("admin:registry_modeltag_change", args=[tag.pk])
    assert client.post(change_url, {"key": "team", "value": "x"}).status_code == 403
    delete_url = reverse("admin:registry_modeltag_delete", args=[tag.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert ModelTag.objects.get(pk=tag.pk).value == "growth"
    assert ModelTag.objects.count() == 2


def test_the_model_and_version_pages_show_their_tags_inline(client, admin_user, tagged):
    mine, _ = tagged
    client.force_login(admin_user)
    page = client.get(reverse("admin:registry_registeredmodel_change", args=[mine.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "growth" in html
    assert "secret-project" not in html
    version = mine.versions.get()
    page = client.get(reverse("admin:registry_modelversion_change", args=[version.pk]))
    assert page.status_code == 200
    assert "q3-mine" in page.content.decode()
    found = client.get(reverse("admin:registry_registeredmodel_changelist"), {"q": "growth"})
    assert ">mine<" in found.content.decode()
    assert ">theirs<" not in found.content.decode()


def test_a_staff_user_lists_the_tags_of_their_own_models_only(owner, tagged):
    _, theirs = tagged
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    owner.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_modeltag", "view_versiontag"])
    )
    client = Client()
    client.force_login(owner)
    html = client.get(reverse("admin:registry_modeltag_changelist")).content.decode()
    assert "growth" in html
    assert "secret-project" not in html
    html = client.get(reverse("admin:registry_versiontag_changelist")).content.decode()
    assert "q3-mine" in html
    assert "q3-theirs" not in html
    theirs_tag = ModelTag.objects.get(model=theirs)
    response = client.get(reverse("admin:registry_modeltag_change", args=[theirs_tag.pk]))
    assert response.status_code == 302  # "does not exist": back to the admin index
    assert ModelTag.objects.count() == 2
