"""MLflow's model URIs as the versions of an evaluation (`models:/churn/2`,
`models:/churn@production`), in JSON and in an upload's `versions` field; a URI that is not
one, or names another model, is a 422 naming the field."""

import io

import pytest

from registry import services
from registry.models import Evaluation
from tests.conftest import assert_problem
from tests.registry.evaluation.conftest import churn_rows, to_csv

pytestmark = pytest.mark.django_db
EVALUATIONS = "/models/churn/evaluations"


def test_an_evaluation_takes_versions_by_uri(owner_api, owner, churn_two, fresh):
    services.alias_move(model=churn_two, name="staging", version_number=2, user=owner, via="api")
    body = {"dataset": fresh.pk, "versions": ["models:/churn@staging", "models:/churn/1"]}
    response = owner_api.post(EVALUATIONS, body)
    assert response.status_code == 202, response.content
    assert response.json()["versions"] == [2, 1]
    assert Evaluation.objects.get().versions == [2, 1]


def test_an_uploaded_evaluation_takes_versions_by_uri(owner_api, churn_two):
    header, rows = churn_rows(0, 40)
    upload = io.BytesIO(to_csv(header, rows))
    upload.name = "april.csv"
    response = owner_api.post(
        EVALUATIONS,
        {"file": upload, "versions": "models:/churn/2,models:/churn@production"},
        content_type=None,
    )
    assert response.status_code == 202, response.content
    assert response.json()["versions"] == [2, 1]


@pytest.mark.parametrize(
    ("version", "field", "detail"),
    [
        ("models:/other/1", "versions.1", "names model 'other', not 'churn'"),
        ("models:/churn", "versions.1", "name a version"),
        ("models:/churn@nope", "versions.1", "no alias 'nope'"),
        ("models:/churn/x", "versions.1", "does not name a version"),
        ("models:/Churn/1", "versions.1", "does not name a model"),
        ("runs:/abc/model", "versions.1", None),
    ],
)
def test_a_bad_version_uri_is_422_naming_the_field(
    owner_api, churn_two, fresh, version, field, detail
):
    before = Evaluation.objects.count()
    body = {"dataset": fresh.pk, "versions": [1, version]}
    problem = assert_problem(owner_api.post(EVALUATIONS, body), 422, detail)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert Evaluation.objects.count() == before


def test_a_bad_uri_in_an_upload_names_the_versions_field(owner_api, churn_two):
    upload = io.BytesIO(to_csv(*churn_rows(0, 40)))
    upload.name = "april.csv"
    problem = assert_problem(
        owner_api.post(
            EVALUATIONS, {"file": upload, "versions": "1,models:/churn@nope"}, content_type=None
        ),
        422,
        "no alias 'nope'",
    )
    assert problem["errors"][0]["field"] == "versions"
