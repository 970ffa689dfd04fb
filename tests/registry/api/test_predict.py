"""POST /api/v1/models/{name}/predict in every body format, and every refusal."""

import json

import pytest

from registry import services
from tests.conftest import assert_problem, install_trained, without_ids

pytestmark = pytest.mark.django_db
# The tests that run the worker commit: its training child reads the rows from its own
# connection.
WORKER_DB = pytest.mark.django_db(transaction=True)

ROWS = [
    {
        "tenure_months": 3,
        "monthly_charges": 95.0,
        "contract": "month-to-month",
        "internet": "fiber",
        "support_calls": 4,
    },
    {
        "tenure_months": 60,
        "monthly_charges": None,
        "contract": "two-year",
        "internet": "satellite",
        "support_calls": 0,
    },
]
NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]


@pytest.fixture
def churn(owner, make_dataset, trained_churn):
    dataset = make_dataset("churn.csv")
    install_trained(trained_churn, owner=owner, dataset=dataset)
    return dataset


def predict(api, body, path="/models/churn/predict", **extra):
    return api.post(path, body, **extra)


def test_every_body_format_predicts_the_same(owner_api, churn):
    positional = [[r[n] for n in NAMES] for r in ROWS]
    bodies = [
        {"instances": ROWS},
        {"instances": positional},
        {"inputs": ROWS},
        {"inputs": positional},
        {"inputs": {n: [r[n] for r in ROWS] for n in NAMES}},
        {"dataframe_split": {"columns": NAMES, "data": positional}},
        {"dataframe_split": {"columns": NAMES[::-1], "data": [row[::-1] for row in positional]}},
        {"dataframe_records": ROWS},
    ]
    results = [predict(owner_api, body) for body in bodies]
    for response in results:
        assert response.status_code == 200, response.content
    first = without_ids(results[0].json())
    assert first["model"] == {"name": "churn", "version": 1, "role": "champion"}
    assert first["classes"] == ["no", "yes"]
    assert len(first["predictions"]) == 2
    assert set(first["predictions"]) <= {"no", "yes"}
    assert len(first["probabilities"][0]) == 2
    for response in results[1:]:
        assert without_ids(response.json()) == first
    csv = ",".join(NAMES) + "\n3,95.0,month-to-month,fiber,4\n60,,two-year,satellite,0\n"
    from_csv = predict(owner_api, csv.encode(), content_type="text/csv")
    assert from_csv.status_code == 200, from_csv.content
    assert without_ids(from_csv.json()) == first


@WORKER_DB
def test_it_chooses_versions_and_aliases(owner_api, owner, churn, worker):
    from registry.models import RegisteredModel

    services.version_create(
        model=RegisteredModel.objects.get(name="churn"),
        user=owner,
        dataset=churn,
        algorithm="gaussian_nb",
        target="churned",
    )
    worker()
    # A newer ready version takes no unpinned call: production (v1) still answers.
    assert predict(owner_api, {"instances": ROWS}).json()["model"]["version"] == 1
    owner_api.put("/models/churn/aliases/production", {"version": 2})
    assert predict(owner_api, {"instances": ROWS}).json()["model"]["version"] == 2
    owner_api.put("/models/churn/aliases/production", {"version": 1})
    assert predict(owner_api, {"instances": ROWS}).json()["model"]["version"] == 1
    assert (
        predict(owner_api, {"instances": ROWS}, "/models/churn/predict?version=2").json()["model"][
            "version"
        ]
        == 2
    )
    assert (
        predict(owner_api, {"instances": ROWS}, "/models/churn/predict?alias=production").json()[
            "model"
        ]["version"]
        == 1
    )
    assert (
        predict(owner_api, {"instances": ROWS}, "/models/churn/versions/2/predict").json()["model"][
            "version"
        ]
        == 2
    )
    assert_problem(
        predict(owner_api, {"instances": ROWS}, "/models/churn/predict?alias=staging"), 404
    )
    assert_problem(predict(owner_api, {"instances": ROWS}, "/models/churn/versions/7/predict"), 404)
    assert_problem(predict(owner_api, {"instances": ROWS}, "/models/nope/predict"), 404)
    # Both: served only if the alias is at that version (schema-valid, so never a 400).
    both = predict(
        owner_api, {"instances": ROWS}, "/models/churn/predict?alias=production&version=1"
    )
    assert both.json()["model"]["version"] == 1
    assert_problem(
        predict(owner_api, {"instances": ROWS}, "/models/churn/predict?alias=production&version=2"),
        409,
        "churn@production is v1, not v2",
    )


def test_others_may_predict_with_any_model(other_api, churn):
    assert predict(other_api, {"instances": ROWS}).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"instances": [[NaN, 1, "a", "b", 1]]}', 400, "not valid JSON"),
        (b'{"instances": [[Infinity, 1, "a", "b", 1]]}', 400, "not valid JSON"),
        (b'{"rows": []}', 400, "exactly one of"),
        (b'{"instances": [], "inputs": []}', 400, "exactly one of"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"instances": 5}', 400, "must be a list"),
        (b'{"dataframe_split": {"columns": ["a"]}}', 400, "dataframe_split needs"),
        (b'{"instances": [[1, 2]]}', 422, "has 2 values; the model expects 5"),
        (b'{"instances": [{"tenure_months": 1}]}', 422, "missing column"),
        (
            b'{"instances": [{"tenure_months": "soon", "monthly_charges": 1, "contract": "x", '
            b'"internet": "y", "support_calls": 1}]}',
            422,
            "'soon' is not a finite number",
        ),
        (b'{"instances": [[1e999, 1, "a", "b", 1]]}', 400, "infinity"),
        (b'{"instances": [[1, 1, {"a": 1}, "b", 1]]}', 422, "not a category value"),
        (b'{"instances": []}', 422, "at least one row"),
    ],
)
def test_it_refuses_bad_bodies_with_problem_json(owner_api, churn, body, status, detail):
    response = predict(owner_api, body, content_type="application/json")
    problem = assert_problem(response, status, detail)
    assert "Traceback" not in json.dumps(problem)


def test_a_422_names_the_row_and_column(owner_api, churn):
    rows = [dict(ROWS[0]), dict(ROWS[0], support_calls="many")]
    body = assert_problem(predict(owner_api, {"instances": rows}), 422)
    assert body["errors"] == [
        {"row": 1, "column": "support_calls", "detail": "'many' is not a finite number"}
    ]


@pytest.mark.parametrize("key", ["instances", "inputs", "dataframe_records"])
@pytest.mark.parametrize("first", ["object", "list"])
def test_it_names_the_row_whose_shape_differs_from_the_first(owner_api, churn, key, first):
    by_name, by_position = ROWS[0], [ROWS[0][n] for n in NAMES]
    rows = [by_name, by_position] if first == "object" else [by_position, by_name]
    body = assert_problem(predict(owner_api, {key: rows}), 422, "row 1")
    assert body["errors"][0]["row"] == 1
    expected = "an object of" if first == "object" else "a list of values"
    assert expected in body["errors"][0]["detail"], body


def test_it_refuses_too_many_rows_and_unknown_media_types(owner_api, churn, settings):
    settings.MLSERVE_MAX_PREDICT_ROWS = 3
    assert_problem(predict(owner_api, {"instances": ROWS * 2}), 413, "more than the limit")
    csv = (",".join(NAMES) + "\n" + "1,2,a,b,3\n" * 4).encode()
    assert_problem(predict(owner_api, csv, content_type="text/csv"), 413)
    assert_problem(predict(owner_api, b"x", content_type="application/xml"), 415)


def test_a_model_without_a_ready_version_answers_409(owner_api, owner, make_dataset):
    dataset = make_dataset("churn.csv")
    services.model_create_with_version(
        owner=owner, name="later", dataset=dataset, algorithm="gaussian_nb", target="churned"
    )
    assert_problem(
        predict(owner_api, {"instances": ROWS}, "/models/later/predict"), 409, "no ready version"
    )
    assert_problem(
        predict(owner_api, {"instances": ROWS}, "/models/later/versions/1/predict"), 409, "queued"
    )


@WORKER_DB
def test_clustering_and_pca_return_ids_and_coordinates(owner_api, owner, make_dataset, worker):
    shoppers = make_dataset("shoppers.csv")
    services.model_create_with_version(
        owner=owner, name="seg", dataset=shoppers, algorithm="kmeans", params={"n_clusters": 3}
    )
    services.model_create_with_version(
        owner=owner, name="proj", dataset=shoppers, algorithm="pca", params={"n_components": 2}
    )
    worker()
    clusters = predict(
        owner_api, {"instances": [[25, 20.0, 2.0], [45, 70.0, 8.0]]}, "/models/seg/predict"
    ).json()
    assert all(isinstance(c, int) and 0 <= c < 3 for c in clusters["predictions"])
    assert clusters["predictions"][0] != clusters["predictions"][1]
    coords = predict(owner_api, {"instances": [[25, 20.0, 2.0]]}, "/models/proj/predict").json()
    assert len(coords["predictions"][0]) == 2
    assert "probabilities" not in coords


def test_the_hot_path_checks_method_auth_csrf_and_query(owner, anon_api, owner_api, churn):
    from django.test import Client

    assert_problem(anon_api.post("/models/churn/predict", {"instances": ROWS}), 401)
    assert_problem(owner_api.get("/models/churn/predict"), 405)
    assert_problem(predict(owner_api, {"instances": ROWS}, "/models/churn/predict?version=x"), 422)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post(
        "/api/v1/models/churn/predict", {"instances": ROWS}, content_type="application/json"
    )
    assert_problem(response, 403, "CSRF")
    browser.get("/api/v1/docs")
    response = browser.post(
        "/api/v1/models/churn/predict",
        {"instances": ROWS},
        content_type="application/json",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )
    assert response.status_code == 200
