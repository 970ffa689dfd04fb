"""Several servers, one database: two gunicorn servers (A and B, two sync workers each) and one
task worker, all on the test PostgreSQL database, as in production behind a load balancer.

PostgreSQL only: several machines sharing one SQLite file is not a supported setup.
"""

import time

import pytest
from django.conf import settings

from registry import services
from tests.conftest import demo_bytes, without_ids
from tests.system.conftest import (
    PREDICT_BODY,
    Api,
    Load,
    Result,
    figures,
    report,
    train_through_api,
)

POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
ALIAS_DEADLINE_S = 2.0  # the issue: "an alias moved through A is served by B within 2 seconds"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not POSTGRES,
        reason="several servers share one PostgreSQL database (run with DATABASE_URL=postgres://...)"
        "; one SQLite file is not shared between machines",
    ),
]
PREDICT = "/api/v1/models/churn/predict"


@pytest.fixture
def churn(owner):
    return services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")


def version_of(result: Result) -> int:
    return result.json()["model"]["version"]


def time_to_serve(results: list[Result], since: float, new_version: int) -> float:
    """Seconds from `since` until the end of the first response with the new version after
    which no response (on any connection) had the old one."""
    after = [r for r in results if r.started >= since]
    old = [r for r in after if version_of(r) != new_version]
    last_old = max((r.started for r in old), default=since)
    first_new = min(
        (r for r in after if r.started >= last_old and version_of(r) == new_version),
        key=lambda r: r.started,
    )
    return first_new.ended - since


def move_alias_and_watch(api_a: Api, b_url: str, token: str, version: int) -> tuple[float, dict]:
    """Point production at `version` through A while B is asked continuously (4 connections,
    so both of B's workers answer); return how long B took to serve it, and B's figures."""
    load = Load([b_url], PREDICT, PREDICT_BODY, token, concurrency=4, duration_s=10).start()
    time.sleep(0.5)  # B's workers have resolved (and cached) the alias as it was
    sent = time.monotonic()
    reply = api_a.put("/models/churn/aliases/production", {"version": version})
    assert reply.status == 200, reply.body
    time.sleep(ALIAS_DEADLINE_S + 1.0)
    results = load.stop()
    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok][:5]
    late = [r for r in results if r.started >= sent + ALIAS_DEADLINE_S]
    assert len(late) >= 4, f"too few requests after the deadline to tell: {figures(results)}"
    assert {version_of(r) for r in late} == {version}, "B still served the old version after 2 s"
    return time_to_serve(results, sent, version), figures(results)


def test_it_serves_through_b_what_a_trained_and_moves_aliases_within_2_seconds(
    churn, token, start_server, start_worker
):
    start_worker()
    a, b = start_server("a"), start_server("b")
    api_a, api_b = Api(a.url, token), Api(b.url, token)

    train_through_api(
        api_a, model="churn", dataset=churn.pk, algorithm="logistic_regression", new_model=True
    )
    from_a = api_a.post("/models/churn/predict", PREDICT_BODY)
    from_b = api_b.post("/models/churn/predict", PREDICT_BODY)
    assert from_a.status == from_b.status == 200, (from_a.body, from_b.body)
    # byte for byte (each request has its own prediction ids): same artifact, same code path
    assert without_ids(from_b.body) == without_ids(from_a.body)
    assert from_b.json()["model"] == {"name": "churn", "version": 1, "role": "champion"}
    assert len(from_b.json()["predictions"]) == 4

    # Version 1 became production; version 2, once ready, takes no unpinned call until moved.
    train_through_api(
        api_a,
        model="churn",
        dataset=churn.pk,
        algorithm="decision_tree_classifier",
        new_model=False,
    )
    assert version_of(api_b.post("/models/churn/predict", PREDICT_BODY)) == 1

    to_v2, load_v2 = move_alias_and_watch(api_a, b.url, token, 2)
    to_v1, load_v1 = move_alias_and_watch(api_a, b.url, token, 1)
    report(
        "alias moved through A, served by B",
        production_to_v1_s=round(to_v1, 3),
        production_to_v2_s=round(to_v2, 3),
        b_requests=load_v1["requests"] + load_v2["requests"],
        b_failed=load_v1["failed"] + load_v2["failed"],
    )
    assert to_v1 <= ALIAS_DEADLINE_S
    assert to_v2 <= ALIAS_DEADLINE_S
    # What B serves for the alias is the same as A's answer for that version.
    assert without_ids(
        api_b.post("/models/churn/predict?alias=production", PREDICT_BODY).body
    ) == without_ids(api_a.post("/models/churn/versions/1/predict", PREDICT_BODY).body)


def test_it_answers_every_request_while_a_new_version_is_trained_and_promoted(
    churn, token, start_server, start_worker
):
    start_worker()
    a, b = start_server("a"), start_server("b")
    api_a = Api(a.url, token)
    train_through_api(
        api_a, model="churn", dataset=churn.pk, algorithm="logistic_regression", new_model=True
    )
    assert api_a.put("/models/churn/aliases/production", {"version": 1}).status == 200

    # 8 connections, 4 on each server, predicting back to back; at least 20 s in all.
    load = Load([a.url, b.url], PREDICT, PREDICT_BODY, token, concurrency=8, duration_s=90)
    load.start()
    time.sleep(3)
    trained_at = time.monotonic()
    train_through_api(
        api_a,
        model="churn",
        dataset=churn.pk,
        algorithm="decision_tree_classifier",
        new_model=False,
    )
    promoted = time.monotonic()
    assert api_a.put("/models/churn/aliases/production", {"version": 2}).status == 200
    time.sleep(max(load.began + 20 - time.monotonic(), ALIAS_DEADLINE_S + 3))
    results = load.stop()

    expected = {
        n: without_ids(api_a.post(f"/models/churn/versions/{n}/predict", PREDICT_BODY).json())
        for n in (1, 2)
    }
    assert expected[1]["probabilities"] != expected[2]["probabilities"]  # they can be told apart
    failed = [r for r in results if not r.ok]
    stats = figures(results)
    report(
        "train and promote under load (8 connections, 2 servers)",
        **stats,
        seconds=round(results[-1].ended - results[0].started, 1),
        training_s=round(promoted - trained_at, 1),
        v1_answers=sum(version_of(r) == 1 for r in results if r.ok),
        v2_answers=sum(version_of(r) == 2 for r in results if r.ok),
    )
    assert not failed, [r.describe() for r in failed[:5]]
    for result in results:
        body = without_ids(result.json())  # whole: it parses, and is one version's answer
        assert body == expected[body["model"]["version"]], result.describe()
    by_server = {url: {version_of(r) for r in results if r.server == url} for url in load.urls}
    assert by_server == {a.url: {1, 2}, b.url: {1, 2}}
    late = [r for r in results if r.started >= promoted + ALIAS_DEADLINE_S]
    assert late
    assert {version_of(r) for r in late} == {2}
