"""Moving the production and staging aliases: a confirmation page, then one atomic move."""

import pytest
from django.urls import reverse

from registry.models import Alias
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db

URL = reverse("alias_move", args=["churn"])


def production(model):
    alias = Alias.objects.filter(model=model, name="production").select_related("version").first()
    return alias.version.version if alias else None


def test_it_asks_for_confirmation_and_changes_nothing_yet(owner_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=1))
    response = owner_client.get(URL, {"alias": "production", "version": 2})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Move production to v2?" in html
    assert "points at <strong>v1</strong> now" in html
    assert '<button type="submit" class="button primary">Move production to v2</button>' in html
    assert 'method="post" action="/models/churn/aliases/"' in html
    assert production(model) == 1


def test_it_moves_the_alias_when_confirmed(owner_client, owner, make_model):
    model = make_model("churn", versions=2)
    response = owner_client.post(URL, {"alias": "production", "version": 2, "action": "move"})
    assert response.status_code == 302
    assert response["Location"] == "/models/churn/"
    assert production(model) == 2
    alias = Alias.objects.get(model=model, name="production")
    assert alias.updated_by == owner
    follow = owner_client.get(response["Location"]).content.decode()
    assert "The production alias now points at v2." in follow


def test_it_moves_staging_too(owner_client, make_model):
    model = make_model("churn", versions=1)
    owner_client.post(URL, {"alias": "staging", "version": 1})
    assert Alias.objects.get(model=model).name == "staging"


def test_it_removes_an_alias(owner_client, make_model):
    model = make_model("churn", versions=1)
    model.aliases.create(name="production", version=model.versions.get())
    confirm = owner_client.get(URL, {"alias": "production", "version": 1, "action": "remove"})
    assert b"Remove the production alias of churn?" in confirm.content
    response = owner_client.post(URL, {"alias": "production", "version": 1, "action": "remove"})
    assert response.status_code == 302
    assert not model.aliases.exists()


@pytest.mark.parametrize(
    ("version", "message"),
    [(2, "v2 is running: only a ready version can take an alias."), (9, "churn has no version 9.")],
)
def test_it_explains_why_a_version_cannot_take_the_alias(
    owner_client, make_model, version, message
):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="running")
    page = owner_client.get(URL, {"alias": "production", "version": version})
    assert message in page.content.decode()
    assert 'method="post"' not in page.content.decode().split("<main")[1]
    posted = owner_client.post(URL, {"alias": "production", "version": version})
    assert posted.status_code == 200
    assert b'class="alert alert-error"' in posted.content
    assert production(model) is None


def test_it_refuses_an_unknown_alias(owner_client, make_model):
    model = make_model("churn", versions=1)
    response = owner_client.post(URL, {"alias": "canary", "version": 1})
    assert response.status_code == 400
    assert b"Select a valid choice. canary is not one of the available choices." in response.content
    assert not model.aliases.exists()


def test_it_does_not_let_another_user_move_an_alias(other_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=1))
    assert other_client.get(URL, {"alias": "production", "version": 2}).status_code == 403
    response = other_client.post(URL, {"alias": "production", "version": 2})
    assert response.status_code == 403
    assert b"you can use it, not change it" in response.content
    assert production(model) == 1
