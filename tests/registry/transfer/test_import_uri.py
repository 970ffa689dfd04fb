"""An import names the model it makes a version of, by name or as MLflow's `models:/<name>`,
through every door: `POST /api/v1/import` (field or query `model`, default the name in the
file), the Import page's name, `import_version --name`. An import always makes the model's
next version, so a URI naming a version or an alias is refused (422 naming the field), as
is a URI that is not one; `POST /api/v1/models/{name}/import` names the model by its path."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from registry import tokens
from registry.models import ModelVersion, RegisteredModel
from tests.conftest import ApiClient, assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def export_file(owner_api, churn) -> bytes:
    response = owner_api.get("/models/churn/versions/1/export")
    assert response.status_code == 200, response.content
    return response.content


def upload(data: bytes) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = "churn-v1.mlserve.zip"
    return file


def versions() -> list[tuple[str, int]]:
    return sorted(ModelVersion.objects.values_list("model__name", "version"))


def test_it_imports_into_the_model_a_uri_names(owner_api, owner, export_file):
    response = owner_api.post(
        "/import", {"file": upload(export_file), "model": "models:/churn-copy"}, content_type=None
    )
    assert response.status_code == 201, response.content
    assert (response.json()["model"], response.json()["version"]) == ("churn-copy", 1)
    assert RegisteredModel.objects.get(name="churn-copy").owner == owner
    # A raw body names it in the query; a plain name is taken as well.
    raw = owner_api.post(
        "/import?model=models:/churn-copy", export_file, content_type="application/zip"
    )
    assert raw.status_code == 201, raw.content
    assert raw.json()["version"] == 2
    plain = owner_api.post("/import?model=churn-plain", export_file, content_type="application/zip")
    assert plain.status_code == 201, plain.content
    assert versions() == [("churn", 1), ("churn-copy", 1), ("churn-copy", 2), ("churn-plain", 1)]


def test_without_a_model_it_imports_into_the_name_in_the_file(owner_api, export_file):
    response = owner_api.post("/import", {"file": upload(export_file)}, content_type=None)
    assert response.status_code == 201, response.content
    assert (response.json()["model"], response.json()["version"]) == ("churn", 2)


@pytest.mark.parametrize(
    ("model", "detail"),
    [
        ("models:/churn/1", "names a version or an alias: this takes a model"),
        ("models:/churn@production", "names a version or an alias"),
        ("models:/Churn", "does not name a model"),
        ("models:/", "does not name a model"),
        ("runs:/abc/model", "is not a model name"),
        ("Churn Copy", "is not a model name"),
        ("models:/" + "a" * 300, "is not a model URI"),
    ],
)
def test_a_uri_that_names_no_model_is_refused(owner_api, export_file, model, detail):
    before = versions()
    response = owner_api.post(
        "/import", {"file": upload(export_file), "model": model}, content_type=None
    )
    problem = assert_problem(response, 422, detail)
    assert problem["errors"][0]["field"] == "model"
    assert versions() == before


def test_another_user_s_model_is_refused_by_uri_as_by_name(other_api, export_file):
    before = versions()
    response = other_api.post(
        "/import", {"file": upload(export_file), "model": "models:/churn"}, content_type=None
    )
    assert_problem(response, 403)
    assert versions() == before


def test_a_token_needs_write_and_no_model_limit(owner, export_file):
    read_only = ApiClient(Client(), tokens.token_create(user=owner, name="r", scopes=["read"])[1])
    assert_problem(
        read_only.post("/import?model=x", export_file, content_type="application/zip"), 403, "write"
    )
    limited = tokens.token_create(user=owner, name="w", scopes=["write"], models=["churn"])[1]
    response = ApiClient(Client(), limited).post(
        "/import?model=churn", export_file, content_type="application/zip"
    )
    assert_problem(response, 403, "not about one model")
    assert versions() == [("churn", 1)]


def test_the_page_and_the_command_take_a_uri_too(logged_in, owner, export_file, tmp_path):
    response = logged_in.post(
        "/import/", {"file": upload(export_file), "name": "models:/from-page"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    refused = logged_in.post("/import/", {"file": upload(export_file), "name": "models:/x/2"})
    assert refused.status_code == 422
    assert "names a version or an alias" in refused.content.decode()
    path = tmp_path / "churn.mlserve.zip"
    path.write_bytes(export_file)
    call_command("import_version", str(path), name="models:/from-command", owner=owner.username)
    with pytest.raises(CommandError, match="names a version or an alias"):
        call_command("import_version", str(path), name="models:/churn@production")
    assert versions() == [("churn", 1), ("from-command", 1), ("from-page", 1)]


def test_a_query_that_names_a_version_is_refused_naming_model(owner_api, export_file):
    response = owner_api.post(
        "/import?model=models:/churn/1", export_file, content_type="application/zip"
    )
    problem = assert_problem(response, 422, "names a version or an alias: this takes a model")
    assert problem["errors"][0]["field"] == "model"
    assert versions() == [("churn", 1)]
