"""GET /api/v1/models/{name}/versions/{v}/drift: the report over logged inputs, its window
parameters, and its errors (problem+json)."""

from datetime import timedelta

import pytest

from tests.conftest import assert_problem
from tests.registry.conftest import make_version
from tests.registry.monitoring.conftest import churn_rows, log_requests

pytestmark = pytest.mark.django_db

URL = "/models/churn/versions/1/drift"


def shifted(rows: list[dict]) -> list[dict]:
    return [{**r, "tenure_months": r["tenure_months"] + 100} for r in rows]


def test_recent_inputs_like_the_training_data_are_stable(owner_api, churn):
    log_requests(churn, churn_rows(), per_request=3)
    response = owner_api.get(URL)
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["model"] == "churn"
    assert report["version"] == 1
    assert report["rows"] == 600
    assert report["training_rows"] == churn.metrics["n_train"]
    assert report["status"] == "stable"
    assert report["drifting"] is False
    assert report["thresholds"] == {
        "psi_moderate": 0.1,
        "psi_drifting": 0.2,
        "unseen_share_drifting": 0.1,
    }
    assert [f["name"] for f in report["features"]] == [f["name"] for f in churn.features]
    for feature in report["features"]:
        assert feature["psi"] < 0.1, feature
        assert feature["bins"]
        assert {"label", "expected", "actual"} == set(feature["bins"][0])


def test_a_shifted_feature_is_flagged_and_the_others_are_not(owner_api, churn):
    log_requests(churn, shifted(churn_rows()), per_request=10)
    report = owner_api.get(URL).json()
    assert report["status"] == "drifting"
    assert report["drifting"] is True
    flags = {f["name"]: f["drifting"] for f in report["features"]}
    assert flags == {
        "tenure_months": True,
        "monthly_charges": False,
        "contract": False,
        "internet": False,
        "support_calls": False,
    }


def test_the_window_takes_the_last_days_and_at_most_max_rows(owner_api, churn):
    log_requests(churn, shifted(churn_rows()), ago=timedelta(days=10))  # outside 7 days
    log_requests(churn, churn_rows()[:300])
    report = owner_api.get(URL).json()
    assert report["rows"] == 300
    assert report["status"] == "stable"
    assert report["window"]["days"] == 7
    wide = owner_api.get(URL + "?days=30&max_rows=250").json()
    assert wide["rows"] == 250  # the newest 250: all from the recent, unshifted requests
    assert wide["window"] == {**wide["window"], "days": 30, "max_rows": 250}
    everything = owner_api.get(URL + "?days=30&max_rows=5000").json()
    assert everything["rows"] == 900
    assert everything["status"] == "drifting"


def test_errors_and_other_versions_are_not_compared(owner_api, churn):
    log_requests(churn, shifted(churn_rows()), status=422)
    report = owner_api.get(URL).json()
    assert report["rows"] == 0
    assert report["status"] == "insufficient_data"
    assert report["drifting"] is None
    assert all(f["status"] is None and f["psi"] is None for f in report["features"])


def test_a_version_without_a_profile_says_so(owner_api, churn):
    make_version(churn.model, 2, profile={})
    report = owner_api.get("/models/churn/versions/2/drift").json()
    assert report["status"] == "no_profile"
    assert report["features"] == []
    assert report["drifting"] is None


def test_it_refuses_what_it_cannot_report_with_problem_json(owner_api, anon_api, churn):
    make_version(churn.model, 2, status="queued")
    assert_problem(owner_api.get("/models/nope/versions/1/drift"), 404, "nope")
    assert_problem(owner_api.get("/models/churn/versions/9/drift"), 404, "no version 9")
    assert_problem(owner_api.get("/models/churn/versions/2/drift"), 409, "queued")
    assert_problem(owner_api.get(URL + "?days=0"), 422, "days")
    assert_problem(owner_api.get(URL + "?max_rows=0"), 422, "max_rows")
    assert_problem(owner_api.get(URL + "?days=abc"), 422)
    assert_problem(anon_api.get(URL), 401)


def test_the_openapi_document_describes_it(owner_api):
    document = owner_api.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/models/{name}/versions/{version}/drift"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"name", "version", "days", "max_rows"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/DriftOut")
    drift_out = document["components"]["schemas"]["DriftOut"]
    assert {"status", "drifting", "rows", "features", "thresholds", "window"} <= set(
        drift_out["properties"]
    )
    for status in ("404", "409", "422"):
        assert "application/problem+json" in operation["responses"][status]["content"]
