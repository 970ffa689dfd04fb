"""An import that would create a model counts against the importer's model quota
(MLSERVE_USER_MAX_MODELS); a new version of one's own model does not."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import RegisteredModel
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_it_refuses_an_import_over_the_model_quota_with_429(owner_api, churn, settings):
    settings.MLSERVE_USER_MAX_MODELS = 1
    data = owner_api.get("/models/churn/versions/1/export").content
    response = owner_api.post("/models/twin/import", data, content_type="application/zip")
    assert_problem(response, 429, "MLSERVE_USER_MAX_MODELS")
    assert not RegisteredModel.objects.filter(name="twin").exists()
    response = owner_api.post("/models/churn/import", data, content_type="application/zip")
    assert response.status_code == 201, response.content


def test_the_import_page_shows_the_model_quota_next_to_the_name(logged_in, churn, settings):
    settings.MLSERVE_USER_MAX_MODELS = 1
    data = logged_in.get("/models/churn/versions/1/export/").content
    upload = SimpleUploadedFile("churn-v1.mlserve.zip", data, "application/zip")
    response = logged_in.post("/import/", {"file": upload, "name": "twin"})
    assert response.status_code == 429
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert "You own 1 models, the most one user may" in html
    assert not RegisteredModel.objects.filter(name="twin").exists()
