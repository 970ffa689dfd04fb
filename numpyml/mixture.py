"""Gaussian mixture models fitted by expectation-maximisation, like scikit-learn's."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, iteration_cap
from numpyml.cluster import KMeans, _blocks, _kmeans_plusplus
from numpyml.exceptions import ConvergenceWarning
from numpyml.progress import Progress, ProgressCallback, convergence_share
from numpyml.validation import (
    check_choice,
    check_is_fitted,
    check_random_state,
    check_scalar,
    validate_data,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
_LOG_2PI = math.log(2.0 * math.pi)
_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease "
    "the number of components, increase reg_covar, or scale the input data."
)

# (weights, means, covariances, precisions_cholesky)
Parameters = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


# Responsibilities and log-probabilities are kept as (n_components, n_samples) arrays:
# numpy reduces along a short last axis far slower than across rows, and this layout
# makes the per-sample reductions (max, sum over components) plain row-wise operations.


def _row_sums(A: np.ndarray) -> np.ndarray:
    return np.einsum("ij->i", A)


def _weighted_sums(resp: np.ndarray, X: np.ndarray) -> np.ndarray:
    """resp @ X for resp of shape (K, n), blockwise so each product runs on one BLAS
    thread (see numpyml.cluster)."""
    sums = np.zeros((resp.shape[0], X.shape[1]))
    for rows in _blocks(X.shape[0], resp.shape[0], X.shape[1]):
        sums += resp[:, rows] @ X[rows]
    return sums


def _gram(X: np.ndarray) -> np.ndarray:
    gram = np.zeros((X.shape[1], X.shape[1]))
    for rows in _blocks(X.shape[0], X.shape[1], X.shape[1]):
        block = X[rows]
        gram += block.T @ block
    return gram


def _full_covariances(
    X: np.ndarray, resp: np.ndarray, nk: np.ndarray, means: np.ndarray
) -> np.ndarray:
    """sum_i r_ki (x_i - mu_k)(x_i - mu_k)^T / n_k for every k, centred per component."""
    n_components, n_features = means.shape
    covariances = np.zeros((n_components, n_features, n_features))
    sqrt_resp = np.sqrt(resp)
    # The stacked matmul below is one BLAS call per component: size blocks by one of them.
    for rows in _blocks(X.shape[0], n_features, n_features):
        # (n_components, block, n_features): sqrt(r_ki) (x_i - mu_k)
        weighted = X[rows][None, :, :] - means[:, None, :]
        weighted *= sqrt_resp[:, rows, None]
        covariances += np.matmul(weighted.transpose(0, 2, 1), weighted)
    covariances /= nk[:, None, None]
    return covariances


def _estimate_parameters(
    X: np.ndarray, resp: np.ndarray, reg_covar: float, covariance_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M-step statistics from resp (K, n): masses n_k, means, covariances (+ reg_covar)."""
    nk = _row_sums(resp) + 10 * np.finfo(np.float64).eps
    means = _weighted_sums(resp, X) / nk[:, None]
    n_features = X.shape[1]
    if covariance_type == "full":
        covariances = _full_covariances(X, resp, nk, means)
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    elif covariance_type == "tied":
        covariances = (_gram(X) - (nk * means.T) @ means) / nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        covariances = _weighted_sums(resp, X * X) / nk[:, None] - means**2 + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return nk, means, covariances


def _inverse_lower(L: np.ndarray) -> np.ndarray:
    """Inverse of (a stack of) lower-triangular matrices by forward substitution.

    numpy has no triangular solve; the factors are only n_features wide, so a loop over
    rows (vectorised over the stack) is cheap and keeps the result exactly triangular.
    """
    n = L.shape[-1]
    inverse = np.zeros_like(L)
    diagonal_inv = 1.0 / np.diagonal(L, axis1=-2, axis2=-1)
    for i in range(n):
        inverse[..., i, i] = diagonal_inv[..., i]
        if i:
            # Row i of L @ inverse = e_i: L[i, i] inv[i, :i] = -L[i, :i] @ inv[:i, :i]
            partial = np.matmul(L[..., i : i + 1, :i], inverse[..., :i, :i])[..., 0, :]
            inverse[..., i, :i] = -partial * diagonal_inv[..., i, None]
    return inverse


def _precision_cholesky(
    covariances: np.ndarray, covariance_type: str, variance_floor: np.ndarray
) -> np.ndarray:
    """Upper-triangular U with U U^T = covariance^-1 (inverse of the Cholesky factor, ^T).

    `variance_floor` (per feature) is the rounding level of the data's variances: a
    component whose (conditional) variance falls to it has collapsed, and its density
    would be rounding noise, so fitting stops with an explanation instead.
    """
    if covariance_type in ("full", "tied"):
        try:
            factor = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            raise ValueError(_ILL_DEFINED) from None
        # factor[j, j]² is the variance of feature j given the previous ones.
        if np.any(np.diagonal(factor, axis1=-2, axis2=-1) ** 2 <= variance_floor):
            raise ValueError(_ILL_DEFINED)
        return np.swapaxes(_inverse_lower(factor), -1, -2)
    floor = variance_floor if covariance_type == "diag" else variance_floor.mean()
    if np.any(covariances <= floor):
        raise ValueError(_ILL_DEFINED)
    return 1.0 / np.sqrt(covariances)


def _log_det_cholesky(precisions_chol: np.ndarray, covariance_type: str, n_features: int) -> Any:
    if covariance_type == "full":
        return np.log(np.diagonal(precisions_chol, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.log(np.diagonal(precisions_chol)).sum()
    if covariance_type == "diag":
        return np.log(precisions_chol).sum(axis=1)
    return n_features * np.log(precisions_chol)


def _scoring_terms(
    weights: np.ndarray, means: np.ndarray, precisions_chol: np.ndarray, covariance_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precomputed terms so that log(w_k N(x | mu_k, Sigma_k)) costs one or two matmuls.

    full/tied: (P, offset, c), P of shape (K n_features, n_features) stacking the U_k^T:
        log p_k(x) = -0.5 ||U_k^T x - U_k^T mu_k||² + c_k
    diag/spherical: (A, B, c), A = precisions and B = -2 means * precisions, (K, d):
        log p_k(x) = -0.5 (A x² + B x)_k + c_k
    where c_k = log w_k + log det U_k - 0.5 (n_features log 2 pi [+ sum mu_k² prec_k]).
    """
    n_components, n_features = means.shape
    const = (
        np.log(weights)
        + _log_det_cholesky(precisions_chol, covariance_type, n_features)
        - 0.5 * n_features * _LOG_2PI
    )
    if covariance_type in ("full", "tied"):
        chol = precisions_chol
        if covariance_type == "tied":
            chol = np.broadcast_to(chol, (n_components, n_features, n_features))
        stacked = np.ascontiguousarray(chol.transpose(0, 2, 1)).reshape(-1, n_features)
        offset = np.einsum("kd,kde->ke", means, chol).reshape(-1, 1)
        return stacked, offset, const
    precisions = precisions_chol**2
    if covariance_type == "spherical":
        precisions = np.broadcast_to(precisions[:, None], (n_components, n_features))
    square = np.ascontiguousarray(precisions)
    linear = -2.0 * means * precisions
    const = const - 0.5 * (means**2 * precisions).sum(axis=1)
    return square, linear, const


def _weighted_log_prob(
    X: np.ndarray, terms: tuple[np.ndarray, np.ndarray, np.ndarray], quadratic: bool
) -> np.ndarray:
    """log(w_k) + log N(x_i | mu_k, Sigma_k), shape (n_components, n_samples)."""
    a, b, const = terms
    n_components = const.shape[0]
    out = np.empty((n_components, X.shape[0]))
    for rows in _blocks(X.shape[0], X.shape[1], a.shape[0]):
        block_t = X[rows].T
        if quadratic:
            # (K d, block): rows k*d .. k*d+d-1 hold U_k^T (x - mu_k)
            projected = a @ block_t
            projected -= b
            np.square(projected, out=projected)
            projected.reshape(n_components, -1, block_t.shape[1]).sum(axis=1, out=out[:, rows])
        else:
            part = np.matmul(a, block_t * block_t, out=out[:, rows])
            part += b @ block_t
    out *= -0.5
    out += const[:, None]
    return out


def _logsumexp_columns(A: np.ndarray) -> np.ndarray:
    """log(sum_k exp(A[k, i])) for every column i, without overflow or underflow."""
    top = A.max(axis=0)
    shifted = np.exp(A - top)
    return np.log(shifted.sum(axis=0)) + top


def _n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    if covariance_type == "full":
        cov_params = n_components * n_features * (n_features + 1) / 2.0
    elif covariance_type == "diag":
        cov_params = n_components * n_features
    elif covariance_type == "tied":
        cov_params = n_features * (n_features + 1) / 2.0
    else:
        cov_params = n_components
    return int(cov_params + n_features * n_components + n_components - 1)


class GaussianMixture(BaseEstimator):
    """Gaussian mixture model.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        One full matrix per component, one matrix shared by all, one diagonal per
        component, or one variance per component.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood gains less than this in an iteration.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance so that it stays positive definite.
    max_iter : int, default=100
        Maximum EM iterations per initialisation. Above 100 it is capped by the data
        size (see `numpyml.base.iteration_cap`): n_iter_ never exceeds `max_iter_`.
    n_init : int, default=1
        Number of initialisations; the one with the highest likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        Initial responsibilities: k-means labels, k-means++ seeds, random weights, or
        random rows.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the initialisation.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        (n_components, n_features, n_features) for "full", (n_features, n_features) for
        "tied", (n_components, n_features) for "diag", (n_components,) for "spherical".
    precisions_ : ndarray
        Inverses of the covariances, same shape.
    precisions_cholesky_ : ndarray
        Upper-triangular U with U U^T = precision (1/sqrt of the variances for
        "diag"/"spherical"), same shape.
    converged_ : bool
        Whether the kept initialisation met `tol` within `max_iter`.
    n_iter_ : int
        EM iterations of the kept initialisation.
    max_iter_ : int
        The iterations allowed per initialisation: `max_iter`, or less when
        max_iter x the cost of an iteration on X exceeded the work budget.
    lower_bound_ : float
        Mean log-likelihood of the training data at the last iteration of the kept
        initialisation.
    lower_bounds_ : list of float
        That log-likelihood at each of its iterations.
    loss_curve_ : list of float
        Negative mean log-likelihood at each iteration of the kept initialisation.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had them.

    Notes
    -----
    p(x) = sum_k w_k N(x | mu_k, Sigma_k). The E-step computes the responsibilities
    r_ik = w_k N(x_i | mu_k, Sigma_k) / p(x_i) in log space (log-sum-exp, so nothing
    underflows), with log N = -0.5 (d log 2 pi + ||(x - mu) U||²) + log det U where
    U U^T = Sigma^-1 comes from the Cholesky factor of Sigma. The M-step sets
    n_k = sum_i r_ik, w_k = n_k / n, mu_k = sum_i r_ik x_i / n_k and
    Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / n_k + reg_covar I. The data are
    centred during fit for accuracy (the model is translation-equivariant).
    """

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def _check_params(self, n_samples: int) -> None:
        check_scalar(self.n_components, "n_components", numbers.Integral, min_val=1)
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0.0)
        check_scalar(self.reg_covar, "reg_covar", numbers.Real, min_val=0.0)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=0)
        check_scalar(self.n_init, "n_init", numbers.Integral, min_val=1)
        check_choice(self.init_params, "init_params", INIT_PARAMS)
        if n_samples < self.n_components:
            raise ValueError(
                f"GaussianMixture needs at least as many samples as components: got "
                f"n_samples={n_samples} < n_components={self.n_components}."
            )

    def fit(
        self, X: Any, y: Any = None, callback: ProgressCallback | None = None
    ) -> GaussianMixture:
        """Estimate the mixture parameters with EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (at least 2 rows, and at least n_components).
        y : None
            Ignored.
        callback : callable, default=None
            Called with {"iteration", "max_iter", "loss"} (loss = negative mean
            log-likelihood) as fit runs.

        Returns
        -------
        self : GaussianMixture
        """
        self.fit_predict(X, callback=callback)
        return self

    def fit_predict(
        self, X: Any, y: Any = None, callback: ProgressCallback | None = None
    ) -> np.ndarray:
        """Fit, then return the most probable component of each training row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.
        callback : callable, default=None
            See `fit`.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = validate_data(self, X, reset=True, ensure_min_samples=2)
        self._check_params(X.shape[0])
        rng = check_random_state(self.random_state)
        shift = np.einsum("ij->j", X) / X.shape[0]
        X = X - shift
        # Rounding level of the data's variances: components that shrink to it collapsed.
        floor = X.shape[1] * np.finfo(np.float64).eps * np.einsum("ij,ij->j", X, X) / len(X)
        self.max_iter_ = self._iteration_cap(*X.shape)
        progress = Progress(callback, self.max_iter_ * self.n_init)
        runs = [self._run_em(X, rng, floor, progress, run) for run in range(self.n_init)]
        progress.done(len(progress.losses))
        # The first run with the highest final likelihood wins, as in scikit-learn.
        lower_bound, params, converged, bounds = max(runs, key=lambda run: run[0])
        if not converged and self.max_iter > 0:
            warnings.warn(
                f"GaussianMixture: the best initialisation did not converge within "
                f"{self.max_iter_} iterations (max_iter={self.max_iter}, tol={self.tol}); "
                "increase max_iter or tol, try other initialisations, or check for "
                "degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_fitted(params, shift)
        self.converged_ = converged
        self.n_iter_ = len(bounds)
        self.lower_bound_ = float(lower_bound)
        self.lower_bounds_ = [float(b) for b in bounds]
        self.loss_curve_ = [-float(b) for b in bounds]
        # A last E-step so that fit_predict(X) agrees with fit(X).predict(X).
        _, log_resp = self._e_step(X, params)
        return log_resp.argmax(axis=0)

    def _run_em(
        self,
        X: np.ndarray,
        rng: np.random.Generator,
        floor: np.ndarray,
        progress: Progress,
        run: int = 0,
    ) -> tuple[float, Parameters, bool, list[float]]:
        """One initialisation (the `run`-th) then EM until the likelihood gains less than
        tol."""
        params = self._m_step(X, self._initial_resp(X, rng), floor)
        lower_bound, bounds, first_gain, within = -np.inf, [], np.inf, 0.0
        for iteration in range(self.max_iter_):
            previous = lower_bound
            lower_bound, log_resp = self._e_step(X, params)
            params = self._m_step(X, np.exp(log_resp), floor)
            bounds.append(lower_bound)
            # EM stops when the likelihood gains less than tol, mostly long before max_iter.
            gain = abs(lower_bound - previous)
            first_gain = gain if iteration == 1 else first_gain
            within = max(
                within,
                (iteration + 1) / self.max_iter_,
                convergence_share(first_gain, gain, self.tol) if iteration else 0.0,
            )
            share = (run + within) / self.n_init
            progress.step(len(progress.losses) + 1, -lower_bound, share=share)
            if gain < self.tol:
                return lower_bound, params, True, bounds
        return lower_bound, params, False, bounds

    def _iteration_cap(self, n_samples: int, n_features: int) -> int:
        """EM iterations allowed per initialisation on data of this size."""
        width = n_features**2 if self.covariance_type in ("full", "tied") else n_features
        work = n_samples * self.n_components * width
        return iteration_cap(self.max_iter, 100, work, self.n_init)

    def _set_fitted(self, params: Parameters, shift: np.ndarray) -> None:
        weights, means, covariances, precisions_chol = params
        self.weights_ = weights
        self.means_ = means + shift
        self.covariances_ = covariances
        self.precisions_cholesky_ = precisions_chol
        if self.covariance_type in ("full", "tied"):
            self.precisions_ = precisions_chol @ np.swapaxes(precisions_chol, -1, -2)
        else:
            self.precisions_ = precisions_chol**2
        self._score_terms = _scoring_terms(
            weights, self.means_, precisions_chol, self.covariance_type
        )

    def _initial_resp(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Initial responsibilities, shape (n_components, n_samples)."""
        n_samples, k = X.shape[0], self.n_components
        if self.init_params == "random":
            resp = rng.uniform(size=(n_samples, k)).T.copy()
            return resp / resp.sum(axis=0)
        if self.init_params == "kmeans":
            components = KMeans(n_clusters=k, n_init=1, random_state=rng).fit(X).labels_
            samples = np.arange(n_samples)
        else:
            if self.init_params == "k-means++":
                samples = _kmeans_plusplus(X, k, rng)[1]
            else:
                samples = rng.choice(n_samples, size=k, replace=False)
            components = np.arange(k)
        resp = np.zeros((k, n_samples))
        resp[components, samples] = 1.0
        return resp

    def _m_step(self, X: np.ndarray, resp: np.ndarray, floor: np.ndarray) -> Parameters:
        nk, means, covariances = _estimate_parameters(X, resp, self.reg_covar, self.covariance_type)
        precisions_chol = _precision_cholesky(covariances, self.covariance_type, floor)
        return nk / X.shape[0], means, covariances, precisions_chol

    def _e_step(self, X: np.ndarray, params: Parameters) -> tuple[float, np.ndarray]:
        """Mean log-likelihood and log responsibilities (n_components, n_samples)."""
        weights, means, _, precisions_chol = params
        terms = _scoring_terms(weights, means, precisions_chol, self.covariance_type)
        log_prob = _weighted_log_prob(X, terms, self.covariance_type in ("full", "tied"))
        log_norm = _logsumexp_columns(log_prob)
        log_prob -= log_norm
        return float(log_norm.mean()), log_prob

    def _log_prob(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "_score_terms")
        X = validate_data(self, X, reset=False)
        return _weighted_log_prob(X, self._score_terms, self.covariance_type in ("full", "tied"))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._log_prob(X).argmax(axis=0)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        log_prob = self._log_prob(X)
        log_prob -= _logsumexp_columns(log_prob)
        return np.ascontiguousarray(np.exp(log_prob, out=log_prob).T)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of each row under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        return _logsumexp_columns(self._log_prob(X))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood of the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        log_likelihood : float
        """
        return float(self.score_samples(X).mean())

    def _n_parameters(self) -> int:
        n_components, n_features = self.means_.shape
        return _n_parameters(n_components, n_features, self.covariance_type)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
            -2 log L + n_parameters log(n_samples).
        """
        log_likelihood = self.score_samples(X)
        n_samples = log_likelihood.shape[0]
        return -2.0 * log_likelihood.sum() + self._n_parameters() * math.log(n_samples)

    def aic(self, X: Any) -> float:
        """Akaike information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
            -2 log L + 2 n_parameters.
        """
        return -2.0 * self.score_samples(X).sum() + 2 * self._n_parameters()
