"""PUT /api/v1/models/{name}/aliases/{alias} with a canary and a shadow; POST
.../canary/promote and DELETE .../canary: each change recorded, errors problem+json."""

from __future__ import annotations

import pytest

from registry import selectors, serving
from registry.models import Alias, AuditEntry
from tests.conftest import assert_problem
from tests.registry.monitoring.conftest import CHURN_ROW

pytestmark = pytest.mark.django_db

URL = "/models/churn/aliases/production"


def state(model) -> dict:
    return selectors.rollout_state(model)["production"]


def actions(model) -> list[tuple[str, dict, dict]]:
    return [
        (e.action, e.via, e.before, e.after)
        for e in AuditEntry.objects.filter(model=model).order_by("id")
    ]


def test_it_sets_a_canary_and_a_shadow_and_records_each_change(owner_api, owner, rollout):
    body = {"version": 1, "canary": {"version": 2, "percent": 10}, "shadow": {"version": 3}}
    response = owner_api.put(URL, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["canary"] == {"version": 2, "percent": 10.0}
    assert (answer["version"], answer["shadow"]) == (1, 3)
    assert state(rollout) == {
        "champion": 1,
        "canary": {"version": 2, "percent": 10.0},
        "shadow": 3,
    }
    alias = Alias.objects.get(model=rollout, name="production")
    assert alias.canary_version.version == 2
    assert alias.shadow_version.version == 3
    assert actions(rollout) == [
        (
            "alias.canary",
            "api",
            {"alias": "production", "canary": None},
            {"alias": "production", "canary": {"version": 2, "percent": 10.0}},
        ),
        ("alias.shadow", "api", {"alias": "production", "shadow": None},
         {"alias": "production", "shadow": 3}),
    ]  # fmt: skip
    # Served at once by this process.
    served = serving.resolve("churn")
    assert (served.canary.version, served.canary_percent, served.shadow.version) == (2, 10.0, 3)

    # The same PUT again changes nothing and records nothing; omitting them ends both.
    assert owner_api.put(URL, body).status_code == 200
    assert len(actions(rollout)) == 2
    response = owner_api.put(URL, {"version": 1})
    assert response.json()["canary"] is None
    assert response.json()["shadow"] is None
    assert state(rollout) == {"champion": 1, "canary": None, "shadow": None}
    assert [a[0] for a in actions(rollout)] == [
        "alias.canary",
        "alias.shadow",
        "alias.canary",
        "alias.shadow",
    ]
    assert serving.resolve("churn").canary is None


def test_promote_makes_the_canary_the_version_and_ends_the_split(owner_api, owner, rollout):
    owner_api.put(URL, {"version": 1, "canary": {"version": 2, "percent": 25}})
    response = owner_api.post(URL + "/canary/promote")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["version"], answer["previous"], answer["canary"]) == (2, 1, None)
    assert state(rollout) == {"champion": 2, "canary": None, "shadow": None}
    last = AuditEntry.objects.filter(model=rollout).order_by("id").last()
    assert (last.action, last.via, last.actor, last.version.version) == (
        "alias.canary.promote",
        "api",
        owner,
        2,
    )
    assert last.before == {
        "alias": "production",
        "version": 1,
        "canary": {"version": 2, "percent": 25.0},
    }
    assert last.after == {"alias": "production", "version": 2, "canary": None}
    # Every request goes to v2 now, as the champion.
    for _ in range(10):
        got = owner_api.post("/models/churn/predict", {"instances": [CHURN_ROW]}).json()
        assert got["model"] == {"name": "churn", "version": 2, "role": "champion"}
    # The history answers what production was (the promote is a move).
    assert owner_api.get(URL).json()["version"] == 2
    assert_problem(owner_api.post(URL + "/canary/promote"), 409, "has no canary")


def test_end_sends_every_request_back_to_the_alias_version(owner_api, owner, rollout):
    owner_api.put(
        URL, {"version": 1, "canary": {"version": 2, "percent": 99}, "shadow": {"version": 3}}
    )
    response = owner_api.delete(URL + "/canary")
    assert response.status_code == 200, response.content
    assert (response.json()["canary"], response.json()["shadow"]) == (None, 3)
    assert state(rollout) == {"champion": 1, "canary": None, "shadow": 3}
    last = AuditEntry.objects.filter(model=rollout).order_by("id").last()
    assert (last.action, last.before["canary"], last.after["canary"]) == (
        "alias.canary.end",
        {"version": 2, "percent": 99.0},
        None,
    )
    for _ in range(10):
        got = owner_api.post("/models/churn/predict", {"instances": [CHURN_ROW]}).json()
        assert got["model"]["role"] == "champion"
    assert_problem(owner_api.delete(URL + "/canary"), 409, "has no canary to end")


def test_moving_the_alias_to_its_canary_ends_the_canary(owner_api, owner, rollout):
    owner_api.put(URL, {"version": 1, "canary": {"version": 2, "percent": 10}})
    from registry import services

    services.alias_move(model=rollout, name="production", version_number=2, user=owner, via="page")
    assert state(rollout) == {"champion": 2, "canary": None, "shadow": None}
    assert [a[0] for a in actions(rollout)][-2:] == ["alias.canary.end", "alias.move"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"version": 1, "canary": {"version": 2, "percent": 0}}, 422, None),
        ({"version": 1, "canary": {"version": 2, "percent": 100}}, 422, None),
        ({"version": 1, "canary": {"version": 2}}, 422, None),
        ({"version": 1, "canary": {"version": 1, "percent": 10}}, 422, "points at it already"),
        ({"version": 1, "canary": {"version": 9, "percent": 10}}, 404, "no version 9"),
        ({"version": 1, "shadow": {"version": 1}}, 422, "answers this alias"),
        (
            {"version": 1, "canary": {"version": 2, "percent": 5}, "shadow": {"version": 2}},
            422,
            "answers this alias",
        ),
        ({"version": 1, "shadow": {"version": 9}}, 404, "no version 9 to be the shadow"),
    ],
)
def test_it_refuses_a_bad_rollout_with_a_problem_and_changes_nothing(
    owner_api, rollout, body, status, detail
):
    assert_problem(owner_api.put(URL, body), status, detail)
    assert state(rollout) == {"champion": 1, "canary": None, "shadow": None}
    assert not AuditEntry.objects.filter(model=rollout).exists()


def test_a_version_not_ready_cannot_be_a_canary(owner_api, rollout, churn):
    from tests.registry.rollout.conftest import add_version

    add_version(churn, 5, status="queued")
    body = {"version": 1, "canary": {"version": 5, "percent": 10}}
    assert_problem(owner_api.put(URL, body), 409, "only a ready version can be a canary")
    assert state(rollout)["canary"] is None


def test_another_user_can_neither_set_promote_nor_end(other_api, owner_api, rollout):
    owner_api.put(URL, {"version": 1, "canary": {"version": 2, "percent": 10}})
    body = {"version": 1, "canary": {"version": 3, "percent": 50}}
    assert_problem(other_api.put(URL, body), 403)
    assert_problem(other_api.post(URL + "/canary/promote"), 403)
    assert_problem(other_api.delete(URL + "/canary"), 403)
    assert state(rollout) == {
        "champion": 1,
        "canary": {"version": 2, "percent": 10.0},
        "shadow": None,
    }
    assert_problem(owner_api.post("/models/churn/aliases/staging/canary/promote"), 404)


def test_a_canary_or_shadow_version_cannot_be_deleted_but_its_model_can(owner_api, owner, rollout):
    owner_api.put(
        URL, {"version": 1, "canary": {"version": 2, "percent": 10}, "shadow": {"version": 3}}
    )
    for number in (2, 3):
        assert_problem(
            owner_api.delete(f"/models/churn/versions/{number}"), 409, "end that rollout first"
        )
    assert rollout.versions.filter(version__in=[2, 3]).count() == 2
    assert owner_api.delete("/models/churn").status_code == 204
    assert not Alias.objects.filter(model_id=rollout.pk).exists()


def test_a_promoted_canary_is_in_the_alias_history_and_rolls_back(owner_api, owner, rollout):
    owner_api.put(URL, {"version": 1, "canary": {"version": 2, "percent": 25}})
    assert owner_api.post(URL + "/canary/promote").status_code == 200
    from django.utils import timezone

    at = timezone.now().isoformat().replace("+00:00", "Z")
    answer = owner_api.get(f"{URL}?at={at}").json()
    assert (answer["version"], answer["at"] is not None) == (2, True)
    assert [e.action for e in selectors.alias_entries(rollout, "production")][:1] == [
        "alias.canary.promote"
    ]
    response = owner_api.post(URL + "/rollback")
    assert response.status_code == 200, response.content
    assert (response.json()["version"], response.json()["previous"]) == (1, 2)
