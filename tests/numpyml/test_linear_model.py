"""LinearRegression, LogisticRegression and Perceptron against scikit-learn as the oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import numpyml
from numpyml.exceptions import ConvergenceWarning, NotFittedError
from numpyml.linear_model import LinearRegression, LogisticRegression, Perceptron

CLASSIFICATION_SETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


def _scaled_split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = CLASSIFICATION_SETS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0))


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return _scaled_split("iris")


@pytest.fixture(scope="module")
def binary_data() -> tuple[np.ndarray, np.ndarray]:
    return _scaled_split("breast_cancer")[0::2]


# --------------------------------------------------------------------------------------
# LinearRegression
# --------------------------------------------------------------------------------------


def test_it_matches_sklearn_linear_regression_on_diabetes(diabetes):
    X_train, X_test, y_train, _ = diabetes
    ours = LinearRegression().fit(X_train, y_train)
    ref = sk.LinearRegression().fit(X_train, y_train)
    assert ours.coef_.shape == (X_train.shape[1],)
    assert isinstance(ours.intercept_, float)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6)
    assert_allclose(ours.predict(X_test), ref.predict(X_test), rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.01, 1.0, 10.0])
def test_it_matches_sklearn_ridge_for_positive_alpha(diabetes, alpha):
    X_train, X_test, y_train, _ = diabetes
    ours = LinearRegression(alpha=alpha).fit(X_train, y_train)
    ref = sk.Ridge(alpha=alpha).fit(X_train, y_train)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6)
    assert_allclose(ours.predict(X_test), ref.predict(X_test), rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_it_fits_through_the_origin_without_intercept(diabetes, alpha):
    X_train, _, y_train, _ = diabetes
    ours = LinearRegression(fit_intercept=False, alpha=alpha).fit(X_train, y_train)
    ref = (
        sk.LinearRegression(fit_intercept=False)
        if alpha == 0
        else sk.Ridge(alpha=alpha, fit_intercept=False)
    ).fit(X_train, y_train)
    assert ours.intercept_ == 0.0
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)


def test_it_returns_sklearns_minimum_norm_fit_on_collinear_features(diabetes):
    X_train, X_test, y_train, _ = diabetes
    # a duplicated column, a scaled copy and a constant column: X is rank deficient
    X = np.column_stack([X_train, X_train[:, 0], 2.0 * X_train[:, 1], np.full(len(X_train), 3.3)])
    X_new = np.column_stack([X_test, X_test[:, 0], 2.0 * X_test[:, 1], np.full(len(X_test), 3.3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = LinearRegression().fit(X, y_train)
    ref = sk.LinearRegression().fit(X, y_train)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    assert ours.coef_[-1] == 0.0
    assert_allclose(ours.predict(X_new), ref.predict(X_new), rtol=1e-6)


def test_it_handles_more_features_than_samples():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(15, 40))
    y = rng.normal(size=15)
    ours = LinearRegression().fit(X, y)
    ref = sk.LinearRegression().fit(X, y)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(ours.predict(X), y, atol=1e-8)


def test_it_scores_r2(diabetes):
    X_train, X_test, y_train, y_test = diabetes
    prediction = LinearRegression().fit(X_train, y_train).predict(X_test)
    r2 = 1 - np.sum((y_test - prediction) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    assert r2 == pytest.approx(0.3594, abs=1e-4)  # REFERENCE.md table 1b


# --------------------------------------------------------------------------------------
# LogisticRegression
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CLASSIFICATION_SETS))
def test_it_converges_to_sklearns_logistic_solution(name):
    X_train, X_test, y_train, _ = _scaled_split(name)
    # A tight tol on both sides: at the default tol=1e-4 each solver stops short of the
    # common optimum by up to ~0.1 on digits, so only converged solutions can agree.
    ours = LogisticRegression(tol=1e-7, max_iter=2000).fit(X_train, y_train)
    ref = sk.LogisticRegression(tol=1e-7, max_iter=2000).fit(X_train, y_train)
    assert ours.coef_.shape == ref.coef_.shape
    assert ours.intercept_.shape == ref.intercept_.shape
    assert_allclose(ours.coef_, ref.coef_, atol=1e-3)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-3)
    assert_allclose(ours.predict_proba(X_test), ref.predict_proba(X_test), atol=1e-4)
    assert_array_equal(ours.predict(X_test), ref.predict(X_test))


@pytest.mark.parametrize(
    ("name", "accuracy"),
    [("iris", 0.9737), ("wine", 1.0), ("breast_cancer", 0.9580), ("digits", 0.9689)],
)
def test_it_reaches_sklearns_test_accuracy_with_default_settings(name, accuracy):
    X_train, X_test, y_train, y_test = _scaled_split(name)
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    assert np.mean(model.predict(X_test) == y_test) == pytest.approx(accuracy, abs=1e-4)


def test_it_gives_one_coefficient_row_for_two_classes(binary_data):
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    assert model.coef_.shape == (1, X.shape[1])
    assert model.intercept_.shape == (1,)
    assert model.decision_function(X).shape == (X.shape[0],)
    proba = model.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    assert_allclose(proba[:, 1], 1 / (1 + np.exp(-model.decision_function(X))))


def test_it_gives_consistent_probabilities_for_many_classes(iris):
    X_train, X_test, y_train, _ = iris
    model = LogisticRegression().fit(X_train, y_train)
    assert model.coef_.shape == (3, X_train.shape[1])
    assert model.decision_function(X_test).shape == (X_test.shape[0], 3)
    proba = model.predict_proba(X_test)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(model.predict_log_proba(X_test), np.log(proba), rtol=1e-10)
    assert_array_equal(model.predict(X_test), model.classes_[proba.argmax(axis=1)])


def test_it_keeps_log_probabilities_finite_for_extreme_scores():
    X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
    model = LogisticRegression(C=1e6, max_iter=1000).fit(X, [0, 0, 1, 1])
    far = np.array([[-1e4], [1e4]])
    log_proba = model.predict_log_proba(far)
    assert np.all(np.isfinite(log_proba))
    assert_array_equal(model.predict(far), [0, 1])


def test_it_predicts_string_labels(iris):
    X_train, X_test, y_train, _ = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    model = LogisticRegression().fit(X_train, names[y_train].tolist())
    assert_array_equal(model.classes_, names)
    numeric = LogisticRegression().fit(X_train, y_train)
    assert_array_equal(model.predict(X_test), names[numeric.predict(X_test)])


def test_it_reports_the_penalised_objective_to_the_callback(iris):
    X_train, _, y_train, _ = iris
    reports = []
    model = LogisticRegression().fit(X_train, y_train, callback=reports.append)
    assert reports, "the callback was never called"
    assert set(reports[0]) == {"iteration", "max_iter", "loss"}
    assert reports[-1]["iteration"] == model.n_iter_[0]
    assert len(model.loss_curve_) == model.n_iter_[0]
    assert np.all(np.diff(model.loss_curve_) <= 1e-12)
    # the objective at the solution: mean log loss + ||W||^2 / (2 C n)
    log_proba = model.predict_log_proba(X_train)
    expected = -log_proba[np.arange(len(y_train)), y_train].mean() + np.sum(model.coef_**2) / (
        2 * len(y_train)
    )
    assert model.loss_curve_[-1] == pytest.approx(expected, rel=1e-10)


def test_it_warns_when_max_iter_stops_the_solver(iris):
    X_train, _, y_train, _ = iris
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        model = LogisticRegression(max_iter=2).fit(X_train, y_train)
    assert model.n_iter_[0] == 2


def test_it_fits_without_intercept_like_sklearn(binary_data):
    X, y = binary_data
    ours = LogisticRegression(fit_intercept=False, tol=1e-8, max_iter=1000).fit(X, y)
    ref = sk.LogisticRegression(fit_intercept=False, tol=1e-8, max_iter=1000).fit(X, y)
    assert_array_equal(ours.intercept_, [0.0])
    assert_allclose(ours.coef_, ref.coef_, atol=1e-3)


def test_smaller_c_means_smaller_coefficients(iris):
    X_train, _, y_train, _ = iris
    strong = LogisticRegression(C=0.01).fit(X_train, y_train)
    weak = LogisticRegression(C=100.0, max_iter=1000).fit(X_train, y_train)
    assert np.linalg.norm(strong.coef_) < np.linalg.norm(weak.coef_)


# --------------------------------------------------------------------------------------
# Perceptron
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CLASSIFICATION_SETS))
def test_perceptron_accuracy_is_within_two_points_of_sklearn(name):
    # A perceptron's test accuracy swings by several points with the shuffling seed on
    # these small sets (iris: 0.66-0.95 for scikit-learn), so compare means over seeds.
    X_train, X_test, y_train, y_test = _scaled_split(name)
    seeds = range(5)
    ours = [
        np.mean(Perceptron(random_state=s).fit(X_train, y_train).predict(X_test) == y_test)
        for s in seeds
    ]
    ref = [
        np.mean(sk.Perceptron(random_state=s).fit(X_train, y_train).predict(X_test) == y_test)
        for s in seeds
    ]
    assert np.mean(ours) >= np.mean(ref) - 0.02


def test_perceptron_separates_separable_data():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(-3.0, 1.0, size=(100, 4)), rng.normal(3.0, 1.0, size=(100, 4))])
    y = np.repeat(["neg", "pos"], 100)
    model = Perceptron().fit(X, y)
    assert_array_equal(model.predict(X), y)
    assert model.loss_curve_[-1] == 0.0


def test_perceptron_uses_minibatches_on_large_data():
    X, y = make_classification(n_samples=20_000, n_features=20, n_informative=10, random_state=0)
    model = Perceptron().fit(X[:15_000], y[:15_000])
    ref = sk.Perceptron().fit(X[:15_000], y[:15_000])
    ours_acc = np.mean(model.predict(X[15_000:]) == y[15_000:])
    ref_acc = np.mean(ref.predict(X[15_000:]) == y[15_000:])
    assert ours_acc >= ref_acc - 0.05
    assert model.coef_.shape == (1, 20)
    assert model.intercept_.shape == (1,)


def test_perceptron_shapes_for_many_classes(iris):
    X_train, X_test, y_train, _ = iris
    model = Perceptron().fit(X_train, y_train)
    assert model.coef_.shape == (3, X_train.shape[1])
    assert model.intercept_.shape == (3,)
    scores = model.decision_function(X_test)
    assert scores.shape == (X_test.shape[0], 3)
    assert_array_equal(model.predict(X_test), model.classes_[scores.argmax(axis=1)])


def test_perceptron_reports_each_epoch(iris):
    X_train, _, y_train, _ = iris
    reports = []
    # Progress reports every epoch while max_iter <= 100 (every max_iter // 100 beyond)
    model = Perceptron(max_iter=100).fit(X_train, y_train, callback=reports.append)
    assert [r["iteration"] for r in reports] == list(range(1, model.n_iter_ + 1))
    assert [r["loss"] for r in reports] == model.loss_curve_
    assert len(model.loss_curve_) == model.n_iter_
    assert all(loss >= 0 for loss in model.loss_curve_)
    assert model.n_iter_ < model.max_iter


def test_perceptron_warns_when_max_iter_stops_it(iris):
    X_train, _, y_train, _ = iris
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        model = Perceptron(max_iter=2).fit(X_train, y_train)
    assert model.n_iter_ == 2


def test_perceptron_runs_every_epoch_without_tol(iris):
    X_train, _, y_train, _ = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = Perceptron(tol=None, max_iter=7).fit(X_train, y_train)
    assert model.n_iter_ == 7


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_perceptron_penalties_shrink_the_weights(binary_data, penalty):
    X, y = binary_data
    plain = Perceptron(tol=None, max_iter=20).fit(X, y)
    penalised = Perceptron(penalty=penalty, alpha=0.01, tol=None, max_iter=20).fit(X, y)
    assert np.abs(penalised.coef_).sum() < np.abs(plain.coef_).sum()
    assert np.mean(penalised.predict(X) == y) > 0.9


def test_perceptron_is_reproducible_with_the_same_random_state(iris):
    X_train, _, y_train, _ = iris
    first = Perceptron(random_state=3).fit(X_train, y_train)
    second = Perceptron(random_state=3).fit(X_train, y_train)
    assert_array_equal(first.coef_, second.coef_)
    assert_array_equal(first.intercept_, second.intercept_)
    unshuffled = [
        Perceptron(shuffle=False, random_state=s).fit(X_train, y_train).coef_ for s in (1, 2)
    ]
    assert_array_equal(unshuffled[0], unshuffled[1])


# --------------------------------------------------------------------------------------
# The estimator contract, for all three
# --------------------------------------------------------------------------------------

ESTIMATORS = [LinearRegression, LogisticRegression, Perceptron]


def _data_for(cls: type) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return (X, X[:, 0] * 2.0 + y) if cls is LinearRegression else (X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_it_round_trips_params(cls):
    model = cls()
    params = model.get_params()
    assert cls(**params).get_params() == params
    changed = {"alpha": 0.5} if cls is not LogisticRegression else {"C": 0.5}
    assert model.set_params(**changed) is model
    assert model.get_params() == {**params, **changed}
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        model.set_params(nope=1)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_it_predicts_identically_after_save_and_load(cls):
    X, y = _data_for(cls)
    model = cls().fit(X, y)
    loaded = numpyml.load(numpyml.save(model))
    assert type(loaded) is cls
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert_array_equal(loaded.coef_, model.coef_)
    if hasattr(model, "decision_function"):
        assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    if hasattr(model, "predict_proba"):
        assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_returns_self_and_leaves_inputs_unchanged(cls):
    X, y = _data_for(cls)
    X_copy, y_copy = X.copy(), y.copy()
    model = cls()
    assert model.fit(X, y) is model
    assert_array_equal(X, X_copy)
    assert_array_equal(y, y_copy)
    assert model.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_it_refuses_to_predict_before_fit(cls):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        cls().predict(np.zeros((1, 4)))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_it_refuses_the_wrong_number_of_features(cls):
    X, y = _data_for(cls)
    model = cls().fit(X, y)
    with pytest.raises(ValueError, match=r"X has 3 features, but .* expecting 4 features"):
        model.predict(X[:, :3])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_it_refuses_bad_training_data(cls):
    X, y = _data_for(cls)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="contains NaN"):
        cls().fit(bad, y)
    with pytest.raises(ValueError, match="must be numeric"):
        cls().fit(np.array([["a", "b"], ["c", "d"]]), [0, 1])
    with pytest.raises(ValueError, match="y has 149 values but X has 150 samples"):
        cls().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Expected a 2-D array"):
        cls().fit(X[:, 0], y)


@pytest.mark.parametrize("cls", [LogisticRegression, Perceptron])
def test_classifiers_refuse_unusable_targets(cls):
    X, _ = _data_for(cls)
    with pytest.raises(ValueError, match="at least 2 classes"):
        cls().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="continuous values"):
        cls().fit(X, X[:, 0])


@pytest.mark.parametrize(
    ("cls", "params", "error", "match"),
    [
        (LinearRegression, {"alpha": -1.0}, ValueError, "alpha must be >= 0"),
        (LinearRegression, {"fit_intercept": "yes"}, TypeError, "fit_intercept must be a bool"),
        (LogisticRegression, {"C": 0.0}, ValueError, "C must be > 0"),
        (LogisticRegression, {"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        (LogisticRegression, {"max_iter": 2.5}, TypeError, "max_iter must be an int"),
        (LogisticRegression, {"tol": -1.0}, ValueError, "tol must be >= 0"),
        (Perceptron, {"penalty": "l3"}, ValueError, "penalty must be one of"),
        (Perceptron, {"eta0": 0.0}, ValueError, "eta0 must be > 0"),
        (Perceptron, {"tol": "small"}, TypeError, "tol must be a number or None"),
        (Perceptron, {"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be >= 1"),
        (Perceptron, {"random_state": -1}, ValueError, "random_state must be"),
    ],
)
def test_it_validates_hyperparameters_at_fit(cls, params, error, match):
    X, y = _data_for(cls)
    model = cls(**params)  # the constructor stores, never validates
    with pytest.raises(error, match=match):
        model.fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_it_predicts_a_single_row_and_named_columns(cls):
    X, y = _data_for(cls)
    columns = {f"f{i}": X[:, i] for i in range(X.shape[1])}
    model = cls().fit(columns, y)
    assert_array_equal(model.feature_names_in_, list(columns))
    assert model.predict(X[:1]).shape == (1,)
    assert_array_equal(model.predict(columns), model.predict(X))
