"""GET /metrics: names, labels and counts after known traffic (single-process mode; the
gunicorn multiprocess mode is in test_gunicorn_metrics.py)."""

import pytest

from registry import serving
from registry.models import ModelVersion
from tests.conftest import assert_problem
from tests.registry.conftest import make_version
from tests.registry.monitoring.conftest import CHURN_ROW, scrape, value

pytestmark = pytest.mark.django_db

CHURN = {"model": "churn", "version": "1"}


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_it_counts_requests_errors_rows_and_latency_per_version(client, owner_api, churn):
    before = scrape(client)
    for _ in range(3):
        response = owner_api.post("/models/churn/predict", {"instances": [CHURN_ROW, CHURN_ROW]})
        assert response.status_code == 200, response.content
    assert_problem(owner_api.post("/models/churn/predict", {"instances": [{"nope": 1}]}), 422)
    assert_problem(owner_api.post("/models/churn/predict", b"{not json"), 400)
    after = scrape(client)

    assert delta(before, after, "mlserve_prediction_requests_total", **CHURN) == 5
    assert delta(before, after, "mlserve_prediction_errors_total", **CHURN, status_class="4xx") == 2
    assert delta(before, after, "mlserve_prediction_errors_total", **CHURN, status_class="5xx") == 0
    assert delta(before, after, "mlserve_predicted_rows_total", **CHURN) == 6
    assert delta(before, after, "mlserve_prediction_latency_seconds_count", **CHURN) == 5
    assert delta(before, after, "mlserve_prediction_latency_seconds_sum", **CHURN) > 0
    infinite = delta(before, after, "mlserve_prediction_latency_seconds_bucket", **CHURN, le="+Inf")
    assert infinite == 5
    # The model was loaded once, then served from the cache.
    assert delta(before, after, "mlserve_model_cache_misses_total") == 1
    assert delta(before, after, "mlserve_model_cache_hits_total") == 2
    assert value(after, "mlserve_model_cache_models") == 1
    assert value(after, "mlserve_model_cache_bytes") > 1000


def test_requests_that_name_no_servable_version_are_counted_with_empty_labels(
    client, owner_api, anon_api, churn
):
    before = scrape(client)
    assert_problem(owner_api.post("/models/nope/predict", {"instances": [CHURN_ROW]}), 404)
    assert_problem(anon_api.post("/models/churn/predict", {"instances": [CHURN_ROW]}), 401)
    assert_problem(owner_api.post("/models/churn/versions/9/predict", {"instances": []}), 404)
    after = scrape(client)
    unresolved = {"model": "", "version": ""}
    assert delta(before, after, "mlserve_prediction_requests_total", **unresolved) == 3
    assert (
        delta(before, after, "mlserve_prediction_errors_total", **unresolved, status_class="4xx")
        == 3
    )
    assert delta(before, after, "mlserve_prediction_requests_total", **CHURN) == 0


def test_page_predictions_are_counted_against_their_version(client, owner, churn):
    client.force_login(owner)
    before = scrape(client)
    form = {f"f{i}": str(v) for i, v in enumerate(CHURN_ROW.values())}
    response = client.post("/models/churn/versions/1/predict/", form)
    assert response.status_code == 200
    assert b"data-prediction-value" in response.content
    after = scrape(client)
    assert delta(before, after, "mlserve_prediction_requests_total", **CHURN) == 1
    assert delta(before, after, "mlserve_predicted_rows_total", **CHURN) == 1


def test_it_counts_evictions_from_a_full_cache(client, churn):
    # A second version with the same artifact, and a cache too small for two models.
    artifact = ModelVersion.objects.filter(pk=churn.pk).values_list("artifact", flat=True)[0]
    twin = make_version(
        churn.model,
        2,
        features=churn.features,
        classes=churn.classes,
        artifact=artifact,
        artifact_sha256=churn.artifact_sha256,
    )
    one = serving.loaded_bytes(
        serving.PipelineCache(max_bytes=10**9).get(serving.resolve("churn", version=1))
    )
    cache = serving.PipelineCache(max_bytes=one + one // 2)
    before = scrape(client)
    cache.get(serving.resolve("churn", version=1))
    cache.get(serving.resolve("churn", version=twin.version))
    after = scrape(client)
    assert delta(before, after, "mlserve_model_cache_misses_total") == 2
    assert delta(before, after, "mlserve_model_cache_evictions_total") == 1
    assert value(after, "mlserve_model_cache_models") == 1


def test_trainings_are_reported_by_status_with_their_duration(client, make_model_plain):
    model = make_model_plain()
    for number, status, seconds in [
        (1, "ready", 3.0),
        (2, "ready", 42.0),
        (3, "failed", None),
        (4, "failed", None),
        (5, "queued", None),
        (6, "running", None),
    ]:
        make_version(
            model, number, status=status, **({"training_seconds": seconds} if seconds else {})
        )
    samples = scrape(client)
    assert value(samples, "mlserve_trainings", status="ready") == 2
    assert value(samples, "mlserve_trainings", status="failed") == 2
    assert value(samples, "mlserve_trainings", status="queued") == 1
    assert value(samples, "mlserve_trainings", status="running") == 1
    assert value(samples, "mlserve_training_duration_seconds_count") == 2
    assert value(samples, "mlserve_training_duration_seconds_sum") == 45.0
    assert value(samples, "mlserve_training_duration_seconds_bucket", le="5") == 1
    assert value(samples, "mlserve_training_duration_seconds_bucket", le="30") == 1
    assert value(samples, "mlserve_training_duration_seconds_bucket", le="60") == 2


def test_the_exposition_documents_every_metric(client):
    text = client.get("/metrics").content.decode()
    for name in [
        "mlserve_prediction_requests_total",
        "mlserve_prediction_errors_total",
        "mlserve_prediction_latency_seconds",
        "mlserve_predicted_rows_total",
        "mlserve_model_cache_hits_total",
        "mlserve_model_cache_misses_total",
        "mlserve_model_cache_evictions_total",
        "mlserve_model_cache_bytes",
        "mlserve_model_cache_models",
        "mlserve_prediction_log_written_total",
        "mlserve_prediction_log_dropped_total",
        "mlserve_trainings",
        "mlserve_training_duration_seconds",
    ]:
        family = name.removesuffix("_total")
        assert f"# HELP {family}" in text, name
        assert f"# TYPE {family}" in text, name


@pytest.fixture
def make_model_plain(owner):
    from registry.models import RegisteredModel

    def make(name: str = "plain"):
        return RegisteredModel.objects.create(name=name, owner=owner)

    return make
