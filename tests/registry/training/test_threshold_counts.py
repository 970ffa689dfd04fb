"""Binary classifiers with probabilities keep, per score bin, how many held-out rows of each
true class fell there (metrics["threshold_counts"]): the version page recomputes the
confusion matrix at any threshold k/1000 from them, without retraining."""

import numpy as np
import pytest

import numpyml
from registry import cards
from tests.conftest import train_once
from tests.registry.training.test_curves import holdout

pytestmark = pytest.mark.django_db


def train(owner, make_dataset, algorithm: str, target: str = "churned"):
    return train_once(
        owner=owner,
        dataset=make_dataset("churn.csv", dataset_name=f"{algorithm}-{target}"),
        name=f"{algorithm.replace('_', '-')}-{target}",
        algorithm=algorithm,
        target=target,
    )


@pytest.mark.parametrize("algorithm", ["logistic_regression", "gaussian_nb"])
def test_it_counts_the_holdout_rows_per_score_bin_by_true_class(owner, make_dataset, algorithm):
    version = train(owner, make_dataset, algorithm)
    X_test, y_test = holdout(version)
    p1 = numpyml.load(bytes(version.artifact)).predict_proba(X_test)[:, 1]
    bins = np.minimum(np.floor(p1 * 1000).astype(int), 999)  # by hand
    counts = version.metrics["threshold_counts"]
    assert counts["positive"] == "yes" == version.classes[1]
    assert counts["bins"] == 1000
    assert counts["pos"] == np.bincount(bins[y_test == "yes"], minlength=1000).tolist()
    assert counts["neg"] == np.bincount(bins[y_test == "no"], minlength=1000).tolist()
    assert sum(counts["pos"]) + sum(counts["neg"]) == version.metrics["n_test"]
    # The counts at the model's own rule (0.5) give back the stored confusion matrix.
    tp, fn = sum(counts["pos"][500:]), sum(counts["pos"][:500])
    fp, tn = sum(counts["neg"][500:]), sum(counts["neg"][:500])
    assert version.metrics["confusion_matrix"]["matrix"] == [[tn, fp], [fn, tp]]
    # An export's model card carries them (the card schema knows their shape).
    cards.check_metrics("classifier", version.metrics, version.classes)


def test_a_multiclass_classifier_has_no_threshold_counts(owner, make_dataset):
    version = train(owner, make_dataset, "logistic_regression", target="contract")
    assert len(version.classes) == 3
    assert "threshold_counts" not in version.metrics


@pytest.mark.parametrize(
    "counts",
    [
        {"positive": "yes", "bins": 1000, "pos": [0] * 999, "neg": [0] * 1000},
        {"positive": "yes", "bins": 1000, "pos": [-1] + [0] * 999, "neg": [0] * 1000},
        {"positive": "yes", "bins": 10, "pos": [0] * 10, "neg": [0] * 10},
        {"positive": "maybe", "bins": 1000, "pos": [0] * 1000, "neg": [0] * 1000},
    ],
)
def test_a_card_with_malformed_threshold_counts_is_refused(counts):
    with pytest.raises(cards.CardError, match="threshold_counts"):
        cards.check_metrics("classifier", {"threshold_counts": counts}, ["no", "yes"])
