"""Permutation importance for every supervised algorithm, computed on the holdout rows at
training with the version's seed, by the user's own columns (a category's one-hot parts
count as its one column), shown on the version page and in the API's version record."""

import io

import numpy as np
import pytest
from django.urls import reverse

from registry import cards, services
from registry.algorithms import REGRESSOR
from registry.models import ModelVersion
from registry.training import importance
from registry.training.run import train

pytestmark = pytest.mark.django_db


def _csv(kind: str, n: int = 1000) -> bytes:
    """`strong` drives the target, `strong_copy` is the same column, `weak` and `grade` (a
    category) help a little, and `noise` is unrelated to it."""
    rng = np.random.default_rng(3)
    strong, weak, noise = rng.normal(size=(3, n))
    grade = rng.choice(["a", "b", "c"], size=n)
    value = 4 * strong + weak + 1.5 * (grade == "a") + rng.normal(scale=0.3, size=n)
    target = value if kind == "regression" else np.where(value > 0.2, "yes", "no")
    out = io.StringIO()
    out.write("strong,strong_copy,weak,grade,noise,target\n")
    for row in zip(strong, strong, weak, grade, noise, target, strict=True):
        out.write(",".join(str(v) for v in row) + "\n")
    return out.getvalue().encode()


def _trained(owner, make_dataset, algorithm: str, kind: str, name: str = "imp", seed=None):
    version = services.model_create_with_version(
        owner=owner,
        name=name,
        dataset=make_dataset(f"{kind}.csv", data=_csv(kind), dataset_name=name),
        algorithm=algorithm,
        target="target",
    )
    if seed is not None:
        ModelVersion.objects.filter(pk=version.pk).update(seed=seed)
    assert train(version.pk) == "ready", ModelVersion.objects.get(pk=version.pk).error
    return ModelVersion.objects.select_related("model").get(pk=version.pk)


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [
        ("linear_regression", "regression"),
        ("knn_regressor", "regression"),
        ("logistic_regression", "classification"),
        ("gaussian_nb", "classification"),
    ],
)
def test_it_ranks_noise_last_and_a_copy_of_the_strongest_near_the_top(
    owner, make_dataset, algorithm, kind
):
    version = _trained(owner, make_dataset, algorithm, kind)
    found = version.metrics["permutation_importance"]
    names = [f["name"] for f in found["features"]]
    assert sorted(names) == ["grade", "noise", "strong", "strong_copy", "weak"]
    assert names[-1] == "noise", found
    assert set(names[:2]) == {"strong", "strong_copy"}, found
    means = [f["mean"] for f in found["features"]]
    assert means == sorted(means, reverse=True)
    assert found["scoring"] == ("r2" if kind == "regression" else "accuracy")
    assert found["n_rows"] == version.metrics["n_test"]
    assert "permutation_importance" in version.plots
    # A model card carries it: exports of this version import again.
    cards.check_metrics(version.kind, version.metrics, version.classes)


def test_it_is_the_same_for_the_same_seed(owner, make_dataset):
    first = _trained(owner, make_dataset, "logistic_regression", "classification", "a", seed=4)
    again = _trained(owner, make_dataset, "logistic_regression", "classification", "b", seed=4)
    other = _trained(owner, make_dataset, "logistic_regression", "classification", "c", seed=5)
    assert first.metrics["permutation_importance"] == again.metrics["permutation_importance"]
    assert first.metrics["permutation_importance"] != other.metrics["permutation_importance"]


def test_it_is_not_computed_for_clustering(owner, make_dataset):
    version = services.model_create_with_version(
        owner=owner,
        name="groups",
        dataset=make_dataset("r.csv", data=_csv("regression"), dataset_name="groups"),
        algorithm="kmeans",
        target=None,
    )
    assert train(version.pk) == "ready"
    version.refresh_from_db()
    assert "permutation_importance" not in version.metrics
    assert "permutation_importance" not in version.plots


def test_the_page_and_the_api_show_it(owner, make_dataset, client, owner_api):
    version = _trained(owner, make_dataset, "linear_regression", "regression")
    client.force_login(owner)
    page = client.get(version.get_absolute_url()).content.decode()
    assert "Permutation importance" in page
    plot = client.get(reverse("version_plot", args=["imp", 1, "permutation_importance"]))
    assert plot.status_code == 200
    assert b"strong_copy" in plot.content
    assert b"noise" in plot.content
    record = owner_api.get("/models/imp/versions/1").json()
    features = record["metrics"]["permutation_importance"]["features"]
    assert features[-1]["name"] == "noise"


class _Sum:
    def predict(self, X):
        return X["a"] + X["b"]


@pytest.mark.parametrize(
    ("n", "keeps_every_row", "used"),
    [
        (300, False, 300),
        (5000, False, 2000),
        (5000, True, 1000),
        (300, True, 200),
        (150, True, 150),
    ],
)
def test_it_shuffles_a_bounded_number_of_rows(n, keeps_every_row, used):
    rng = np.random.default_rng(0)
    X = {"a": rng.normal(size=n), "b": rng.normal(size=n)}
    found = importance.measure(
        REGRESSOR, _Sum(), X, X["a"] + X["b"], 0, keeps_every_row=keeps_every_row
    )
    assert found["n_rows"] == used
