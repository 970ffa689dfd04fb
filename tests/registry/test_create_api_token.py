"""`manage.py create_api_token`: scopes, models and an expiry, checked like the page's."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from registry.models import TOKEN_SCOPES, ApiToken
from tests.conftest import ApiClient, assert_problem

pytestmark = pytest.mark.django_db


def run(capsys, *args: str) -> str:
    call_command("create_api_token", *args)
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_it_gives_every_scope_and_the_longest_life_by_default(owner, capsys, settings):
    settings.MLSERVE_TOKEN_MAX_DAYS = 90
    run(capsys, "olivia")
    token = ApiToken.objects.get(user=owner)
    assert token.scopes == list(TOKEN_SCOPES)
    assert token.model_names == []
    assert timezone.now() + timedelta(days=89) < token.expires_at
    assert token.expires_at <= timezone.now() + timedelta(days=90)


def test_it_sets_scopes_models_and_an_expiry(owner, churn, capsys, client):
    text = run(
        capsys, "olivia", "--scope", "predict", "--scope", "read", "--model", "churn",
        "--expires-in", "7",
    )  # fmt: skip
    token = ApiToken.objects.get(user=owner)
    assert token.scopes == ["predict", "read"]
    assert token.model_names == ["churn"]
    days = (token.expires_at - timezone.now()) / timedelta(days=1)
    assert 6.99 < days <= 7
    api = ApiClient(client, text)
    assert api.get("/models/churn").status_code == 200
    assert_problem(api.delete("/models/churn"), 403, "'write'")


def test_it_refuses_an_unknown_scope(owner):
    with pytest.raises(CommandError, match="invalid choice: 'root'"):
        call_command("create_api_token", "olivia", "--scope", "root")
    assert not ApiToken.objects.exists()


def test_it_refuses_an_unknown_model(owner):
    with pytest.raises(CommandError, match="There is no model named 'ghost'"):
        call_command("create_api_token", "olivia", "--model", "ghost")
    assert not ApiToken.objects.exists()


def test_it_refuses_an_expiry_past_the_longest_life(owner, settings):
    settings.MLSERVE_TOKEN_MAX_DAYS = 30
    with pytest.raises(CommandError, match="at most 30 days"):
        call_command("create_api_token", "olivia", "--expires-in", "31")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("create_api_token", "olivia", "--expires-in", "0")
    assert not ApiToken.objects.exists()
