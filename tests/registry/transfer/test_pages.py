"""The version page's Export button and the import page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry import transfer
from registry.models import ModelVersion, RegisteredModel
from tests.registry.transfer.zips import flip, pack, unpack

pytestmark = pytest.mark.django_db

EXPORT_URL = "/models/churn/versions/1/export/"


def upload(data: bytes, name: str = "churn-v1.mlserve.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "application/zip")


def test_the_version_page_offers_export_to_its_owner_only(logged_in, other_logged_in, churn):
    html = logged_in.get("/models/churn/versions/1/").content.decode()
    assert f'href="{EXPORT_URL}" download data-export>Export</a>' in html
    assert "data-export" not in other_logged_in.get("/models/churn/versions/1/").content.decode()


def test_the_version_page_offers_no_export_before_the_version_is_ready(logged_in, churn, owner):
    from registry import services

    services.version_create(
        model=churn.model,
        user=owner,
        dataset=churn.dataset,
        algorithm="gaussian_nb",
        target="churned",
    )
    html = logged_in.get("/models/churn/versions/2/").content.decode()
    assert "data-export" not in html
    response = logged_in.get("/models/churn/versions/2/export/")
    assert response.status_code == 302
    follow = logged_in.get(response["Location"]).content.decode()
    assert "only a ready version can be exported" in follow


def test_export_downloads_the_file(logged_in, churn):
    response = logged_in.get(EXPORT_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="churn-v1.mlserve.zip"'
    export = transfer.read_export(response.content)
    assert export.artifact_sha256 == churn.artifact_sha256
    assert export.card["exported"]["by"] == "olivia"


def test_pages_need_a_login(client, churn):
    for url in (EXPORT_URL, "/import/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_model_pages_link_to_the_import_page(logged_in, other_logged_in, churn):
    assert 'href="/import/">Import a model</a>' in logged_in.get("/models/").content.decode()
    detail = logged_in.get("/models/churn/").content.decode()
    assert 'href="/import/?model=churn">Import a version</a>' in detail
    assert "Import a version" not in other_logged_in.get("/models/churn/").content.decode()
    form = logged_in.get("/import/?model=churn").content.decode()
    assert 'name="name" value="churn"' in form
    assert 'type="file" name="file"' in form


def test_it_imports_an_upload_as_a_new_model_and_shows_where_it_came_from(
    logged_in, other_logged_in, churn, other
):
    data = logged_in.get(EXPORT_URL).content
    response = other_logged_in.post("/import/", {"file": upload(data), "name": "churn-eu"})
    assert response.status_code == 302
    assert response["Location"] == "/models/churn-eu/versions/1/"
    version = ModelVersion.objects.select_related("model").get(model__name="churn-eu")
    assert version.model.owner == other
    assert version.status == "ready"
    assert version.artifact_sha256 == churn.artifact_sha256
    page = other_logged_in.get(response["Location"]).content.decode()
    assert "Imported churn-eu v1: churn v1 from" in page
    assert "data-origin>Imported from <strong>" in page
    assert "signature unsigned" in page


def test_it_takes_the_name_from_the_file_when_none_is_given(logged_in, churn):
    data = logged_in.get(EXPORT_URL).content
    response = logged_in.post("/import/", {"file": upload(data)})
    assert response["Location"] == "/models/churn/versions/2/"
    assert churn.model.versions.count() == 2


def test_it_shows_why_a_file_is_refused_and_writes_nothing(logged_in, churn):
    members = unpack(logged_in.get(EXPORT_URL).content)
    members["model-card.json"] = flip(members["model-card.json"], 10)
    response = logged_in.post("/import/", {"file": upload(pack(members)), "name": "bad"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert "model-card.json does not match its sha256 in the manifest" in html
    assert not RegisteredModel.objects.filter(name="bad").exists()
    response = logged_in.post("/import/", {"name": "bad"})
    assert "Choose an export file (.zip)" in response.content.decode()


def test_it_refuses_to_import_into_another_users_model(logged_in, other_logged_in, churn):
    data = logged_in.get(EXPORT_URL).content
    response = other_logged_in.post("/import/", {"file": upload(data), "name": "churn"})
    assert response.status_code == 403
    assert "belongs to another user" in response.content.decode()
    assert churn.model.versions.count() == 1


def test_the_import_page_and_an_imported_version_page_are_ready_for_a_strict_csp(logged_in, churn):
    from tests.registry.web.test_markup import check

    data = logged_in.get(EXPORT_URL).content
    check(logged_in.get("/import/").content.decode(), "import")
    check(logged_in.post("/import/", {"file": upload(b"nope")}).content.decode(), "refused")
    logged_in.post("/import/", {"file": upload(data), "name": "twin"})
    check(logged_in.get("/models/twin/versions/1/").content.decode(), "imported version")
