"""The admin's API tokens (read, renamed, revoked; never the token or its hash) and prediction
log (read only, filtered by model, version and time); a staff user who is not a superuser
sees their own tokens and the log of their own models only."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from registry import tokens
from registry.models import ApiToken, PredictionLog
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def staff_client(user, *codenames: str) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


# Tokens ---------------------------------------------------------------------------------


@pytest.fixture
def two_tokens(owner, other):
    mine, mine_text = tokens.token_create(user=owner, name="mine", scopes=["read"])
    theirs, theirs_text = tokens.token_create(user=other, name="theirs")
    return mine, mine_text, theirs, theirs_text


def test_a_superuser_lists_every_token_and_never_its_secret(client, admin_user, two_tokens):
    mine, mine_text, theirs, theirs_text = two_tokens
    client.force_login(admin_user)
    html = client.get(reverse("admin:registry_apitoken_changelist")).content.decode()
    assert "mine" in html
    assert "theirs" in html
    assert f"mls_{mine.prefix}_…" in html
    page = client.get(reverse("admin:registry_apitoken_change", args=[mine.pk])).content.decode()
    for secret in (mine_text, mine.token_hash, theirs_text, theirs.token_hash):
        assert secret not in html
        assert secret not in page
    assert "token_hash" not in page
    assert client.get(reverse("admin:registry_apitoken_add")).status_code == 403
    delete = reverse("admin:registry_apitoken_delete", args=[mine.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ApiToken.objects.count() == 2


def test_a_superuser_revokes_tokens_from_the_list(client, admin_user, two_tokens):
    mine, mine_text, theirs, _ = two_tokens
    api = ApiClient(Client(), mine_text)
    assert api.get("/algorithms").status_code == 200
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:registry_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    assert "Revoked 2 tokens: they no longer work." in response.content.decode()
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 2
    assert api.get("/algorithms").status_code == 401  # at once in this process


def test_a_staff_user_sees_and_revokes_their_own_tokens_only(owner, two_tokens):
    mine, _, theirs, _ = two_tokens
    client = staff_client(owner, "view_apitoken", "change_apitoken")
    html = client.get(reverse("admin:registry_apitoken_changelist")).content.decode()
    assert "mine" in html
    assert "theirs" not in html
    change = reverse("admin:registry_apitoken_change", args=[theirs.pk])
    assert client.get(change).status_code in (302, 404)
    client.post(
        reverse("admin:registry_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [mine.pk, theirs.pk]},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None


def test_a_staff_user_renames_a_token_and_nothing_else(owner, two_tokens):
    mine, *_ = two_tokens
    client = staff_client(owner, "view_apitoken", "change_apitoken")
    change = reverse("admin:registry_apitoken_change", args=[mine.pk])
    response = client.post(change, {"name": "renamed", "scopes": '["admin"]', "prefix": "x"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.name, mine.scopes) == ("renamed", ["read"])
    assert ApiToken.objects.filter(prefix=mine.prefix).exists()


# Prediction log -------------------------------------------------------------------------


@pytest.fixture
def logged(owner, other, make_model):
    """Rows for churn v1 and v2 (olivia's), and for theirs v1 (oscar's); one churn v1 row old."""
    churn = make_model("churn", versions=2)
    theirs = make_model("theirs", user=other)
    now = timezone.now()

    def row(version, *, days_ago=0, n_rows=1):
        return PredictionLog.objects.create(
            version=version,
            created_at=now - timedelta(days=days_ago),
            source="api",
            status=200,
            latency_ms=1.5,
            n_rows=n_rows,
            inputs=[{"x": 1}],
            outputs={"predictions": ["yes"]},
        )

    v1, v2 = churn.versions.get(version=1), churn.versions.get(version=2)
    return {
        "churn v1": row(v1, n_rows=11),
        "churn v1 old": row(v1, days_ago=40, n_rows=12),
        "churn v2": row(v2, n_rows=13),
        "theirs v1": row(theirs.versions.get(), n_rows=14),
    }


def listed(client, **query) -> set[int]:
    response = client.get(reverse("admin:registry_predictionlog_changelist"), query)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_a_superuser_reads_every_row_and_changes_none(client, admin_user, logged):
    client.force_login(admin_user)
    assert listed(client) == {row.pk for row in logged.values()}
    row = logged["churn v1"]
    change = reverse("admin:registry_predictionlog_change", args=[row.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get(reverse("admin:registry_predictionlog_add")).status_code == 403
    assert client.post(change, {"status": 500}).status_code == 403
    delete = reverse("admin:registry_predictionlog_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert PredictionLog.objects.get(pk=row.pk).status == 200
    assert PredictionLog.objects.count() == 4


def test_the_log_filters_by_model_version_and_time(client, admin_user, logged):
    client.force_login(admin_user)
    churn = {logged[k].pk for k in ("churn v1", "churn v1 old", "churn v2")}
    assert listed(client, model="churn") == churn
    assert listed(client, model="churn", version="1") == churn - {logged["churn v2"].pk}
    assert listed(client, model="theirs") == {logged["theirs v1"].pk}
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()
    recent = listed(client, model="churn", created_at__gte=week_ago)
    assert recent == churn - {logged["churn v1 old"].pk}
    html = client.get(reverse("admin:registry_predictionlog_changelist"), {"model": "churn"})
    assert b"?model=churn&amp;version=2" in html.content  # the version filter, once a model is


def test_a_staff_user_reads_the_log_of_their_own_models_only(owner, logged):
    client = staff_client(owner, "view_predictionlog")
    mine = {logged[k].pk for k in ("churn v1", "churn v1 old", "churn v2")}
    assert listed(client) == mine
    assert listed(client, model="theirs") == set()  # not theirs to read, even by name
    html = client.get(reverse("admin:registry_predictionlog_changelist")).content.decode()
    assert "theirs" not in html  # not even as a filter choice
    theirs = reverse("admin:registry_predictionlog_change", args=[logged["theirs v1"].pk])
    assert client.get(theirs).status_code in (302, 404)
