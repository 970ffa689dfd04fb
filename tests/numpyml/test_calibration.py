"""Platt scaling for SVC and Perceptron (probability=True), against scikit-learn as the oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.svm as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import CalibratedClassifierCV, _sigmoid_calibration
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.linear_model import Perceptron as SkPerceptron
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

import numpyml
from numpyml import calibration
from numpyml.linear_model import Perceptron
from numpyml.svm import SVC

DATASETS = {"breast_cancer": load_breast_cancer, "iris": load_iris, "wine": load_wine}


def _split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = DATASETS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _sklearn_svc(X: np.ndarray, y: np.ndarray) -> sk.SVC:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # probability=True is deprecated there
        return sk.SVC(probability=True, random_state=0).fit(X, y)


# ------------------------------------------------------------------------------ the sigmoid


def _decision_values(seed: int, n: int, separation: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    positive = rng.random(n) < 0.4
    return rng.normal(size=n) + separation * np.where(positive, 1.0, -1.0), positive


@pytest.mark.parametrize(
    ("seed", "n", "separation"),
    [(0, 200, 0.5), (1, 1000, 1.5), (2, 40, 4.0), (3, 300, 0.0), (4, 500, 20.0)],
)
def test_the_sigmoid_is_scikit_learns_platt_fit_on_the_same_decision_values(seed, n, separation):
    f, positive = _decision_values(seed, n, separation)
    A, B = calibration.sigmoid_fit(f, positive)
    a, b = _sigmoid_calibration(f, positive.astype(int))
    assert_allclose([A, B], [a, b], rtol=1e-4, atol=1e-5)
    assert_allclose(
        calibration.sigmoid_proba(f, A, B), 1 / (1 + np.exp(a * f + b)), rtol=1e-5, atol=1e-7
    )


def test_a_separable_set_keeps_its_probabilities_off_0_and_1():
    # Platt's targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2): no infinite slope.
    f = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    A, B = calibration.sigmoid_fit(f, f > 0)
    p = calibration.sigmoid_proba(f, A, B)
    assert np.isfinite(A)
    assert A < 0
    assert 0.0 < p.min()
    assert p.max() < 1.0
    assert_allclose([A, B], _sigmoid_calibration(f, (f > 0).astype(int)), rtol=1e-4, atol=1e-5)


def test_pairwise_coupling_recovers_probabilities_that_fit_their_pairs():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=50)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    r = np.column_stack([p[:, i] / (p[:, i] + p[:, j]) for i, j in pairs])
    assert_allclose(calibration.pairwise_coupling(r, 4), p, atol=1e-6)


# ------------------------------------------------------------------------------ SVC


def test_probabilities_exist_only_when_asked_for():
    assert not hasattr(SVC(), "predict_proba")
    assert not hasattr(SVC(), "predict_with_proba")
    assert hasattr(SVC(probability=True), "predict_proba")
    assert not hasattr(Perceptron(), "predict_proba")
    assert hasattr(Perceptron(probability=True), "predict_with_proba")
    X, _, y, _ = _split("iris")
    with pytest.raises(AttributeError, match="probability=True"):
        SVC().fit(X, y).predict_proba(X)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_svc_probabilities_are_as_well_calibrated_as_scikit_learns(name, kernel):
    X_train, X_test, y_train, y_test = _split(name)
    ours = SVC(kernel=kernel, probability=True, random_state=0).fit(X_train, y_train)
    theirs = _sklearn_svc(X_train, y_train) if kernel == "rbf" else None
    if theirs is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            theirs = sk.SVC(kernel=kernel, probability=True, random_state=0).fit(X_train, y_train)
    proba = ours.predict_proba(X_test)
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert proba.min() >= 0.0
    # Different folds (numpy's generator, not libsvm's): comparable, not equal.
    assert log_loss(y_test, proba) <= log_loss(y_test, theirs.predict_proba(X_test)) + 0.05
    assert np.abs(proba - theirs.predict_proba(X_test)).max() < 0.2
    if len(ours.classes_) == 2:
        brier = brier_score_loss(y_test, proba[:, 1])
        assert brier <= brier_score_loss(y_test, theirs.predict_proba(X_test)[:, 1]) + 0.01


def test_binary_svc_probabilities_rise_with_the_decision_function():
    X_train, X_test, y_train, _ = _split("breast_cancer")
    model = SVC(probability=True, random_state=0).fit(X_train, y_train)
    assert model.probA_[0] < 0  # positive "ovo" values (classes_[0]) are more likely class 0
    decision = model.decision_function(X_test)
    order = np.argsort(decision)
    assert np.all(np.diff(model.predict_proba(X_test)[order, 1]) >= 0)


def test_probability_changes_nothing_of_the_svc_itself():
    X_train, X_test, y_train, _ = _split("wine")
    plain = SVC().fit(X_train, y_train)
    calibrated = SVC(probability=True, random_state=0).fit(X_train, y_train)
    assert_array_equal(calibrated.dual_coef_, plain.dual_coef_)
    assert_array_equal(calibrated.decision_function(X_test), plain.decision_function(X_test))
    labels, proba = calibrated.predict_with_proba(X_test)
    assert_array_equal(labels, plain.predict(X_test))
    assert_array_equal(proba, calibrated.predict_proba(X_test))


def test_the_seed_decides_the_folds():
    X_train, X_test, y_train, _ = _split("iris")
    first = SVC(probability=True, random_state=3).fit(X_train, y_train)
    again = SVC(probability=True, random_state=3).fit(X_train, y_train)
    other = SVC(probability=True, random_state=4).fit(X_train, y_train)
    assert_array_equal(first.predict_proba(X_test), again.predict_proba(X_test))
    assert not np.array_equal(first.probA_, other.probA_)


@pytest.mark.parametrize("estimator", [SVC, Perceptron])
def test_a_saved_model_keeps_its_sigmoids(estimator):
    X_train, X_test, y_train, _ = _split("iris")
    model = estimator(probability=True, random_state=0).fit(X_train, y_train)
    loaded = numpyml.load(numpyml.save(model))
    assert_array_equal(loaded.probA_, model.probA_)
    assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    refitted = loaded.set_params(probability=False).fit(X_train, y_train)
    assert not hasattr(refitted, "probA_")


@pytest.mark.parametrize("estimator", [SVC, Perceptron])
def test_a_class_with_fewer_rows_than_folds_still_gets_probabilities(estimator):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(4, 1, (30, 2)), [[8.0, 8.0]]])
    y = np.array(["a"] * 30 + ["b"] * 30 + ["c"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numpyml.ConvergenceWarning)
        model = estimator(probability=True, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (61, 3)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("estimator", [SVC, Perceptron])
def test_fit_reports_the_folds_and_the_final_model_as_one_fit(estimator):
    X_train, _, y_train, _ = _split("breast_cancer")
    calls: list[dict] = []
    model = estimator(probability=True, random_state=0).fit(X_train, y_train, calls.append)
    iterations = [c["iteration"] for c in calls]
    assert iterations == sorted(set(iterations))
    assert all(1 <= c["iteration"] <= c["max_iter"] for c in calls)
    shares = [c["share"] for c in calls]
    assert shares == sorted(shares)
    assert 0 < shares[0]
    assert shares[-1] <= 1
    assert any(c.get("calibration") for c in calls)
    final = [c for c in calls if not c.get("calibration")]
    assert final
    assert calls[-1] is final[-1]
    assert all(c.get("calibration") for c in calls[: calls.index(final[0])])
    assert final[-1]["loss"] == model.loss_curve_[-1]


# ------------------------------------------------------------------------------ Perceptron


@pytest.mark.parametrize("name", list(DATASETS))
def test_perceptron_probabilities_are_calibrated(name):
    X_train, X_test, y_train, y_test = _split(name)
    model = Perceptron(probability=True, random_state=0).fit(X_train, y_train)
    plain = Perceptron(random_state=0).fit(X_train, y_train)
    assert_array_equal(model.coef_, plain.coef_)  # the same model predicts
    proba = model.predict_proba(X_test)
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    # Better than the uninformed prior by far, and close to scikit-learn's same method
    # (sigmoids on 5 folds' scores of its own perceptron, one-vs-rest normalised).
    prior = np.bincount(y_train) / len(y_train)
    assert log_loss(y_test, proba) < 0.5 * log_loss(y_test, np.tile(prior, (len(y_test), 1)))
    theirs = CalibratedClassifierCV(
        SkPerceptron(random_state=0),
        method="sigmoid",
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        ensemble=False,
    ).fit(X_train, y_train)
    assert log_loss(y_test, proba) <= log_loss(y_test, theirs.predict_proba(X_test)) + 0.1
    labels, both = model.predict_with_proba(X_test)
    assert_array_equal(labels, model.predict(X_test))
    assert_array_equal(both, proba)


def test_binary_perceptron_probabilities_rise_with_its_score():
    X_train, X_test, y_train, _ = _split("breast_cancer")
    model = Perceptron(probability=True, random_state=0).fit(X_train, y_train)
    assert model.probA_[0] < 0
    order = np.argsort(model.decision_function(X_test))
    assert np.all(np.diff(model.predict_proba(X_test)[order, 1]) >= 0)


# ------------------------------------------------------------------------------ the contract


@pytest.mark.parametrize("estimator", [SVC, Perceptron])
def test_probabilities_keep_the_estimator_contract(estimator):
    X_train, X_test, y_train, _ = _split("wine")
    with pytest.raises(numpyml.NotFittedError, match="not fitted"):
        estimator(probability=True).predict_proba(X_test)
    model = estimator(probability=True, random_state=0).fit(X_train, y_train)
    with pytest.raises(ValueError, match=r"features") as error:
        model.predict_proba(X_test[:, :3])
    assert "3" in str(error.value)
    bad = X_test.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict_proba(bad)
    with pytest.raises(TypeError, match="probability"):
        estimator(probability="yes").fit(X_train, y_train)
    # a table of named columns, and strings as labels
    names = [f"f{j}" for j in range(X_train.shape[1])]
    labels = np.array(["a", "b", "c"], dtype=object)[y_train]
    table = {n: X_train[:, j] for j, n in enumerate(names)}
    named = estimator(probability=True, random_state=0).fit(table, labels)
    assert_array_equal(named.classes_, ["a", "b", "c"])
    assert_array_equal(named.predict_proba(X_test), model.predict_proba(X_test))
