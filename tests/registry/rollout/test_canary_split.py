"""A canary answers its share of an alias's requests: at random without a key, by the
caller's key (X-Request-Key or the body's "key") with one; the answer names who answered."""

from __future__ import annotations

import pytest

from registry import serving
from tests.registry.monitoring.conftest import CHURN_ROW, scrape, value
from tests.registry.rollout.conftest import set_rollout

pytestmark = pytest.mark.django_db

URL = "/models/churn/predict"


def served_by(response) -> tuple[int, str]:
    assert response.status_code == 200, response.content
    model = response.json()["model"]
    assert model["name"] == "churn"
    return model["version"], model["role"]


def test_a_canary_at_10_percent_answers_8_to_12_percent_of_2000_requests(
    owner_api, owner, rollout, client
):
    set_rollout(rollout, owner, canary=(2, 10))
    before = scrape(client)
    counts = {(1, "champion"): 0, (2, "canary"): 0}
    for _ in range(2000):
        counts[served_by(owner_api.post(URL, {"instances": [CHURN_ROW]}))] += 1
    after = scrape(client)
    share = counts[2, "canary"] / 2000
    print(f"\ncanary share over 2000 requests: {share:.3f}")
    assert 0.08 <= share <= 0.12
    assert sum(counts.values()) == 2000
    # /metrics counts them per version and role.
    for (version, role), n in counts.items():
        labels = {"model": "churn", "version": str(version), "role": role}
        name = "mlserve_prediction_role_requests_total"
        assert value(after, name, **labels) - value(before, name, **labels) == n


def test_the_same_key_always_gets_the_same_version(owner_api, owner, rollout):
    set_rollout(rollout, owner, canary=(2, 30))
    by_key = {}
    for key in [f"customer-{i}" for i in range(60)]:
        seen = {
            served_by(
                owner_api.post(URL, {"instances": [CHURN_ROW]}, headers={"X-Request-Key": key})
            )
            for _ in range(3)
        }
        # The body's "key" field splits the same way as the header.
        seen.add(served_by(owner_api.post(URL, {"key": key, "instances": [CHURN_ROW]})))
        assert len(seen) == 1, (key, seen)
        by_key[key] = seen.pop()
    # 30% of 60 keys: some of each (a key's bucket is its hash, so this is deterministic).
    canaries = sum(role == "canary" for _, role in by_key.values())
    assert 5 <= canaries <= 35
    # The bucket is the key's, not the process's: the same after the caches are gone.
    serving.forget_resolutions()
    for key, expected in list(by_key.items())[:10]:
        got = served_by(
            owner_api.post(URL, {"instances": [CHURN_ROW]}, headers={"X-Request-Key": key})
        )
        assert got == expected


def test_a_key_in_the_bucket_below_the_percent_goes_to_the_canary():
    from registry.serving.resolve import SPLIT_BUCKETS, key_bucket

    buckets = [key_bucket(f"k{i}") for i in range(10_000)]
    assert all(0 <= b < SPLIT_BUCKETS for b in buckets)
    assert key_bucket("k1") == key_bucket("k1")
    # Spread evenly: about 10% of keys under the first tenth of the buckets.
    assert 0.09 <= sum(b < SPLIT_BUCKETS // 10 for b in buckets) / 10_000 <= 0.11


def test_without_a_canary_the_answer_names_the_champion(owner_api, owner, rollout):
    assert served_by(owner_api.post(URL, {"instances": [CHURN_ROW]})) == (1, "champion")
    set_rollout(rollout, owner, canary=(2, 50))
    # A pinned version is never split.
    for _ in range(20):
        response = owner_api.post("/models/churn/versions/1/predict", {"instances": [CHURN_ROW]})
        assert served_by(response) == (1, "champion")
        response = owner_api.post(URL + "?version=1", {"instances": [CHURN_ROW]})
        assert served_by(response) == (1, "champion")


def test_a_body_key_that_is_not_a_string_or_number_is_refused_like_any_extra_field(
    owner_api, owner, rollout
):
    from tests.conftest import assert_problem

    set_rollout(rollout, owner, canary=(2, 50))
    ok = owner_api.post(URL, {"key": 12345, "instances": [CHURN_ROW]})
    assert ok.status_code == 200
    # Still one rows field, and only "key" beside it.
    assert_problem(owner_api.post(URL, {"key": "a", "other": 1, "instances": [CHURN_ROW]}), 400)


def test_the_split_costs_no_query_per_request(
    owner_api, owner, rollout, django_assert_max_num_queries
):
    set_rollout(rollout, owner, canary=(2, 50))
    served = serving.resolve("churn")
    for i in range(20):  # resolved, both versions loaded and cached
        serving.predict(served, [CHURN_ROW], user=owner, source="api", key=f"k{i}")
    with django_assert_max_num_queries(0):
        for i in range(20):
            serving.predict(
                serving.resolve("churn"), [CHURN_ROW], user=owner, source="api", key=f"k{i}"
            )


def test_an_alias_and_its_version_together_are_answered_by_that_version(owner_api, owner, rollout):
    set_rollout(rollout, owner, canary=(2, 99))
    for _ in range(20):
        response = owner_api.post(URL + "?alias=production&version=1", {"instances": [CHURN_ROW]})
        assert served_by(response) == (1, "champion")
