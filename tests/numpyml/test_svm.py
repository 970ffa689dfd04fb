"""SVC against scikit-learn's libsvm-based SVC as the oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.svm as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import numpyml
from numpyml import svm
from numpyml.exceptions import ConvergenceWarning, NotFittedError
from numpyml.svm import SVC

DATASETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}
KERNELS = ["linear", "rbf"]


def _scaled_split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = DATASETS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def splits() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    return {name: _scaled_split(name) for name in DATASETS}


@pytest.fixture(scope="module")
def fitted(splits: dict) -> dict[tuple[str, str], tuple[SVC, sk.SVC]]:
    """Both libraries fitted once per (dataset, kernel), shared by the parity tests."""
    models = {}
    for name, (X_train, _, y_train, _) in splits.items():
        for kernel in KERNELS:
            models[name, kernel] = (
                SVC(kernel=kernel).fit(X_train, y_train),
                sk.SVC(kernel=kernel).fit(X_train, y_train),
            )
    return models


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    X_train, _, y_train, _ = _scaled_split("iris")
    return X_train, y_train


@pytest.fixture(scope="module")
def binary() -> tuple[np.ndarray, np.ndarray]:
    X_train, _, y_train, _ = _scaled_split("breast_cancer")
    return X_train, y_train


# --------------------------------------------------------------------------------------
# Parity with scikit-learn


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", list(DATASETS))
def test_it_matches_sklearn_test_accuracy_on_scaled_datasets(
    splits: dict, fitted: dict, name: str, kernel: str
) -> None:
    _, X_test, _, y_test = splits[name]
    ours, theirs = fitted[name, kernel]
    our_accuracy = np.mean(ours.predict(X_test) == y_test)
    their_accuracy = np.mean(theirs.predict(X_test) == y_test)
    assert our_accuracy >= their_accuracy - 0.02
    assert np.mean(ours.predict(X_test) == theirs.predict(X_test)) >= 0.99


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", list(DATASETS))
def test_it_finds_the_same_support_vectors_as_sklearn(
    splits: dict, fitted: dict, name: str, kernel: str
) -> None:
    ours, theirs = fitted[name, kernel]
    assert_allclose(ours.n_support_, theirs.n_support_, rtol=0.02, atol=2)
    shared = np.intersect1d(ours.support_, theirs.support_).shape[0]
    assert shared >= 0.97 * theirs.support_.shape[0]
    assert ours.support_vectors_.shape == (ours.support_.shape[0], theirs.n_features_in_)
    assert ours.dual_coef_.shape == (theirs.classes_.shape[0] - 1, ours.support_.shape[0])
    assert_array_equal(ours.support_vectors_, splits[name][0][ours.support_])
    # A dual coefficient is y * alpha with 0 < alpha <= C (here C = 1).
    assert np.all(np.abs(ours.dual_coef_) <= 1.0 + 1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_it_matches_sklearn_support_and_intercepts_on_small_sets(
    fitted: dict, name: str, kernel: str
) -> None:
    ours, theirs = fitted[name, kernel]
    assert_array_equal(ours.support_, theirs.support_)
    # Both solvers stop at tol=1e-3 on the KKT gap, so they agree to about that.
    assert_allclose(ours.intercept_, theirs.intercept_, atol=5e-3)
    assert_allclose(ours.dual_coef_, theirs.dual_coef_, atol=0.05)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", list(DATASETS))
def test_it_matches_sklearn_one_vs_one_decision_values(
    splits: dict, fitted: dict, name: str, kernel: str
) -> None:
    _, X_test, _, _ = splits[name]
    ours, theirs = fitted[name, kernel]
    ours.set_params(decision_function_shape="ovo")
    theirs.set_params(decision_function_shape="ovo")
    try:
        assert_allclose(ours.decision_function(X_test), theirs.decision_function(X_test), atol=0.02)
    finally:
        ours.set_params(decision_function_shape="ovr")
        theirs.set_params(decision_function_shape="ovr")


def test_it_matches_sklearn_ovr_decision_function_on_wine(fitted: dict, splits: dict) -> None:
    X_test = splits["wine"][1]
    ours, theirs = fitted["wine", "rbf"]
    ours_dec, theirs_dec = ours.decision_function(X_test), theirs.decision_function(X_test)
    assert ours_dec.shape == (X_test.shape[0], 3)
    assert_allclose(ours_dec, theirs_dec, atol=1e-3)


def test_it_matches_sklearn_binary_decision_function_and_its_sign(
    fitted: dict, splits: dict
) -> None:
    X_test = splits["breast_cancer"][1]
    ours, theirs = fitted["breast_cancer", "rbf"]
    decision = ours.decision_function(X_test)
    assert decision.shape == (X_test.shape[0],)
    assert_allclose(decision, theirs.decision_function(X_test), atol=2e-3)
    # Positive means classes_[1], as in scikit-learn.
    assert_array_equal(ours.predict(X_test), ours.classes_[(decision >= 0).astype(int)])


@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
def test_it_matches_sklearn_linear_coefficients(fitted: dict, name: str) -> None:
    ours, theirs = fitted[name, "linear"]
    assert ours.coef_.shape == theirs.coef_.shape
    assert_allclose(ours.coef_, theirs.coef_, atol=0.02 * np.abs(theirs.coef_).max())


def test_it_has_no_coef_for_the_rbf_kernel(fitted: dict) -> None:
    with pytest.raises(AttributeError):
        _ = fitted["iris", "rbf"][0].coef_


@pytest.mark.parametrize("gamma", ["auto", 0.05, 2.0])
def test_it_matches_sklearn_for_other_gammas(splits: dict, gamma: str | float) -> None:
    X_train, X_test, y_train, _ = splits["wine"]
    ours = SVC(gamma=gamma, C=3.0).fit(X_train, y_train)
    theirs = sk.SVC(gamma=gamma, C=3.0).fit(X_train, y_train)
    assert_array_equal(ours.support_, theirs.support_)
    assert_array_equal(ours.predict(X_test), theirs.predict(X_test))


def test_it_matches_sklearn_on_unscaled_synthetic_data() -> None:
    X, y = make_classification(
        n_samples=1500, n_features=20, n_informative=10, n_redundant=5, random_state=0
    )
    X_train, X_test, y_train = X[:1000], X[1000:], y[:1000]
    ours = SVC().fit(X_train, y_train)
    theirs = sk.SVC().fit(X_train, y_train)
    assert_allclose(ours.n_support_, theirs.n_support_, rtol=0.02)
    assert_allclose(ours.n_iter_, theirs.n_iter_, rtol=0.3)
    assert_allclose(ours.decision_function(X_test), theirs.decision_function(X_test), atol=5e-3)


def test_it_matches_sklearn_on_duplicate_points_with_conflicting_labels() -> None:
    # Identical rows give K_ij = K_ii: zero curvature along the pair, libsvm's TAU case.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 2))] * 2)
    y = np.r_[np.zeros(40, dtype=int), np.ones(40, dtype=int)]
    for kernel in KERNELS:
        ours, theirs = SVC(kernel=kernel).fit(X, y), sk.SVC(kernel=kernel).fit(X, y)
        assert_array_equal(ours.n_support_, theirs.n_support_)
        assert_allclose(ours.decision_function(X), theirs.decision_function(X), atol=1e-6)


def test_it_handles_constant_features_like_sklearn() -> None:
    X, y = np.ones((10, 3)), np.array([0, 1] * 5)
    ours, theirs = SVC().fit(X, y), sk.SVC().fit(X, y)
    assert_array_equal(ours.n_support_, theirs.n_support_)
    assert_array_equal(ours.predict(X), theirs.predict(X))


# --------------------------------------------------------------------------------------
# Solver internals: shrinking, the kernel cache, blocks


def test_it_finds_the_same_solution_without_shrinking_or_with_a_tiny_cache(
    binary: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = binary
    reference = SVC(kernel="rbf", gamma=0.5).fit(X, y)
    for params in ({"shrinking": False}, {"cache_size": 0.01}):
        other = SVC(kernel="rbf", gamma=0.5, **params).fit(X, y)
        assert_array_equal(other.support_, reference.support_)
        assert_allclose(other.dual_coef_, reference.dual_coef_, atol=0.02)
        assert_allclose(other.intercept_, reference.intercept_, atol=2e-3)


@pytest.fixture(scope="module")
def hard_linear() -> tuple[np.ndarray, np.ndarray]:
    """Unscaled, noisy labels: thousands of SMO steps and repeated unshrinking."""
    X, y = make_classification(
        n_samples=100,
        n_features=20,
        n_informative=10,
        n_redundant=5,
        flip_y=0.1,
        random_state=0,
    )
    return X, y


def test_it_matches_sklearn_when_shrinking_must_be_undone(
    hard_linear: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = hard_linear
    ours = SVC(kernel="linear").fit(X, y)
    theirs = sk.SVC(kernel="linear").fit(X, y)
    assert_array_equal(ours.n_support_, theirs.n_support_)
    assert_allclose(ours.coef_, theirs.coef_, atol=0.01)
    assert_allclose(ours.decision_function(X), theirs.decision_function(X), atol=0.01)


def test_it_stops_at_max_iter_with_a_consistent_model(
    hard_linear: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = hard_linear
    with pytest.warns(ConvergenceWarning):
        ours = SVC(kernel="linear", max_iter=2000).fit(X, y)
    assert_array_equal(ours.n_iter_, [2000])
    assert ours.fit_status_ == 1
    # The model is still the kernel expansion of its dual coefficients.
    assert_allclose(ours.coef_, ours.dual_coef_ @ ours.support_vectors_)
    with pytest.warns(UserWarning, match="max_iter"):  # sklearn's ConvergenceWarning
        theirs = sk.SVC(kernel="linear", max_iter=2000).fit(X, y)
    assert np.mean(ours.predict(X) == theirs.predict(X)) >= 0.95


@pytest.mark.parametrize("kernel", KERNELS)
def test_its_gradient_reconstruction_matches_a_direct_kernel_sum(kernel: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.where(rng.random(60) < 0.5, 1.0, -1.0)
    solver = svm._BinarySMO(
        X, y, C=1.0, kernel=kernel, gamma=0.3, tol=1e-3, max_iter=10, shrinking=True,
        cache_bytes=1 << 20,
    )  # fmt: skip
    gram = X @ X.T if kernel == "linear" else np.exp(-0.3 * ((X[:, None] - X[None]) ** 2).sum(-1))
    rows = np.arange(0, 60, 3)
    # First call (stores the snapshot of alpha == C), a small change, then a stale snapshot.
    for alpha in (
        np.where(rng.random(60) < 0.5, 1.0, rng.random(60) * 0.5),
        None,
        rng.random(60),
    ):
        if alpha is None:
            solver.alpha[:5] = 0.25
        else:
            solver.alpha[:] = alpha
        expected = gram[rows] @ (y * solver.alpha)
        assert_allclose(solver._kernel_sum(rows), expected, rtol=1e-10, atol=1e-10)


def test_it_predicts_the_same_in_blocks_as_row_by_row(
    iris: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = iris
    model = SVC().fit(X, y)
    whole = model.decision_function(X)
    monkeypatch.setattr(svm, "_BLOCK_ELEMENTS", 64)
    assert_allclose(model.decision_function(X), whole, rtol=1e-12, atol=1e-12)
    rows = np.vstack([model.decision_function(X[t : t + 1]) for t in range(X.shape[0])])
    assert_allclose(rows, whole, rtol=1e-12, atol=1e-12)
    # Small kernel blocks in the solver's gradient reconstruction give the same model.
    again = SVC().fit(X, y)
    assert_array_equal(again.support_, model.support_)


@pytest.mark.parametrize("kernel", KERNELS)
def test_it_predicts_the_same_without_the_dense_pair_weights(
    splits: dict, kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With many classes the (n_SV, n_pairs) weight matrix is replaced by a loop over pairs.
    X_train, X_test, y_train, _ = splits["digits"]
    dense = SVC(kernel=kernel).fit(X_train, y_train)
    monkeypatch.setattr(svm, "_DENSE_PAIR_ELEMENTS", 0)
    looped = SVC(kernel=kernel).fit(X_train, y_train)
    assert looped._pair_coef is None
    assert_allclose(looped.decision_function(X_test), dense.decision_function(X_test), atol=1e-9)
    assert_array_equal(looped.predict(X_test), dense.predict(X_test))


# --------------------------------------------------------------------------------------
# The estimator contract


def test_it_maps_predictions_through_string_labels(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    model = SVC().fit(X, names)
    assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    by_index = SVC().fit(X, y).predict(X)
    assert_array_equal(model.predict(X), model.classes_[by_index])


def test_it_counts_fitted_attributes_like_sklearn(splits: dict, fitted: dict) -> None:
    ours, _ = fitted["digits", "rbf"]
    n_pairs = 45
    assert ours.intercept_.shape == (n_pairs,)
    assert ours.n_iter_.shape == (n_pairs,)
    assert ours.n_support_.sum() == ours.support_.shape[0]
    assert ours.fit_status_ == 0
    assert ours.n_features_in_ == 64
    # Support vectors are grouped by class, in training order within each class.
    y_train = splits["digits"][2]
    assert np.all(np.diff(y_train[ours.support_]) >= 0)


def test_it_reports_progress_with_a_non_increasing_dual_objective(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    calls: list[dict] = []
    model = SVC(kernel="linear").fit(X, y, callback=calls.append)
    assert 1 <= len(calls) <= 100
    assert set(calls[-1]) == {"iteration", "max_iter", "loss", "share"}
    assert calls[-1]["share"] == 1.0
    assert calls[-1]["loss"] == model.loss_curve_[-1]
    assert np.all(np.diff(model.loss_curve_) <= 1e-12)
    assert model.loss_curve_[-1] < 0


def test_it_warns_and_flags_the_fit_when_max_iter_is_reached(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        model = SVC(max_iter=3).fit(X, y)
    assert_array_equal(model.n_iter_, [3, 3, 3])
    assert model.fit_status_ == 1
    assert model.predict(X).shape == y.shape


def test_it_caps_smo_steps_by_the_data_size_when_tol_cannot_be_reached() -> None:
    # Six interleaved rows, a huge C and a tol below float precision: SMO never meets
    # tol. libsvm's cap of 10**7 steps made this run for minutes; the cap now grows
    # with the number of samples (10,000 per sample below 1,000 samples).
    X = np.arange(6.0)[:, None]
    y = np.array([0, 1, 0, 1, 0, 1])
    for kernel in KERNELS:
        with pytest.warns(ConvergenceWarning, match="max_iter"):
            model = SVC(C=1e6, tol=1e-300, kernel=kernel).fit(X, y)
        assert model.fit_status_ == 1
        assert 0 < model.n_iter_.max() <= 10_000 * 6, model.n_iter_
        assert model.predict(X).shape == (6,)


def test_it_keeps_libsvm_step_cap_from_a_thousand_samples() -> None:
    assert SVC()._step_cap(1000) == 10**7
    assert SVC()._step_cap(200_000) == 100 * 200_000
    assert SVC(max_iter=5)._step_cap(6) == 5


def test_it_does_not_warn_when_it_converges(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SVC(max_iter=100_000).fit(X, y)


def test_it_round_trips_its_params() -> None:
    model = SVC(C=2.0, kernel="linear", gamma=0.1, tol=1e-4, max_iter=50, cache_size=10)
    params = model.get_params()
    assert params["C"] == 2.0
    assert params["kernel"] == "linear"
    assert params["decision_function_shape"] == "ovr"
    clone = SVC(**params)
    assert clone.get_params() == params
    assert clone.set_params(C=5.0) is clone
    assert clone.C == 5.0
    assert repr(SVC(C=2.0)) == "SVC(C=2.0)"


@pytest.mark.parametrize("kernel", KERNELS)
def test_it_predicts_identically_after_save_and_load(splits: dict, kernel: str) -> None:
    X_train, X_test, y_train, _ = splits["wine"]
    model = SVC(kernel=kernel).fit(X_train, y_train)
    loaded = numpyml.load(numpyml.save(model))
    assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert_array_equal(loaded.decision_function(X_test), model.decision_function(X_test))
    assert_array_equal(loaded.predict(X_test[:1]), model.predict(X_test[:1]))


def test_it_is_deterministic_whatever_the_random_state(
    binary: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = binary
    first = SVC(random_state=0).fit(X, y)
    second = SVC(random_state=0).fit(X, y)
    other = SVC(random_state=1).fit(X, y)
    for model in (second, other):
        assert_array_equal(model.dual_coef_, first.dual_coef_)
        assert_array_equal(model.intercept_, first.intercept_)


def test_it_does_not_modify_its_inputs(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    X_copy, y_copy = X.copy(), y.copy()
    model = SVC().fit(X, y)
    model.predict(X)
    assert_array_equal(X, X_copy)
    assert_array_equal(y, y_copy)


def test_it_accepts_fortran_ordered_and_integer_input(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    reference = SVC().fit(X, y)
    assert_array_equal(SVC().fit(np.asfortranarray(X), y).support_, reference.support_)
    counts = np.round(X * 10).astype(int)
    assert SVC().fit(counts, y).predict(counts[:3]).shape == (3,)


# --------------------------------------------------------------------------------------
# Input validation


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"C": 0.0}, ValueError, "C must be > 0"),
        ({"C": "1"}, TypeError, "C must be a number"),
        ({"kernel": "poly"}, ValueError, "kernel must be one of"),
        ({"gamma": "big"}, ValueError, "gamma must be one of"),
        ({"gamma": -1.0}, ValueError, "gamma must be > 0"),
        ({"tol": 0.0}, ValueError, "tol must be > 0"),
        ({"cache_size": 0}, ValueError, "cache_size must be > 0"),
        ({"max_iter": 0}, ValueError, "max_iter must be -1"),
        ({"max_iter": -2}, ValueError, "max_iter must be >= -1"),
        ({"max_iter": 1.5}, TypeError, "max_iter must be an int"),
        ({"shrinking": 1}, TypeError, "shrinking must be a bool"),
        ({"decision_function_shape": "ova"}, ValueError, "decision_function_shape must be"),
        ({"random_state": -1}, ValueError, "random_state must be a non-negative"),
    ],
)
def test_it_rejects_bad_hyperparameters_at_fit(
    iris: tuple[np.ndarray, np.ndarray], params: dict, error: type, match: str
) -> None:
    X, y = iris
    model = SVC(**params)  # the constructor stores, fit validates
    with pytest.raises(error, match=match):
        model.fit(X, y)


def test_it_refuses_to_predict_before_fit() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SVC().predict(np.zeros((1, 4)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SVC().decision_function(np.zeros((1, 4)))


@pytest.mark.parametrize("kernel", KERNELS)
def test_it_rejects_the_wrong_number_of_features(
    iris: tuple[np.ndarray, np.ndarray], kernel: str
) -> None:
    X, y = iris
    model = SVC(kernel=kernel).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but SVC is expecting 4 features"):
        model.predict(X[:, :3])


def test_it_rejects_nan_and_non_numeric_input(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SVC().fit(bad, y)
    model = SVC().fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(bad[:1])
    with pytest.raises(ValueError, match="must be numeric"):
        SVC().fit([["a", 1.0], ["b", 2.0]], [0, 1])


def test_it_rejects_bad_targets(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    with pytest.raises(ValueError, match="at least 2 classes"):
        SVC().fit(X, np.zeros(X.shape[0]))
    with pytest.raises(ValueError, match="y has 3 values but X has"):
        SVC().fit(X, y[:3])
    with pytest.raises(ValueError, match="continuous values"):
        SVC().fit(X, np.linspace(0, 1, X.shape[0]))
    with pytest.raises(ValueError, match="needs a target y"):
        SVC().fit(X, None)
