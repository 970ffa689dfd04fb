"""The one-row predict form's Explain checkbox: the prediction, then its base value and each
column's contribution, largest first, in the units stated, as the API computes them."""

import re

import pytest
from django.urls import reverse

from tests.conftest import train_once

pytestmark = pytest.mark.django_db

ROW = {"f0": "3", "f1": "95", "f2": "month-to-month", "f3": "fiber", "f4": "4"}
NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
CONTRIBUTION = re.compile(
    r'<tr data-contribution="([^"]+)"><th scope="row">[^<]+</th><td class="num">([^<]+)</td>'
)


def predict(client, data, name="churn"):
    return client.post(reverse("version_predict", args=[name, 1]), data)


def test_the_form_offers_explain_for_a_classifier(other_client, churn):
    html = other_client.get(reverse("version_detail", args=["churn", 1])).content.decode()
    assert 'name="explain"' in html
    assert 'type="checkbox"' in html


def test_it_explains_the_row_largest_contribution_first(other_client, owner_api, churn):
    response = predict(other_client, {**ROW, "explain": "on"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-prediction-value>yes</strong>" in html
    assert "data-explanation" in html
    assert "log-odds of yes" in html  # the units, in words
    shown = CONTRIBUTION.findall(html)
    assert [column for column, _ in shown] == sorted(
        NAMES, key=lambda c: -abs(float(dict(shown)[c]))
    )
    # the same numbers as the API's explanation of the same row
    api = owner_api.post(
        "/models/churn/predict?explain=true",
        {"instances": [[3, 95, "month-to-month", "fiber", 4]]},
    ).json()["explanations"]["rows"][0]
    for column, value in shown:
        assert float(value) == pytest.approx(api["contributions"][column], rel=1e-3, abs=1e-3)
    base = re.search(r"data-base-value>([^<]+)<", html)[1]
    assert float(base) == pytest.approx(api["base_value"], rel=1e-3, abs=1e-3)
    assert re.search(r'<input type="checkbox" name="explain"[^>]* checked', html)  # kept


def test_without_explain_it_shows_the_prediction_only(other_client, churn):
    html = predict(other_client, ROW).content.decode()
    assert "data-prediction-value>yes</strong>" in html
    assert "data-explanation" not in html


def test_a_clustering_version_has_no_explain(owner_client, owner, make_dataset):
    train_once(
        owner=owner,
        dataset=make_dataset("churn.csv"),
        name="groups",
        algorithm="kmeans",
        target=None,
        features=["tenure_months", "monthly_charges"],
    )
    html = owner_client.get(reverse("version_detail", args=["groups", 1])).content.decode()
    assert 'name="explain"' not in html
    response = predict(owner_client, {"f0": "3", "f1": "95", "explain": "on"}, name="groups")
    assert "data-prediction-value>cluster" in response.content.decode()
    assert "data-explanation" not in response.content.decode()
