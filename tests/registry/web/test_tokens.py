"""API tokens: created and shown once, listed with their last use, revoked."""

import pytest
from django.urls import reverse
from django.utils import timezone

from registry import tokens
from registry.models import ApiToken
from tests.registry.conftest import page_queries

pytestmark = pytest.mark.django_db


def test_it_creates_a_token_and_shows_it_once(owner_client, owner):
    response = owner_client.post(reverse("token_list"), {"name": "nightly job"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (owner, "nightly job")
    text = html.split("data-new-token")[0].rsplit('value="', 1)[1].split('"')[0]
    assert text.startswith(f"mls_{token.prefix}_")
    assert "it is shown only this once" in html
    assert tokens.authenticate(text).user.pk == owner.pk
    assert text not in owner_client.get(reverse("token_list")).content.decode()
    assert token.token_hash != text


def test_it_names_an_unnamed_token(owner_client, owner):
    owner_client.post(reverse("token_list"), {"name": ""})
    assert ApiToken.objects.get().name == "API token"


def test_it_explains_a_name_that_is_too_long(owner_client):
    response = owner_client.post(reverse("token_list"), {"name": "x" * 101})
    assert response.status_code == 200
    assert b"Ensure this value has at most 100 characters (it has 101)." in response.content
    assert not ApiToken.objects.exists()


def test_it_lists_your_tokens_with_their_last_use(owner_client, owner, other):
    used, _ = tokens.token_create(user=owner, name="used")
    ApiToken.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    tokens.token_create(user=owner, name="unused")
    tokens.token_create(user=other, name="not-yours")
    html = owner_client.get(reverse("token_list")).content.decode()
    assert "<td>used</td>" in html
    assert "just now" in html
    assert "never" in html
    assert f"mls_{used.prefix}_…" in html
    assert "not-yours" not in html
    assert ApiToken.objects.count() == 3


def test_it_revokes_a_token(owner_client, owner):
    record, text = tokens.token_create(user=owner, name="old")
    response = owner_client.post(reverse("token_revoke", args=[record.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("token_list")
    record.refresh_from_db()
    assert record.revoked_at is not None
    tokens.forget_tokens()
    assert tokens.authenticate(text) is None
    html = owner_client.get(reverse("token_list")).content.decode()
    assert "Revoked the token old: it no longer works." in html
    assert "revoked</span>" in html


def test_it_does_not_let_another_user_revoke_it(other_client, owner):
    record, _ = tokens.token_create(user=owner, name="mine")
    assert other_client.post(reverse("token_revoke", args=[record.pk])).status_code == 404
    record.refresh_from_db()
    assert record.revoked_at is None


def test_it_runs_a_fixed_number_of_queries(owner_client, owner):
    tokens.token_create(user=owner, name="one")
    few = page_queries(owner_client, reverse("token_list"))
    for i in range(30):
        tokens.token_create(user=owner, name=f"t{i}")
    many = page_queries(owner_client, reverse("token_list"))
    assert len(many) == len(few) <= 4
    assert ApiToken.objects.count() == 31
