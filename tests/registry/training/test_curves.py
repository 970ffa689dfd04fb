"""Per-class results for every classifier; ROC and precision-recall curves with their areas
for a binary classifier with scores, on the same held-out rows the training scored."""

import numpy as np
import pytest
import sklearn.metrics as sk
from django.urls import reverse

import numpyml
from registry.algorithms import ALGORITHMS
from registry.training.data import load_training_data, split, take
from registry.training.evaluate import MAX_CURVE_POINTS
from tests.conftest import train_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(owner, make_dataset):
    def run(algorithm: str, target: str = "churned"):
        return train_once(
            owner=owner,
            dataset=make_dataset("churn.csv", dataset_name=f"{algorithm}-{target}"),
            name=f"{algorithm.replace('_', '-')}-{target}",
            algorithm=algorithm,
            target=target,
        )

    return run


def holdout(version):
    """The held-out rows and labels, split the way training splits them."""
    X, y, _, _ = load_training_data(version)
    kind = ALGORITHMS[version.algorithm].kind
    _, test_rows, _ = split(X, y, kind, version.test_size, version.seed)
    return take(X, test_rows), y[test_rows]


@pytest.mark.parametrize(
    ("algorithm", "score"),
    [
        ("logistic_regression", lambda p, X: p.predict_proba(X)[:, 1]),
        ("perceptron", lambda p, X: p.predict_proba(X)[:, 1]),
        ("svm", lambda p, X: p.predict_proba(X)[:, 1]),
    ],
)
def test_it_stores_the_auc_scikit_learn_computes_on_the_holdout_scores(trained, algorithm, score):
    version = trained(algorithm)
    X_test, y_test = holdout(version)
    pipeline = numpyml.load(bytes(version.artifact))
    scores = score(pipeline, X_test)
    metrics = version.metrics
    assert metrics["positive_class"] == "yes" == version.classes[1]
    assert metrics["roc_auc"] == pytest.approx(sk.roc_auc_score(y_test, scores), abs=1e-9)
    assert metrics["average_precision"] == pytest.approx(
        sk.average_precision_score(y_test, scores, pos_label="yes"), abs=1e-9
    )
    fpr, tpr, _ = sk.roc_curve(y_test, scores, pos_label="yes")
    roc = metrics["roc_curve"]
    assert 2 <= len(roc["fpr"]) == len(roc["tpr"]) <= MAX_CURVE_POINTS
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0, 0, 1, 1)
    assert set(zip(roc["fpr"], roc["tpr"], strict=True)) <= set(zip(fpr, tpr, strict=True))
    pr = metrics["pr_curve"]
    assert 2 <= len(pr["recall"]) == len(pr["precision"]) <= MAX_CURVE_POINTS
    assert {"roc_curve", "pr_curve"} <= set(version.plots)


def test_it_gives_every_classifier_its_per_class_results(trained):
    version = trained("decision_tree_classifier", target="contract")
    X_test, y_test = holdout(version)
    predicted = numpyml.load(bytes(version.artifact)).predict(X_test)
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y_test, predicted, labels=version.classes, zero_division=0
    )
    per_class = version.metrics["per_class"]
    assert [row["label"] for row in per_class] == version.classes
    assert [row["support"] for row in per_class] == support.tolist()
    for key, want in (("precision", precision), ("recall", recall), ("f1", f1)):
        assert np.allclose([row[key] for row in per_class], want, rtol=0, atol=1e-9)
    # More than two classes: no curves, and no plots of them.
    assert not {"roc_auc", "roc_curve", "pr_curve"} & set(version.metrics)
    assert not {"roc_curve", "pr_curve"} & set(version.plots)


def test_the_version_page_shows_the_per_class_table_and_the_curves(client, owner, trained):
    version = trained("logistic_regression")
    client.force_login(owner)
    page = client.get(reverse("version_detail", args=[version.model.name, 1]))
    html = page.content.decode()
    assert 'class="per-class"' in html
    support = {row["label"]: row["support"] for row in version.metrics["per_class"]}
    assert '<th scope="row">yes</th>' in html
    assert f"{support['yes']:,}" in html
    auc = version.metrics["roc_auc"]
    assert f"ROC curve (AUC {auc:.3f})" in html
    assert "Precision-recall curve (AP " in html
    assert "ROC AUC" in html
    plot = client.get(reverse("version_plot", args=[version.model.name, 1, "roc_curve"]))
    assert plot.status_code == 200
    assert b"<svg" in plot.content


def test_the_api_version_record_carries_them(owner_api, trained):
    version = trained("logistic_regression")
    record = owner_api.get(f"/models/{version.model.name}/versions/1").json()
    metrics = record["metrics"]
    assert metrics["roc_auc"] == version.metrics["roc_auc"]
    assert metrics["per_class"] == version.metrics["per_class"]
    assert metrics["roc_curve"]["fpr"]
    assert metrics["pr_curve"]["precision"]


class Voter:
    """A classifier with labels only: no probabilities, no decision function."""

    classes_ = np.array(["no", "yes"])

    def predict(self, X):
        return np.where(np.asarray(X["x"]) > 0, "yes", "no")


def test_a_classifier_without_scores_gets_the_per_class_table_only():
    from numpyml.pipeline import Pipeline
    from registry.algorithms import CLASSIFIER
    from registry.training.evaluate import compute_metrics

    X = {"x": np.array([-2.0, -1.0, 1.0, 2.0, 3.0])}
    y = np.array(["no", "yes", "yes", "yes", "no"])
    metrics = compute_metrics(CLASSIFIER, Pipeline([("model", Voter())]), X, y, X)
    assert metrics["per_class"] == [
        {"label": "no", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
        {"label": "yes", "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3},
    ]
    assert not {"roc_auc", "average_precision", "roc_curve", "pr_curve"} & set(metrics)
