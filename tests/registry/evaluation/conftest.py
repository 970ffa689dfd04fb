"""Models with two ready versions on the demo churn data, trained once per session."""

import csv
import io

import pytest

from tests.conftest import demo_bytes, train_once, trained_fields

# (dataset sha256, algorithm, features) -> what its training wrote on version 2.
_SECOND: dict[tuple, dict] = {}
FEATURES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]


def second_version(model, dataset, owner, *, algorithm="decision_tree_classifier", features=None):
    """Version 2 of `model` trained (in this process, once per session) on `dataset`."""
    from registry import services, training
    from registry.models import ModelVersion

    key = (dataset.sha256, algorithm, tuple(features or ()))
    if key in _SECOND:
        return ModelVersion.objects.create(
            **{
                **_SECOND[key],
                "version": 2,
                "model": model,
                "dataset": dataset,
                "dataset_name": dataset.name,
                "dataset_sha256": dataset.sha256,
                "created_by": owner,
            }
        )
    version = services.version_create(
        model=model,
        user=owner,
        dataset=dataset,
        algorithm=algorithm,
        target="churned",
        features=features,
        allow_schema_change=features is not None,
    )
    assert training.train(version.pk) == ModelVersion.Status.READY
    _SECOND[key] = trained_fields(version)
    return ModelVersion.objects.get(pk=version.pk)


@pytest.fixture
def churn_two(owner, make_dataset):
    """Model "churn": v1 a logistic regression (production), v2 a decision tree."""
    dataset = make_dataset("churn.csv")
    v1 = train_once(
        owner=owner,
        dataset=dataset,
        name="churn",
        algorithm="logistic_regression",
        target="churned",
    )
    second_version(v1.model, dataset, owner)
    return v1.model


def churn_rows(start: int = 0, stop: int = 150) -> tuple[list[str], list[list[str]]]:
    """Header and data lines [start:stop] of the demo churn file, as text cells."""
    reader = csv.reader(io.StringIO(demo_bytes("churn.csv").decode()))
    header, *rows = list(reader)
    return header, rows[start:stop]


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def fresh(owner):
    """ "New labelled data": lines 400-549 of churn.csv uploaded as the owner's dataset."""
    from registry import services

    header, rows = churn_rows(400, 550)
    return services.dataset_create(owner=owner, data=to_csv(header, rows), name="fresh")
