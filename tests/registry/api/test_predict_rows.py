"""What a predict answer does with rows as real clients send them: a one-row CSV, rows that
carry more keys than the model's features (MLflow clients send whole rows), and categories
the model never saw, said per row instead of a silently worse prediction."""

import json

import pytest

from registry import serving
from tests.conftest import assert_problem, without_ids

pytestmark = pytest.mark.django_db

NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
ROW = {
    "tenure_months": 3,
    "monthly_charges": 95.0,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 4,
}
WHOLE = {"customer_id": "C-17", **ROW, "churned": "yes"}  # the training file's whole row


def predict(api, body, query="", **extra):
    return api.post(f"/models/churn/predict{query}", body, **extra)


@pytest.fixture
def api(world, client):
    from tests.conftest import ApiClient

    return ApiClient(client, world.token)


def test_it_predicts_a_csv_of_one_data_row(api):
    data = (",".join(NAMES) + "\n3,95,month-to-month,fiber,4\n").encode()
    response = predict(api, data, content_type="text/csv")
    assert response.status_code == 200, response.content
    assert len(response.json()["predictions"]) == 1


def _bodies(row: dict) -> dict[str, dict]:
    names = list(row)
    return {
        "instances": {"instances": [row, row]},
        "inputs": {"inputs": [row, row]},
        "dataframe_records": {"dataframe_records": [row, row]},
        "columnar": {"inputs": {n: [row[n], row[n]] for n in names}},
        "dataframe_split": {
            "dataframe_split": {"columns": names, "data": [list(row.values())] * 2}
        },
    }


@pytest.mark.parametrize("shape", list(_bodies(ROW)))
def test_it_ignores_keys_the_model_does_not_take(api, shape):
    plain = predict(api, _bodies(ROW)[shape])
    whole = predict(api, _bodies(WHOLE)[shape])
    assert plain.status_code == whole.status_code == 200, whole.content
    assert without_ids(whole.json()) == without_ids(plain.json())


@pytest.mark.parametrize("shape", list(_bodies(ROW)))
def test_it_refuses_extra_keys_when_strict(api, shape):
    body = assert_problem(predict(api, _bodies(WHOLE)[shape], "?strict=true"), 422)
    named = {problem["column"] for problem in body["errors"]}
    assert {"customer_id", "churned"} <= named, body
    assert predict(api, _bodies(ROW)[shape], "?strict=true").status_code == 200


def test_it_refuses_extra_csv_columns_when_strict(api):
    data = ("id," + ",".join(NAMES) + "\n7,3,95,month-to-month,fiber,4\n").encode()
    assert predict(api, data, content_type="text/csv").status_code == 200
    body = assert_problem(predict(api, data, "?strict=true", content_type="text/csv"), 422)
    assert [problem["column"] for problem in body["errors"]] == ["id"]


def test_a_missing_key_is_still_refused(api):
    row = {k: v for k, v in WHOLE.items() if k != "contract"}
    body = assert_problem(predict(api, {"instances": [row]}), 422, "missing column")
    assert [problem["column"] for problem in body["errors"]] == ["contract"]


def test_a_sliced_body_ignores_extra_keys_as_a_whole_one(api, settings, monkeypatch):
    from registry.serving import bodies

    monkeypatch.setattr(bodies, "_SLICED_BODY_BYTES", 0)
    monkeypatch.setattr(bodies, "_SLICE_ROWS", 1)
    for shape in ("instances", "columnar", "dataframe_split"):
        plain = predict(api, _bodies(ROW)[shape])
        whole = predict(api, _bodies(WHOLE)[shape])
        assert whole.status_code == 200, (shape, whole.content)
        assert without_ids(whole.json()) == without_ids(plain.json())
        assert_problem(predict(api, _bodies(WHOLE)[shape], "?strict=true"), 422, "customer_id")


def test_it_names_a_dataframe_split_column_given_twice(api):
    body = {"dataframe_split": {"columns": [*NAMES, "contract"], "data": [[*ROW.values(), "x"]]}}
    problem = assert_problem(predict(api, body), 422, "contract")
    assert problem["errors"][0]["column"] == "contract"


# Warnings ------------------------------------------------------------------------------


def test_every_row_has_a_warnings_list_empty_when_all_is_known(api):
    answer = predict(api, {"instances": [ROW, ROW]}).json()
    assert answer["warnings"] == [[], []]


def test_it_warns_of_an_unseen_category_and_of_a_near_spelling(api):
    rows = [ROW, {**ROW, "internet": "satellite"}, {**ROW, "contract": "Month-To-Month"}]
    answer = predict(api, {"instances": rows}).json()
    first, unseen, near = answer["warnings"]
    assert first == []
    assert unseen == [
        {
            "column": "internet",
            "value": "satellite",
            "kind": "unseen_category",
            "detail": "internet: 'satellite' was not seen in training: the model reads it as "
            "none of the known categories.",
        }
    ]
    assert near == [
        {
            "column": "contract",
            "value": "Month-To-Month",
            "kind": "category_spelling",
            "known": "month-to-month",
            "detail": "contract: 'Month-To-Month' is not a known category, but "
            "'month-to-month' is: it differs only in case or spaces. Send 'month-to-month'.",
        }
    ]


def test_a_missing_category_and_a_json_number_spelled_as_trained_are_no_warning(api):
    answer = predict(api, {"instances": [{**ROW, "internet": None}]}).json()
    assert answer["warnings"] == [[]]


def test_a_csv_answer_warns_too(api):
    data = (",".join(NAMES) + "\n3,95,month-to-month, Fiber ,4\n3,95,weekly,dsl,4\n").encode()
    answer = predict(api, data, content_type="text/csv").json()
    assert [[w["kind"] for w in row] for row in answer["warnings"]] == [
        ["category_spelling"],
        ["unseen_category"],
    ]


def test_the_openapi_document_names_the_warnings(api):
    schema = json.loads(api.get("/openapi.json").content)
    assert "warnings" in schema["components"]["schemas"]["PredictionOut"]["properties"]
    params = schema["paths"]["/api/v1/models/{name}/predict"]["post"]["parameters"]
    assert "strict" in [p["name"] for p in params]


def test_predict_rows_warns_the_same(world):
    result = serving.predict_rows(serving.resolve("churn"), [{**ROW, "internet": "FIBER"}])
    assert result["warnings"][0][0]["known"] == "fiber"


@pytest.mark.parametrize("shape", list(_bodies(ROW)))
def test_a_row_no_wider_than_a_csv_header_may_carry_extra_keys(api, shape):
    from registry import csvio

    wide = {**ROW, **{f"x{i}": 1 for i in range(csvio.MAX_COLUMNS - len(ROW))}}
    assert predict(api, _bodies(wide)[shape]).status_code == 200
    wider = {**wide, "one-more": 1}
    assert_problem(predict(api, _bodies(wider)[shape]), 413, "1001 columns; the limit is 1000")
