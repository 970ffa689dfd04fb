"""The OpenAPI document describes the export and import endpoints' binary bodies."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_documents_the_export_file_and_the_import_bodies(owner_api):
    paths = owner_api.get("/openapi.json").json()["paths"]
    export = paths["/api/v1/models/{name}/versions/{version}/export"]["get"]
    ok = export["responses"]["200"]["content"]
    assert ok == {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
    assert set(export["responses"]) >= {"200", "401", "404", "409"}
    imported = paths["/api/v1/models/{name}/import"]["post"]
    bodies = imported["requestBody"]["content"]
    assert set(bodies) == {
        "multipart/form-data",
        "application/zip",
        "application/octet-stream",
        "application/x-zip-compressed",
    }
    assert bodies["multipart/form-data"]["schema"]["required"] == ["file"]
    assert set(imported["responses"]) >= {"201", "401", "403", "413", "415", "422"}
    assert imported["responses"]["422"]["content"].keys() == {"application/problem+json"}
