"""Your datasets: rows, columns, size and how many versions were trained on each."""

import pytest
from django.urls import reverse

from registry.models import Dataset
from tests.registry.conftest import loads_no_bytes, make_version, page_queries

pytestmark = pytest.mark.django_db


def test_it_lists_only_your_datasets(owner_client, make_dataset, other):
    mine = make_dataset("churn.csv")
    make_dataset("houses.csv", user=other, dataset_name="their-houses")
    response = owner_client.get(reverse("dataset_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/datasets/{mine.pk}/"' in html
    assert "their-houses" not in html
    assert Dataset.objects.count() == 2


def test_it_counts_the_versions_trained_on_each(owner_client, make_dataset, make_model):
    dataset = make_dataset("churn.csv")
    model = make_model("churn", versions=0)
    for number in (1, 2):
        make_version(model, number, dataset=dataset)
    html = owner_client.get(reverse("dataset_list")).content.decode()
    assert '<td class="num">2</td>' in html
    assert dataset.versions.count() == 2


def test_it_invites_a_first_upload(owner_client):
    html = owner_client.get(reverse("dataset_list")).content.decode()
    assert "Upload your first CSV" in html
    assert not Dataset.objects.exists()


def test_it_runs_a_fixed_number_of_queries_and_loads_no_bytes(owner_client, make_dataset):
    make_dataset("churn.csv", dataset_name="d-0")
    few = page_queries(owner_client, reverse("dataset_list"))
    data = b"a,b\n1,2\n3,4\n"
    for i in range(1, 30):
        make_dataset(data=data, dataset_name=f"d-{i}")
    many = page_queries(owner_client, reverse("dataset_list"))
    assert len(many) == len(few) <= 6, [q["sql"] for q in many]
    loads_no_bytes(many)
    assert Dataset.objects.count() == 30
