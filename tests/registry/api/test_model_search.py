"""GET /api/v1/models: search by text, tags, algorithm and target, three orders, and cursor
pages; every filter checked against a list worked out by hand from the rows below."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from registry.models import ModelTag, RegisteredModel
from tests.conftest import assert_problem
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db
PREFIX = "http://testserver/api/v1"

# name: (owner is "other"?, description, tags, versions as (algorithm, target, status,
# metrics), the version production points at, minutes after t0 it was last updated)
ROWS = {
    "alpha": (
        False,
        "Churn of telecom customers",
        {"team": "growth", "stage": "prod"},
        [("logistic_regression", "churned", "ready", {"accuracy": 0.8})],
        1,
        5,
    ),
    "beta": (
        True,
        "House prices by area",
        {"team": "growth", "docs": "https://example.com/beta"},
        [("linear_regression", "price", "ready", {"r2": 0.9})],
        None,
        1,
    ),
    "gamma": (
        False,
        "",
        {"team": "risk", "stage": "prod"},
        [
            ("logistic_regression", "churned", "ready", {"accuracy": 0.95}),
            ("decision_tree_classifier", "churned", "ready", {"accuracy": 0.6}),
        ],
        2,
        3,
    ),
    "delta": (
        False,
        "Fraud CHURN check",
        {"stage": "dev"},
        [("svm", "fraud", "queued", {})],
        None,
        3,
    ),
    "churn-fast": (
        True,
        "",
        {"team": "growth", "stage": "prod"},
        [("knn_classifier", "churned", "ready", {"accuracy": 0.8})],
        1,
        4,
    ),
    "empty": (False, "", {}, [], None, 0),
}


@pytest.fixture
def registry_rows(owner, other):
    t0 = timezone.now() - timedelta(days=1)
    for name, (theirs, description, tags, versions, production, minutes) in ROWS.items():
        model = RegisteredModel.objects.create(
            name=name, owner=other if theirs else owner, description=description
        )
        for number, (algorithm, target, status, metrics) in enumerate(versions, start=1):
            version = make_version(
                model, number, status=status, algorithm=algorithm, target=target, metrics=metrics
            )
            if number == production:
                model.aliases.create(name="production", version=version)
        ModelTag.objects.bulk_create(ModelTag(model=model, key=k, value=v) for k, v in tags.items())
        RegisteredModel.objects.filter(pk=model.pk).update(
            updated_at=t0 + timedelta(minutes=minutes)
        )


def names(api, **params) -> list[str]:
    """Every model name a search lists, walking its pages."""
    response = api.get(f"/models?{urlencode(params, doseq=True)}")
    found = []
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        found += [m["name"] for m in body["items"]]
        if body["next"] is None:
            return found
        assert body["next"].startswith(PREFIX)
        response = api.get(body["next"].removeprefix(PREFIX))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["alpha", "beta", "churn-fast", "delta", "empty", "gamma"]),
        ({"q": "churn"}, ["alpha", "churn-fast", "delta"]),  # name or description, any case
        ({"q": "PRICES"}, ["beta"]),
        ({"tag": "team:growth"}, ["alpha", "beta", "churn-fast"]),
        ({"tag": ["team:growth", "stage:prod"]}, ["alpha", "churn-fast"]),  # all must match
        ({"tag": "stage:prod"}, ["alpha", "churn-fast", "gamma"]),
        ({"tag": "docs:https://example.com/beta"}, ["beta"]),  # split at the first ':'
        ({"tag": "team:growt"}, []),  # values match exactly
        ({"tag": "team:"}, []),
        ({"algorithm": "logistic_regression"}, ["alpha", "gamma"]),  # any version
        ({"algorithm": "decision_tree_classifier"}, ["gamma"]),
        ({"target": "churned"}, ["alpha", "churn-fast", "gamma"]),
        ({"target": "price", "algorithm": "logistic_regression"}, []),  # the same version
        ({"algorithm": "logistic_regression", "tag": "team:risk", "target": "churned"}, ["gamma"]),
        ({"q": "CHURN", "tag": "stage:prod"}, ["alpha", "churn-fast"]),
    ],
)
def test_each_filter_lists_what_was_worked_out_by_hand(owner_api, registry_rows, params, expected):
    assert names(owner_api, **params) == expected
    body = owner_api.get(f"/models?{urlencode(params, doseq=True)}").json()
    assert body["count"] == len(expected)
    assert RegisteredModel.objects.count() == len(ROWS)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("name", ["alpha", "beta", "churn-fast", "delta", "empty", "gamma"]),
        # newest first; delta and gamma were updated at the same moment: the later row first
        ("updated", ["alpha", "churn-fast", "delta", "gamma", "beta", "empty"]),
        # production's headline, else the newest ready version's (beta: no production);
        # a tie by name; no metric (queued, no version) last
        ("metric", ["beta", "alpha", "churn-fast", "gamma", "delta", "empty"]),
    ],
)
@pytest.mark.parametrize("limit", [1, 2, 4, 50])
def test_a_cursor_walk_shows_every_row_once_in_each_order(
    owner_api, registry_rows, order_by, expected, limit
):
    assert names(owner_api, order_by=order_by, limit=limit) == expected


def test_a_walk_with_a_filter_and_ties_shows_every_row_once(owner_api, owner):
    """Thirty models in few distinct sort keys (same updated_at, same metric): ties are
    broken by a unique key, so no row is skipped or repeated at a page's edge."""
    moment = timezone.now()
    for i in range(30):
        model = RegisteredModel.objects.create(name=f"m{i:02d}", owner=owner)
        if i % 5:  # every fifth has no version, hence no metric
            make_version(model, 1, metrics={"accuracy": [0.5, 0.7, 0.9][i % 3]})
        ModelTag.objects.create(model=model, key="batch", value="odd" if i % 2 else "even")
    RegisteredModel.objects.update(updated_at=moment)
    odd = [f"m{i:02d}" for i in range(30) if i % 2]
    for order_by in ("name", "updated", "metric"):
        everything = names(owner_api, order_by=order_by, limit=7)
        assert sorted(everything) == [f"m{i:02d}" for i in range(30)], order_by
        walked = names(owner_api, order_by=order_by, limit=4, tag="batch:odd")
        assert sorted(walked) == odd, order_by
    by_metric = names(owner_api, order_by="metric", limit=3)
    assert by_metric[:8] == ["m02", "m08", "m11", "m14", "m17", "m23", "m26", "m29"]  # 0.9
    assert by_metric[-6:] == ["m00", "m05", "m10", "m15", "m20", "m25"]  # no metric


def test_a_page_carries_tags_count_limit_and_next(owner_api, registry_rows):
    body = owner_api.get("/models?tag=stage:prod&limit=2&order_by=metric").json()
    assert body["count"] == 3
    assert body["limit"] == 2
    assert [m["name"] for m in body["items"]] == ["alpha", "churn-fast"]
    assert body["items"][0]["tags"] == {"stage": "prod", "team": "growth"}
    assert body["items"][0]["latest_version"]["version"] == 1
    assert "tag=stage%3Aprod" in body["next"]
    assert "order_by=metric" in body["next"]
    last = owner_api.get(body["next"].removeprefix(PREFIX)).json()
    assert [m["name"] for m in last["items"]] == ["gamma"]
    assert last["next"] is None


def test_a_row_added_during_a_walk_does_not_repeat_the_rows_shown(owner_api, registry_rows):
    first = owner_api.get("/models?limit=3").json()
    assert [m["name"] for m in first["items"]] == ["alpha", "beta", "churn-fast"]
    RegisteredModel.objects.create(name="aardvark", owner=RegisteredModel.objects.first().owner)
    rest = names(owner_api, limit=3, cursor=first["next"].split("cursor=")[1])
    assert rest == ["delta", "empty", "gamma"]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("order_by=size", 422, "order_by"),
        ("limit=0", 422, "limit"),
        ("limit=201", 422, "limit"),
        ("limit=ten", 422, "limit"),
        ("tag=nocolon", 422, "tag"),
        ("tag=bad%20key:x", 422, "tag"),
        ("tag=:value", 422, "tag"),
        ("tag=" + "&tag=".join(f"k{i}:v" for i in range(11)), 422, "tag"),
        ("algorithm=nope", 422, "algorithm"),
        ("q=" + "x" * 101, 422, "q"),
        ("target=" + "t" * 201, 422, "target"),
        ("cursor=" + "x" * 501, 422, "cursor"),
    ],
)
def test_it_refuses_bad_parameters(owner_api, registry_rows, query, status, field):
    body = assert_problem(owner_api.get(f"/models?{query}"), status)
    assert field in str(body.get("errors")) + body["detail"]


@pytest.mark.parametrize(
    ("order_by", "cursor"),
    [
        ("name", "garbage!"),
        ("name", "bm90IGpzb24"),  # "not json"
        ("name", "WyJuYW1lIl0"),  # ["name"]: no key
        ("name", "WyJuYW1lIiw1XQ"),  # ["name",5]
        ("name", "WzFd"),  # [1]
        ("updated", "WyJ1cGRhdGVkIiwieCIsMV0"),  # ["updated","x",1]: not a time
        ("updated", "WyJ1cGRhdGVkIiwiMjAyNi0wMS0wMVQwMDowMDowMCIsMV0"),  # no time zone
        ("metric", "WyJtZXRyaWMiLHRydWUsImEiXQ"),  # ["metric",true,"a"]
        ("metric", "WyJtZXRyaWMiLDAuNV0"),  # ["metric",0.5]: no name
    ],
)
def test_it_refuses_a_cursor_it_did_not_hand_out(owner_api, registry_rows, order_by, cursor):
    response = owner_api.get(f"/models?order_by={order_by}&cursor={cursor}")
    assert_problem(response, 400, "cursor")


def test_a_cursor_keeps_its_order(owner_api, registry_rows):
    following = owner_api.get("/models?limit=2").json()["next"]
    cursor = following.split("cursor=")[1]
    assert_problem(owner_api.get(f"/models?order_by=updated&cursor={cursor}"), 400, "order_by=name")


def test_it_needs_a_token(anon_api):
    assert_problem(anon_api.get("/models?q=x"), 401)
