"""Principal component analysis, like scikit-learn's PCA (full SVD / covariance eigh)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, TransformerMixin
from numpyml.progress import Progress, ProgressCallback
from numpyml.validation import check_array, check_is_fitted, check_scalar, validate_data

# Products are computed on blocks of rows small enough that OpenBLAS runs each on one
# thread (see numpyml.cluster._blocks): on a busy 2-core machine its spinning second
# thread makes thin (n x 20) products many times slower, and gains little on a quiet one.
_BLOCK_WORK = 2**19
_VECTOR_WORK = 2**13


def _block_rows(inner: int, outputs: int) -> int:
    budget = _VECTOR_WORK if min(inner, outputs) == 1 else _BLOCK_WORK
    return max(64, budget // max(inner * outputs, 1))


def _matmul_rows(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """X @ W computed block of rows by block of rows (same result, one BLAS thread)."""
    step = _block_rows(*W.shape)
    if X.shape[0] <= step:
        return X @ W
    out = np.empty((X.shape[0], W.shape[1]))
    for start in range(0, X.shape[0], step):
        np.matmul(X[start : start + step], W, out=out[start : start + step])
    return out


def _svd_flip_rows(components: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude entry of every row positive (scikit-learn's svd_flip
    with u_based_decision=False), so the signs do not depend on the solver."""
    largest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), largest])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def _centred_gram(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """(X - mean).T @ (X - mean), accumulated block by block without copying all of X."""
    n_samples, n_features = X.shape
    step = _block_rows(n_features, n_features)
    gram = np.zeros((n_features, n_features))
    for start in range(0, n_samples, step):
        block = X[start : start + step] - mean
        gram += block.T @ block
    return gram


class PCA(TransformerMixin, BaseEstimator):
    """Principal component analysis.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Components to keep: None keeps min(n_samples, n_features); an int keeps that
        many; a float in (0, 1) keeps the fewest components whose explained variance
        ratios add up to more than it.
    whiten : bool, default=False
        Scale the projections to unit variance.
    random_state : int, numpy.random.Generator or None, default=None
        Unused (the solvers are exact); kept for scikit-learn compatibility.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Principal axes, by decreasing explained variance; the largest-magnitude entry
        of each is positive.
    explained_variance_ : ndarray of shape (n_components_,)
        Variance along each axis (denominator n_samples - 1).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total variance along each axis.
    singular_values_ : ndarray of shape (n_components_,)
        Singular values of the centred data.
    mean_ : ndarray of shape (n_features,)
        Per-feature mean of the training data.
    n_components_ : int
        Number of components kept.
    n_samples_ : int
        Number of training rows.
    noise_variance_ : float
        Mean of the discarded variances (probabilistic PCA's sigma²), 0 if none.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had them.

    Notes
    -----
    With Xc = X - mean and Xc = U S Vt, the components are the rows of Vt and the
    explained variances S² / (n - 1). For tall data (n_samples >= 10 n_features and at
    most 1000 features) the eigendecomposition of the d x d covariance Xc.T Xc / (n - 1)
    gives the same quantities faster, as scikit-learn's "covariance_eigh" solver does;
    otherwise the SVD of Xc is taken. transform(X) = (X - mean) Vt.T, divided by
    sqrt(explained_variance_) when whitening.
    """

    def __init__(
        self,
        n_components: int | float | None = None,
        whiten: bool = False,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def _check_n_components(self, n_samples: int, n_features: int) -> int | float:
        limit = min(n_samples, n_features)
        if self.n_components is None:
            return limit
        check_scalar(self.n_components, "n_components", (numbers.Integral, numbers.Real))
        if isinstance(self.n_components, numbers.Integral):
            if not 0 <= self.n_components <= limit:
                raise ValueError(
                    f"n_components={self.n_components} must be between 0 and "
                    f"min(n_samples, n_features)={limit}."
                )
            return int(self.n_components)
        if not 0.0 < self.n_components < 1.0:
            raise ValueError(
                f"n_components={self.n_components} as a float must be in (0, 1) (a fraction "
                "of explained variance to keep); pass an int for a number of components."
            )
        return float(self.n_components)

    def fit(self, X: Any, y: Any = None, callback: ProgressCallback | None = None) -> PCA:
        """Find the principal axes of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (at least 2 rows).
        y : None
            Ignored.
        callback : callable, default=None
            Called as each part of the fit is done (numpyml.progress.ProgressCallback, with
            no loss): the data checked and centred, then decomposed (one eigh of the
            covariance or one SVD of the data, no iterations to report).

        Returns
        -------
        self : PCA
        """
        X = validate_data(self, X, reset=True, ensure_min_samples=2)
        check_scalar(self.whiten, "whiten", bool)
        n_samples, n_features = X.shape
        n_components = self._check_n_components(n_samples, n_features)
        # einsum sums columns in one pass; X.mean(axis=0) is far slower on tall arrays.
        self.mean_ = np.einsum("ij->j", X) / n_samples
        progress = Progress(callback, 2)
        progress.part(1)
        if n_features <= 1000 and n_samples >= 10 * n_features:
            variances, components = self._covariance_eigh(X)
            singular_values = np.sqrt(variances * (n_samples - 1))
        else:
            _, singular_values, components = np.linalg.svd(X - self.mean_, full_matrices=False)
            variances = singular_values**2 / (n_samples - 1)
        components = _svd_flip_rows(components)
        total = variances.sum()
        ratios = variances / total if total > 0 else np.zeros_like(variances)
        if isinstance(n_components, float):
            n_components = int(np.searchsorted(np.cumsum(ratios), n_components, "right")) + 1
            n_components = min(n_components, variances.shape[0])
        if n_components < min(n_samples, n_features):
            self.noise_variance_ = float(variances[n_components:].mean())
        else:
            self.noise_variance_ = 0.0
        self.n_samples_ = n_samples
        self.n_components_ = n_components
        self.components_ = np.ascontiguousarray(components[:n_components])
        self.explained_variance_ = variances[:n_components].copy()
        self.explained_variance_ratio_ = ratios[:n_components].copy()
        self.singular_values_ = singular_values[:n_components].copy()
        progress.part(2)
        return self

    def _covariance_eigh(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        covariance = _centred_gram(X, self.mean_) / (X.shape[0] - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        # eigh sorts ascending; rounding can leave tiny negative eigenvalues.
        variances = np.maximum(eigenvalues[::-1], 0.0)
        return variances, eigenvectors[:, ::-1].T

    def _scale(self) -> np.ndarray:
        # Near-zero variances on rank-deficient data would make whitening blow up.
        return np.maximum(np.sqrt(self.explained_variance_), np.finfo(np.float64).eps)

    def transform(self, X: Any) -> np.ndarray:
        """Project X on the principal axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
        """
        check_is_fitted(self, "components_")
        X = validate_data(self, X, reset=False)
        projected = _matmul_rows(X, self.components_.T)
        projected -= self.mean_ @ self.components_.T
        if self.whiten:
            projected /= self._scale()
        return projected

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map projections back to the original feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Exact when all components were kept; otherwise the best rank-n_components_
            approximation.
        """
        check_is_fitted(self, "components_")
        X = check_array(X, estimator=self)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns, but this PCA has {self.n_components_} "
                "components: inverse_transform expects the output of transform."
            )
        components = self.components_
        if self.whiten:
            components = self._scale()[:, None] * components
        X_original = _matmul_rows(X, components)
        X_original += self.mean_
        return X_original

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit, then project X (see `transform`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            X projected on the principal components.
        """
        return self.fit(X).transform(X)
