"""All models, anyone's: owner, version count, newest version, headline, production alias."""

import pytest
from django.urls import reverse

from registry.models import RegisteredModel
from tests.registry.conftest import bulk_registry, loads_no_bytes, make_version, page_queries

pytestmark = pytest.mark.django_db


def test_it_lists_every_users_models(owner_client, make_model, other):
    make_model("churn", versions=3)
    make_model("their-model", user=other)
    response = owner_client.get(reverse("model_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/models/churn/"' in html
    assert 'href="/models/their-model/"' in html
    assert ">oscar<" in html
    assert 'href="/models/churn/versions/3/"' in html
    assert RegisteredModel.objects.count() == 2


def test_it_shows_the_newest_version_status_and_production(owner_client, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="failed", error="Boom.")
    model.aliases.create(name="production", version=model.versions.get(version=1))
    html = owner_client.get(reverse("model_list")).content.decode()
    assert 'status-failed" data-status-badge>failed' in html
    assert '<span class="badge alias">v1</span>' in html
    assert model.aliases.get().version.version == 1


def test_it_searches_and_filters_to_mine(owner_client, make_model, other):
    make_model("churn")
    make_model("house-prices", user=other)
    html = owner_client.get(reverse("model_list"), {"q": "house"}).content.decode()
    assert "house-prices" in html
    assert "/models/churn/" not in html
    html = owner_client.get(reverse("model_list"), {"mine": "1"}).content.decode()
    assert "/models/churn/" in html
    assert "house-prices" not in html


def test_it_says_when_nothing_matches(owner_client):
    html = owner_client.get(reverse("model_list"), {"q": "zzz"}).content.decode()
    assert "No model matches" in html
    assert not RegisteredModel.objects.exists()


def test_it_paginates_by_fifty(owner_client, owner):
    bulk_registry(owner, n_models=60, n_versions=2)
    first = owner_client.get(reverse("model_list")).content.decode()
    assert "Page 1 of 2 (60 in all)" in first
    assert "model-049" in first
    assert "model-050" not in first
    second = owner_client.get(reverse("model_list"), {"page": 2}).content.decode()
    assert "model-050" in second


def test_it_runs_a_fixed_number_of_queries_and_loads_no_bytes(owner_client, owner):
    bulk_registry(owner, n_models=2, n_versions=2)
    few = page_queries(owner_client, reverse("model_list"))
    bulk_registry(owner, n_models=48, n_versions=10, prefix="more")
    many = page_queries(owner_client, reverse("model_list"))
    assert len(many) == len(few) <= 8, [q["sql"] for q in many]
    loads_no_bytes(many)
    assert RegisteredModel.objects.count() == 50
