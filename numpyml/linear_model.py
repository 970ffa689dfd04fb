"""Linear models: least squares and ridge, logistic regression, the perceptron.

All three learn a weight vector per output plus an unpenalised intercept and predict
with one matrix product, so a fitted model is a few small arrays and single-row
prediction costs little more than the input validation.
"""

from __future__ import annotations

import numbers
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from numpyml import calibration
from numpyml.base import BaseEstimator, ClassifierMixin, RegressorMixin
from numpyml.exceptions import ConvergenceWarning
from numpyml.progress import Progress, ProgressCallback
from numpyml.validation import (
    check_choice,
    check_classification_targets,
    check_is_fitted,
    check_random_state,
    check_scalar,
    check_targets,
    validate_data,
)

# Solving the normal equations squares the condition number of X; past this (after
# scaling the columns to unit norm) they could lose more than ~8 significant digits,
# so the solve falls back to an SVD-based least squares on X itself.
_MAX_GRAM_CONDITION = 1e8
# A centred column whose norm is this small relative to its raw values is constant up
# to rounding: it gets a zero coefficient, as in an SVD solve with a rank cut-off.
_CONSTANT_COLUMN_RTOL = 1e-10


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}.")
    return bool(value)


def _expit(z: np.ndarray) -> np.ndarray:
    """The logistic sigmoid without overflow: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    inv = 1.0 / (1.0 + e)
    return np.where(z >= 0, inv, e * inv)


def _log_expit(z: np.ndarray) -> np.ndarray:
    """log(sigmoid(z)) = -log(1 + exp(-z)), stable for large |z|."""
    return np.minimum(z, 0.0) - np.log1p(np.exp(-np.abs(z)))


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _encode_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Index of each label in the sorted `classes` (O(n log k), no second np.unique)."""
    return np.searchsorted(classes, y)


# --------------------------------------------------------------------------------------
# Least squares
# --------------------------------------------------------------------------------------


def _solve_least_squares(
    Xc: np.ndarray, yc: np.ndarray, alpha: float, raw_scale: np.ndarray
) -> np.ndarray:
    """Minimise ||yc - Xc w||^2 + alpha ||w||^2 (minimum-norm solution if not unique).

    The fast path solves the normal equations through an eigendecomposition of the
    column-scaled Gram matrix (p x p, cheap); an ill-conditioned or rank-deficient
    problem goes to numpy's SVD least squares on Xc, which gives the same
    minimum-norm answer as scikit-learn's.
    """
    n_features = Xc.shape[1]
    gram = Xc.T @ Xc
    rhs = Xc.T @ yc
    norms = np.sqrt(np.diag(gram))
    live = norms > _CONSTANT_COLUMN_RTOL * raw_scale
    coef = np.zeros(n_features)
    if not live.any():
        return coef
    if not live.all():
        gram = gram[np.ix_(live, live)]
        rhs = rhs[live]
    gram[np.diag_indices_from(gram)] += alpha
    scale = 1.0 / np.sqrt(np.diag(gram))
    values, vectors = np.linalg.eigh(gram * np.outer(scale, scale))
    if values[0] > values[-1] / _MAX_GRAM_CONDITION:
        coef[live] = scale * (vectors @ ((vectors.T @ (scale * rhs)) / values))
        return coef
    A = Xc[:, live] if not live.all() else Xc
    b = yc
    if alpha > 0:
        # Ridge as an ordinary least-squares problem on rows augmented by sqrt(alpha) I.
        A = np.vstack([A, np.sqrt(alpha) * np.eye(A.shape[1])])
        b = np.concatenate([yc, np.zeros(A.shape[1])])
    coef[live] = np.linalg.lstsq(A, b, rcond=None)[0]
    return coef


class LinearRegression(RegressorMixin, BaseEstimator):
    """Ordinary least squares, or ridge regression when `alpha > 0`.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit an intercept (by centring X and y); otherwise the model goes through 0.
    alpha : float, default=0.0
        L2 penalty strength; 0 is plain least squares (scikit-learn's
        LinearRegression), > 0 is scikit-learn's Ridge(alpha). The intercept is never
        penalised.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Weights of the features.
    intercept_ : float
        Constant term (0.0 when `fit_intercept=False`).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had named columns.

    Notes
    -----
    Minimises ``||y - X w - b||^2 + alpha ||w||^2``. With an intercept, X and y are
    centred first, so ``b = mean(y) - mean(X) @ w``. The centred problem is solved
    through the normal equations ``(Xc^T Xc + alpha I) w = Xc^T yc`` (one pass over
    the data plus a p x p eigendecomposition); when X is (nearly) collinear the fit
    falls back to an SVD least squares on Xc and returns the minimum-norm
    coefficients, like scikit-learn. Features that are constant get a zero weight.
    """

    def __init__(self, *, fit_intercept: bool = True, alpha: float = 0.0) -> None:
        self.fit_intercept = fit_intercept
        self.alpha = alpha

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> LinearRegression:
        """Fit the coefficients by (ridge-regularised when alpha > 0) least squares.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Numeric targets.
        callback : callable, default=None
            Called as each part of the fit is done (numpyml.progress.ProgressCallback, with
            no loss): the data checked, then the least squares solved (one pass over
            the data and a p x p problem, no iterations to report).

        Returns
        -------
        self : LinearRegression
        """
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        alpha = float(check_scalar(self.alpha, "alpha", numbers.Real, min_val=0.0))
        X = validate_data(self, X, reset=True)
        y = check_targets(y, X.shape[0], numeric=True, estimator=self)
        progress = Progress(callback, 2)
        progress.part(1)
        if fit_intercept:
            x_mean = X.mean(axis=0)
            y_mean = float(y.mean())
            raw_scale = np.sqrt(X.shape[0]) * np.abs(x_mean)
            coef = _solve_least_squares(X - x_mean, y - y_mean, alpha, raw_scale)
            self.intercept_ = y_mean - float(x_mean @ coef)
        else:
            coef = _solve_least_squares(X, y, alpha, np.zeros(X.shape[1]))
            self.intercept_ = 0.0
        self.coef_ = coef
        progress.part(2)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets X @ coef_ + intercept_.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to predict.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False)
        return X @ self.coef_ + self.intercept_


# --------------------------------------------------------------------------------------
# Logistic regression
# --------------------------------------------------------------------------------------

LossGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _binary_logistic(X: np.ndarray, y01: np.ndarray, l2: float, fit_intercept: bool) -> LossGrad:
    """Mean log loss + l2/2 ||coef||^2 and its gradient, for w = [coef, (intercept)].

    The two matrix-vector products go through einsum, which runs on one core: on a
    busy 2-core machine OpenBLAS's threaded gemv often waits for its second thread and
    is several times slower, while einsum's cost stays at about one pass over X.
    """
    n, p = X.shape

    def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        coef = w[:p]
        z = np.einsum("ij,j->i", X, coef)
        if fit_intercept:
            z += w[p]
        e = np.exp(-np.abs(z))
        # log(1 + exp(z)) - y z, written so that exp never overflows
        loss = (np.maximum(z, 0.0) + np.log1p(e) - y01 * z).mean()
        inv = 1.0 / (1.0 + e)
        residual = np.where(z >= 0, inv, e * inv)
        residual -= y01
        residual /= n
        grad = np.empty_like(w)
        grad[:p] = np.einsum("ij,i->j", X, residual) + l2 * coef
        if fit_intercept:
            grad[p] = residual.sum()
        return float(loss + 0.5 * l2 * (coef @ coef)), grad

    return loss_grad


def _multinomial_logistic(
    X: np.ndarray, labels: np.ndarray, n_classes: int, l2: float, fit_intercept: bool
) -> LossGrad:
    """Mean cross-entropy of the softmax + l2/2 ||coef||_F^2, for w = ravel(W (k, p(+1)))."""
    n, p = X.shape
    rows = np.arange(n)

    def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        W = w.reshape(n_classes, -1)
        # A strided view would send the product down numpy's slow non-BLAS loop.
        coef = np.ascontiguousarray(W[:, :p])
        scores = X @ coef.T
        if fit_intercept:
            scores += W[:, p]
        top = scores.max(axis=1)
        true_scores = scores[rows, labels]
        scores -= top[:, None]
        np.exp(scores, out=scores)
        totals = scores.sum(axis=1)
        loss = (np.log(totals) + top - true_scores).mean()
        scores /= totals[:, None]  # now the class probabilities
        scores[rows, labels] -= 1.0
        scores /= n
        grad = np.empty_like(W)
        grad[:, :p] = scores.T @ X + l2 * coef
        if fit_intercept:
            grad[:, p] = scores.sum(axis=0)
        return float(loss + 0.5 * l2 * np.sum(coef * coef)), grad.ravel()

    return loss_grad


def _line_search(
    loss_grad: LossGrad, w: np.ndarray, f: float, g: np.ndarray, d: np.ndarray, step: float
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Backtracking search for a step along d with sufficient decrease.

    Accepts the Armijo condition, or Hager-Zhang's approximate Wolfe condition (the
    objective did not rise beyond rounding and the slope is near zero), which keeps
    the search working when f changes by less than its own rounding error near the
    optimum. Returns None when no acceptable step was found.
    """
    slope = float(g @ d)
    for _ in range(40):
        w_new = w + step * d
        f_new, g_new = loss_grad(w_new)
        slope_new = float(g_new @ d)
        if f_new <= f + 1e-4 * step * slope:
            return w_new, f_new, g_new
        if f_new <= f + 1e-10 * abs(f) and 0.9 * slope <= slope_new <= -0.8 * slope:
            return w_new, f_new, g_new
        # Minimiser of the cubic through (0, f, slope) and (step, f_new, slope_new),
        # kept within [0.1, 0.5] * step so that every trial makes real progress.
        d1 = slope + slope_new - 3.0 * (f_new - f) / step
        disc = d1 * d1 - slope * slope_new
        trial = 0.5 * step
        if disc >= 0 and np.isfinite(f_new):
            d2 = np.sqrt(disc)
            denom = slope_new - slope + 2.0 * d2
            if denom != 0:
                trial = step - step * (slope_new + d2 - d1) / denom
        step = min(max(trial, 0.1 * step), 0.5 * step)
    return None


def _lbfgs(
    loss_grad: LossGrad,
    w0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    progress: Progress,
    memory: int = 10,
) -> tuple[np.ndarray, int, str]:
    """Limited-memory BFGS. Stops when max|grad| <= tol (scikit-learn's `gtol`).

    Returns the solution, the number of iterations and a status: "converged",
    "max_iter" or "line_search" (no decrease possible: the precision limit).
    """
    w = w0
    f, g = loss_grad(w)
    pairs: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=memory)
    if np.max(np.abs(g)) <= tol:
        return w, 0, "converged"
    for iteration in range(1, max_iter + 1):
        d = _two_loop(g, pairs)
        if g @ d >= 0:  # not a descent direction (not expected on a convex loss): restart
            pairs.clear()
            d = -g
        # With no curvature pairs yet, a unit step along -g has no natural scale.
        first_step = 1.0 if pairs else min(1.0, 1.0 / np.linalg.norm(g))
        found = _line_search(loss_grad, w, f, g, d, first_step)
        if found is None:
            progress.done(iteration - 1)
            return w, iteration - 1, "line_search"
        w_new, f_new, g_new = found
        step, change = w_new - w, g_new - g
        curvature = float(step @ change)
        if curvature > 1e-12 * float(change @ change):
            pairs.append((step, change, 1.0 / curvature))
        reduction = (f - f_new) / max(abs(f), abs(f_new), 1.0)
        w, f, g = w_new, f_new, g_new
        progress.step(iteration, f)
        # scikit-learn's ftol: the objective no longer changes beyond rounding.
        if np.max(np.abs(g)) <= tol or reduction <= 64 * np.finfo(float).eps:
            progress.done(iteration)
            return w, iteration, "converged"
    return w, max_iter, "max_iter"


def _two_loop(g: np.ndarray, pairs: deque[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """The L-BFGS direction -H g from the stored (step, gradient change, 1/curvature)."""
    q = g.copy()
    alphas = []
    for s, t, rho in reversed(pairs):
        a = rho * float(s @ q)
        alphas.append(a)
        q -= a * t
    if pairs:
        s, t, _ = pairs[-1]
        q *= float(s @ t) / float(t @ t)
    for (s, t, rho), a in zip(pairs, reversed(alphas), strict=True):
        q += (a - rho * float(t @ q)) * s
    return -q


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-penalised logistic regression (binary, or multinomial softmax for > 2 classes).

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the regularisation strength; smaller values penalise more.
    fit_intercept : bool, default=True
        Fit an (unpenalised) intercept per class.
    max_iter : int, default=100
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-4
        Stop when the largest absolute gradient component of the (per-sample
        averaged) objective is at most `tol`, as scikit-learn's lbfgs solver does.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights; one row (for `classes_[1]`) in the binary case.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when `fit_intercept=False`).
    n_iter_ : ndarray of shape (1,)
        Number of solver iterations, as in scikit-learn.
    loss_curve_ : list of float
        Penalised objective after each iteration.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had named columns.

    Notes
    -----
    Minimises the same objective as scikit-learn's ``LogisticRegression(penalty="l2",
    solver="lbfgs")``, scaled per sample:
    ``mean_i(-log p(y_i | x_i)) + ||W||^2 / (2 C n)``, where
    ``p(y | x) = softmax(W x + b)_y`` (multinomial) or ``sigmoid(w x + b)`` for the
    positive class (binary). The objective is strictly convex in W, so the optimum is
    unique and both libraries converge to it; they differ only by how far each stops
    short of it (set a small `tol` on both to compare closely). The solver is L-BFGS
    (10 curvature pairs, scikit-learn's gtol/ftol stopping rules) with a backtracking
    cubic-interpolation line search, and usually takes the same number of iterations
    as scikit-learn's; each iteration costs about one pass of ``X @ W.T`` and one of
    ``R.T @ X`` (R = probabilities minus one-hot targets). The multinomial intercepts
    sum to zero, as scikit-learn's do: the gradient never moves their sum.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        fit_intercept: bool = True,
        max_iter: int = 100,
        tol: float = 1e-4,
    ) -> None:
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> LogisticRegression:
        """Fit the coefficients by minimising the L2-penalised log-loss.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two distinct.
        callback : callable, default=None
            Called with {"iteration", "max_iter", "loss"} (loss = the penalised objective)
            as fit runs.

        Returns
        -------
        self : LogisticRegression
        """
        C = float(check_scalar(self.C, "C", numbers.Real, min_val=0.0, include_min=False))
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        max_iter = check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        tol = float(check_scalar(self.tol, "tol", numbers.Real, min_val=0.0))
        X = validate_data(self, X, reset=True)
        y = check_targets(y, X.shape[0], numeric=False, estimator=self)
        classes = check_classification_targets(y, estimator=self)
        n, p = X.shape
        n_classes = classes.shape[0]
        l2 = 1.0 / (C * n)
        n_params = p + int(fit_intercept)
        if n_classes == 2:
            loss_grad = _binary_logistic(X, (y == classes[1]).astype(np.float64), l2, fit_intercept)
            w0 = np.zeros(n_params)
        else:
            labels = _encode_labels(y, classes)
            loss_grad = _multinomial_logistic(X, labels, n_classes, l2, fit_intercept)
            w0 = np.zeros(n_classes * n_params)
        progress = Progress(callback, max_iter)
        w, n_iter, status = _lbfgs(loss_grad, w0, max_iter=max_iter, tol=tol, progress=progress)
        if status != "converged":
            reason = (
                f"reached max_iter={max_iter}"
                if status == "max_iter"
                else "stopped: the line search found no further decrease"
            )
            warnings.warn(
                f"LogisticRegression {reason} before the gradient fell below "
                f"tol={tol}; increase max_iter or scale the features.",
                ConvergenceWarning,
                stacklevel=2,
            )
        W = w.reshape(1 if n_classes == 2 else n_classes, n_params)
        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(W[:, :p])
        self.intercept_ = W[:, p].copy() if fit_intercept else np.zeros(W.shape[0])
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.loss_curve_ = progress.losses
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores W x + b.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            One score per sample (positive means `classes_[1]`) for two classes, else
            one per class.
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the logistic (two classes) or softmax of the scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`; rows sum to 1.
        """
        return self._proba(self.decision_function(X))

    @staticmethod
    def _proba(scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1:
            proba = np.empty((scores.shape[0], 2))
            proba[:, 1] = _expit(scores)
            proba[:, 0] = _expit(-scores)  # not 1 - p: keeps tiny probabilities exact
            return proba
        return _softmax(scores)

    def predict_with_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """`predict(X)` and `predict_proba(X)` from one scoring pass (the served path)."""
        scores = self.decision_function(X)
        return self._label(scores), self._proba(scores)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of `predict_proba`, computed without taking log(0).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([_log_expit(-scores), _log_expit(scores)])
        return _log_softmax(scores)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from `classes_`.
        """
        return self._label(self.decision_function(X))

    def _label(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]


# --------------------------------------------------------------------------------------
# Perceptron
# --------------------------------------------------------------------------------------

# Mini-batches per epoch: every epoch is at most this many vectorised updates, so the
# Python loop costs the same on 100 rows or 1M; small data keeps per-sample updates.
_PERCEPTRON_BATCHES_PER_EPOCH = 128


class Perceptron(ClassifierMixin, BaseEstimator):
    """The perceptron: a linear classifier trained on its mistakes (one-vs-rest).

    Parameters
    ----------
    penalty : {None, "l2", "l1"}, default=None
        Regularisation applied with each update.
    alpha : float, default=0.0001
        Strength of `penalty`.
    fit_intercept : bool, default=True
        Learn an intercept per class.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the data).
    tol : float or None, default=1e-3
        Stop once the epoch's mean loss has not improved on the best by more than
        `tol` for `n_iter_no_change` consecutive epochs; None runs `max_iter` epochs.
    shuffle : bool, default=True
        Shuffle the samples before every epoch.
    eta0 : float, default=1.0
        Learning rate (constant).
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    random_state : int, numpy Generator or None, default=0
        Seed of the shuffling and of the internal folds of `probability=True`.
    probability : bool, default=False
        Also learn class probabilities by Platt scaling (`predict_proba`, which exists
        only then), as scikit-learn's SVC(probability=True) does; numpyml's extension
        (scikit-learn's Perceptron has no probabilities). Fit then runs 5 more fits, on
        internal folds. See Notes.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights; one row (for `classes_[1]`) in the binary case.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    n_iter_ : int
        Number of epochs run (the largest over the one-vs-rest problems).
    loss_curve_ : list of float
        Mean perceptron loss of each epoch, averaged over the one-vs-rest problems.
    probA_, probB_ : ndarray of shape (1,) or (n_classes,)
        With `probability=True`: the Platt sigmoid of each one-vs-rest score,
        P(class k | f_k) = 1 / (1 + exp(A_k f_k + B_k)) (for two classes, of `classes_[1]`).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had named columns.

    Notes
    -----
    For each class k a binary problem with targets ``y_ik = +1`` if sample i is of
    class k and -1 otherwise minimises the perceptron loss ``max(0, -y_ik f_k(x_i))``,
    ``f_k(x) = w_k x + b_k``. Each misclassified sample (``y_ik f_k(x_i) <= 0``) adds
    ``eta0 * y_ik * x_i`` to ``w_k`` (and ``eta0 * y_ik`` to ``b_k``). Unlike
    scikit-learn's per-sample SGD loop, updates are vectorised: every epoch walks a
    fresh permutation in 128 mini-batches of ``ceil(n / 128)`` samples (so single
    samples, i.e. the classic algorithm, below 129 rows); all samples of a batch are
    scored with the same weights and the updates of every class are applied at once
    as one matrix product ``G^T X_batch``. The Python loop thus costs the same for
    100 or 1M rows, and the epoch count stays close to scikit-learn's. The epoch loss
    is the mean of ``max(0, -y_ik f_k(x_i))`` with each sample scored just before its
    batch's update. Each one-vs-rest problem stops on its own once its epoch loss has
    not improved by `tol` for `n_iter_no_change` epochs, as in scikit-learn, after
    which its weights are frozen. Penalties shrink the weights once per batch by what
    the batch's samples would have applied one by one.

    With `probability=True`, the rows are dealt to 5 stratified folds (seeded by
    `random_state`), each row's scores come from a perceptron fitted on the other folds,
    a sigmoid per score is fitted to them by Platt's method (Lin, Lin and Weng 2007;
    numpyml.calibration), and the model that predicts is fitted on all rows (the very
    model probability=False gives). More than two classes: the one-vs-rest sigmoids'
    outputs are divided by their sum (scikit-learn's CalibratedClassifierCV). `predict`
    keeps the largest score, which for two classes is also the more probable class when
    A < 0 (the usual case) and B is near 0.
    """

    # Files saved before `probability` existed load with its default (numpyml.persistence).
    _params_added_later = ("probability",)

    def __init__(
        self,
        *,
        penalty: str | None = None,
        alpha: float = 0.0001,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float | None = 1e-3,
        shuffle: bool = True,
        eta0: float = 1.0,
        n_iter_no_change: int = 5,
        random_state: int | np.random.Generator | None = 0,
        probability: bool = False,
    ) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.eta0 = eta0
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.probability = probability

    def _validate_params(self) -> dict[str, Any]:
        tol = self.tol
        if tol is not None:
            tol = float(check_scalar(tol, "tol", (numbers.Real, type(None)), min_val=0.0))
        return {
            "penalty": check_choice(self.penalty, "penalty", [None, "l2", "l1"]),
            "alpha": float(check_scalar(self.alpha, "alpha", numbers.Real, min_val=0.0)),
            "fit_intercept": _check_bool(self.fit_intercept, "fit_intercept"),
            "max_iter": int(check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)),
            "tol": tol,
            "shuffle": _check_bool(self.shuffle, "shuffle"),
            "eta0": float(
                check_scalar(self.eta0, "eta0", numbers.Real, min_val=0.0, include_min=False)
            ),
            "n_iter_no_change": int(
                check_scalar(self.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
            ),
            "probability": _check_bool(self.probability, "probability"),
        }

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> Perceptron:
        """Fit by mini-batch perceptron updates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two distinct.
        callback : callable, default=None
            Called with {"iteration", "max_iter", "loss"} (loss = mean perceptron loss of
            the epoch) as fit runs. With probability=True the internal folds' fits report
            first, marked "calibration": True, and "share" spans all six fits.

        Returns
        -------
        self : Perceptron
        """
        params = self._validate_params()
        self.__dict__.pop("probA_", None)
        self.__dict__.pop("probB_", None)
        if not params["probability"]:
            return self._fit_model(X, y, params, callback)
        X_checked = validate_data(self, X, reset=True)
        y_checked = check_targets(y, X_checked.shape[0], numeric=False, estimator=self)
        classes = check_classification_targets(y_checked, estimator=self)
        y_index = _encode_labels(y_checked, classes)
        folds = calibration.stratified_folds(
            y_index,
            min(calibration.N_FOLDS, y_index.shape[0]),
            check_random_state(self.random_state),
        )
        train_sizes = [int(np.sum(folds != f)) for f in range(int(folds.max()) + 1)]
        stages = calibration.Stages(callback, [*train_sizes, y_index.shape[0]])
        held_out = self._held_out_scores(X_checked, y_index, classes.shape[0], folds, stages)
        self._fit_model(X, y, params, stages.stage(len(train_sizes), calibration=False))
        fitted = [
            calibration.sigmoid_fit(held_out[:, k], y_index == (1 if held_out.shape[1] == 1 else k))
            for k in range(held_out.shape[1])
        ]
        self.probA_ = np.array([a for a, _ in fitted])
        self.probB_ = np.array([b for _, b in fitted])
        return self

    def _held_out_scores(
        self,
        X: np.ndarray,
        y_index: np.ndarray,
        n_classes: int,
        folds: np.ndarray,
        stages: calibration.Stages,
    ) -> np.ndarray:
        """Each row's scores, (n, 1) for two classes else (n, n_classes), from a perceptron
        fitted without it. A class missing from a fold's training part scores -1 there and
        a fold that saw one class only scores +1 for it (libsvm's rule)."""
        out = np.zeros((X.shape[0], 1 if n_classes == 2 else n_classes))
        params = {**self.get_params(deep=False), "probability": False}
        for fold in range(int(folds.max()) + 1):
            test = folds == fold
            seen = np.unique(y_index[~test])
            if seen.shape[0] < 2:
                scores = np.full((int(test.sum()), n_classes), -1.0)
                scores[:, seen] = 1.0
            else:
                model = Perceptron(**params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # the final fit says it
                    model.fit(X[~test], y_index[~test], stages.stage(fold, calibration=True))
                decision = model.decision_function(X[test])
                if decision.ndim == 1:
                    decision = np.column_stack([-decision, decision])
                scores = np.full((int(test.sum()), n_classes), -1.0)
                scores[:, seen] = decision
            out[test] = scores[:, 1:] if n_classes == 2 else scores
        return out

    def _fit_model(
        self, X: Any, y: Any, params: dict[str, Any], callback: ProgressCallback | None
    ) -> Perceptron:
        """The perceptron itself (probabilities aside), on every row."""
        rng = check_random_state(self.random_state)
        X = validate_data(self, X, reset=True)
        y = check_targets(y, X.shape[0], numeric=False, estimator=self)
        classes = check_classification_targets(y, estimator=self)
        if classes.shape[0] == 2:
            signs = np.where(y == classes[1], 1.0, -1.0)[:, None]
        else:
            signs = np.full((X.shape[0], classes.shape[0]), -1.0)
            signs[np.arange(X.shape[0]), _encode_labels(y, classes)] = 1.0
        progress = Progress(callback, params["max_iter"])
        coef, intercept, n_iter = _train_perceptron(X, signs, params, rng, progress)
        if params["tol"] is not None and n_iter == params["max_iter"]:
            warnings.warn(
                f"Perceptron reached max_iter={params['max_iter']} epochs before its loss "
                "stopped improving; increase max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.classes_ = classes
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = n_iter
        self.loss_curve_ = progress.losses
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Signed scores W x + b.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            One score per sample (positive means `classes_[1]`) for two classes, else
            one per class (one-vs-rest).
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X: Any) -> np.ndarray:
        """Class label per sample (the one-vs-rest problem with the highest score).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from `classes_`.
        """
        return self._label(self.decision_function(X))

    def _label(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    def _proba(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1:
            proba = np.empty((scores.shape[0], 2))
            proba[:, 1] = calibration.sigmoid_proba(scores, self.probA_[0], self.probB_[0])
            # 1 - p written as its own sigmoid: a tiny probability keeps its digits.
            proba[:, 0] = calibration.sigmoid_proba(scores, -self.probA_[0], -self.probB_[0])
            return proba
        return calibration.normalised(calibration.sigmoid_proba(scores, self.probA_, self.probB_))

    @calibration.if_probability
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities by Platt scaling (only with probability=True).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`; rows sum to 1.
        """
        check_is_fitted(self, "probA_")
        return self._proba(self.decision_function(X))

    @calibration.if_probability
    def predict_with_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """`predict(X)` and `predict_proba(X)` from one scoring pass (the served path)."""
        check_is_fitted(self, "probA_")
        scores = self.decision_function(X)
        return self._label(scores), self._proba(scores)


def _train_perceptron(
    X: np.ndarray,
    signs: np.ndarray,
    params: dict[str, Any],
    rng: np.random.Generator,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run the epochs; returns coef (k, p), intercept (k,) and the number of epochs."""
    n, p = X.shape
    k = signs.shape[1]
    eta, alpha, penalty = params["eta0"], params["alpha"], params["penalty"]
    tol, patience = params["tol"], params["n_iter_no_change"]
    coef = np.zeros((k, p))
    intercept = np.zeros(k)
    batch = -(-n // _PERCEPTRON_BATCHES_PER_EPOCH)
    active = np.ones(k, dtype=bool)  # one-vs-rest problems still training
    best = np.full(k, np.inf)
    stalled = np.zeros(k, dtype=np.intp)
    order = np.arange(n)
    epoch = 0
    for epoch in range(1, params["max_iter"] + 1):
        if params["shuffle"]:
            order = rng.permutation(n)
        step = eta * active  # frozen problems take no more updates
        loss = np.zeros(k)
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            Xb = X[rows]
            Sb = signs[rows]
            margins = Xb @ coef.T
            margins += intercept
            margins *= Sb
            loss -= np.minimum(margins, 0.0).sum(axis=0)
            update = (margins <= 0) * Sb
            update *= step
            if penalty is not None:
                _shrink(coef, penalty, eta * alpha, rows.shape[0], active)
            coef += update.T @ Xb
            if params["fit_intercept"]:
                intercept += update.sum(axis=0)
        loss /= n
        progress.step(epoch, float(loss[active].mean()))
        if tol is None:
            continue
        stalled = np.where(loss > best - tol, stalled + 1, 0)
        best = np.minimum(best, loss)
        active &= stalled < patience
        if not active.any():
            break
    progress.done(epoch)
    return coef, intercept, epoch


def _shrink(coef: np.ndarray, penalty: str, rate: float, n_steps: int, active: np.ndarray) -> None:
    """Pull the weights of the active problems towards 0 for `n_steps` samples.

    `rate` is eta0 * alpha: l2 decays the weights by (1 - rate) per sample (compounded
    over the batch), l1 soft-thresholds them by rate per sample.
    """
    if penalty == "l2":
        coef[active] *= max(1.0 - rate, 0.0) ** n_steps
    else:
        shrunk = np.sign(coef) * np.maximum(np.abs(coef) - rate * n_steps, 0.0)
        coef[active] = shrunk[active]
