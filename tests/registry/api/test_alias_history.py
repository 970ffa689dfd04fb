"""GET /api/v1/models/{name}/aliases/{alias}[?at=...]: what an alias points at now, or
pointed at then; POST .../rollback: back to the version before its last change."""

from datetime import UTC, datetime

import pytest

from registry import services
from registry.models import AuditEntry
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db
URL = "/models/churn/aliases/production"


def moved(model, owner, before, after, when: str | None = None) -> None:
    """A recorded move (at `when`, an ISO time, to set the history's clock)."""
    if when is None:
        services.alias_move(
            model=model, name="production", version_number=after, user=owner, via="api"
        )
        return
    AuditEntry.objects.create(
        created_at=datetime.fromisoformat(when),
        actor=owner,
        via="api",
        action="alias.move",
        model=model,
        version=model.versions.get(version=after),
        before={"alias": "production", "version": before},
        after={"alias": "production", "version": after},
    )


def test_it_answers_what_production_pointed_at_at_a_time(owner_api, owner, make_model):
    model = make_model("churn", versions=3)
    moved(model, owner, None, 1, "2026-11-30T09:00:00+00:00")
    moved(model, owner, 1, 2, "2026-12-01T09:30:00+00:00")
    moved(model, owner, 2, 3, "2026-12-01T11:00:00+00:00")
    model.aliases.create(name="production", version=model.versions.get(version=3))

    response = owner_api.get(URL + "?at=2026-12-01T10:00:00Z")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "model": "churn",
        "alias": "production",
        "version": 2,
        "since": "2026-12-01T09:30:00Z",
        "at": "2026-12-01T10:00:00Z",
    }
    # Another offset, the same moment; no offset is UTC.
    assert owner_api.get(URL + "?at=2026-12-01T11:00:00%2B01:00").json()["version"] == 2
    assert owner_api.get(URL + "?at=2026-12-01T10:59:59").json()["version"] == 2
    assert owner_api.get(URL + "?at=2026-12-01T11:00:00Z").json()["version"] == 3
    assert owner_api.get(URL + "?at=2026-11-30T12:00:00Z").json()["version"] == 1
    now = owner_api.get(URL).json()
    assert (now["version"], now["since"], now["at"]) == (3, "2026-12-01T11:00:00Z", None)


def test_it_refuses_a_time_before_the_history_or_not_a_time(owner_api, owner, make_model):
    model = make_model("churn", versions=1)
    moved(model, owner, None, 1, "2026-12-01T09:00:00+00:00")
    assert_problem(
        owner_api.get(URL + "?at=2026-12-01T08:59:59Z"),
        404,
        "churn had no production alias at 2026-12-01T08:59:59Z, as far as its history "
        "tells (its recorded history starts at 2026-12-01T09:00:00Z).",
    )
    assert_problem(owner_api.get(URL + "?at=yesterday"), 422)
    assert_problem(owner_api.get(URL + "?at=2026-13-01T00:00:00Z"), 422)
    assert_problem(owner_api.get("/models/churn/aliases/staging"), 404, "no alias 'staging'")
    assert_problem(owner_api.get("/models/nope/aliases/production"), 404)
    # The extremes of a datetime, whatever their offset, are answered, not a 500; a time
    # still to come is answered with what the alias points at now.
    assert owner_api.get(URL + "?at=9999-12-31T23:59:59-14:00").json()["version"] == 1
    assert owner_api.get(URL + "?at=0001-01-01T00:00:00%2B14:00").status_code == 404


def test_a_reader_who_does_not_own_the_model_may_ask(other_api, owner, make_model):
    model = make_model("churn", versions=1)
    moved(model, owner, None, 1)
    assert other_api.get(URL).json()["version"] == 1


def test_it_rolls_production_back(owner_api, owner, make_model):
    model = make_model("churn", versions=2)
    moved(model, owner, None, 1)
    moved(model, owner, 1, 2)

    response = owner_api.post(URL + "/rollback")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["model"], body["alias"], body["version"], body["previous"]) == (
        "churn",
        "production",
        1,
        2,
    )
    assert model.aliases.get(name="production").version.version == 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.via, entry.actor, entry.before, entry.after) == (
        "alias.rollback",
        "api",
        owner,
        {"alias": "production", "version": 2},
        {"alias": "production", "version": 1},
    )
    assert owner_api.get(URL).json()["version"] == 1
    assert datetime.fromisoformat(body["updated_at"]) <= datetime.now(UTC)


def test_a_rollback_with_nowhere_to_go_is_a_409(owner_api, owner, make_model):
    model = make_model("churn", versions=2)
    assert_problem(owner_api.post(URL + "/rollback"), 404, "nothing to roll back")
    moved(model, owner, None, 1)
    assert_problem(owner_api.post(URL + "/rollback"), 409, "no earlier version to go back to")
    assert AuditEntry.objects.count() == 1


def test_another_user_cannot_roll_back(other_api, owner, make_model):
    model = make_model("churn", versions=2)
    moved(model, owner, None, 1)
    moved(model, owner, 1, 2)
    assert_problem(other_api.post(URL + "/rollback"), 403)
    assert model.aliases.get(name="production").version.version == 2
    assert AuditEntry.objects.count() == 2
