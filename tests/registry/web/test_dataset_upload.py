"""Uploading a CSV: stored with its schema, or every problem explained next to the field."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry.models import Dataset
from tests.conftest import demo_bytes

pytestmark = pytest.mark.django_db


def csv_file(data: bytes, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def upload(client, data: bytes, filename: str = "data.csv", **fields):
    return client.post(reverse("dataset_upload"), {"file": csv_file(data, filename), **fields})


def test_it_shows_a_drop_zone_with_a_file_picker(owner_client):
    response = owner_client.get(reverse("dataset_upload"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-dropzone" in html
    assert (
        'type="file" name="file" accept=".csv,.tsv,.txt,text/csv,text/tab-separated-values"' in html
    )
    assert 'enctype="multipart/form-data"' in html
    assert "js/upload.js" in html
    assert not Dataset.objects.exists()


def test_it_stores_the_csv_and_lands_on_its_page(owner_client, owner):
    response = upload(owner_client, demo_bytes("churn.csv"), "churn.csv")
    dataset = Dataset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/datasets/{dataset.pk}/"
    assert (dataset.name, dataset.owner, dataset.n_rows, dataset.n_columns) == (
        "churn",
        owner,
        600,
        6,
    )
    follow = owner_client.get(response["Location"])
    assert b"Uploaded churn: 600 rows, 6 columns." in follow.content


def test_it_uses_the_name_given(owner_client):
    upload(owner_client, demo_bytes("houses.csv"), "houses.csv", name="  prices 2024 ")
    assert Dataset.objects.get().name == "prices 2024"


def test_it_asks_for_a_file(owner_client):
    response = owner_client.post(reverse("dataset_upload"), {"name": "x"})
    assert response.status_code == 200
    assert b"Choose a CSV file (or drop one on the box)." in response.content
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"a,b\n1,2\n3\n4,5\n", "Line 3 has 1 field(s), but the header has 2"),
        (b"a,a\n1,2\n3,4\n", "Column name &#x27;a&#x27; appears twice"),
        (b"a,b\n1,2\n", "at least 2 are needed"),
        (b"a,b\n\x81\x8d,1\n2,3\n", "Line 2 is not valid UTF-8"),  # nor cp1252
        (b"1,2\n3,4\n5,6\n", "it must be a header naming the columns"),
    ],
)
def test_it_explains_what_is_wrong_with_the_csv(owner_client, data, message):
    response = upload(owner_client, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'class="field-error" id="id_file_error"' in html
    assert not Dataset.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(owner_client, settings):
    settings.MLSERVE_MAX_UPLOAD_MB = 1
    response = upload(owner_client, b"a,b\n" + b"1,2\n" * 300_000)
    assert response.status_code == 200
    assert b"the limit is 1 MB" in response.content
    assert not Dataset.objects.exists()


def test_it_refuses_a_name_you_already_use(owner_client, make_dataset):
    make_dataset("houses.csv", dataset_name="houses")
    response = upload(owner_client, demo_bytes("houses.csv"), name="houses")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose another name or delete the existing dataset." in html
    assert 'id="id_name_error"' in html
    assert Dataset.objects.count() == 1


def test_it_numbers_a_second_upload_of_the_same_file(owner_client, owner):
    upload(owner_client, demo_bytes("houses.csv"), "houses.csv")
    upload(owner_client, demo_bytes("houses.csv"), "houses.csv")
    assert sorted(owner.datasets.values_list("name", flat=True)) == ["houses", "houses (2)"]
