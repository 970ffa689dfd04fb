"""A query parameter a GET operation does not declare is refused (400, problem+json naming
it) instead of silently ignored (a misspelt `?page_sise=` or an unsupported `?search=` would
otherwise answer as if it had not been sent)."""

import re

import pytest

from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

# A value of the right shape for each path parameter: the check runs before any lookup.
PATH_VALUES = {"name": "churn", "alias": "production", "version": "1"}


def get_operations(api) -> list[tuple[str, list[str]]]:
    """(path with its parameters filled in, its declared query parameters) per GET
    operation of the OpenAPI document."""
    document = api.get("/openapi.json").json()
    found = []
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        filled = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m[1], "1"), path)
        parameters = operations["get"].get("parameters", [])
        declared = [p["name"] for p in parameters if p["in"] == "query"]
        found.append((filled.removeprefix("/api/v1"), declared))
    return found


def test_every_get_operation_refuses_a_parameter_it_does_not_declare(owner_api):
    operations = get_operations(owner_api)
    lists = {path for path, _ in operations if not re.search(r"/\d+$|/churn$", path)}
    assert {"/models", "/datasets", "/leaderboards", "/webhooks", "/algorithms"} <= lists
    for path, declared in operations:
        problem = assert_problem(owner_api.get(f"{path}?bogus=1&search=x"), 400, "bogus")
        assert problem["errors"] == [
            {"field": "bogus", "detail": "not a query parameter of this operation"},
            {"field": "search", "detail": "not a query parameter of this operation"},
        ], path
        takes = ", ".join(sorted(declared)) if declared else "no query parameters"
        assert takes in problem["detail"], (path, problem["detail"])


def test_declared_parameters_are_still_taken(owner_api, make_dataset):
    make_dataset("churn.csv")
    response = owner_api.get("/datasets?page=1&page_size=5")
    assert response.status_code == 200, response.content
    assert response.json()["page_size"] == 5
    for path in (
        "/models?limit=2&order_by=name",
        "/leaderboards?page_size=2",
        "/algorithms",
        "/webhooks",
    ):
        assert owner_api.get(path).status_code == 200, path


def test_a_bad_value_of_a_declared_parameter_is_still_422_and_no_token_still_401(
    owner_api, anon_api
):
    assert_problem(owner_api.get("/models?limit=0"), 422)
    assert_problem(anon_api.get("/models?bogus=1"), 401)


def test_a_long_list_of_unknown_parameters_is_answered_in_part(owner_api):
    query = "&".join(f"p{i}=1" for i in range(50))
    problem = assert_problem(owner_api.get(f"/models?{query}"), 400)
    assert len(problem["errors"]) <= 11
    assert len(problem["detail"]) < 500
