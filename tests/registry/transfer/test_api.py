"""GET /api/v1/models/{name}/versions/{v}/export and POST /api/v1/models/{name}/import."""

import json

import pytest
from django.test import override_settings

from registry import transfer
from registry.models import ModelVersion, RegisteredModel
from tests.conftest import assert_problem, without_ids
from tests.registry.transfer.zips import CHURN_ROWS, SIGNING_KEY, flip, pack, sha, unpack

pytestmark = pytest.mark.django_db


def export(api, name="churn", version=1):
    response = api.get(f"/models/{name}/versions/{version}/export")
    assert response.status_code == 200, response.content
    return response


def test_it_exports_a_ready_version_as_one_zip_with_its_model_card(owner_api, churn, settings):
    response = export(owner_api)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="churn-v1.mlserve.zip"'
    members = unpack(response.content)
    assert list(members) == ["manifest.json", "model-card.json", "artifact.npz"]
    assert members["artifact.npz"] == bytes(ModelVersion.objects.get(pk=churn.pk).artifact)
    card = transfer.read_export(response.content).card
    assert (card["format"], card["format_version"]) == ("mlserving-model-card", 1)
    assert card["model"] == {"name": "churn", "version": 1, "description": ""}
    assert (card["algorithm"], card["kind"]) == ("logistic_regression", "classifier")
    assert card["params"] == churn.params
    assert card["params"]["C"] == 0.5
    assert card["features"] == churn.features
    assert card["classes"] == churn.classes == ["no", "yes"]
    assert card["metrics"] == churn.metrics
    assert card["metrics"]["accuracy"] > 0.5
    assert card["loss_curve"] == churn.loss_curve
    assert card["profile"] == churn.profile
    assert card["dataset"] == {"name": churn.dataset_name, "sha256": churn.dataset_sha256}
    assert card["artifact"]["sha256"] == churn.artifact_sha256
    assert card["artifact"]["size"] == churn.artifact_size
    assert card["exported"]["instance"] == settings.MLSERVE_INSTANCE_NAME
    assert card["exported"]["by"] == "olivia"
    assert card["training"]["seed"] == churn.seed
    assert card["origin"] is None
    manifest = json.loads(members["manifest.json"])
    assert manifest["files"]["model-card.json"]["sha256"] == sha(members["model-card.json"])
    assert manifest["files"]["artifact.npz"]["sha256"] == churn.artifact_sha256
    assert manifest["signature"] is None


def test_it_lets_only_the_owner_export(owner_api, other_api, churn):
    assert transfer.read_export(export(owner_api).content).card["model"]["name"] == "churn"
    assert_problem(other_api.get("/models/churn/versions/1/export"), 403, "only its owner")


def test_it_names_the_instance_from_the_setting(owner_api, churn, settings):
    settings.MLSERVE_INSTANCE_NAME = "staging-eu-1"
    card = transfer.read_export(export(owner_api).content).card
    assert card["exported"]["instance"] == "staging-eu-1"


def test_it_refuses_to_export_a_version_that_is_not_ready(owner_api, train_version, owner):
    from registry import services

    ready = train_version("churn", "logistic_regression")
    queued = services.version_create(
        model=ready.model,
        user=owner,
        dataset=ready.dataset,
        algorithm="logistic_regression",
        target="churned",
    )
    assert queued.status == "queued"
    response = owner_api.get("/models/churn/versions/2/export")
    assert_problem(response, 409, "churn v2 is queued: only a ready version can be exported")
    assert_problem(owner_api.get("/models/churn/versions/9/export"), 404, "no version 9")
    assert_problem(owner_api.get("/models/nope/versions/1/export"), 404, "no model named")


def test_it_refuses_to_export_a_damaged_artifact(owner_api, churn):
    ModelVersion.objects.filter(pk=churn.pk).update(artifact=b"not the artifact")
    response = owner_api.get("/models/churn/versions/1/export")
    assert_problem(response, 409, "does not match its sha256: refusing to export")


def test_it_needs_a_signed_in_user(anon_api, churn):
    assert_problem(anon_api.get("/models/churn/versions/1/export"), 401)
    response = anon_api.post("/models/x/import", b"zip", content_type="application/zip")
    assert_problem(response, 401)
    assert not RegisteredModel.objects.filter(name="x").exists()


def test_it_imports_a_multipart_upload_as_a_new_model_owned_by_the_importer(
    owner_api, other_api, churn, other
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = export(owner_api).content
    upload = SimpleUploadedFile("churn-v1.mlserve.zip", data, "application/zip")
    response = other_api.post("/models/churn-copy/import", {"file": upload}, content_type=None)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["model"], body["version"], body["status"]) == ("churn-copy", 1, "ready")
    assert body["dataset"] == {
        "id": None,
        "name": churn.dataset_name,
        "sha256": churn.dataset_sha256,
    }
    assert body["origin"]["model"] == "churn"
    assert body["origin"]["signature"] == "unsigned"
    assert body["created_by"] == "oscar"
    model = RegisteredModel.objects.get(name="churn-copy")
    assert model.owner == other
    version = model.versions.get()
    assert (version.artifact_sha256, version.features) == (churn.artifact_sha256, churn.features)
    original = ModelVersion.objects.get(pk=churn.pk)
    assert original.plots  # matplotlib's SVGs travel with the card and pass its checks
    assert version.plots == original.plots
    assert (version.metrics, version.loss_curve) == (original.metrics, original.loss_curve)


def test_it_imports_a_raw_body_as_the_next_version(owner_api, churn):
    data = export(owner_api).content
    response = owner_api.post("/models/churn/import", data, content_type="application/zip")
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 2
    response = owner_api.post("/models/churn/import", data, content_type="application/octet-stream")
    assert response.json()["version"] == 3
    assert list(churn.model.versions.values_list("version", "status")) == [
        (3, "ready"),
        (2, "ready"),
        (1, "ready"),
    ]


def test_the_imported_version_predicts_exactly_like_the_original(owner_api, churn):
    data = export(owner_api).content
    owner_api.post("/models/twin/import", data, content_type="application/zip")
    rows = {"instances": CHURN_ROWS}
    original = owner_api.post("/models/churn/versions/1/predict", rows).json()
    imported = owner_api.post("/models/twin/versions/1/predict", rows).json()
    assert original.pop("model") == {"name": "churn", "version": 1, "role": "champion"}
    assert imported.pop("model") == {"name": "twin", "version": 1, "role": "champion"}
    assert without_ids(imported) == without_ids(original)
    assert len(set(original["predictions"])) == 2


def test_it_refuses_to_import_into_another_users_model(owner_api, other_api, churn):
    data = export(owner_api).content
    response = other_api.post("/models/churn/import", data, content_type="application/zip")
    assert_problem(response, 403, "belongs to another user")
    assert churn.model.versions.count() == 1


def test_it_refuses_a_bad_file_with_422_and_writes_nothing(owner_api, churn):
    from django.core.files.uploadedfile import SimpleUploadedFile

    members = unpack(export(owner_api).content)
    members["artifact.npz"] = flip(members["artifact.npz"], 100)
    response = owner_api.post("/models/new/import", pack(members), content_type="application/zip")
    body = assert_problem(response, 422, "artifact.npz does not match its sha256 in the manifest")
    assert body["errors"] == [{"field": "file", "detail": body["detail"]}]
    assert not RegisteredModel.objects.filter(name="new").exists()
    empty = SimpleUploadedFile("empty.zip", b"", "application/zip")
    response = owner_api.post("/models/new/import", {"file": empty}, content_type=None)
    assert_problem(response, 422, "the file is empty")


def test_it_refuses_other_content_types_and_a_missing_field(owner_api, churn):
    response = owner_api.post("/models/new/import", {"x": 1})
    assert_problem(response, 415, "application/zip")
    response = owner_api.post("/models/new/import", {"other": "x"}, content_type=None)
    assert_problem(response, 422, "multipart field named 'file'")


def test_it_refuses_a_body_over_the_upload_limit(owner_api, churn, settings):
    settings.MLSERVE_MAX_UPLOAD_MB = 1
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = owner_api.post(
        "/models/new/import", b"\0" * (2 * 1024 * 1024), content_type="application/zip"
    )
    assert_problem(response, 413)
    assert not RegisteredModel.objects.filter(name="new").exists()


def test_it_requires_a_signature_when_a_signing_key_is_set(owner_api, churn):
    unsigned = export(owner_api).content
    with override_settings(MLSERVE_SIGNING_KEY=SIGNING_KEY, MLSERVE_REQUIRE_SIGNED_IMPORTS=True):
        signed = export(owner_api).content
        response = owner_api.post("/models/new/import", unsigned, content_type="application/zip")
        assert_problem(response, 422, "it is not signed, and this instance accepts only signed")
        response = owner_api.post("/models/new/import", signed, content_type="application/zip")
        assert response.status_code == 201
        assert response.json()["origin"]["signature"] == "verified"


def test_an_imported_version_exports_again_with_where_it_came_from(owner_api, churn):
    first = export(owner_api).content
    owner_api.post("/models/hop/import", first, content_type="application/zip")
    second = export(owner_api, "hop", 1).content
    card = transfer.read_export(second).card
    assert card["origin"]["model"] == "churn"
    response = owner_api.post("/models/hop2/import", second, content_type="application/zip")
    origin = response.json()["origin"]
    assert (origin["model"], origin["version"]) == ("hop", 1)
    assert origin["previous"]["model"] == "churn"
    assert origin["artifact_sha256"] == churn.artifact_sha256
