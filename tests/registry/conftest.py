"""Helpers for the page tests (web/): logged-in clients and versions made without
training (a status, metrics and plots written directly), so listings can be filled in bulk.
"""

import pytest
from django.utils import timezone

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
)
CHURN_FEATURES = [
    {"name": "tenure_months", "type": "number", "min": 1.0, "max": 72.0, "mean": 30.5},
    {"name": "monthly_charges", "type": "number", "min": 20.0, "max": 120.0, "mean": 70.2},
    {
        "name": "contract",
        "type": "category",
        "categories": ["month-to-month", "one-year", "two-year"],
    },
    {"name": "internet", "type": "category", "categories": ["dsl", "fiber", "none"]},
    {"name": "support_calls", "type": "number", "min": 0.0, "max": 9.0, "mean": 1.2},
]


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(other):
    from django.test import Client

    client = Client()  # its own: a test may use both personas at once
    client.force_login(other)
    return client


def classifier_metrics(accuracy: float = 0.85) -> dict:
    return {
        "accuracy": accuracy,
        "f1_macro": accuracy - 0.05,
        "log_loss": 0.4,
        "confusion_matrix": {"labels": ["no", "yes"], "matrix": [[50, 10], [8, 52]]},
        "n_train": 480,
        "n_test": 120,
        "stratified": True,
    }


def make_version(model, number: int, *, status: str = "ready", **fields):
    """A version as training leaves it, without running a training."""
    from registry.models import ModelVersion

    values = {
        "model": model,
        "version": number,
        "algorithm": "logistic_regression",
        "params": {"C": 1.0, "max_iter": 100, "tol": 0.0001},
        "dataset_name": "churn",
        "dataset_sha256": "0" * 64,
        "target": "churned",
        "features": CHURN_FEATURES,
        "classes": ["no", "yes"],
        "status": status,
        "created_by": model.owner,
    }
    if status == "ready":
        values.update(
            progress=100,
            metrics=classifier_metrics(),
            plots={"confusion_matrix": SVG, "loss_curve": SVG},
            artifact=b"not-a-real-artifact",
            artifact_sha256="1" * 64,
            artifact_size=19,
            finished_at=timezone.now(),
            training_seconds=0.5,
        )
    values.update(fields)
    return ModelVersion.objects.create(**values)


@pytest.fixture
def make_model(owner):
    from registry.models import RegisteredModel

    def make(name: str = "churn", *, user=None, versions: int = 1, **fields):
        model = RegisteredModel.objects.create(name=name, owner=user or owner)
        for number in range(1, versions + 1):
            make_version(model, number, **fields)
        return model

    return make


def bulk_registry(
    owner, *, n_models: int = 50, n_versions: int = 10, prefix: str = "model"
) -> list:
    """n_models models of n_versions versions each (the newest running, the others ready),
    with a production alias on each."""
    from registry.models import Alias, ModelVersion, RegisteredModel

    models = RegisteredModel.objects.bulk_create(
        RegisteredModel(name=f"{prefix}-{i:03d}", owner=owner, description=f"Model {i}")
        for i in range(n_models)
    )
    now = timezone.now()
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(
            model=model,
            version=v,
            algorithm="logistic_regression",
            params={"C": 1.0},
            dataset_name="churn",
            dataset_sha256="0" * 64,
            target="churned",
            features=CHURN_FEATURES,
            classes=["no", "yes"],
            status="ready" if v < n_versions else "running",
            progress=100 if v < n_versions else 40,
            metrics=classifier_metrics(0.5 + v / 100) if v < n_versions else {},
            plots={"confusion_matrix": SVG * 50} if v < n_versions else {},
            artifact=b"x" * 1000 if v < n_versions else None,
            created_by=owner,
            heartbeat_at=now,
        )
        for model in models
        for v in range(1, n_versions + 1)
    )
    first_ready = {v.model_id: v for v in versions if v.version == 1}
    Alias.objects.bulk_create(
        Alias(model=model, name="production", version=first_ready[model.pk]) for model in models
    )
    return models


def loads_no_bytes(queries) -> None:
    """No query of a listing selects a dataset's CSV or a version's artifact or plots."""
    for query in queries:
        sql = query["sql"]
        for column in ('"csv"', '"artifact"', '"plots"'):
            assert f".{column}" not in sql, sql


def reload(obj):
    return type(obj)._default_manager.get(pk=obj.pk)


def page_queries(client, url: str) -> list[dict]:
    """The queries one page view runs (asserting it renders)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return queries.captured_queries
