"""Tokens and sessions: who may call the API."""

import time

import pytest
from django.core.management import call_command
from django.test import Client

from registry import tokens
from registry.models import ApiToken, Dataset
from tests.conftest import ApiClient, assert_problem, demo_bytes

pytestmark = pytest.mark.django_db


def test_it_answers_401_without_a_token(anon_api):
    body = assert_problem(anon_api.get("/algorithms"), 401, "API token")
    assert body["title"] == "Authentication required"


def test_it_answers_401_with_a_bad_token(client):
    for header in ("Bearer nope", "Bearer mls_deadbeef_wrong", "Basic abc", "Bearer "):
        response = client.get("/api/v1/algorithms", headers={"Authorization": header})
        assert_problem(response, 401)


def test_it_answers_401_not_csrf_for_an_unauthenticated_post(anon_api):
    assert_problem(anon_api.post("/models", {"name": "x"}), 401)


def test_a_valid_token_works_and_records_its_last_use(owner_api, owner):
    assert owner_api.get("/algorithms").status_code == 200
    token = ApiToken.objects.get(user=owner)
    assert token.last_used_at is not None


def test_only_a_hash_of_the_token_is_stored(owner):
    record, token = tokens.token_create(user=owner, name="ci")
    stored = ApiToken.objects.get(pk=record.pk)
    assert token not in (stored.token_hash, stored.prefix)
    assert token.startswith(f"mls_{stored.prefix}_")
    assert len(stored.token_hash) == 64


def test_a_revoked_token_stops_working_within_2_seconds(client, owner):
    record, token = tokens.token_create(user=owner, name="ci")
    api = ApiClient(client, token)
    assert api.get("/algorithms").status_code == 200  # now cached in this process
    tokens.token_revoke(token=record, user=owner)
    started = time.monotonic()
    while api.get("/algorithms").status_code == 200:
        assert time.monotonic() - started < 2.0, "revoked token still accepted after 2 s"
        time.sleep(0.05)
    assert_problem(api.get("/algorithms"), 401)


def test_a_token_of_an_inactive_user_is_refused(client, owner):
    _, token = tokens.token_create(user=owner, name="ci")
    owner.is_active = False
    owner.save()
    tokens.forget_tokens()
    assert_problem(ApiClient(client, token).get("/algorithms"), 401)


def test_a_session_works_and_needs_csrf_for_unsafe_methods(owner):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.get("/api/v1/algorithms").status_code == 200
    response = browser.post(
        "/api/v1/datasets?name=x", data=b"a,b\n1,2\n3,4\n", content_type="text/csv"
    )
    assert_problem(response, 403, "CSRF")
    assert not Dataset.objects.exists()
    browser.get("/api/v1/docs")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        "/api/v1/datasets?name=x",
        data=demo_bytes("houses.csv"),
        content_type="text/csv",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201, response.content
    assert Dataset.objects.filter(owner=owner, name="x").exists()


def test_create_api_token_prints_the_token_alone_on_its_last_line(owner, capsys, client):
    call_command("create_api_token", "olivia", "--name", "deploy")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("mls_")
    assert " " not in last
    assert ApiToken.objects.get(user=owner).name == "deploy"
    assert ApiClient(client, last).get("/algorithms").status_code == 200


def test_create_api_token_refuses_an_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost")
