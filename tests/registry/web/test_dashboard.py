"""The dashboard: your models with their newest version, running trainings, recent datasets."""

import re

import pytest
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry.conftest import bulk_registry, loads_no_bytes, make_version, page_queries

pytestmark = pytest.mark.django_db


def test_it_shows_your_models_with_their_newest_version(owner_client, make_model, other):
    model = make_model("churn", versions=2)
    make_model("not-mine", user=other)
    response = owner_client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/models/churn/"' in html
    assert 'href="/models/churn/versions/2/"' in html
    assert "Accuracy</span> 0.850" in html
    assert "not-mine" not in html
    assert model.versions.count() == 2


def test_it_shows_running_trainings_with_live_progress_bars(owner_client, make_model):
    model = make_model("churn")
    make_version(model, 2, status="running", progress=40)
    response = owner_client.get(reverse("dashboard"))
    html = response.content.decode()
    assert "Training now" in html
    assert 'data-status-url="/models/churn/versions/2/status/"' in html
    assert '<progress max="100" value="40"' in html
    assert "js/progress.js" in html
    assert '<meta http-equiv="refresh" content="5">' in html  # the no-JS fallback
    assert ModelVersion.objects.get(model=model, version=2).status == "running"


def test_it_lists_your_recent_datasets(owner_client, make_dataset, other):
    dataset = make_dataset("houses.csv")
    make_dataset("churn.csv", user=other, dataset_name="theirs")
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert f'href="/datasets/{dataset.pk}/"' in html
    assert "500 rows \u00d7 5 columns" in html
    assert "theirs" not in html


def test_it_welcomes_a_new_user_with_the_first_steps(owner_client, owner):
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert "Start in three steps" in html
    assert not owner.models.exists()


def test_it_runs_a_fixed_number_of_queries_and_loads_no_bytes(owner_client, owner):
    bulk_registry(owner, n_models=2, n_versions=2)
    few = page_queries(owner_client, reverse("dashboard"))
    bulk_registry(owner, n_models=50, n_versions=10, prefix="more")
    many = page_queries(owner_client, reverse("dashboard"))
    assert len(many) == len(few) <= 8, [q["sql"] for q in many]
    loads_no_bytes(many)
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert html.count("data-status-url") == 20  # the newest 20 running trainings
    assert ModelVersion.objects.count() == 504


def test_it_shows_the_latest_ten_models_and_links_to_all(owner_client, owner):
    bulk_registry(owner, n_models=12, n_versions=1)
    html = owner_client.get(reverse("dashboard")).content.decode()
    shown = re.findall(r'href="/models/(model-\d+)/"', html)
    assert shown == [f"model-{i:03d}" for i in range(11, 1, -1)]  # newest first: 10 of 12
    assert "The 10 most recently changed." in html
    assert 'href="/models/">See all your models' in html


def test_it_names_headline_metrics_as_the_version_page_does(owner_client, make_model):
    make_model(
        "prices",
        versions=1,
        algorithm="linear_regression",
        params={},
        classes=None,
        metrics={"r2": 0.91, "rmse": 3.2},
    )
    html = owner_client.get(reverse("dashboard")).content.decode()
    assert "R²</span> 0.910" in html
    assert ">r2<" not in html
