"""A version's page: live progress while it trains, its error if it failed, and once ready
its metrics, plots, hyperparameters, input schema and prediction forms."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import ModelVersion
from registry.tasks import reap_stale_versions
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def page(client, name="churn", number=1):
    response = client.get(reverse("version_detail", args=[name, number]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_a_live_progress_bar_while_training(owner_client, make_model):
    model = make_model("churn", versions=0)
    make_version(model, 1, status="running", progress=35, heartbeat_at=timezone.now())
    html = page(owner_client)
    assert '<progress max="100" value="35"' in html
    assert 'data-status-url="/models/churn/versions/1/status/" data-on-finish="reload"' in html
    assert "js/progress.js" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert "Predict one row" not in html
    assert ModelVersion.objects.get().status == "running"


def test_it_says_a_queued_version_waits_for_a_worker(owner_client, make_model):
    make_model("churn", versions=1, status="queued")
    html = page(owner_client)
    assert "Waiting for a worker" in html
    assert '<span class="progress-label" data-progress-label>queued</span>' in html


def test_it_recovers_a_version_whose_worker_died(owner_client, make_model, settings):
    model = make_model("churn", versions=0)
    stale = timezone.now() - timedelta(seconds=settings.MLSERVE_STALE_TRAINING_S + 60)
    make_version(model, 1, status="running", progress=50, heartbeat_at=stale, attempts=1)
    reap_stale_versions()  # the worker's reaper (pages only read)
    html = page(owner_client)
    version = ModelVersion.objects.get()
    assert version.status == "queued"
    assert "retrying" in version.error
    assert "The worker stopped during training; retrying." in html


def test_it_shows_why_a_training_failed(owner_client, make_model):
    make_model("churn", versions=1, status="failed", error="Perceptron did not converge.")
    html = page(owner_client)
    assert "Training failed" in html
    assert "Perceptron did not converge." in html
    assert "<progress" not in html


def test_it_shows_metrics_confusion_matrix_and_plots_once_ready(owner_client, make_model):
    make_model("churn", versions=1)
    html = page(owner_client)
    assert "<dt>Accuracy</dt><dd>0.8500</dd>" in html
    assert "<dt>Stratified split</dt><dd>yes</dd>" in html
    assert '<td class="num diagonal">52</td>' in html
    assert (
        '<img src="/models/churn/versions/1/plots/confusion_matrix.svg" alt="Confusion matrix"'
        in html
    )
    assert '<img src="/models/churn/versions/1/plots/loss_curve.svg" alt="Loss curve"' in html
    assert "<progress" not in html


def test_it_shows_hyperparameters_and_the_input_schema(owner_client, make_model):
    make_model("churn", versions=1)
    html = page(owner_client)
    assert (
        '<th scope="row"><code>C</code></th><td><code>1.0</code> '
        '<span class="muted small">default</span>' in html
    )
    assert '<th scope="row">contract</th>' in html
    assert "month-to-month, one-year, two-year" in html
    assert "1 to 72, mean 30.5" in html


def test_it_offers_a_prediction_form_with_one_field_per_feature(owner_client, make_model):
    make_model("churn", versions=1)
    html = page(owner_client)
    assert 'action="/models/churn/versions/1/predict/#predict"' in html
    assert re.search(r'<input type="number" name="f0" value="30" step="any"', html)
    assert '<select name="f2"' in html
    assert '<option value="month-to-month" selected>month-to-month</option>' in html
    assert '<option value="">(missing)</option>' in html
    assert 'action="/models/churn/versions/1/batch/"' in html
    assert "Authorization: Bearer $MLSERVE_TOKEN" in html


def test_it_lets_only_the_owner_promote_and_delete(owner_client, other_client, make_model):
    make_model("churn", versions=1)
    html = page(owner_client)
    assert "Promote to production" in html
    assert "Promote to staging" in html
    assert 'href="/models/churn/versions/1/delete/"' in html
    other_html = page(other_client)
    assert "Promote to production" not in other_html
    assert "/delete/" not in other_html
    assert "Predict one row" in other_html  # anyone may predict


def test_it_marks_the_aliases_pointing_at_it(owner_client, make_model):
    model = make_model("churn", versions=1)
    model.aliases.create(name="production", version=model.versions.get())
    html = page(owner_client)
    assert '<span class="badge alias">production</span>' in html
    assert "Promote to production" not in html
    assert "Promote to staging" in html


def test_it_has_no_inline_script_style_or_event_handler(owner_client, make_model):
    make_model("churn", versions=1)
    html = page(owner_client)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "style=" not in html
    assert re.findall(r"\son[a-z]+=", html) == []


def test_it_404s_for_an_unknown_version(owner_client, make_model):
    make_model("churn", versions=1)
    response = owner_client.get(reverse("version_detail", args=["churn", 9]))
    assert response.status_code == 404
    assert ModelVersion.objects.count() == 1


def test_its_code_snippet_calls_the_model_by_name_with_a_copy_button(owner_client, make_model):
    model = make_model("churn", versions=2)
    model.aliases.create(name="production", version=model.versions.get(version=1))
    html = page(owner_client, number=2)
    snippet = re.search(r'<pre class="code" id="api-example"><code>(.*?)</code></pre>', html, re.S)
    assert snippet is not None
    assert "curl -X POST http://testserver/api/v1/models/churn/predict \\" in snippet[1]
    assert "/versions/" not in snippet[1]  # not pinned: it follows production
    assert '<button type="button" class="button secondary js-only" data-copy="#api-example"' in html
    assert "Calls without a version get <strong>production</strong> (v1)" in html
    assert "/api/v1/models/churn/versions/2/predict" in html  # how to pin this one
