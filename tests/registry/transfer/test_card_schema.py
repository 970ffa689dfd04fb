"""An imported model card is checked field by field against a strict schema (registry/cards.py):
a card edited by hand, with its checksums fixed, is refused with a message naming the field,
and every genuine export still imports."""

import json

import pytest

from registry import services, transfer
from registry.algorithms import ALGORITHMS
from registry.models import ModelVersion, RegisteredModel
from registry.services import InvalidInput
from tests.registry.transfer.zips import edit_json, fix_up, pack, unpack

pytestmark = pytest.mark.django_db

CARD = transfer.CARD
# A dataset and target for every algorithm of the table.
TRAINING = {
    "classifier": ("churn.csv", "churned"),
    "regressor": ("houses.csv", "price"),
    "clustering": ("shoppers.csv", None),
    "decomposition": ("houses.csv", None),
}
# Counts only: multinomial naive Bayes refuses negative inputs.
SPEC = {"multinomial_nb": {"features": ["contract", "internet", "support_calls"]}}


def nested_origin(depth: int) -> dict | None:
    origin = None
    for _ in range(depth):
        origin = {
            "instance": "elsewhere",
            "exported_at": "2026-01-01T00:00:00+00:00",
            "model": "m",
            "version": 1,
            "card_sha256": "a" * 64,
            "artifact_sha256": "b" * 64,
            "format_version": 1,
            "signature": "unsigned",
            "imported_at": "2026-01-01T00:00:00+00:00",
            "imported_by": "someone",
            "previous": origin,
        }
    return origin


def refused(user, data: bytes, field: str) -> str:
    before = (RegisteredModel.objects.count(), ModelVersion.objects.count())
    with pytest.raises(InvalidInput) as caught:
        services.version_import(user=user, data=data, name="imported")
    message = caught.value.message
    assert caught.value.status == 422
    assert f"the model card's {field}" in message, message
    assert " is not valid: " in message, message
    assert (RegisteredModel.objects.count(), ModelVersion.objects.count()) == before
    print(message)
    return message


@pytest.fixture
def churn_members(exports):
    return unpack(exports["churn"])


@pytest.fixture
def pca_members(train_version):
    version = train_version("houses-pca", "pca", "houses.csv", None)
    return unpack(transfer.version_export(version))


@pytest.fixture
def kmeans_members(train_version):
    version = train_version("shoppers", "kmeans", "shoppers.csv", None, params={"n_clusters": 3})
    return unpack(transfer.version_export(version))


def edited(members, change) -> bytes:
    return pack(fix_up(edit_json(members, CARD, change)))


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_it_imports_the_genuine_export_of_every_algorithm(train_version, other, algorithm):
    kind = ALGORITHMS[algorithm].kind
    csv, target = TRAINING[kind]
    name = f"m-{algorithm.replace('_', '-')}"
    version = train_version(name, algorithm, csv, target, **SPEC.get(algorithm, {}))
    imported = services.version_import(
        user=other, data=transfer.version_export(version), name="imported"
    )
    assert imported.status == "ready"
    assert imported.metrics == version.metrics
    assert imported.profile == version.profile
    # And once more: an import of an import (its card records where it came from).
    again = services.version_import(user=other, data=transfer.version_export(imported))
    assert again.origin["previous"]["model"] == version.model.name


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["metrics"].update(accuracy="x"), "metrics.accuracy"),
        (lambda c: c["metrics"].update(accuracy=10**400), "metrics.accuracy"),
        (lambda c: c["metrics"].update(accuracy=1.5), "metrics.accuracy"),
        (lambda c: c["metrics"].update(accuracy=True), "metrics.accuracy"),
        (lambda c: c["metrics"].update(surprise={"a": 1}), "metrics.surprise"),
        (lambda c: c["metrics"].update(surprise=10**400), "metrics.surprise"),
        (lambda c: c["metrics"]["confusion_matrix"].update(matrix=[[1, 2]]), "metrics.confusion"),
        (lambda c: c["metrics"]["confusion_matrix"].update(matrix="x"), "metrics.confusion"),
        (
            lambda c: c["metrics"]["confusion_matrix"].update(matrix=[[1, -2], [3, 4]]),
            "metrics.confusion_matrix.matrix.0.1",
        ),
        (
            lambda c: c["metrics"]["confusion_matrix"].update(matrix=[[1, "2"], [3, 4]]),
            "metrics.confusion_matrix.matrix.0.1",
        ),
        (
            lambda c: c["metrics"]["confusion_matrix"].update(labels=["a", "b"]),
            "metrics.confusion_matrix.labels",
        ),
        (lambda c: c["metrics"].update(confusion_matrix=[1]), "metrics.confusion_matrix"),
        (lambda c: c.update(profile={"features": 1}), "profile"),
        (lambda c: c["profile"].update(features=[]), "profile.features"),
        (
            lambda c: c["profile"]["features"]["tenure_months"].update(proportions=[1.0]),
            "profile.features.tenure_months.proportions",
        ),
        (
            lambda c: c["profile"]["features"]["tenure_months"].update(edges=["a"]),
            "profile.features.tenure_months.edges.0",
        ),
        (
            lambda c: c["profile"]["features"]["tenure_months"].update(type="category"),
            "profile.features.tenure_months",
        ),
        (
            lambda c: c["profile"]["features"]["contract"].update(categories=[["a"]]),
            "profile.features.contract.categories.0",
        ),
        (lambda c: c["profile"]["features"].update(ghost=None), "profile.features.ghost"),
        (lambda c: c["profile"]["background"].update(rows=0), "profile.background.rows"),
        (
            lambda c: c["profile"]["background"]["columns"].update(ghost=[]),
            "profile.background.columns.ghost",
        ),
        (
            lambda c: c["profile"]["background"]["columns"]["tenure_months"].append(1.0),
            "profile.background.columns.tenure_months",
        ),
        (
            lambda c: c["profile"]["background"]["columns"]["tenure_months"].__setitem__(0, "x"),
            "profile.background.columns.tenure_months",
        ),
        (
            lambda c: c["profile"]["background"]["columns"]["contract"].__setitem__(0, [1]),
            "profile.background.columns.contract.0",
        ),
        (lambda c: c["params"].update(C="x"), "params.C"),
        (lambda c: c["params"].update(evil=1), "params.evil"),
        (lambda c: c.update(classes=[{"a": 1}, "b"]), "classes.0"),
        (lambda c: c.update(loss_curve=["x"]), "loss_curve.0"),
        (lambda c: c["features"][0].update(min="<b>"), "features.0.min"),
        (lambda c: c["features"][0].update(extra=1), "features.0.extra"),
        (lambda c: c["model"].update(version=10**400), "model.version"),
        (lambda c: c["training"].update(seconds="1"), "training.seconds"),
        (lambda c: c.update(origin={"instance": "x"}), "origin"),
        (lambda c: c.update(unknown=1), "unknown"),
        (lambda c: c.update(target=None), "target"),
        (lambda c: c.update(origin=nested_origin(40)), "origin"),
        (lambda c: c["metrics"].update({"<b>x</b>": 1}), "metrics.<b>x</b>"),
    ],
)
def test_it_refuses_an_edited_card_naming_the_field(owner, churn_members, change, field):
    refused(owner, edited(churn_members, change), field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m.update(explained_variance_ratio="x"), "metrics.explained_variance_ratio"),
        (lambda m: m.update(explained_variance_ratio=["x"]), "metrics.explained_variance_ratio.0"),
        (lambda m: m.update(explained_variance_ratio=[7.0]), "metrics.explained_variance_ratio.0"),
        (lambda m: m.update(explained_variance="x"), "metrics.explained_variance"),
        (lambda m: m.update(n_components=1.5), "metrics.n_components"),
    ],
)
def test_it_refuses_a_bad_explained_variance(owner, pca_members, change, field):
    refused(owner, edited(pca_members, lambda c: change(c["metrics"])), field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m.update(silhouette="x"), "metrics.silhouette"),
        (lambda m: m.update(cluster_sizes=[-1, 2]), "metrics.cluster_sizes.0"),
    ],
)
def test_it_refuses_bad_clustering_metrics(owner, kmeans_members, change, field):
    refused(owner, edited(kmeans_members, lambda c: change(c["metrics"])), field)


def test_the_refused_cards_would_have_broken_the_pages(owner, churn_members):
    """What the issue found: a card with a string accuracy imported, then the models list
    answered 500. The same card is now refused; the untouched one still imports."""
    card = json.loads(churn_members[CARD])
    assert isinstance(card["metrics"]["accuracy"], float)
    refused(owner, edited(churn_members, lambda c: c["metrics"].update(accuracy="x")), "metrics")
    version = services.version_import(user=owner, data=pack(churn_members), name="imported")
    assert version.metrics == card["metrics"]
