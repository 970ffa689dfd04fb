"""The drift computation on constructed samples: a training profile, then recent inputs
with one numeric feature shifted and one category's frequency changed."""

import math

import numpy as np
import pytest

from registry.monitoring import drift

FEATURES = [
    {"name": "age", "type": "number"},
    {"name": "income", "type": "number"},
    {"name": "plan", "type": "category", "categories": ["basic", "plus", "pro"]},
    {"name": "region", "type": "category", "categories": ["north", "south", "east", "west"]},
]
N_TRAIN, N_RECENT = 20_000, 2_000


def sample(n: int, rng, *, age_shift=0.0, plan_p=(0.6, 0.3, 0.1)) -> dict[str, np.ndarray]:
    income = rng.lognormal(10, 0.5, n)
    income[rng.random(n) < 0.05] = np.nan  # 5% missing
    return {
        "age": rng.normal(40 + age_shift, 10, n),
        "income": income,
        "plan": rng.choice(np.array(["basic", "plus", "pro"], dtype=object), n, p=plan_p),
        "region": rng.choice(np.array(["north", "south", "east", "west"], dtype=object), n),
    }


def as_rows(table: dict[str, np.ndarray]) -> list[dict]:
    """Like the log stores them: NaN as null."""
    names = list(table)
    rows = []
    for values in zip(*(table[n].tolist() for n in names), strict=True):
        rows.append(
            {
                n: (None if isinstance(v, float) and math.isnan(v) else v)
                for n, v in zip(names, values, strict=True)
            }
        )
    return rows


@pytest.fixture
def profile():
    return drift.profile_of(sample(N_TRAIN, np.random.default_rng(0)), FEATURES)


def statuses(report: dict) -> dict[str, str]:
    return {f["name"]: f["status"] for f in report["features"]}


def test_the_profile_has_quantile_bins_and_category_shares(profile):
    assert profile["rows"] == N_TRAIN
    age = profile["features"]["age"]
    assert len(age["edges"]) == drift.PROFILE_BINS - 1
    assert age["edges"] == sorted(age["edges"])
    assert len(age["proportions"]) == drift.PROFILE_BINS
    assert all(abs(p - 0.1) < 0.001 for p in age["proportions"])  # quantile bins: equal shares
    income = profile["features"]["income"]
    assert abs(income["missing"] - 0.05) < 0.01
    assert abs(sum(income["proportions"]) + income["missing"] - 1) < 1e-4
    plan = profile["features"]["plan"]
    assert [c for c, _ in plan["categories"]] == ["basic", "plus", "pro"]  # most frequent first
    assert abs(plan["categories"][0][1] - 0.6) < 0.02
    assert plan["other"] == 0
    assert plan["missing"] == 0


def test_it_flags_exactly_the_shifted_features(profile):
    recent = sample(N_RECENT, np.random.default_rng(1), age_shift=10, plan_p=(0.2, 0.3, 0.5))
    report = drift.compare(profile, FEATURES, as_rows(recent))
    print("\nPSI:", {f["name"]: f["psi"] for f in report["features"]})
    assert statuses(report) == {
        "age": "drifting",
        "income": "stable",
        "plan": "drifting",
        "region": "stable",
    }
    assert report["status"] == "drifting"
    assert report["drifting"] is True
    assert report["rows"] == N_RECENT
    by_name = {f["name"]: f for f in report["features"]}
    assert by_name["age"]["psi"] > drift.PSI_DRIFTING
    assert by_name["income"]["psi"] < drift.PSI_MODERATE
    assert by_name["plan"]["unseen_share"] == 0
    assert abs(by_name["income"]["missing_share"] - 0.05) < 0.02
    # Bins carry both shares, for the plots.
    plan_bins = {b["label"]: b for b in by_name["plan"]["bins"]}
    assert abs(plan_bins["pro"]["expected"] - 0.1) < 0.02
    assert abs(plan_bins["pro"]["actual"] - 0.5) < 0.04


def test_a_sample_like_the_training_data_is_stable(profile):
    recent = sample(N_RECENT, np.random.default_rng(2))
    report = drift.compare(profile, FEATURES, as_rows(recent))
    assert set(statuses(report).values()) == {"stable"}
    assert report["status"] == "stable"
    assert report["drifting"] is False


def test_unseen_categories_above_ten_percent_are_drifting(profile):
    recent = sample(N_RECENT, np.random.default_rng(3))
    recent["region"][: N_RECENT // 5] = "mars"  # 20% never seen in training
    report = drift.compare(profile, FEATURES, as_rows(recent))
    region = next(f for f in report["features"] if f["name"] == "region")
    assert region["unseen_share"] == 0.2
    assert region["status"] == "drifting"
    assert statuses(report)["plan"] == "stable"


def test_below_the_minimum_sample_there_is_no_verdict(profile):
    recent = sample(drift.MIN_ROWS - 1, np.random.default_rng(4), age_shift=30)
    report = drift.compare(profile, FEATURES, as_rows(recent))
    assert report["status"] == "insufficient_data"
    assert report["drifting"] is None
    assert set(statuses(report).values()) == {None}
    assert all(f["psi"] is not None for f in report["features"])  # still shown


def test_features_with_few_values_get_one_bin_per_value():
    table = {"calls": np.array([0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 9.0] * 10)}
    spec = drift.profile_of(table, [{"name": "calls", "type": "number"}])["features"]["calls"]
    assert spec["edges"] == [0.5, 1.5, 5.5]
    assert spec["proportions"] == pytest.approx([1 / 7, 2 / 7, 3 / 7, 1 / 7], abs=1e-5)


def test_categories_beyond_the_cap_share_an_other_bin():
    values = np.array([f"c{i:02d}" for i in range(40) for _ in range(40 - i)], dtype=object)
    spec = drift.profile_of({"c": values}, [{"name": "c", "type": "category"}])["features"]["c"]
    assert len(spec["categories"]) == drift.PROFILE_MAX_CATEGORIES
    assert spec["distinct"] == 40
    assert spec["other"] == pytest.approx(sum(range(1, 11)) / values.size, abs=1e-5)


def test_psi_matches_its_formula():
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0
    expected = 0.4 * math.log(0.9 / 0.5) + (-0.4) * math.log(0.1 / 0.5)
    assert drift.psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(expected, abs=1e-6)
    # An empty bin counts as epsilon: finite, and large.
    assert 0.5 < drift.psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) < 20
