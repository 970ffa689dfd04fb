"""A churn model with more ready versions for rollouts: copies of the session's trained
version 1 (the same artifact), one with a decision threshold that changes its answers, and
one whose artifact cannot be loaded (a shadow that fails)."""

from __future__ import annotations

import pytest

from tests.registry.monitoring.conftest import prediction_log  # noqa: F401  (a fixture)


def add_version(churn, number: int, **fields):
    """Version `number` of churn's model, ready: version 1's trained fields, `fields` over."""
    from registry.models import ModelVersion
    from tests.conftest import _NOT_TRAINED

    base = ModelVersion.objects.get(pk=churn.pk)
    copied = {
        f.attname: getattr(base, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname not in _NOT_TRAINED
    }
    return ModelVersion.objects.create(
        **{
            **copied,
            "model_id": base.model_id,
            "dataset_id": base.dataset_id,
            "created_by_id": base.created_by_id,
            "version": number,
            **fields,
        }
    )


@pytest.fixture
def rollout(churn, owner):
    """churn v1 (production), v2 (the same model), v3 (threshold 0.05: answers "yes" far more
    often), v4 (an artifact that cannot be loaded)."""
    add_version(churn, 2)
    add_version(churn, 3, threshold=0.05)
    add_version(churn, 4, artifact=b"not a model", artifact_sha256="0" * 64)
    return churn.model


def set_rollout(model, owner, *, version=1, canary=None, shadow=None):
    from registry import services

    return services.alias_rollout(
        model=model,
        name="production",
        version_number=version,
        canary=canary,
        shadow=shadow,
        user=owner,
        via="api",
    )
