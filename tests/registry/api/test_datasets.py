"""POST/GET/DELETE /api/v1/datasets."""

import io

import pytest

from registry.models import Dataset
from tests.conftest import assert_problem, demo_bytes

pytestmark = pytest.mark.django_db
NO_ROLE = {"format": None, "role": None, "role_reason": None, "override": None}


def upload_multipart(api, data: bytes, filename="houses.csv", **fields):
    file = io.BytesIO(data)
    file.name = filename
    return api.post("/datasets", {"file": file, **fields}, content_type=None)


def test_it_accepts_a_multipart_upload(owner_api, owner):
    response = upload_multipart(owner_api, demo_bytes("houses.csv"), name="homes")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["rows"], body["owner"]) == ("homes", 500, "olivia")
    area = {"name": "area", "type": "category", "missing": 0}
    assert body["columns"][3] == {**NO_ROLE, **area}
    assert Dataset.objects.get(pk=body["id"]).owner == owner


def test_it_names_a_multipart_upload_after_its_file(owner_api):
    body = upload_multipart(owner_api, demo_bytes("houses.csv"), filename="sales.csv").json()
    assert body["name"] == "sales"


def test_it_accepts_a_raw_csv_body(owner_api):
    response = owner_api.post(
        "/datasets?name=churn", demo_bytes("churn.csv"), content_type="text/csv"
    )
    assert response.status_code == 201
    body = response.json()
    charges = {"name": "monthly_charges", "type": "number", "missing": 26}
    assert body["columns"][1] == {**NO_ROLE, **charges}


def test_it_refuses_a_bad_csv_with_the_line_and_saves_nothing(owner_api):
    response = owner_api.post("/datasets?name=x", b"a,b\n1,2\n3\n", content_type="text/csv")
    body = assert_problem(response, 422, "Line 3 has 1 field(s)")
    assert body["errors"] == [{"field": "file", "detail": body["detail"]}]
    assert not Dataset.objects.exists()


def test_it_refuses_a_missing_file_field_and_other_media_types(owner_api):
    assert_problem(owner_api.post("/datasets", {"name": "x"}, content_type=None), 422, "'file'")
    assert_problem(owner_api.post("/datasets", {"a": 1}), 415)


def test_it_answers_409_for_a_taken_name(owner_api, make_dataset):
    make_dataset("houses.csv", dataset_name="homes")
    response = owner_api.post(
        "/datasets?name=homes", demo_bytes("houses.csv"), content_type="text/csv"
    )
    assert_problem(response, 409, "already have a dataset named 'homes'")


def test_it_answers_413_for_an_upload_over_the_limit(owner_api, settings):
    settings.MLSERVE_MAX_UPLOAD_MB = 1
    big = b"a,b\n" + b"1234567,7654321\n" * 70_000
    assert_problem(upload_multipart(owner_api, big), 413)
    assert not Dataset.objects.exists()


def test_it_lists_datasets_by_page(owner_api, make_dataset):
    for i in range(3):
        make_dataset("houses.csv", dataset_name=f"d{i}")
    body = owner_api.get("/datasets?page_size=2").json()
    assert (body["count"], body["page"], body["page_size"]) == (3, 1, 2)
    assert [d["name"] for d in body["items"]] == ["d2", "d1"]
    assert [d["name"] for d in owner_api.get("/datasets?page=2&page_size=2").json()["items"]] == [
        "d0"
    ]
    assert_problem(owner_api.get("/datasets?page=0"), 422)
    assert_problem(owner_api.get("/datasets?page_size=1000"), 422)


def test_it_shows_one_dataset_and_404s_an_unknown_one(owner_api, make_dataset):
    dataset = make_dataset("houses.csv")
    assert owner_api.get(f"/datasets/{dataset.pk}").json()["sha256"] == dataset.sha256
    assert_problem(owner_api.get("/datasets/999999"), 404)


def test_datasets_are_private_to_their_owner(owner_api, other_api, make_dataset):
    dataset = make_dataset("houses.csv")
    assert other_api.get("/datasets").json()["count"] == 0
    assert_problem(other_api.get(f"/datasets/{dataset.pk}"), 404)
    assert_problem(other_api.delete(f"/datasets/{dataset.pk}"), 404)
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert owner_api.delete(f"/datasets/{dataset.pk}").status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


@pytest.mark.parametrize("path", ["/datasets", "/models/churn/import"])
def test_a_multipart_body_without_a_boundary_is_a_400_problem(path, owner):
    """Found by `schemathesis run --checks all` (ST102): was a 500."""
    from django.test import Client

    from registry.tokens import token_create
    from tests.conftest import ApiClient

    api = ApiClient(Client(raise_request_exception=False), token_create(user=owner, name="t")[1])
    response = api.post(path, b"--x\r\n", content_type="multipart/form-data")
    print(f"\nPOST {path}, multipart without a boundary: {response.status_code}")
    assert_problem(response, 400, "multipart")
    assert not Dataset.objects.exists()
