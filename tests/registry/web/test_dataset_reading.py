"""Uploading real-world files on the page: what was detected is stored, shown, and can be
overridden; a dataset can be downloaded back by its owner."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry.models import Dataset

pytestmark = pytest.mark.django_db

PENGUINS = (
    "species;bill_length_mm;body_mass_g\nAdelie;39,1;3750\nGentoo;46,5;5000\nAdelie;38,2;3600\n"
)


def upload(client, data: bytes, filename: str = "penguins.csv", **fields):
    file = SimpleUploadedFile(filename, data, content_type="text/csv")
    return client.post(reverse("dataset_upload"), {"file": file, **fields})


def test_the_upload_form_offers_delimiter_decimal_and_encoding_detected_by_default(
    owner_client,
):
    html = owner_client.get(reverse("dataset_upload")).content.decode()
    for name in ("delimiter", "decimal", "encoding"):
        assert f'name="{name}"' in html
    assert '<option value="detect" selected>' in html


def test_a_semicolon_file_with_decimal_commas_is_read_and_the_page_says_how(owner_client):
    response = upload(owner_client, PENGUINS.encode())
    assert response.status_code == 302, response.content.decode()[:2000]
    dataset = Dataset.objects.get()
    assert dataset.n_columns == 3
    assert dataset.column("bill_length_mm")["type"] == "number"
    assert dataset.options == {
        "encoding": "utf-8",
        "delimiter": ";",
        "decimal": ",",
        "thousands": [],
    }
    html = owner_client.get(response["Location"]).content.decode()
    assert "Read as: semicolon-separated, decimal comma, UTF-8" in html
    assert '<th scope="col">bill_length_mm</th>' in html  # the first rows, split by ";"


def test_the_chosen_delimiter_overrides_detection(owner_client):
    response = upload(
        owner_client, b"a;b\nx;1\ny;2\n", delimiter="comma", decimal="detect", encoding="detect"
    )
    assert response.status_code == 302
    dataset = Dataset.objects.get()
    assert [c["name"] for c in dataset.schema] == ["a;b"]
    assert dataset.options["delimiter"] == ","


def test_a_cp1252_file_with_thousands_separators_says_what_was_read(owner_client):
    data = 'ville,population\nZürich,"421,878"\nBesançon,"119,198"\nLyon,999\n'.encode("cp1252")
    response = upload(owner_client, data)
    assert response.status_code == 302
    dataset = Dataset.objects.get()
    assert dataset.options["encoding"] == "cp1252"
    assert dataset.options["thousands"] == ["population"]
    html = owner_client.get(response["Location"]).content.decode()
    assert "Read as: comma-separated, decimal point, cp1252" in html
    assert "read &#x27;population&#x27; as numbers (thousands separators" in html
    assert "Zürich" in html


def test_an_excel_workbook_gets_told_to_export_it_as_csv(owner_client):
    data = b"PK\x03\x04" + b"\x00" * 30 + b"xl/workbook.xml" + b"\x00" * 100
    response = upload(owner_client, data, filename="penguins.xlsx")
    assert response.status_code == 200
    assert "This is an Excel workbook" in response.content.decode()
    assert not Dataset.objects.exists()


def test_a_bad_choice_is_refused_next_to_its_field(owner_client):
    response = upload(owner_client, PENGUINS.encode(), delimiter="colon")
    assert response.status_code == 200
    assert "colon is not one of the available choices" in response.content.decode()
    assert not Dataset.objects.exists()


def test_the_owner_downloads_the_dataset_as_uploaded(owner_client, make_dataset):
    data = "name;v\nJosé;1\nZoë;2\n".encode("cp1252")
    dataset = make_dataset(data=data, dataset_name="crème brûlée/2024")
    html = owner_client.get(reverse("dataset_detail", args=[dataset.pk])).content.decode()
    link = reverse("dataset_csv", args=[dataset.pk])
    assert f'href="{link}"' in html
    response = owner_client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "text/csv; charset=cp1252"
    assert response["Content-Disposition"] == 'attachment; filename="cr_me_br_l_e_2024.csv"'


def test_another_user_gets_a_404_and_a_superuser_the_file(client, other, admin_user, make_dataset):
    dataset = make_dataset("churn.csv")
    client.force_login(other)
    assert client.get(reverse("dataset_csv", args=[dataset.pk])).status_code == 404
    client.force_login(admin_user)
    response = client.get(reverse("dataset_csv", args=[dataset.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="churn.csv"'
