"""The dataset page: each column's role and reason, and a type chosen per column."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROWS = "".join(f"{i},{i:05d},2024-01-{i % 28 + 1:02d},{'ab'[i % 2]}\n" for i in range(30))
CSV = ("index,zip,day,shop\n" + ROWS).encode()


@pytest.fixture
def dataset(make_dataset):
    return make_dataset(data=CSV, dataset_name="shops")


def types_url(dataset) -> str:
    return reverse("dataset_types", args=[dataset.pk])


def test_it_shows_roles_dates_and_a_type_choice_per_column(owner_client, dataset):
    html = owner_client.get(dataset.get_absolute_url()).content.decode()
    assert "Looks like an identifier: 30 distinct values in 30 rows" in html
    assert "2024-01-01 to 2024-01-28" in html
    assert f'action="{types_url(dataset)}"' in html
    assert html.count('<select name="type-') == 4
    assert '<option value="date">date</option>' in html


def test_it_changes_a_columns_type(owner_client, dataset):
    response = owner_client.post(types_url(dataset), {"type-1": "category", "type-3": ""})
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.options["types"] == {"zip": "category"}
    assert dataset.column("zip")["type"] == "category"
    html = owner_client.get(dataset.get_absolute_url()).content.decode()
    assert '<option value="category" selected>category</option>' in html


def test_it_says_why_a_type_cannot_be_taken_and_changes_nothing(owner_client, dataset):
    response = owner_client.post(types_url(dataset), {"type-3": "number"}, follow=True)
    assert "Column &#x27;shop&#x27; cannot be read as numbers" in response.content.decode()
    dataset.refresh_from_db()
    assert "types" not in dataset.options


def test_it_hides_another_users_dataset(other_client, dataset):
    assert other_client.post(types_url(dataset), {"type-1": "category"}).status_code == 404
    dataset.refresh_from_db()
    assert "types" not in dataset.options
