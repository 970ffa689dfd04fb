"""Column roles in the dataset record, and PATCH /api/v1/datasets/{id} {"types": {...}}."""

import pytest

from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

ROWS = "".join(f"{i},{i:05d},2024-01-{i % 28 + 1:02d},{'ab'[i % 2]},{i % 3}\n" for i in range(30))
CSV = ("index,zip,day,shop,y\n" + ROWS).encode()


@pytest.fixture
def dataset(make_dataset):
    return make_dataset(data=CSV, dataset_name="shops")


def columns(body: dict) -> dict[str, dict]:
    return {c["name"]: c for c in body["columns"]}


def test_it_shows_each_columns_type_role_and_reason(owner_api, dataset):
    body = owner_api.get(f"/datasets/{dataset.pk}").json()
    index, day = columns(body)["index"], columns(body)["day"]
    assert (index["type"], index["role"]) == ("number", "id")
    assert "30 distinct values" in index["role_reason"]
    assert (day["type"], day["format"], day["role"]) == ("date", "%Y-%m-%d", None)


def test_it_changes_column_types_and_recomputes_the_schema(owner_api, dataset):
    response = owner_api.patch(
        f"/datasets/{dataset.pk}", {"types": {"zip": "category", "shop": "ignore"}}
    )
    assert response.status_code == 200, response.content
    body = columns(response.json())
    assert (body["zip"]["type"], body["zip"]["override"]) == ("category", "category")
    assert body["shop"]["override"] == "ignore"
    dataset.refresh_from_db()
    assert dataset.options["types"] == {"zip": "category", "shop": "ignore"}
    assert dataset.column("zip")["values"][:2] == ["00000", "00001"]
    # null gives a column back its inferred type
    response = owner_api.patch(f"/datasets/{dataset.pk}", {"types": {"zip": None}})
    assert columns(response.json())["zip"]["type"] == "number"
    dataset.refresh_from_db()
    assert dataset.options["types"] == {"shop": "ignore"}


def test_it_refuses_a_type_the_column_cannot_take(owner_api, dataset):
    response = owner_api.patch(f"/datasets/{dataset.pk}", {"types": {"shop": "number"}})
    assert_problem(response, 422, "Column 'shop' cannot be read as numbers: 'a' is not a number")
    assert_problem(
        owner_api.patch(f"/datasets/{dataset.pk}", {"types": {"nope": "number"}}), 422, "'nope'"
    )
    assert_problem(owner_api.patch(f"/datasets/{dataset.pk}", {"types": {"y": "text"}}), 422)
    dataset.refresh_from_db()
    assert "types" not in dataset.options
    assert dataset.column("shop")["type"] == "category"


def test_it_lets_only_the_owner_change_types(other_api, dataset):
    response = other_api.patch(f"/datasets/{dataset.pk}", {"types": {"zip": "category"}})
    assert response.status_code in (403, 404)
    dataset.refresh_from_db()
    assert "types" not in dataset.options


def test_it_leaves_ignored_columns_out_of_default_features(owner_api, owner, dataset):
    from registry import services

    owner_api.patch(f"/datasets/{dataset.pk}", {"types": {"shop": "ignore"}})
    dataset.refresh_from_db()
    version = services.model_create_with_version(
        owner=owner, name="shops", dataset=dataset, algorithm="linear_regression", target="y"
    )
    assert [f["name"] for f in version.features] == ["index", "zip", "day"]
    day = next(f for f in version.features if f["name"] == "day")
    assert day == {"name": "day", "type": "date", "format": "%Y-%m-%d"}


def test_it_refuses_an_ignored_column_listed_as_a_feature(owner_api, dataset):
    owner_api.patch(f"/datasets/{dataset.pk}", {"types": {"shop": "ignore"}})
    body = {
        "name": "shops",
        "dataset": dataset.pk,
        "algorithm": "linear_regression",
        "target": "y",
        "features": ["index", "shop"],
    }
    problem = assert_problem(owner_api.post("/models", body), 422, "set to be ignored")
    assert "'shop'" in problem["detail"]
