"""API tokens: created with scopes, models and an expiry and shown once, listed with their
last use, revoked."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from registry import tokens
from registry.models import ApiToken
from tests.registry.conftest import page_queries

pytestmark = pytest.mark.django_db


def test_it_creates_a_token_and_shows_it_once(owner_client, owner):
    response = owner_client.post(
        reverse("token_list"), {"name": "nightly job", "scopes": ["predict", "read"]}
    )
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
    owner_client.post(reverse("token_list"), {"name": "", "scopes": ["read"]})
    assert ApiToken.objects.get().name == "API token"


def test_it_explains_a_name_that_is_too_long(owner_client):
    response = owner_client.post(reverse("token_list"), {"name": "x" * 101, "scopes": ["read"]})
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


def test_it_offers_the_least_scopes_by_default(owner_client, settings):
    settings.MLSERVE_TOKEN_MAX_DAYS = 90
    html = owner_client.get(reverse("token_list")).content.decode()
    for scope in ("predict", "read", "write", "admin"):
        assert f'value="{scope}"' in html
    checked = [
        part.split('value="')[1].split('"')[0]
        for part in html.split("<input")[1:]
        if 'name="scopes"' in part and "checked" in part.split(">")[0]
    ]
    assert checked == ["predict", "read"]
    assert 'max="90"' in html
    assert "At most 90; empty: 90." in html


def test_it_creates_a_token_with_scopes_models_and_an_expiry(owner_client, owner, churn):
    response = owner_client.post(
        reverse("token_list"),
        {"name": "scorer", "scopes": ["predict"], "models": " churn , ", "expires_in_days": "7"},
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert (token.scopes, token.model_names) == (["predict"], ["churn"])
    days = (token.expires_at - timezone.now()) / timedelta(days=1)
    assert 6.99 < days <= 7
    html = response.content.decode()
    assert "Scopes: predict; on churn; until" in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"scopes": []}, "scopes", "Pick at least one scope."),
        ({"scopes": ["root"]}, "scopes", "Select a valid choice. root is not one of"),
        ({"models": "churn, ghost"}, "models", "There is no model named &#x27;ghost&#x27;."),
        ({"expires_in_days": "91"}, "expires_in_days", "less than or equal to 90"),
        ({"expires_in_days": "0"}, "expires_in_days", "greater than or equal to 1"),
    ],
)
def test_it_explains_what_is_wrong_and_creates_nothing(
    owner_client, churn, settings, fields, field, message
):
    settings.MLSERVE_TOKEN_MAX_DAYS = 90
    response = owner_client.post(reverse("token_list"), {"name": "x", "scopes": ["read"], **fields})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert field in response.context["form"].errors
    assert "data-new-token" not in html
    assert not ApiToken.objects.exists()


def test_it_lists_scopes_models_expiry_and_the_last_address(owner_client, owner, churn):
    record, _ = tokens.token_create(
        user=owner, name="scorer", scopes=["predict", "read"], models=["churn"]
    )
    ApiToken.objects.filter(pk=record.pk).update(
        last_used_at=timezone.now(), last_used_from="203.0.113.9"
    )
    expired, _ = tokens.token_create(user=owner, name="old")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    html = owner_client.get(reverse("token_list")).content.decode()
    assert "<td>predict, read</td>" in html
    assert "<td>churn</td>" in html
    assert "from 203.0.113.9" in html
    assert f"{record.expires_at:%Y-%m-%d}" in html
    assert "expired</span>" in html
