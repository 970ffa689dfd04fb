"""Naive Bayes classifiers: Gaussian (continuous features) and multinomial (counts).

Both follow scikit-learn's `sklearn.naive_bayes` estimators of the same names: same
parameters, fitted attributes and arithmetic, so predictions agree exactly and
probabilities to rounding.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, ClassifierMixin
from numpyml.progress import Progress, ProgressCallback
from numpyml.validation import (
    check_classification_targets,
    check_is_fitted,
    check_scalar,
    check_targets,
    validate_data,
)

# GaussianNB's prediction broadcasts (rows, classes, features); rows are taken in blocks
# so that temporary stays below this many bytes whatever the size of X.
_BLOCK_BYTES = 16 * 1024**2
# Smallest alpha MultinomialNB keeps when force_alpha=False (scikit-learn's bound).
_ALPHA_LOWER_BOUND = 1e-10


def _encode_labels(y: Any, n_samples: int, estimator: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate y and return (sorted classes, index of each sample's class)."""
    y = check_targets(y, n_samples, numeric=False, estimator=estimator)
    classes = check_classification_targets(y, estimator=estimator)
    return classes, np.searchsorted(classes, y)


def _label(value: Any) -> Any:
    """A class label as plain Python, for messages (no np.int64(...) wrappers)."""
    return value.item() if isinstance(value, np.generic) else value


def _log_normalise(jll: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax: jll - logsumexp(jll), shifted by the row max to avoid overflow."""
    shifted = jll - jll.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class _BaseNB(ClassifierMixin, BaseEstimator):
    """Prediction shared by the naive Bayes models: argmax / softmax of the joint log-likelihood."""

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _validate_for_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classes_")
        return validate_data(self, X, reset=False)

    def _jll(self, X: Any) -> np.ndarray:
        """Validated X -> joint log-likelihood, refusing rows no class can explain."""
        jll = self._joint_log_likelihood(self._validate_for_predict(X))
        # -inf is fine for a class with prior 0, but each row needs one finite class.
        if not np.isfinite(jll).all() and not np.isfinite(jll).any(axis=1).all():
            row = int(np.argmin(np.isfinite(jll).any(axis=1)))
            raise ValueError(
                f"Row {row} of X is so far from every class (values too large for float64 "
                "in the likelihood) that no class has a finite log-likelihood."
            )
        return jll

    def predict_joint_log_proba(self, X: Any) -> np.ndarray:
        """Joint log-probability log P(x, c) = log P(c) + log P(x | c), per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`.
        """
        return self._jll(X)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels taken from `classes_`.
        """
        jll = self._jll(X)
        return self.classes_[jll.argmax(axis=1)]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of the posterior probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`.
        """
        return _log_normalise(self._jll(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each class (rows sum to 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`.
        """
        return np.exp(self.predict_log_proba(X))


class GaussianNB(_BaseNB):
    """Gaussian naive Bayes: each feature is normal within a class, independently.

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Prior probability of each class (non-negative, summing to 1). When None, the
        priors are the class frequencies in the training data.
    var_smoothing : float, default=1e-9
        Fraction of the largest feature variance added to every variance, for
        numerical stability (a feature constant within a class would otherwise
        have zero variance).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    class_count_ : ndarray of shape (n_classes,)
        Number of training samples per class (float).
    class_prior_ : ndarray of shape (n_classes,)
        Prior probability of each class.
    theta_ : ndarray of shape (n_classes, n_features)
        Mean of each feature per class.
    var_ : ndarray of shape (n_classes, n_features)
        Variance of each feature per class, `epsilon_` included.
    epsilon_ : float
        Value added to every variance: `var_smoothing * max(var(X, axis=0))`.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X, when X had named columns.

    Notes
    -----
    With per-class means mu_c and variances s2_c, the joint log-likelihood is

        log P(c) - 1/2 * sum_j log(2 pi s2_cj) - 1/2 * sum_j (x_j - mu_cj)^2 / s2_cj

    and the prediction is its argmax over c. The class-only terms are computed once
    in fit. The variances are the maximum-likelihood (biased) ones, as in scikit-learn.
    """

    def __init__(self, *, priors: Any = None, var_smoothing: float = 1e-9) -> None:
        self.priors = priors
        self.var_smoothing = var_smoothing

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> GaussianNB:
        """Estimate each class's feature means and variances.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two distinct.
        callback : callable, default=None
            Called as each part of the fit is done (numpyml.progress.ProgressCallback, with
            no loss): the data checked, then each class's means and variances.

        Returns
        -------
        self : GaussianNB
        """
        check_scalar(self.var_smoothing, "var_smoothing", numbers.Real, min_val=0.0)
        X = validate_data(self, X, reset=True)
        classes, y_idx = _encode_labels(y, X.shape[0], self)
        priors = self._check_priors(classes.shape[0])

        n_classes, n_features = classes.shape[0], X.shape[1]
        theta = np.zeros((n_classes, n_features))
        var = np.zeros((n_classes, n_features))
        progress = Progress(callback, n_classes + 1)
        progress.part(1)
        with np.errstate(over="ignore"):  # refused just below, with a clearer message
            for i in range(n_classes):
                X_i = X[y_idx == i]
                theta[i] = X_i.mean(axis=0)
                var[i] = X_i.var(axis=0)
                progress.part(i + 2)
            self.epsilon_ = float(self.var_smoothing * np.var(X, axis=0).max())
        if not (np.isfinite(var).all() and np.isfinite(self.epsilon_)):
            raise ValueError(
                "X holds values so large that their variance overflows float64: "
                "scale the features first."
            )
        var += self.epsilon_
        if not np.all(var > 0):
            cls, feature = np.argwhere(var <= 0)[0]
            raise ValueError(
                f"Feature {feature} is constant within class {_label(classes[cls])!r} and "
                f"var_smoothing={self.var_smoothing} adds no variance (every feature of X "
                "is constant, or var_smoothing is 0): give var_smoothing > 0 or drop the "
                "constant features."
            )

        self.classes_ = classes
        self.class_count_ = np.bincount(y_idx, minlength=n_classes).astype(np.float64)
        if priors is None:
            priors = self.class_count_ / self.class_count_.sum()
        self.class_prior_ = priors
        self.theta_ = theta
        self.var_ = var
        self._precompute()
        return self

    def _check_priors(self, n_classes: int) -> np.ndarray | None:
        if self.priors is None:
            return None
        try:
            priors = np.asarray(self.priors, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"priors must be numbers, got {self.priors!r}.") from None
        if priors.ndim != 1 or priors.shape[0] != n_classes:
            raise ValueError(
                f"priors has {priors.size} values but y has {n_classes} classes: "
                "give one prior per class, in the order of the sorted labels."
            )
        if not np.all(np.isfinite(priors)) or np.any(priors < 0):
            raise ValueError(f"priors must be non-negative numbers, got {priors.tolist()}.")
        if not np.isclose(priors.sum(), 1.0):
            raise ValueError(f"priors must sum to 1, got a sum of {priors.sum():.6g}.")
        return priors.copy()

    def _precompute(self) -> None:
        # The class-only terms of the log-likelihood, in scikit-learn's order of operations.
        with np.errstate(divide="ignore"):  # a zero prior is allowed: that class gets -inf
            self._log_prior = np.log(self.class_prior_)
        self._log_norm = -0.5 * np.sum(np.log(2.0 * np.pi * self.var_), axis=1)

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        n_classes, n_features = self.theta_.shape
        block = max(1, _BLOCK_BYTES // (8 * n_classes * n_features))
        if X.shape[0] <= block:
            jll = self._jll_block(X)
        else:
            jll = np.empty((X.shape[0], n_classes))
            for start in range(0, X.shape[0], block):
                jll[start : start + block] = self._jll_block(X[start : start + block])
        return jll

    def _jll_block(self, X: np.ndarray) -> np.ndarray:
        diff = X[:, None, :] - self.theta_
        with np.errstate(over="ignore"):  # an overflow gives -inf, refused in _BaseNB._jll
            np.square(diff, out=diff)
            diff /= self.var_
            return self._log_prior + (self._log_norm - 0.5 * diff.sum(axis=2))


class MultinomialNB(_BaseNB):
    """Multinomial naive Bayes for count features (word counts, tf-idf, pixel intensities).

    Parameters
    ----------
    alpha : float or array-like of shape (n_features,), default=1.0
        Additive (Laplace/Lidstone) smoothing added to every feature count; 0 means none.
    force_alpha : bool, default=True
        When False, an alpha below 1e-10 is raised to 1e-10 (with a warning) so that
        no log-probability is -inf. When True, alpha is used as given.
    fit_prior : bool, default=True
        Learn the class priors from the class frequencies; when False, use uniform priors.
    class_prior : array-like of shape (n_classes,), default=None
        Prior probability of each class; overrides `fit_prior` when given.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    class_count_ : ndarray of shape (n_classes,)
        Number of training samples per class (float).
    class_log_prior_ : ndarray of shape (n_classes,)
        Log prior probability of each class.
    feature_count_ : ndarray of shape (n_classes, n_features)
        Sum of each feature's counts over the samples of each class.
    feature_log_prob_ : ndarray of shape (n_classes, n_features)
        Smoothed log-probability of each feature given the class.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X, when X had named columns.

    Notes
    -----
    With N_cj the count of feature j in class c, the smoothed estimate is

        log P(j | c) = log(N_cj + alpha_j) - log(sum_j (N_cj + alpha_j))

    and the joint log-likelihood of a count vector x is log P(c) + sum_j x_j log P(j | c)
    (a single matrix product), whose argmax over c is the prediction.
    """

    def __init__(
        self,
        *,
        alpha: Any = 1.0,
        force_alpha: bool = True,
        fit_prior: bool = True,
        class_prior: Any = None,
    ) -> None:
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> MultinomialNB:
        """Count each feature per class and derive the smoothed log-probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Non-negative counts (or frequencies).
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two distinct.
        callback : callable, default=None
            Called as each part of the fit is done (numpyml.progress.ProgressCallback, with
            no loss): the data checked, then the counts (one product, one pass over X).

        Returns
        -------
        self : MultinomialNB
        """
        check_scalar(self.force_alpha, "force_alpha", bool)
        check_scalar(self.fit_prior, "fit_prior", bool)
        X = validate_data(self, X, reset=True)
        _check_non_negative(X)
        classes, y_idx = _encode_labels(y, X.shape[0], self)
        alpha = self._check_alpha(X.shape[1])
        n_classes = classes.shape[0]
        progress = Progress(callback, 2)
        progress.part(1)

        # One-hot class membership; Y.T @ X sums each feature's counts per class.
        Y = np.zeros((X.shape[0], n_classes))
        Y[np.arange(X.shape[0]), y_idx] = 1.0
        feature_count = Y.T @ X
        smoothed = feature_count + alpha
        if not np.all(smoothed > 0):
            cls, feature = np.argwhere(smoothed <= 0)[0]
            raise ValueError(
                f"With alpha=0, feature {feature} never occurs in class "
                f"{_label(classes[cls])!r}: its log-probability would be -inf. Use alpha > 0, "
                "or force_alpha=False."
            )

        self.classes_ = classes
        self.class_count_ = np.bincount(y_idx, minlength=n_classes).astype(np.float64)
        self.feature_count_ = feature_count
        self.feature_log_prob_ = np.log(smoothed) - np.log(smoothed.sum(axis=1).reshape(-1, 1))
        self.class_log_prior_ = self._class_log_prior(n_classes)
        progress.part(2)
        return self

    def _check_alpha(self, n_features: int) -> float | np.ndarray:
        alpha = self.alpha
        if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
            check_scalar(alpha, "alpha", numbers.Real, min_val=0.0)
            alpha_min = float(alpha)
        else:
            try:
                alpha = np.asarray(alpha, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(
                    f"alpha must be a number or an array of numbers, got {self.alpha!r}."
                ) from None
            if alpha.shape != (n_features,):
                raise ValueError(
                    f"alpha as an array needs one value per feature ({n_features}), "
                    f"got shape {alpha.shape}."
                )
            if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
                raise ValueError("alpha values must be finite and >= 0.")
            alpha_min = float(alpha.min())
        if alpha_min < _ALPHA_LOWER_BOUND and not self.force_alpha:
            warnings.warn(
                f"alpha too small will result in numeric errors, setting alpha = "
                f"{_ALPHA_LOWER_BOUND:.1e}. Use force_alpha=True to keep alpha unchanged.",
                UserWarning,
                stacklevel=3,
            )
            return np.maximum(alpha, _ALPHA_LOWER_BOUND)
        return alpha

    def _class_log_prior(self, n_classes: int) -> np.ndarray:
        if self.class_prior is not None:
            try:
                prior = np.asarray(self.class_prior, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"class_prior must be numbers, got {self.class_prior!r}."
                ) from None
            if prior.ndim != 1 or prior.shape[0] != n_classes:
                raise ValueError(
                    f"class_prior has {prior.size} values but y has {n_classes} classes: "
                    "give one prior per class, in the order of the sorted labels."
                )
            if not np.all(np.isfinite(prior)) or np.any(prior < 0):
                raise ValueError(f"class_prior must be non-negative numbers, got {prior.tolist()}.")
            with np.errstate(divide="ignore"):  # a zero prior is allowed: that class gets -inf
                return np.log(prior)
        if self.fit_prior:
            return np.log(self.class_count_) - np.log(self.class_count_.sum())
        return np.full(n_classes, -np.log(n_classes))

    def _validate_for_predict(self, X: Any) -> np.ndarray:
        X = super()._validate_for_predict(X)
        _check_non_negative(X)
        return X

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # an overflow gives -inf, refused in _BaseNB._jll
            return X @ self.feature_log_prob_.T + self.class_log_prior_


def _check_non_negative(X: np.ndarray) -> None:
    if X.min() >= 0:
        return
    column = int(np.flatnonzero((X < 0).any(axis=0))[0])
    row = int(np.argmax(X[:, column] < 0))
    raise ValueError(
        "Negative values in data passed to MultinomialNB: "
        f"MultinomialNB needs non-negative counts; column {column} has {float(X[row, column])} "
        f"(row {row}). Use counts or frequencies, or GaussianNB for signed features."
    )
