"""Training stores a profile of its training rows in the version, for drift reports."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def churn(churn_trained_by_worker):
    """This test is about what training writes: the worker trains the version here."""
    return churn_trained_by_worker


def test_a_trained_version_keeps_a_profile_of_its_training_rows(churn):
    profile = churn.profile
    assert profile["rows"] == churn.metrics["n_train"]  # the training split, not the test rows
    assert set(profile["features"]) == {f["name"] for f in churn.features}  # jsonb: no order
    for name, spec in profile["features"].items():
        if spec["type"] == "number":
            assert len(spec["proportions"]) == len(spec["edges"]) + 1, name
            assert sum(spec["proportions"]) + spec["missing"] == pytest.approx(1, abs=1e-4)
            assert spec["min"] <= spec["max"]
        else:
            shares = [share for _, share in spec["categories"]]
            assert shares == sorted(shares, reverse=True), name
            assert sum(shares) + spec["other"] + spec["missing"] == pytest.approx(1, abs=1e-4)
    contract = dict(profile["features"]["contract"]["categories"])
    assert set(contract) == {"month-to-month", "one-year", "two-year"}
    # monthly_charges has empty cells in the demo data: they are counted as missing.
    assert profile["features"]["monthly_charges"]["missing"] > 0
