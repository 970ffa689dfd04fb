"""Hostile-input tests: a dataset, a ready model trained by the real worker, and a token.

Training the churn model costs a few seconds, so it is trained once per session with the
real worker; later tests get the same version (its artifact, input schema and metrics)
written back into their fresh database instead of training it again.
"""

from dataclasses import dataclass

import pytest

from tests.conftest import demo_bytes, run_worker

_TRAINED: dict = {}  # the ModelVersion fields the real worker wrote, for reuse
_NOT_COPIED = {"id", "model_id", "dataset_id", "created_by_id"}


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
    from registry.models import ModelVersion, RegisteredModel
    from registry.tokens import token_create

    dataset = services.dataset_create(owner=owner, data=demo_bytes("churn.csv"), name="churn")
    if not _TRAINED:
        services.model_create_with_version(
            owner=owner,
            name=model,
            dataset=dataset,
            algorithm="logistic_regression",
            target="churned",
        )
        run_worker()
        version = ModelVersion.objects.get(model__name=model, version=1)
        assert version.status == ModelVersion.Status.READY, version.error
        for field in ModelVersion._meta.concrete_fields:
            if field.attname not in _NOT_COPIED:
                value = getattr(version, field.attname)
                _TRAINED[field.attname] = bytes(value) if isinstance(value, memoryview) else value
    else:
        registered = RegisteredModel.objects.create(name=model, owner=owner)
        ModelVersion.objects.create(model=registered, dataset=dataset, created_by=owner, **_TRAINED)
    services.alias_move(
        model=RegisteredModel.objects.get(name=model),
        name="production",
        version_number=1,
        user=owner,
    )
    token = token_create(user=owner, name="hostile")[1]
    return World(token=token, dataset_id=dataset.pk, model=model)


@pytest.fixture
def world(transactional_db, owner) -> World:
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
