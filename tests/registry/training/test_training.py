"""Every algorithm trains through the real task worker and predicts through the serving path."""

import json

import numpy as np
import pytest

from registry import services, serving
from registry.algorithms import ALGORITHMS, CLASSIFIER, CLUSTERING, DECOMPOSITION, REGRESSOR
from registry.models import DeferredBytesManager, ModelVersion
from registry.tasks import reap_stale_versions

pytestmark = pytest.mark.django_db(transaction=True)

DATA = {
    CLASSIFIER: ("churn.csv", "churned"),
    REGRESSOR: ("houses.csv", "price"),
    CLUSTERING: ("shoppers.csv", None),
    DECOMPOSITION: ("houses.csv", None),
}
ROWS = {
    "churn.csv": [
        {
            "tenure_months": 3,
            "monthly_charges": 95.0,
            "contract": "month-to-month",
            "internet": "fiber",
            "support_calls": 4,
        },
        {
            "tenure_months": 60,
            "monthly_charges": None,
            "contract": "two-year",
            "internet": "never-seen",
            "support_calls": 0,
        },
    ],
    "houses.csv": [
        {"size_m2": 80.0, "bedrooms": 3, "age_years": 20, "area": "suburb", "price": 1e5},
        {"size_m2": 150.0, "bedrooms": 5, "age_years": 2, "area": "centre", "price": 3e5},
    ],
    "shoppers.csv": [[25, 20.0, 2.0], [60, 35.0, 4.0]],
}


def predict_json(served, rows):
    """The prediction as an API client sees it (arrays serialised)."""
    return json.loads(serving.result_json(serving.predict_rows(served, rows)))


def rows_for(version, rows):
    """Rows carry every column of the file; keep only the version's features."""
    return [
        {f["name"]: r[f["name"]] for f in version.features} if isinstance(r, dict) else r
        for r in rows
    ]


# Multinomial naive Bayes needs counts: leave out the (sometimes negative) charges.
FEATURES = {"multinomial_nb": ["tenure_months", "contract", "internet", "support_calls"]}


def train(owner, make_dataset, worker, algorithm_id, params=None, name=None):
    algorithm = ALGORITHMS[algorithm_id]
    filename, target = DATA[algorithm.kind]
    dataset = make_dataset(filename)
    version = services.model_create_with_version(
        owner=owner,
        name=name or algorithm_id.replace("_", "-"),
        dataset=dataset,
        algorithm=algorithm_id,
        target=target,
        params=params,
        features=FEATURES.get(algorithm_id),
    )
    assert version.status == "queued"
    worker()
    return ModelVersion.objects.get(pk=version.pk), filename


@pytest.mark.parametrize("algorithm_id", sorted(ALGORITHMS))
def test_every_algorithm_trains_and_serves(owner, make_dataset, worker, algorithm_id):
    version, filename = train(owner, make_dataset, worker, algorithm_id)
    assert version.status == "ready", version.error
    assert version.progress == 100
    assert version.artifact_sha256
    assert version.training_seconds > 0
    assert version.metrics["n_train"] + version.metrics["n_test"] > 0
    kind = ALGORITHMS[algorithm_id].kind
    headline = version.headline
    assert headline is not None, version.metrics
    plots = ModelVersion.objects.filter(pk=version.pk).values_list("plots", flat=True).first()
    assert plots, "no plots rendered"
    assert all(svg.lstrip().startswith(("<?xml", "<svg")) for svg in plots.values())

    served = serving.resolve(version.model.name)
    assert served.version == 1
    result = predict_json(served, rows_for(version, ROWS[filename]))
    assert result["model"] == {"name": version.model.name, "version": 1, "role": "champion"}
    assert len(result["predictions"]) == 2
    if kind == CLASSIFIER:
        assert set(result["predictions"]) <= {"yes", "no"}
        assert version.classes == ["no", "yes"]
        assert "confusion_matrix" in plots
        if "probabilities" in result:
            np.testing.assert_allclose(np.sum(result["probabilities"], axis=1), 1.0)
            assert result["classes"] == ["no", "yes"]
    elif kind == REGRESSOR:
        assert all(isinstance(p, float) for p in result["predictions"])
        assert {"r2", "rmse", "mae"} <= set(version.metrics)
        assert "predicted_vs_actual" in plots
    elif kind == CLUSTERING:
        assert all(isinstance(p, int) for p in result["predictions"])
        assert "clusters" in plots
    else:
        assert len(result["predictions"][0]) == version.metrics["n_components"]
        assert "explained_variance" in plots


def test_a_classifier_learns_the_demo_signal(owner, make_dataset, worker):
    version, _ = train(owner, make_dataset, worker, "logistic_regression")
    assert version.metrics["accuracy"] > 0.7
    assert version.metrics["stratified"] is True
    cm = version.metrics["confusion_matrix"]
    assert cm["labels"] == ["no", "yes"]
    assert sum(map(sum, cm["matrix"])) == version.metrics["n_test"]
    assert len(version.loss_curve) >= 2
    features = {f["name"]: f for f in version.features}
    assert features["contract"]["categories"] == ["month-to-month", "one-year", "two-year"]
    assert features["tenure_months"]["type"] == "number"


def test_a_failure_leaves_the_version_failed_with_a_message(owner, make_dataset, worker):
    negative = b"count,label\n" + b"".join(
        b"%d,%s\n" % (i - 5, b"ab"[i % 2 : i % 2 + 1]) for i in range(40)
    )
    dataset = make_dataset(data=negative, dataset_name="negatives")
    version = services.model_create_with_version(
        owner=owner, name="counts", dataset=dataset, algorithm="multinomial_nb", target="label"
    )
    worker()
    version.refresh_from_db()
    assert version.status == "failed"
    assert "learns from counts, but 'count' has a negative value" in version.error
    assert version.finished_at is not None
    with pytest.raises(services.Conflict, match="no ready version"):
        serving.resolve("counts")


def test_the_default_version_is_production_only(owner, make_dataset, worker):
    version, _ = train(owner, make_dataset, worker, "linear_regression", name="prices")
    services.version_create(
        model=version.model,
        user=owner,
        dataset=version.dataset,
        algorithm="linear_regression",
        target="price",
        params={"alpha": 10.0},
    )
    worker()
    serving.forget_resolutions()
    assert serving.resolve("prices").version == 1  # the first ready one became production
    services.alias_move(
        model=version.model, name="production", version_number=2, user=owner, via="api"
    )
    serving.forget_resolutions()
    assert serving.resolve("prices").version == 2
    services.alias_move(
        model=version.model, name="production", version_number=1, user=owner, via="api"
    )
    serving.forget_resolutions()
    assert serving.resolve("prices").version == 1
    assert serving.resolve("prices", alias="production").version == 1
    assert serving.resolve("prices", version=2).version == 2
    with pytest.raises(services.NotFound):
        serving.resolve("prices", alias="staging")
    with pytest.raises(services.NotFound):
        serving.resolve("nope")


def test_a_tampered_artifact_is_refused(owner, make_dataset, worker):
    version, _ = train(owner, make_dataset, worker, "gaussian_nb")
    artifact = bytearray(
        ModelVersion.objects.filter(pk=version.pk).values_list("artifact", flat=True)[0]
    )
    artifact[len(artifact) // 2] ^= 0x01
    ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(artifact))
    serving.pipeline_cache().clear()
    served = serving.resolve(version.model.name)
    with pytest.raises(serving.ArtifactError, match="does not match its sha256"):
        serving.predict_rows(served, ROWS["churn.csv"])


def test_prediction_input_errors_name_the_row_and_column(owner, make_dataset, worker):
    version, _ = train(owner, make_dataset, worker, "linear_regression")
    served = serving.resolve(version.model.name)
    cases = [
        ([[1, 2]], "has 2 values; the model expects 4"),
        ([{"size_m2": 1, "bedrooms": 2, "age_years": 3}], "column 'area': missing column"),
        (
            [{"size_m2": "big", "bedrooms": 2, "age_years": 3, "area": "x"}],
            "'big' is not a finite number",
        ),
        ([], "at least one row"),
        (["oops"], "a row must be a list"),
    ]
    for rows, message in cases:
        with pytest.raises(serving.PredictionError, match=message):
            predict_json(served, rows)


def test_positional_and_named_rows_predict_the_same(owner, make_dataset, worker):
    version, _ = train(owner, make_dataset, worker, "decision_tree_regressor")
    served = serving.resolve(version.model.name)
    named = predict_json(served, rows_for(version, ROWS["houses.csv"]))
    positional = predict_json(
        served, [[r[f["name"]] for f in version.features] for r in ROWS["houses.csv"]]
    )
    assert named == positional


def test_a_version_whose_worker_died_is_retried_then_failed(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    version = services.model_create_with_version(
        owner=owner, name="prices", dataset=dataset, algorithm="linear_regression", target="price"
    )
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(minutes=5)
    ModelVersion.objects.filter(pk=version.pk).update(
        status="running", heartbeat_at=long_ago, attempts=1
    )
    assert reap_stale_versions() == 1
    version.refresh_from_db()
    assert version.status == "queued"
    assert "retrying" in version.error
    ModelVersion.objects.filter(pk=version.pk).update(
        status="running", heartbeat_at=long_ago, attempts=2
    )
    assert reap_stale_versions() == 1
    version.refresh_from_db()
    assert version.status == "failed"
    assert "worker stopped" in version.error


def test_a_training_whose_dataset_was_deleted_fails_with_a_message_people_understand(
    owner, make_dataset, worker
):
    # Deleted while its first attempt ran (then lost its worker): the retry cannot read it.
    from datetime import timedelta

    from django.utils import timezone

    retried = services.model_create_with_version(
        owner=owner,
        name="prices",
        dataset=make_dataset("houses.csv"),
        algorithm="linear_regression",
        target="price",
    )
    ModelVersion.objects.filter(pk=retried.pk).update(
        status="running", heartbeat_at=timezone.now() - timedelta(minutes=5), attempts=1
    )
    assert reap_stale_versions() == 1
    never_started = services.model_create_with_version(
        owner=owner,
        name="churn",
        dataset=make_dataset("churn.csv"),
        algorithm="logistic_regression",
        target="churned",
    )
    for version in (retried, never_started):
        services.dataset_delete(dataset=version.dataset, user=owner)
    worker()
    retried.refresh_from_db()
    never_started.refresh_from_db()
    assert retried.status == never_started.status == "failed"
    assert retried.error.startswith("The dataset was deleted during training")
    assert never_started.error.startswith("The dataset was deleted before training started")
    assert "matching query" not in retried.error + never_started.error


def test_the_manager_defers_bytes():
    assert ModelVersion.objects.deferred == ("artifact", "plots")
    assert isinstance(ModelVersion.objects, DeferredBytesManager)
