"""POST /api/v1/datasets with read options, and GET /api/v1/datasets/{id}/csv."""

import io

import pytest

from registry.models import Dataset
from tests.conftest import assert_problem, demo_bytes

pytestmark = pytest.mark.django_db

PENGUINS = b"species;bill;mass\nAdelie;39,1;3750\nGentoo;46,5;5000\n"


def test_it_detects_the_delimiter_and_decimal_comma_and_returns_them(owner_api):
    response = owner_api.post("/datasets?name=p", PENGUINS, content_type="text/csv")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [c["type"] for c in body["columns"]] == ["category", "number", "number"]
    assert body["options"] == {
        "encoding": "utf-8",
        "delimiter": ";",
        "decimal": ",",
        "thousands": [],
    }


def test_the_query_overrides_detection(owner_api):
    response = owner_api.post(
        "/datasets?name=p&delimiter=semicolon&decimal=point", PENGUINS, content_type="text/csv"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [c["type"] for c in body["columns"]] == ["category", "category", "number"]
    assert body["options"]["decimal"] == "."


def test_multipart_fields_override_detection(owner_api):
    file = io.BytesIO("a|b\né|1\nü|2\n".encode())
    file.name = "x.csv"
    response = owner_api.post(
        "/datasets",
        {"file": file, "delimiter": "|", "encoding": "latin-1"},
        content_type=None,
    )
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get()
    assert dataset.options["encoding"] == "latin-1"
    assert dataset.column("a")["values"] == ["Ã©", "Ã¼"]


def test_an_unknown_choice_is_a_422_naming_the_field(owner_api):
    file = io.BytesIO(PENGUINS)
    file.name = "x.csv"
    response = owner_api.post("/datasets", {"file": file, "decimal": "dot"}, content_type=None)
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "decimal"
    assert not Dataset.objects.exists()


def test_an_excel_workbook_is_a_422_that_says_to_export_csv(owner_api):
    data = b"PK\x03\x04" + b"\x00" * 30 + b"xl/worksheets/sheet1.xml" + b"\x00" * 100
    file = io.BytesIO(data)
    file.name = "book.xlsx"
    response = owner_api.post("/datasets", {"file": file}, content_type=None)
    assert_problem(response, 422, "This is an Excel workbook")


def test_the_owner_downloads_the_stored_bytes(owner_api, make_dataset):
    dataset = make_dataset("churn.csv")
    response = owner_api.get(f"/datasets/{dataset.pk}/csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == demo_bytes("churn.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="churn.csv"'


def test_another_user_gets_a_404(other_api, make_dataset):
    dataset = make_dataset("churn.csv")
    assert_problem(other_api.get(f"/datasets/{dataset.pk}/csv"), 404)
