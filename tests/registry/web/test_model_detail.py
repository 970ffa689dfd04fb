"""A model's page: versions table, aliases with move buttons, and the comparison form."""

import pytest
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry.conftest import loads_no_bytes, make_version, page_queries

pytestmark = pytest.mark.django_db


def test_it_lists_every_version_with_status_metric_author_and_date(owner_client, make_model):
    model = make_model("churn", versions=2)
    make_version(model, 3, status="running", progress=30)
    make_version(model, 4, status="failed", error="No convergence.")
    response = owner_client.get(reverse("model_detail", args=["churn"]))
    assert response.status_code == 200
    html = response.content.decode()
    for number in (1, 2, 3, 4):
        assert f'href="/models/churn/versions/{number}/"' in html
    assert "Accuracy</span> 0.850" in html
    assert 'data-status-url="/models/churn/versions/3/status/"' in html
    assert "status-failed" in html
    assert "<td>olivia</td>" in html
    assert model.versions.count() == 4


def test_it_shows_aliases_and_lets_the_owner_move_them(owner_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=1))
    html = owner_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert (
        '<span class="badge alias">production</span> → <a href="/models/churn/versions/1/">v1</a>'
        in html
    )
    assert 'action="/models/churn/aliases/"' in html
    assert "Move staging…" in html
    assert "Train a new version" in html
    assert model.aliases.count() == 1


def test_it_shows_no_change_buttons_to_other_users(other_client, make_model):
    make_model("churn", versions=2)
    html = other_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert 'action="/models/churn/aliases/"' not in html
    assert "Delete model" not in html
    assert "Compare two versions" in html  # reading is for everyone


def test_it_offers_to_compare_the_two_newest_ready_versions(owner_client, make_model):
    make_model("churn", versions=3)
    html = owner_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert 'action="/models/churn/compare/"' in html
    assert '<option value="2" selected>v2 · Accuracy 0.850</option>' in html
    assert '<option value="3" selected>v3 · Accuracy 0.850</option>' in html


def test_it_404s_for_an_unknown_model(owner_client):
    response = owner_client.get(reverse("model_detail", args=["ghost"]))
    assert response.status_code == 404
    assert not ModelVersion.objects.exists()


def test_it_runs_a_fixed_number_of_queries_and_loads_no_bytes(owner_client, make_model):
    model = make_model("churn", versions=2)
    few = page_queries(owner_client, reverse("model_detail", args=["churn"]))
    for number in range(3, 501):
        make_version(model, number, status="running" if number % 50 == 0 else "ready")
    many = page_queries(owner_client, reverse("model_detail", args=["churn"]))
    # 8th: the traffic summary; 9th and 10th: the caller's evaluations and their datasets
    # (the "Evaluate on new data" form); 11th: the alias history
    # (tests/registry/web/test_alias_history.py counts it with its versions); 12th: which
    # listed versions have labelled predictions (the live metrics); 13th: the model's tags;
    # 14th: the owner's teams (the "Who can see it" form).
    assert len(many) == len(few) <= 14, [q["sql"] for q in many]
    loads_no_bytes(many)
    assert model.versions.count() == 500


def test_it_pages_a_long_version_history(owner_client, make_model):
    model = make_model("churn", versions=0)
    for number in range(1, 56):
        make_version(model, number, status="failed" if number == 55 else "ready")
    html = owner_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert "Page 1 of 2 (55 in all)" in html
    assert 'href="/models/churn/versions/55/"' in html
    assert 'href="/models/churn/versions/5/"' not in html.split("Compare two versions")[0]
    second = owner_client.get(reverse("model_detail", args=["churn"]), {"page": 2})
    assert 'href="/models/churn/versions/5/"' in second.content.decode()
    assert model.versions.count() == 55


def test_it_shows_each_version_s_target_and_task(owner_client, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, algorithm="linear_regression", target="monthly_charges")
    html = owner_client.get("/models/churn/").content.decode()
    assert '<th scope="col">Task</th><th scope="col">Target</th>' in html
    assert "<td>regressor</td><td>monthly_charges</td>" in html
    assert "<td>classifier</td><td>churned</td>" in html
