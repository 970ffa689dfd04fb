"""Two versions side by side: metrics, training settings and plots."""

import pytest
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry.conftest import SVG, classifier_metrics, make_version

pytestmark = pytest.mark.django_db


def compare(client, **params):
    return client.get(reverse("version_compare", args=["churn"]), params)


def test_it_compares_the_two_newest_ready_versions_by_default(other_client, make_model):
    model = make_model("churn", versions=0)
    make_version(model, 1, metrics=classifier_metrics(0.81))
    make_version(model, 2, metrics=classifier_metrics(0.87), params={"C": 0.5})
    make_version(model, 3, status="running")
    response = compare(other_client)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        '<th scope="row">Accuracy</th><td class="num">0.8100</td><td class="num">0.8700</td>'
        in html
    )
    assert "<td><code>1.0</code></td><td><code>0.5</code></td>" in html
    for number in (1, 2):
        assert f'<img src="/models/churn/versions/{number}/plots/confusion_matrix.svg"' in html
    assert model.versions.count() == 3


def test_it_compares_the_versions_asked_for(owner_client, make_model):
    make_model("churn", versions=3)
    html = compare(owner_client, a=1, b=3).content.decode()
    assert 'href="/models/churn/versions/1/">v1</a>' in html
    assert 'href="/models/churn/versions/3/">v3</a>' in html
    assert 'href="/models/churn/versions/2/">v2</a>' not in html


def test_it_says_when_a_plot_exists_for_one_version_only(owner_client, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, plots={"confusion_matrix": "<svg/>"})
    html = compare(owner_client, a=1, b=2).content.decode()
    assert "v2 has no loss curve plot." in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"a": 2, "b": 2}, "Pick two different versions."),
        ({"a": 1, "b": 7}, "Select a valid choice."),
    ],
)
def test_it_explains_a_bad_choice(owner_client, make_model, params, message):
    make_model("churn", versions=2)
    response = compare(owner_client, **params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Metrics on the held-out rows" not in html
    assert ModelVersion.objects.count() == 2


def test_it_needs_two_ready_versions(owner_client, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="failed")
    html = compare(owner_client).content.decode()
    assert "Comparing needs two ready versions" in html
    assert model.versions.filter(status="ready").count() == 1


def test_it_says_a_classifier_and_a_regressor_are_not_compared(owner_client, make_model):
    model = make_model("churn", versions=1)
    make_version(
        model,
        2,
        algorithm="linear_regression",
        target="monthly_charges",
        classes=None,
        metrics={"r2": 0.5, "rmse": 10.0, "n_train": 480, "n_test": 120},
        plots={"predicted_vs_actual": SVG, "residuals": SVG},
    )
    response = compare(owner_client, a=1, b=2)
    assert response.status_code == 200
    html = response.content.decode()
    assert "v1 is a classifier and v2 a regressor" in html
    assert "has no" not in html  # no empty plot boxes
    assert "<figure" not in html
    assert '<th scope="row">Target</th><td>churned</td><td>monthly_charges</td>' in html
