"""Predicting one row from the version page, through the serving path: the prediction and
the class probabilities on the same page, and every problem shown next to its field."""

import re

import pytest
from django.urls import reverse

from registry.models import ModelVersion

pytestmark = pytest.mark.django_db

ROW = {"f0": "3", "f1": "95", "f2": "month-to-month", "f3": "fiber", "f4": "4"}
SATELLITE = {
    "tenure_months": 3,
    "monthly_charges": 95,
    "contract": "month-to-month",
    "internet": "satellite",
    "support_calls": 4,
}


def predict(client, data, number=1):
    return client.post(reverse("version_predict", args=["churn", number]), data)


def test_it_shows_the_prediction_and_class_probabilities(other_client, churn):
    response = predict(other_client, ROW)  # anyone signed in may predict
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-prediction-value>yes</strong>" in html
    assert 'aria-label="Class probabilities"' in html
    assert '<th scope="row">yes</th>' in html
    assert '<th scope="row">no</th>' in html
    assert '<meter min="0" max="1" value="0.' in html
    assert 'name="f1" value="95"' in html  # the form keeps what was sent
    assert ModelVersion.objects.get().status == "ready"


def test_it_predicts_with_missing_and_unseen_values(owner_client, churn):
    row = {**ROW, "f1": "", "f3": ""}
    html = predict(owner_client, row).content.decode()
    assert "data-prediction-value>" in html
    assert 'class="field-error"' not in html


def test_it_shows_a_bad_number_next_to_its_field(owner_client, churn):
    response = predict(owner_client, {**ROW, "f0": "lots"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="field-error" id="id_f0_error">Enter a number.</p>' in html
    assert "data-prediction-value" not in html


def test_it_refuses_a_category_that_is_not_offered(owner_client, churn):
    html = predict(owner_client, {**ROW, "f2": "forever"}).content.decode()
    assert "Select a valid choice. forever is not one of the available choices." in html
    assert "data-prediction-value" not in html


def test_it_sends_you_back_while_the_version_is_not_ready(owner_client, make_model):
    make_model("churn", versions=1, status="running")
    response = predict(owner_client, ROW)
    assert response.status_code == 302
    assert response["Location"] == "/models/churn/versions/1/"
    follow = owner_client.get(response["Location"]).content.decode()
    assert "churn v1 is running: it can predict once it is ready." in follow
    assert ModelVersion.objects.get().status == "running"


def test_the_form_starts_from_typical_values(owner_client, churn):
    html = owner_client.get(reverse("version_detail", args=["churn", 1])).content.decode()
    # internet: "fiber" is the most frequent in training, "dsl" the first in order.
    assert '<option value="fiber" selected>fiber</option>' in html
    assert '<option value="dsl">dsl</option>' in html
    # Whole-number columns (months, calls) start from a whole number, never "35.0".
    assert re.search(r'name="f0" value="\d+" ', html), html
    assert re.search(r'name="f4" value="\d+" ', html), html
    assert re.search(r'name="f1" value="\d+\.\d+" ', html), html  # charges keep their cents


def test_it_shows_the_warnings_of_the_row(churn, rf, owner):
    """The form offers only known categories, so a page's row warns only when its version's
    schema and the row disagree; what it shows then is the answer's own words."""
    from django.contrib.messages.storage.fallback import FallbackStorage

    from registry import serving
    from registry.web import views

    served = serving.resolve("churn", version=1)
    request = rf.get("/")
    request.user = owner
    request.session = {}
    request._messages = FallbackStorage(request)
    shown = views._prediction(churn, serving.predict_rows(served, [SATELLITE]))
    html = views._render_version(request, churn, prediction=shown).content.decode()
    assert "internet: &#x27;satellite&#x27; was not seen in training" in html
    assert "data-prediction-warnings" in html
    plain = views._prediction(
        churn, serving.predict_rows(served, [{**SATELLITE, "internet": "dsl"}])
    )
    assert (
        "data-prediction-warnings"
        not in views._render_version(request, churn, prediction=plain).content.decode()
    )
