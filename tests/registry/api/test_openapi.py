"""The OpenAPI document validates, lists every endpoint, and the docs work offline."""

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    ("get", "/api/v1/algorithms"),
    ("post", "/api/v1/datasets"),
    ("get", "/api/v1/datasets"),
    ("get", "/api/v1/datasets/{dataset_id}"),
    ("get", "/api/v1/datasets/{dataset_id}/csv"),
    ("delete", "/api/v1/datasets/{dataset_id}"),
    ("patch", "/api/v1/datasets/{dataset_id}"),
    ("put", "/api/v1/datasets/{dataset_id}/visibility"),
    ("post", "/api/v1/models"),
    ("get", "/api/v1/models"),
    ("get", "/api/v1/models/{name}"),
    ("delete", "/api/v1/models/{name}"),
    ("patch", "/api/v1/models/{name}"),
    ("put", "/api/v1/models/{name}/visibility"),
    ("post", "/api/v1/models/{name}/versions"),
    ("get", "/api/v1/models/{name}/versions/{version}"),
    ("delete", "/api/v1/models/{name}/versions/{version}"),
    ("patch", "/api/v1/models/{name}/versions/{version}"),
    ("post", "/api/v1/models/{name}/versions/{version}/cancel"),
    ("put", "/api/v1/models/{name}/versions/{version}/threshold"),
    ("put", "/api/v1/models/{name}/aliases/{alias}"),
    ("delete", "/api/v1/models/{name}/aliases/{alias}"),
    ("get", "/api/v1/models/{name}/aliases/{alias}"),
    ("post", "/api/v1/models/{name}/aliases/{alias}/rollback"),
    ("post", "/api/v1/models/{name}/aliases/{alias}/canary/promote"),
    ("delete", "/api/v1/models/{name}/aliases/{alias}/canary"),
    ("post", "/api/v1/models/{name}/predict"),
    ("post", "/api/v1/models/{name}/versions/{version}/predict"),
    ("post", "/api/v1/models/{name}/invocations"),
    ("post", "/api/v1/models/{name}@{alias}/invocations"),
    ("post", "/api/v1/models/{name}/versions/{version}/invocations"),
    ("get", "/api/v1/models/{name}/versions/{version}/drift"),
    ("post", "/api/v1/models/{name}/feedback"),
    ("get", "/api/v1/models/{name}/versions/{version}/live-metrics"),
    ("get", "/api/v1/models/{name}/versions/{version}/export"),
    ("post", "/api/v1/models/{name}/import"),
    ("post", "/api/v1/import"),
    ("post", "/api/v1/leaderboards"),
    ("get", "/api/v1/leaderboards"),
    ("get", "/api/v1/leaderboards/{board_id}"),
    ("post", "/api/v1/leaderboards/{board_id}/cancel"),
    ("post", "/api/v1/leaderboards/{board_id}/register"),
    ("post", "/api/v1/models/{name}/evaluations"),
    ("get", "/api/v1/models/{name}/evaluations"),
    ("get", "/api/v1/models/{name}/evaluations/{evaluation_id}"),
    ("get", "/api/v1/models/{name}/evaluations/{evaluation_id}/versions/{version}/wrong_rows"),
    ("post", "/api/v1/models/{name}/batch-jobs"),
    ("get", "/api/v1/batch-jobs"),
    ("get", "/api/v1/batch-jobs/{job_id}"),
    ("post", "/api/v1/batch-jobs/{job_id}/cancel"),
    ("get", "/api/v1/batch-jobs/{job_id}/result"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{webhook_id}"),
    ("delete", "/api/v1/webhooks/{webhook_id}"),
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries"),
    ("post", "/api/v1/webhooks/{webhook_id}/test"),
    ("get", "/api/v1/models/{name}/alert_rules"),
    ("post", "/api/v1/models/{name}/alert_rules"),
    ("delete", "/api/v1/models/{name}/alert_rules/{rule_id}"),
}


def test_the_document_validates_and_lists_every_endpoint(owner_api):
    response = owner_api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    found = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert found == ENDPOINTS
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert "401" in op["responses"], (method, path)
            assert set(op["responses"]["401"]["content"]) == {"application/problem+json"}
    schemes = document["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}


def test_the_docs_page_serves_its_assets_from_this_app(client, owner):
    client.force_login(owner)
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assert "/static/ninja/swagger-ui-bundle" in html
    assert "<script>" not in html  # no inline script


def _integers(schema: dict) -> list[dict]:
    """Every integer schema within `schema` (through anyOf/properties)."""
    found = [schema] if schema.get("type") == "integer" else []
    for sub in schema.get("anyOf", []) + list(schema.get("properties", {}).values()):
        found += _integers(sub)
    return found


def test_every_integer_has_its_bounds_and_every_name_its_pattern(owner_api):
    """What schemathesis' positive-data check relies on: a request inside the document is
    one the server takes (or answers 404/409), so the bounds are stated, not discovered."""
    document = owner_api.get("/openapi.json").json()
    unbounded, names = [], {}
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for parameter in op.get("parameters", []):
                label = f"{method} {path} {parameter['name']}"
                for schema in _integers(parameter["schema"]):
                    if "minimum" not in schema or "maximum" not in schema:
                        unbounded.append(label)
                if parameter["name"] == "version" and parameter["in"] == "path":
                    assert parameter["schema"]["minimum"] == 1, label
                if parameter["in"] == "path" and parameter["name"] in ("name", "alias"):
                    names[label] = parameter["schema"].get("pattern")
    schemas = document["components"]["schemas"]
    bodies = {
        content["schema"]["$ref"].rsplit("/", 1)[1]
        for ops in document["paths"].values()
        for op in ops.values()
        for content in op.get("requestBody", {}).get("content", {}).values()
        if "$ref" in content.get("schema", {})
    }
    assert bodies >= {"ModelIn", "TrainIn", "AliasIn", "LeaderboardIn", "RegisterIn"}
    for name in bodies:
        for integer in _integers(schemas[name]):
            if "minimum" not in integer or "maximum" not in integer:
                unbounded.append(name)
    print(f"\nunbounded integers: {unbounded}; name patterns: {len(names)}")
    assert not unbounded
    assert names
    assert all(pattern and pattern.endswith("$") for pattern in names.values()), names
    model_in = document["components"]["schemas"]["ModelIn"]["properties"]
    assert model_in["algorithm"]["enum"]
    assert (
        model_in["test_size"]["anyOf"][0]["minimum"],
        model_in["test_size"]["anyOf"][0]["maximum"],
    ) == (0.05, 0.5)
    upload = document["paths"]["/api/v1/datasets"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "text/csv", "text/plain", "application/csv"} <= set(upload)


def test_every_link_names_an_operation_of_the_document(owner_api):
    """The links between operations (create -> get / train / predict) name operation ids,
    which must stay those of the document wherever the code of an operation lives."""
    document = owner_api.get("/openapi.json").json()
    operations = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }
    links = [
        link
        for operation in operations.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 9
    assert sorted({link["operationId"] for link in links} - set(operations)) == []
    assert "registry_api_predict" in operations


def test_the_mlflow_routes_are_documented_with_their_bodies(owner_api):
    document = owner_api.get("/openapi.json").json()
    for path in (
        "/api/v1/models/{name}/invocations",
        "/api/v1/models/{name}@{alias}/invocations",
        "/api/v1/models/{name}/versions/{version}/invocations",
    ):
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]
        assert set(body) == {"application/json", "text/csv"}, path
        shapes = body["application/json"]["schema"]["oneOf"]
        assert sorted(next(iter(s["required"])) for s in shapes) == [
            "dataframe_records",
            "dataframe_split",
            "inputs",
            "instances",
        ]
        assert all("params" in s["properties"] for s in shapes), path
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer["$ref"].endswith("/InvocationOut"), path
        assert {"404", "409", "415", "422"} <= set(operation["responses"]), path
    alias = document["paths"]["/api/v1/models/{name}@{alias}/invocations"]["post"]
    assert {p["name"] for p in alias["parameters"]} == {"name", "alias"}


def test_the_document_is_built_once_per_process_and_each_answer_is_its_own_copy(owner_api):
    """Building the document costs most of a second of CPU: a client fetching it in a loop
    must not cost that per request."""
    from unittest import mock

    import ninja.main

    from registry.api.app import api

    api.forget_openapi_schema()
    with mock.patch.object(ninja.main, "get_schema", wraps=ninja.main.get_schema) as built:
        first = owner_api.get("/openapi.json")
        api.get_openapi_schema()["paths"].clear()  # a caller changing its copy
        second = owner_api.get("/openapi.json")
    assert first.status_code == second.status_code == 200
    assert built.call_count == 1
    assert second.json() == first.json()
    assert {path for _, path in ENDPOINTS} <= set(second.json()["paths"])
