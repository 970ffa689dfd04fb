"""The models page's filters (the API's: q, tag, algorithm, target, order_by) and its pages."""

import re

import pytest
from django.urls import reverse

from registry.models import ModelTag, RegisteredModel
from tests.registry.conftest import make_version, page_queries

pytestmark = pytest.mark.django_db


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return re.findall(r'data-model-row="([^"]+)"', response.content.decode())


@pytest.fixture
def models(make_model, other):
    """alpha (team=growth, stage=prod; logistic, 0.80), beta (theirs: team=growth; linear
    regression on price, r2 0.90), gamma (team=risk; logistic then a tree, production on the
    tree at 0.60), delta (no tag, no version)."""
    alpha = make_model("alpha", metrics={"accuracy": 0.8})
    beta = make_model("beta", user=other, versions=0)
    make_version(beta, 1, algorithm="linear_regression", target="price", metrics={"r2": 0.9})
    gamma = make_model("gamma", metrics={"accuracy": 0.95})
    tree = make_version(gamma, 2, algorithm="decision_tree_classifier", metrics={"accuracy": 0.6})
    gamma.aliases.create(name="production", version=tree)
    make_model("delta", versions=0)
    for model, tags in (
        (alpha, {"team": "growth", "stage": "prod"}),
        (beta, {"team": "growth"}),
        (gamma, {"team": "risk"}),
    ):
        ModelTag.objects.bulk_create(ModelTag(model=model, key=k, value=v) for k, v in tags.items())


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["alpha", "beta", "delta", "gamma"]),
        ({"tag": "team:growth"}, ["alpha", "beta"]),
        ({"tag": ["team:growth", "stage:prod"]}, ["alpha"]),
        ({"tag": ["team:growth", ""]}, ["alpha", "beta"]),  # the blank "add a tag" box
        ({"algorithm": "decision_tree_classifier"}, ["gamma"]),
        ({"target": "price"}, ["beta"]),
        ({"q": "ALP"}, ["alpha"]),
        ({"order_by": "metric"}, ["beta", "alpha", "gamma", "delta"]),
        ({"tag": "team:growth", "mine": "1"}, ["alpha"]),
    ],
)
def test_each_filter_lists_what_was_worked_out_by_hand(owner_client, models, params, expected):
    assert listed(owner_client.get(reverse("model_list"), params)) == expected
    assert RegisteredModel.objects.count() == 4


def test_the_form_keeps_the_filters_and_each_tag_links_to_its_filter(owner_client, models):
    response = owner_client.get(
        reverse("model_list"), {"tag": "team:growth", "order_by": "metric", "q": "a"}
    )
    html = response.content.decode()
    assert 'name="tag" value="team:growth"' in html
    assert '<option value="metric" selected>' in html
    assert 'name="q" value="a"' in html
    assert 'href="?tag=team:growth" data-tag="team:growth"' in html


def test_a_bad_filter_says_what_is_wrong_and_lists_nothing(owner_client, models):
    response = owner_client.get(reverse("model_list"), {"tag": "no-colon"})
    assert listed(response) == []
    html = response.content.decode()
    assert "data-filter-error" in html
    assert "Write a tag as key:value" in html
    response = owner_client.get(reverse("model_list"), {"order_by": "size"})
    assert "data-filter-error" in response.content.decode()
    assert listed(response) == []


def test_the_pages_keep_the_filters(owner_client, owner):
    for i in range(60):
        model = RegisteredModel.objects.create(name=f"m{i:02d}", owner=owner)
        ModelTag.objects.create(model=model, key="batch", value="a" if i < 55 else "b")
    first = owner_client.get(reverse("model_list"), {"tag": "batch:a", "order_by": "name"})
    html = first.content.decode()
    assert "Page 1 of 2 (55 in all)" in html
    assert 'href="?tag=batch%3Aa&amp;order_by=name&amp;page=2"' in html
    second = owner_client.get(
        reverse("model_list"), {"tag": "batch:a", "order_by": "name", "page": 2}
    )
    assert listed(second) == [f"m{i:02d}" for i in range(50, 55)]


def test_filtering_runs_a_fixed_number_of_queries(owner_client, owner, models):
    url = reverse("model_list") + "?tag=team:growth&order_by=metric&algorithm=logistic_regression"
    few = page_queries(owner_client, url)
    for i in range(30):
        model = RegisteredModel.objects.create(name=f"more-{i:02d}", owner=owner)
        make_version(model, 1)
        ModelTag.objects.create(model=model, key="team", value="growth")
    many = page_queries(owner_client, url)
    assert len(many) == len(few)
    assert len(listed(owner_client.get(url))) == 31
