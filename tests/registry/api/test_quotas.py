"""Per-user quotas: the bytes of one's stored datasets and the number of one's models
(superusers are exempt)."""

import pytest

from registry.models import Dataset, RegisteredModel
from tests.conftest import assert_problem, demo_bytes

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def csv_of(size: int) -> bytes:
    """A valid CSV of about `size` bytes."""
    line = b"1234567.5,abcdefghij,42\n"
    return b"x,label,n\n" + line * (size // len(line))


def upload(api, data: bytes, name: str):
    return api.post(f"/datasets?name={name}", data, content_type="text/csv")


def train_body(dataset_id: int, name: str) -> dict:
    return {
        "name": name,
        "dataset": dataset_id,
        "algorithm": "linear_regression",
        "target": "price",
    }


def test_it_refuses_a_dataset_over_the_users_storage_quota_with_413(owner_api, other_api, settings):
    settings.MLSERVE_USER_MAX_DATASET_MB = 1
    for name in ("a", "b"):
        assert upload(owner_api, csv_of(400_000), name).status_code == 201
    body = assert_problem(upload(owner_api, csv_of(400_000), "c"), 413, "quota of 1 MB")
    assert "MLSERVE_USER_MAX_DATASET_MB" in body["detail"]
    assert body["errors"][0]["field"] == "file"
    assert sorted(Dataset.objects.values_list("name", flat=True)) == ["a", "b"]
    # Another user has a quota of their own; deleting a dataset frees its bytes.
    assert upload(other_api, csv_of(400_000), "c").status_code == 201
    first = Dataset.objects.get(name="a")
    assert owner_api.delete(f"/datasets/{first.pk}").status_code == 204
    assert upload(owner_api, csv_of(400_000), "c").status_code == 201


def test_it_refuses_a_model_over_the_users_model_quota_with_429(owner_api, make_dataset, settings):
    settings.MLSERVE_USER_MAX_MODELS = 2
    houses = make_dataset("houses.csv")
    for name in ("p1", "p2"):
        assert owner_api.post("/models", train_body(houses.pk, name)).status_code == 202
    body = assert_problem(owner_api.post("/models", train_body(houses.pk, "p3")), 429)
    assert "MLSERVE_USER_MAX_MODELS" in body["detail"]
    assert "2 models" in body["detail"]
    assert body["errors"][0]["field"] == "name"
    assert not RegisteredModel.objects.filter(name="p3").exists()
    # New versions of one's models are not models.
    assert owner_api.post("/models/p1/versions", train_body(houses.pk, "p1")).status_code == 202


def test_quotas_do_not_apply_to_superusers(client, admin_user, make_dataset, settings):
    from registry.tokens import token_create
    from tests.conftest import ApiClient

    settings.MLSERVE_USER_MAX_DATASET_MB = 1
    settings.MLSERVE_USER_MAX_MODELS = 1
    api = ApiClient(client, token_create(user=admin_user, name="tests")[1])
    for name in ("a", "b", "c"):
        assert upload(api, csv_of(400_000), name).status_code == 201
    houses = make_dataset("houses.csv", user=admin_user)
    for name in ("p1", "p2"):
        assert api.post("/models", train_body(houses.pk, name)).status_code == 202


def test_a_quota_of_zero_means_no_limit(owner_api, settings):
    settings.MLSERVE_USER_MAX_DATASET_MB = 0
    assert upload(owner_api, csv_of(1_100_000), "big").status_code == 201
    assert upload(owner_api, demo_bytes("houses.csv"), "houses").status_code == 201
