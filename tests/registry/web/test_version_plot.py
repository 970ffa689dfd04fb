"""A stored plot, served as an SVG image that may run nothing."""

import pytest
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry.conftest import SVG

pytestmark = pytest.mark.django_db


def plot(client, name="confusion_matrix", number=1):
    return client.get(reverse("version_plot", args=["churn", number, name]))


def test_it_serves_the_stored_svg_with_a_restrictive_policy(other_client, make_model):
    make_model("churn", versions=1)
    response = plot(other_client)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.decode() == SVG
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "confusion_matrix" in ModelVersion.objects.values_list("plots", flat=True).get()


def test_it_reads_one_plot_by_its_json_key(owner_client, make_model, django_assert_num_queries):
    make_model("churn", versions=1)
    with django_assert_num_queries(3) as queries:  # session, user, the plot
        plot(owner_client)
    sql = queries.captured_queries[-1]["sql"]
    assert "confusion_matrix" in sql


@pytest.mark.parametrize(
    ("name", "number"), [("residuals", 1), ("confusion_matrix", 2), ("Bad-Name", 1)]
)
def test_it_404s_for_a_missing_plot(owner_client, make_model, name, number):
    make_model("churn", versions=1)
    assert plot(owner_client, name, number).status_code == 404
    assert ModelVersion.objects.count() == 1


def test_it_404s_while_the_version_has_no_plots(owner_client, make_model):
    make_model("churn", versions=1, status="running")
    assert plot(owner_client).status_code == 404
    assert ModelVersion.objects.get().plots == {}
