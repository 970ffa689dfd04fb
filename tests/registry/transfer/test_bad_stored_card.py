"""One version whose stored card fields are wrong (written before imports were checked, or by
hand) breaks nothing: the listings cast only JSON numbers a double can hold, and the version
page, the status poll, the admin and the drift API show what they can of it."""

import pytest
from django.test import Client

from registry.models import ModelVersion

pytestmark = pytest.mark.django_db

BAD_METRICS = [
    "x",
    "0.5",
    10**400,
    -(10**400),
    True,
    [1],
    {"a": 1},
    None,
]
PAGES = [
    "/",
    "/models/",
    "/models/{name}/",
    "/models/{name}/versions/1/",
    "/models/{name}/versions/1/status/",
    "/models/{name}/compare/?a=1&b=1",
]
API = [
    "/models",
    "/models/{name}",
    "/models/{name}/versions/1",
    "/models/{name}/versions/1/drift",
]


@pytest.fixture
def stored(train_version):
    """A ready version of each kind whose stored fields a test then overwrites."""
    return {
        "classifier": train_version("churn", "logistic_regression"),
        "decomposition": train_version("houses-pca", "pca", "houses.csv", None),
    }


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def everything_answers(name: str, pages: Client, api, admin: Client) -> None:
    for path in PAGES:
        response = pages.get(path.format(name=name))
        assert response.status_code == 200, (path, response.status_code)
    for path in API:
        response = api.get(path.format(name=name))
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    response = admin.get("/admin/registry/modelversion/")
    assert response.status_code == 200
    for version in ModelVersion.objects.filter(model__name=name):
        response = admin.get(f"/admin/registry/modelversion/{version.pk}/change/")
        assert response.status_code == 200, response.status_code


def overwrite(version: ModelVersion, **fields) -> None:
    """Written straight to the database, as a row stored before imports were checked."""
    ModelVersion.objects.filter(pk=version.pk).update(**fields)


@pytest.mark.parametrize("bad", BAD_METRICS, ids=repr)
def test_a_bad_headline_metric_breaks_no_listing(
    stored, other_logged_in, other_api, admin_client, bad
):
    version = stored["classifier"]
    overwrite(version, metrics={**version.metrics, "accuracy": bad})
    everything_answers("churn", other_logged_in, other_api, admin_client)
    listed = other_logged_in.get("/models/")
    assert b'<span class="muted">accuracy</span>' not in listed.content  # no headline shown


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(confusion_matrix={"labels": ["no", "yes"], "matrix": [[1, 2]]}),
        lambda m: m.update(confusion_matrix={"labels": ["no"], "matrix": [[1, 2], [3, 4]]}),
        lambda m: m.update(confusion_matrix={"labels": "x", "matrix": "y"}),
        lambda m: m.update(confusion_matrix=[1, 2]),
        lambda m: m.update(warnings="not a list"),
        lambda m: m.update(f1_macro="x"),
    ],
)
def test_bad_classifier_metrics_break_no_page(
    stored, other_logged_in, other_api, admin_client, change
):
    version = stored["classifier"]
    metrics = dict(version.metrics)
    change(metrics)
    overwrite(version, metrics=metrics)
    everything_answers("churn", other_logged_in, other_api, admin_client)


@pytest.mark.parametrize("ratios", ["x", ["x", 0.5], [10**400], {"a": 1}])
def test_a_bad_explained_variance_breaks_no_page(
    stored, other_logged_in, other_api, admin_client, ratios
):
    version = stored["decomposition"]
    overwrite(version, metrics={**version.metrics, "explained_variance_ratio": ratios})
    everything_answers("houses-pca", other_logged_in, other_api, admin_client)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["features"]["tenure_months"].update(proportions=[1.0]),
        lambda p: p["features"]["tenure_months"].update(edges=["a", "b"]),
        lambda p: p["features"]["tenure_months"].update(type="category"),
        lambda p: p["features"]["contract"].update(categories=[["a"]]),
        lambda p: p["features"]["contract"].update(other="x"),
        lambda p: p.update(features=[1, 2]),
        lambda p: p.update(features={"tenure_months": 1}),
    ],
)
def test_a_bad_profile_breaks_no_drift_report(
    stored, other_logged_in, other_api, admin_client, change
):
    version = stored["classifier"]
    profile = version.profile
    change(profile)
    overwrite(version, profile=profile)
    everything_answers("churn", other_logged_in, other_api, admin_client)
    report = other_api.get("/models/churn/versions/1/drift").json()
    assert report["status"] == "no_profile"


def test_bad_feature_summaries_break_no_page(stored, other_logged_in, other_api, admin_client):
    version = stored["classifier"]
    features = [dict(f) for f in version.features]
    features[0].update(min="x", max=[1], mean=10**400)
    overwrite(version, features=features)
    everything_answers("churn", other_logged_in, other_api, admin_client)
