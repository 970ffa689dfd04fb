"""The SVM and the perceptron are trained with Platt scaling (numpyml's probability=True): their
answers carry class probabilities, their holdout metrics and curves are of them, and the loss
curve a version keeps is the final model's, not the calibration folds'."""

import numpy as np
import pytest
import sklearn.metrics as sk

import numpyml
from registry import serving
from registry.pipeline import estimator_of
from tests.conftest import train_once
from tests.registry.training.test_curves import holdout

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(owner, make_dataset):
    def run(algorithm: str):
        return train_once(
            owner=owner,
            dataset=make_dataset("churn.csv", dataset_name=f"{algorithm}-churned"),
            name=f"{algorithm}-churned",
            algorithm=algorithm,
            target="churned",
        )

    return run


@pytest.mark.parametrize("algorithm", ["svm", "perceptron"])
def test_it_serves_and_measures_probabilities(trained, algorithm):
    version = trained(algorithm)
    pipeline = numpyml.load(bytes(version.artifact))
    assert estimator_of(pipeline).probability is True
    X_test, y_test = holdout(version)
    proba = pipeline.predict_proba(X_test)
    metrics = version.metrics
    assert metrics["log_loss"] == pytest.approx(
        sk.log_loss(y_test, proba, labels=version.classes), abs=1e-9
    )
    assert metrics["roc_auc"] == pytest.approx(sk.roc_auc_score(y_test, proba[:, 1]), abs=1e-9)
    served = serving.resolve(version.model.name)
    answer = serving.predict_table(served, {k: v[:7] for k, v in X_test.items()})
    assert answer["classes"] == version.classes
    # a matrix product of another shape may round the last bit differently (as BLAS does)
    np.testing.assert_allclose(answer["probabilities"], proba[:7], rtol=1e-12)
    np.testing.assert_allclose(answer["probabilities"].sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["svm", "perceptron"])
def test_its_loss_curve_is_the_final_models(trained, algorithm):
    version = trained(algorithm)
    model = estimator_of(numpyml.load(bytes(version.artifact)))
    assert version.loss_curve
    assert version.loss_curve[-1] == model.loss_curve_[-1]
    assert set(version.loss_curve) <= set(model.loss_curve_)
