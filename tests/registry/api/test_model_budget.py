"""A model bigger than a server's model memory (MLSERVE_MODEL_CACHE_MB) is neither trained
nor kept loaded: refused at request time when its size is known (k-NN keeps every training
row), failed after fitting otherwise, and answered 507 problem+json by serving."""

import numpy as np
import pytest

from registry import services, serving
from registry.models import ModelVersion, RegisteredModel
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db(transaction=True)  # the worker forks its trainings

ROWS = 20_000
COLUMNS = [f"x{j}" for j in range(10)]


def numbers_csv(rows: int = ROWS) -> bytes:
    """Ten noisy numeric columns and a noisy numeric target: ~1.3 MB as a k-NN's rows."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, len(COLUMNS) + 1)).round(4)
    lines = [",".join([*COLUMNS, "y"])] + [",".join(map(str, row)) for row in values.tolist()]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def numbers(make_dataset):
    return make_dataset(data=numbers_csv(), dataset_name="numbers")


def knn_body(dataset, **changes):
    body = {"name": "knn", "dataset": dataset.pk, "algorithm": "knn_regressor", "target": "y"}
    return {**body, **changes}


def test_it_refuses_a_knn_bigger_than_the_model_memory_when_asked(owner_api, numbers, settings):
    settings.MLSERVE_MODEL_CACHE_MB = 1
    problem = assert_problem(owner_api.post("/models", knn_body(numbers)), 422)
    detail = next(e["detail"] for e in problem["errors"] if e["field"] == "algorithm")
    print(f"k-NN on {ROWS:,} x {len(COLUMNS)}, model memory 1 MB: 422 {detail!r}")
    assert "would take 1.6 MB in memory, more than the 1 MB" in detail
    assert "MLSERVE_MODEL_CACHE_MB" in detail
    assert not RegisteredModel.objects.exists()
    # Two of the ten columns fit: 16,000 rows x 2 floats.
    assert owner_api.post("/models", knn_body(numbers, features=["x0", "x1"])).status_code == 202


def test_it_fails_a_training_whose_model_is_bigger_than_the_model_memory(
    owner, numbers, settings, worker
):
    # A decision tree grown to one leaf per row: its size is only known once it is fitted.
    settings.MLSERVE_MODEL_CACHE_MB = 1
    version = services.model_create_with_version(
        owner=owner,
        name="tree",
        dataset=numbers,
        algorithm="decision_tree_regressor",
        target="y",
    )
    worker()
    version.refresh_from_db()
    print(f"tree on {ROWS:,} rows, model memory 1 MB: {version.status} {version.error!r}")
    assert version.status == "failed"
    assert "MB in memory, more than the 1 MB a server keeps for loaded models" in version.error
    assert "it could not be served, so it was not kept" in version.error
    assert not ModelVersion.objects.filter(pk=version.pk, artifact__isnull=False).exists()
    assert version.artifact_size == 0


def test_it_refuses_to_serve_a_model_bigger_than_the_model_memory(
    owner_api, numbers, settings, worker, monkeypatch
):
    assert owner_api.post("/models", knn_body(numbers)).status_code == 202
    worker()
    version = ModelVersion.objects.get(model__name="knn")
    assert version.status == "ready", version.error
    row = {"instances": [dict.fromkeys(COLUMNS, 0.5)]}
    assert owner_api.post("/models/knn/predict", row).status_code == 200
    loaded = serving.pipeline_cache().bytes
    # The servers' budget shrinks below the model (a restart with a smaller setting).
    settings.MLSERVE_MODEL_CACHE_MB = 1
    monkeypatch.setattr(serving.cache, "_cache", None)
    for _ in range(2):
        response = owner_api.post("/models/knn/predict", row)
        problem = assert_problem(response, 507)
        assert "cannot be served" in problem["detail"]
    print(f"k-NN of {loaded / 2**20:.2f} MB loaded, model memory 1 MB: 507 {problem['detail']!r}")
    assert problem["detail"].startswith(
        "Version 1 of knn takes 1.6 MB in memory, more than the 1 MB"
    )
    cache = serving.pipeline_cache()
    assert cache.bytes == 0
    assert cache.refused == 2
    assert owner_api.get("/openapi.json").json()["paths"]["/api/v1/models/{name}/predict"]["post"][
        "responses"
    ]["507"]


def test_it_refuses_to_import_a_model_bigger_than_the_model_memory(
    owner_api, numbers, settings, worker
):
    assert owner_api.post("/models", knn_body(numbers)).status_code == 202
    worker()
    exported = owner_api.get("/models/knn/versions/1/export")
    assert exported.status_code == 200
    settings.MLSERVE_MODEL_CACHE_MB = 1
    response = owner_api.post(
        "/models/twin/import", exported.content, content_type="application/zip"
    )
    problem = assert_problem(response, 413)
    print(f"import of a {len(exported.content) / 2**20:.2f} MB export: 413 {problem['detail']!r}")
    assert problem["detail"].startswith("The imported model takes 1.6 MB in memory")
    assert not RegisteredModel.objects.filter(name="twin").exists()
    settings.MLSERVE_MODEL_CACHE_MB = 2
    response = owner_api.post(
        "/models/twin/import", exported.content, content_type="application/zip"
    )
    assert response.status_code == 201
