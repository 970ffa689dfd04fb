"""PCA against scikit-learn as the oracle (REFERENCE.md 1e: fit on all rows)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.decomposition as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.preprocessing import StandardScaler

import numpyml
from numpyml.decomposition import PCA
from numpyml.exceptions import NotFittedError

DATASETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
    "diabetes": load_diabetes,
}


def _data(name: str, scaled: bool) -> np.ndarray:
    X = DATASETS[name](return_X_y=True)[0]
    return StandardScaler().fit_transform(X) if scaled else X


def _well_defined(variances: np.ndarray) -> np.ndarray:
    """Indices of axes that are unique: non-negligible variance, apart from neighbours.

    Digits has constant pixels: their zero-variance axes (and nearly tied ones) can be
    any orthonormal basis of their subspace, in either library.
    """
    scale = variances[0]
    gaps = np.abs(np.diff(variances)) / scale
    apart = np.ones(variances.shape[0], dtype=bool)
    apart[:-1] &= gaps > 1e-6
    apart[1:] &= gaps > 1e-6
    return np.flatnonzero(apart & (variances / scale > 1e-9))


@pytest.fixture(scope="module")
def iris() -> np.ndarray:
    return load_iris(return_X_y=True)[0]


# --------------------------------------------------------------------------------------
# Parity with scikit-learn
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "scaled"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_it_matches_sklearn_on_bundled_datasets(name, scaled):
    X = _data(name, scaled)
    ours = PCA().fit(X)
    ref = sk.PCA().fit(X)
    assert ours.n_components_ == ref.n_components_
    assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, atol=1e-6)
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-6, atol=1e-9)
    # Zero variances come out as rounding noise whose square root is ~1e-6, not 0.
    scale = ref.singular_values_[0]
    assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-6, atol=1e-7 * scale)
    assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    keep = _well_defined(ref.explained_variance_)
    # Same deterministic sign convention as scikit-learn's svd_flip, so equal, not just
    # equal up to sign.
    assert_allclose(ours.components_[keep], ref.components_[keep], atol=1e-6)
    assert_allclose(ours.transform(X)[:, keep], ref.transform(X)[:, keep], atol=1e-6 * X.std())
    reconstructed = ours.inverse_transform(ours.transform(X))
    assert_allclose(reconstructed, X, atol=1e-9 * np.abs(X).max())


@pytest.mark.parametrize("n_components", [1, 2, 0.5, 0.95, 0.99])
@pytest.mark.parametrize("name", ["wine", "breast_cancer", "digits"])
def test_it_picks_the_same_number_of_components_as_sklearn(name, n_components):
    X = _data(name, scaled=True)
    ours = PCA(n_components=n_components).fit(X)
    ref = sk.PCA(n_components=n_components).fit(X)
    assert ours.n_components_ == ref.n_components_
    assert ours.components_.shape == ref.components_.shape
    assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, atol=1e-6)
    assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-6)
    assert_allclose(ours.transform(X), ref.transform(X), atol=1e-6)


@pytest.mark.parametrize("name", ["iris", "wine", "diabetes"])
def test_whitening_matches_sklearn(name):
    X = _data(name, scaled=False)
    ours = PCA(n_components=2, whiten=True).fit(X)
    ref = sk.PCA(n_components=2, whiten=True).fit(X)
    projected = ours.transform(X)
    assert_allclose(projected, ref.transform(X), atol=1e-6)
    assert_allclose(projected.std(axis=0, ddof=1), 1.0, rtol=1e-9)
    assert_allclose(ours.inverse_transform(projected), ref.inverse_transform(projected), atol=1e-6)


def test_it_uses_the_svd_for_wide_data_and_matches_sklearn():
    X = np.random.default_rng(0).normal(size=(30, 50)) @ np.diag(np.linspace(1, 5, 50))
    ours = PCA().fit(X)
    ref = sk.PCA().fit(X)
    assert ours.n_components_ == 30
    assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, atol=1e-10)
    keep = _well_defined(ref.explained_variance_)
    assert_allclose(ours.components_[keep], ref.components_[keep], atol=1e-8)
    assert_allclose(ours.inverse_transform(ours.transform(X)), X, atol=1e-10)


def test_it_matches_sklearn_on_tall_synthetic_data():
    X, _ = make_classification(n_samples=5000, n_features=20, n_informative=10, random_state=0)
    ours = PCA(n_components=5).fit(X)
    ref = sk.PCA(n_components=5).fit(X)
    assert_allclose(ours.components_, ref.components_, atol=1e-8)
    assert_allclose(ours.transform(X), ref.transform(X), atol=1e-8)
    assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-8)


# --------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------


def test_reconstruction_error_is_the_discarded_variance(iris):
    model = PCA(n_components=2).fit(iris)
    centred = iris - iris.mean(axis=0)
    error = ((iris - model.inverse_transform(model.transform(iris))) ** 2).sum()
    relative = error / (centred**2).sum()
    assert_allclose(relative, 1.0 - model.explained_variance_ratio_.sum(), rtol=1e-9)


def test_fit_transform_equals_fit_then_transform(iris):
    assert_allclose(PCA(n_components=3).fit_transform(iris), PCA(3).fit(iris).transform(iris))


def test_single_row_transform_matches_the_batch(iris):
    model = PCA(n_components=2).fit(iris)
    assert_allclose(model.transform(iris[3:4]), model.transform(iris)[3:4], rtol=1e-12)


def test_whitening_survives_constant_columns_without_warnings():
    X = np.column_stack([np.random.default_rng(0).normal(size=(200, 3)), np.ones(200)])
    projected = PCA(whiten=True).fit_transform(X)
    assert np.isfinite(projected).all()


def test_it_accepts_named_columns(iris):
    table = {name: iris[:, i] for i, name in enumerate(["a", "b", "c", "d"])}
    model = PCA(n_components=2).fit(table)
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    assert_allclose(model.transform(table), model.transform(iris))


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_components": 5}, ValueError, r"n_components=5 must be between 0 and .*=4"),
        ({"n_components": -1}, ValueError, "must be between 0 and"),
        ({"n_components": 1.5}, ValueError, r"in \(0, 1\)"),
        ({"n_components": 0.0}, ValueError, r"in \(0, 1\)"),
        ({"n_components": "mle"}, TypeError, "n_components must be"),
        ({"whiten": 1}, TypeError, "whiten must be a bool"),
    ],
)
def test_it_validates_hyperparameters_at_fit(iris, params, error, match):
    with pytest.raises(error, match=match):
        PCA(**params).fit(iris)


def test_it_refuses_bad_input(iris):
    with pytest.raises(ValueError, match="needs at least 2"):
        PCA().fit(iris[:1])
    with pytest.raises(ValueError, match="NaN"):
        PCA().fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
    model = PCA(n_components=2).fit(iris)
    with pytest.raises(ValueError, match="X has 3 features, but PCA is expecting 4 features"):
        model.transform(iris[:, :3])
    with pytest.raises(ValueError, match="expects the output of transform"):
        model.inverse_transform(iris)


def test_it_raises_not_fitted_before_fit(iris):
    with pytest.raises(NotFittedError, match="not fitted"):
        PCA().transform(iris)
    with pytest.raises(NotFittedError, match="not fitted"):
        PCA().inverse_transform(iris[:, :2])


# --------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------


def test_params_round_trip():
    model = PCA(n_components=0.9, whiten=True)
    params = model.get_params()
    assert params == {"n_components": 0.9, "whiten": True, "random_state": None}
    assert PCA().set_params(**params).get_params() == params
    assert repr(model) == "PCA(n_components=0.9, whiten=True)"


def test_it_is_deterministic_and_leaves_its_input_alone(iris):
    X = iris.copy()
    first = PCA(n_components=3).fit(X)
    assert_array_equal(X, iris)
    assert_array_equal(first.components_, PCA(n_components=3).fit(X).components_)


@pytest.mark.parametrize("whiten", [False, True])
def test_save_load_round_trip_transforms_identically(iris, whiten):
    model = PCA(n_components=2, whiten=whiten).fit(iris)
    loaded = numpyml.load(numpyml.save(model))
    assert isinstance(loaded, PCA)
    assert loaded.get_params() == model.get_params()
    assert_array_equal(loaded.transform(iris), model.transform(iris))
    assert_array_equal(
        loaded.inverse_transform(model.transform(iris)),
        model.inverse_transform(model.transform(iris)),
    )
