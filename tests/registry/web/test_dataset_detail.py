"""A dataset's page: schema table, first rows, per-column charts; yours only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.models import Dataset
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def test_it_shows_the_schema_with_types_missing_and_distinct_counts(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    response = owner_client.get(reverse("dataset_detail", args=[dataset.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "600 rows \u00d7 6 columns" in html
    assert '<th scope="row">contract</th>' in html
    assert '<span class="badge type-category">category</span>' in html
    assert '<span class="badge type-number">number</span>' in html
    missing = dataset.column("monthly_charges")["missing"]
    assert missing > 0
    assert f'<td class="num">{missing}</td>' in html


def test_it_shows_the_first_rows_as_uploaded(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    html = owner_client.get(reverse("dataset_detail", args=[dataset.pk])).content.decode()
    assert '<th scope="col">tenure_months</th>' in html
    assert "<td>73.32</td>" in html  # first data row, text as uploaded
    assert html.count("<tr><td>") == 10


def test_it_draws_a_histogram_or_bar_chart_per_column(owner_client, make_dataset):
    dataset = make_dataset("churn.csv")
    html = owner_client.get(reverse("dataset_detail", args=[dataset.pk])).content.decode()
    assert html.count('<svg class="histogram"') == 3  # the numeric columns
    assert 'aria-label="Most common values of contract"' in html
    assert "<meter" in html
    assert "style=" not in html  # a strict style-src CSP holds


def test_it_reads_only_the_head_of_a_large_csv(owner_client, make_dataset):
    data = b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * 2) for i in range(20_000))
    dataset = make_dataset(data=data, dataset_name="big")
    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get(reverse("dataset_detail", args=[dataset.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<td>9</td><td>18</td>" in html
    assert "<td>10</td><td>20</td>" not in html
    csv_reads = [q["sql"] for q in queries.captured_queries if '"csv"' in q["sql"]]
    assert len(csv_reads) == 1
    assert "SUBSTR" in csv_reads[0].upper()
    assert Dataset.objects.get(pk=dataset.pk).size_bytes > 64 * 1024


def test_it_lists_the_models_trained_on_it(owner_client, make_dataset, make_model):
    dataset = make_dataset("churn.csv")
    model = make_model("churn", versions=0)
    make_version(model, 1, dataset=dataset)
    html = owner_client.get(reverse("dataset_detail", args=[dataset.pk])).content.decode()
    assert 'href="/models/churn/versions/1/">churn v1</a>' in html
    assert f'href="/train/?dataset={dataset.pk}"' in html


def test_it_hides_another_users_dataset(other_client, make_dataset):
    dataset = make_dataset("churn.csv")
    response = other_client.get(reverse("dataset_detail", args=[dataset.pk]))
    assert response.status_code == 404
    assert Dataset.objects.filter(pk=dataset.pk).exists()
