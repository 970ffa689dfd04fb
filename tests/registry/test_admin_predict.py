"""The admin's "Predict with this version" page reads its rows with the API's JSON reader:
the same refusals as the API (NaN, Infinity, NUL, nesting too deep), shown on the form,
never a 500."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROW = '[3, 95.0, "month-to-month", "fiber", 4]'


@pytest.fixture
def admin_client(admin_user):
    client = Client(raise_request_exception=False)  # a 500 is answered, as in production
    client.force_login(admin_user)
    return client


@pytest.fixture
def predict_url(churn):
    return reverse("admin:registry_modelversion_predict", args=[churn.pk])


def test_it_predicts_rows_given_as_json(admin_client, predict_url):
    response = admin_client.post(predict_url, {"rows": f"[{ROW}]"})
    assert response.status_code == 200
    assert "&quot;predictions&quot;" in response.content.decode()
    assert "errornote" not in response.content.decode()


def test_it_refuses_json_nested_too_deep_on_the_form(admin_client, predict_url):
    response = admin_client.post(predict_url, {"rows": "[" * 100_000})
    print(f"\nadmin predict, 100,000 '[': {response.status_code}")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="errornote"' in page
    assert "Not valid JSON" in page


@pytest.mark.parametrize(
    "rows", [f"[{ROW.replace('3', 'NaN', 1)}]", f"[{ROW.replace('3', 'Infinity', 1)}]"]
)
def test_it_refuses_nan_and_infinity_like_the_api(admin_client, predict_url, owner_api, rows):
    api = owner_api.post("/models/churn/versions/1/predict", f'{{"instances": {rows}}}')
    assert api.status_code == 400
    response = admin_client.post(predict_url, {"rows": rows})
    print(f"\nadmin predict, {rows[:12]}...: API {api.status_code}, admin {response.status_code}")
    page = response.content.decode()
    assert 'class="errornote"' in page
    assert "Not valid JSON" in page
    assert "predictions" not in page


def test_it_refuses_a_nul_like_the_api(admin_client, predict_url):
    response = admin_client.post(predict_url, {"rows": '[[3, 95.0, "month\\u0000", "fiber", 4]]'})
    page = response.content.decode()
    assert 'class="errornote"' in page
    assert "NUL" in page
