"""The one-row form of a model with a date feature: a date input, read as training read it."""

import pytest
from django.urls import reverse

from registry import serving
from tests.registry.serving.test_dates import sales  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_it_offers_a_date_input_and_predicts_from_it(owner_client, sales):  # noqa: F811
    url = reverse("version_predict", args=["sales", 1])
    html = owner_client.get(sales.get_absolute_url()).content.decode()
    assert 'type="date" name="f0"' in html
    response = owner_client.post(url, {"f0": "2024-12-31", "f1": "a"})
    html = response.content.decode()
    expected = serving.predict_rows(
        serving.resolve("sales", version=1), [{"day": "31/12/2024", "store": "a"}]
    )["predictions"][0]
    assert f"data-prediction-value>{expected:.6g}</strong>" in html


def test_it_shows_a_bad_date_next_to_its_field(owner_client, sales):  # noqa: F811
    url = reverse("version_predict", args=["sales", 1])
    html = owner_client.post(url, {"f0": "soon", "f1": "a"}).content.decode()
    assert 'id="id_f0_error">Enter a date (YYYY-MM-DD).</p>' in html
    assert "data-prediction-value" not in html


def test_it_describes_the_date_feature_on_the_version_page(owner_client, sales):  # noqa: F811
    html = owner_client.get(sales.get_absolute_url()).content.decode()
    assert "2023-01-01 to 2023-10-23 (%d/%m/%Y)" in html
    assert "&quot;day&quot;: &quot;2023-10-23&quot;" in html or '"day": "2023-10-23"' in html
