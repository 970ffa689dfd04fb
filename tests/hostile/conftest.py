"""Hostile-input tests: a dataset, a ready model, and a token.

The churn model is trained once per session (by training.train, what the worker's child
runs); later tests get the same version (its artifact, input schema and metrics) written
back into their fresh database instead of training it again (tests/conftest.py train_once).
"""

from dataclasses import dataclass

import pytest

from tests.conftest import demo_bytes, train_once


@dataclass(frozen=True)
class World:
    token: str
    dataset_id: int
    model: str = "churn"
    version: int = 1
    alias: str = "production"


def install_churn(owner, model: str = "churn") -> World:
    """churn.csv uploaded, `model` v1 (churn) ready with alias production, a bearer token."""
    from registry import services
    from registry.models import RegisteredModel
    from registry.tokens import token_create

    dataset = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")
    train_once(
        owner=owner, dataset=dataset, name=model, algorithm="logistic_regression", target="churned"
    )
    services.alias_move(
        model=RegisteredModel.objects.get(name=model),
        name="production",
        version_number=1,
        user=owner,
    )
    token = token_create(user=owner, name="hostile")[1]
    return World(token=token, dataset_id=dataset.pk, model=model)


@pytest.fixture
def world(db, owner) -> World:
    from registry import serving, tokens

    # This process's one-second caches may still name the last test's (deleted) rows.
    serving.forget_resolutions()
    tokens.forget_tokens()
    return install_churn(owner)


def registry_state() -> dict[str, list]:
    """What a write to the registry would change: its rows, statuses and alias targets."""
    from registry.models import Alias, Dataset, ModelVersion, RegisteredModel

    return {
        "datasets": list(Dataset.objects.order_by("pk").values_list("pk", "sha256")),
        "models": list(RegisteredModel.objects.order_by("pk").values_list("pk", "updated_at")),
        "versions": list(ModelVersion.objects.order_by("pk").values_list("pk", "status")),
        "aliases": list(Alias.objects.order_by("pk").values_list("pk", "version_id")),
    }
