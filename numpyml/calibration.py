"""Platt scaling: class probabilities from the decision values of a margin classifier.

What scikit-learn's SVC(probability=True) does, for numpyml's SVC and Perceptron: the
decision values of every training row are taken from a model that did not see it
(internal stratified k-fold, seeded), a sigmoid P(positive | f) = 1 / (1 + exp(A f + B))
is fitted to them by Platt's method, and the model that predicts is then fitted on all
rows. Two classes need one sigmoid; more classes are combined as each model's decisions
are: pairwise coupling of the one-vs-one sigmoids for the SVC (Wu, Lin and Weng 2004,
libsvm's method), one-vs-rest sigmoids normalised to sum to 1 for the Perceptron (what
scikit-learn's CalibratedClassifierCV does).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from types import MethodType
from typing import Any

import numpy as np

from numpyml.progress import ProgressCallback

N_FOLDS = 5
# Lin, Lin and Weng (2007), Algorithm 1 (libsvm's sigmoid_train): Newton's method with a
# backtracking line search on Platt's regularised cross-entropy.
_MAX_NEWTON = 100
_MIN_STEP = 1e-10
_HESSIAN_RIDGE = 1e-12  # keeps the 2 x 2 Hessian strictly positive definite
_GRADIENT_TOL = 1e-5
# Pairwise probabilities are kept inside (eps, 1 - eps) before coupling (libsvm's min_prob).
_MIN_PAIR_PROBA = 1e-7


def sigmoid_fit(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid for decision values `decision` of rows whose class is `positive`.

    Parameters
    ----------
    decision : ndarray of shape (n_samples,)
        Held-out decision values.
    positive : ndarray of bool, shape (n_samples,)
        Whether each row is of the positive class.

    Returns
    -------
    (A, B) : tuple of float
        P(positive | f) = 1 / (1 + exp(A f + B)); A < 0 when larger f means positive.

    Notes
    -----
    Minimises sum_i -t_i log p_i - (1 - t_i) log(1 - p_i) with Platt's targets
    t = (N+ + 1) / (N+ + 2) for positive rows and 1 / (N- + 2) for the others (a prior that
    keeps a separable set from giving probabilities of exactly 0 and 1), from A = 0,
    B = log((N- + 1) / (N+ + 1)), by Newton steps with backtracking until both gradient
    components are below 1e-5 (Lin, Lin and Weng 2007).
    """
    f = np.asarray(decision, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    prior1 = float(positive.sum())
    prior0 = float(positive.size - prior1)
    t = np.where(positive, (prior1 + 1.0) / (prior1 + 2.0), 1.0 / (prior0 + 2.0))
    A, B = 0.0, math.log((prior0 + 1.0) / (prior1 + 1.0))

    def objective(a: float, b: float) -> float:
        z = f * a + b
        # t z + log(1 + exp(-z)) for z >= 0, (t - 1) z + log(1 + exp(z)) below: no overflow
        return float(np.sum(np.where(z >= 0, t * z, (t - 1.0) * z) + np.log1p(np.exp(-np.abs(z)))))

    value = objective(A, B)
    for _ in range(_MAX_NEWTON):
        z = f * A + B
        e = np.exp(-np.abs(z))
        p = np.where(z >= 0, e, 1.0) / (1.0 + e)  # P(positive) = 1 / (1 + exp(z))
        q = 1.0 - p
        d2 = p * q
        h11 = _HESSIAN_RIDGE + float(f @ (f * d2))
        h22 = _HESSIAN_RIDGE + float(d2.sum())
        h21 = float(f @ d2)
        d1 = t - p
        g1, g2 = float(f @ d1), float(d1.sum())
        if abs(g1) < _GRADIENT_TOL and abs(g2) < _GRADIENT_TOL:
            break
        det = h11 * h22 - h21 * h21
        dA = -(h22 * g1 - h21 * g2) / det
        dB = -(-h21 * g1 + h11 * g2) / det
        slope = g1 * dA + g2 * dB
        step = 1.0
        while step >= _MIN_STEP:
            new = objective(A + step * dA, B + step * dB)
            if new < value + 1e-4 * step * slope:
                A, B, value = A + step * dA, B + step * dB, new
                break
            step /= 2.0
        if step < _MIN_STEP:  # no further decrease within rounding: A and B are final
            break
    return float(A), float(B)


def sigmoid_proba(decision: np.ndarray, A: float, B: float) -> np.ndarray:
    """P(positive | f) = 1 / (1 + exp(A f + B)), without overflow."""
    z = np.asarray(decision, dtype=np.float64) * A + B
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e, 1.0) / (1.0 + e)


def normalised(positive_proba: np.ndarray) -> np.ndarray:
    """One-vs-rest probabilities (n_samples, n_classes) scaled to sum to 1 per row (rows
    whose sigmoids all give 0 get equal shares), as CalibratedClassifierCV does."""
    total = positive_proba.sum(axis=1, keepdims=True)
    k = positive_proba.shape[1]
    return np.divide(
        positive_proba,
        total,
        out=np.full_like(positive_proba, 1.0 / k),
        where=total > 0,
    )


def pairwise_coupling(pair_proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities from one-vs-one ones (Wu, Lin and Weng 2004, method 2).

    Parameters
    ----------
    pair_proba : ndarray of shape (n_samples, n_pairs)
        For each pair (i, j), i < j in the order (0, 1), (0, 2), ..., (1, 2), ...: the
        probability r_ij of class i given that the class is i or j.
    n_classes : int

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        Rows sum to 1.

    Notes
    -----
    p minimises sum_i sum_{j != i} (r_ji p_i - r_ij p_j)^2 subject to sum(p) = 1, i.e.
    Q p = b e, e'p = 1 with Q_ii = sum_{s != i} r_si^2 and Q_ij = -r_ji r_ij. libsvm reaches
    it iteratively; here the (k + 1) x (k + 1) system is solved exactly, all rows at once.
    Its solution is non-negative (ibid., Theorem 2), up to rounding.
    """
    n, k = pair_proba.shape[0], n_classes
    r = np.clip(pair_proba, _MIN_PAIR_PROBA, 1.0 - _MIN_PAIR_PROBA)
    R = np.zeros((n, k, k))  # R[:, i, j] = r_ij
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for column, (i, j) in enumerate(pairs):
        R[:, i, j] = r[:, column]
        R[:, j, i] = 1.0 - r[:, column]
    system = np.zeros((n, k + 1, k + 1))
    Q = system[:, :k, :k]
    Q[...] = -R.transpose(0, 2, 1) * R  # -r_ji r_ij
    diagonal = np.einsum("nsi,nsi->ni", R, R)  # sum_s r_si^2 (r_ii = 0)
    Q[:, np.arange(k), np.arange(k)] = diagonal
    system[:, :k, k] = 1.0
    system[:, k, :k] = 1.0
    rhs = np.zeros((n, k + 1, 1))
    rhs[:, k, 0] = 1.0
    p = np.linalg.solve(system, rhs)[:, :k, 0]
    np.maximum(p, 0.0, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return p


def stratified_folds(y_index: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """The fold of each row: each class's rows shuffled and dealt to the folds in turn, the
    dealing going on from fold to fold across classes so that fold sizes differ by at most
    one. A class with fewer rows than folds is simply absent from some folds' test parts."""
    folds = np.empty(y_index.shape[0], dtype=np.intp)
    start = 0
    for label in np.unique(y_index):
        rows = rng.permutation(np.flatnonzero(y_index == label))
        folds[rows] = (start + np.arange(rows.shape[0])) % n_folds
        start += rows.shape[0]
    return folds


class Stages:
    """The progress of one fit made of several (the calibration folds, then the final
    model), reported to `callback` as one fit: `share` spans every stage in proportion to
    its weight (its rows), iteration and max_iter count on across stages, and reports of
    the calibration folds carry "calibration": True (their losses are of other models, so
    a loss curve should leave them out)."""

    def __init__(self, callback: ProgressCallback | None, weights: list[float]) -> None:
        self.callback = callback
        total = float(sum(weights)) or 1.0
        self.widths = [w / total for w in weights]
        self.starts = [sum(self.widths[:i]) for i in range(len(weights))]
        self.offset = 0  # iterations of the stages already done
        self.stage_max = 0

    def stage(self, index: int, *, calibration: bool) -> ProgressCallback | None:
        if self.callback is None:
            return None
        self.offset += self.stage_max
        self.stage_max = 0
        start, width, callback = self.starts[index], self.widths[index], self.callback

        def report(info: dict[str, Any]) -> None:
            share = info.get("share")
            if share is None:
                share = info["iteration"] / max(info["max_iter"], 1)
            self.stage_max = max(self.stage_max, int(info["max_iter"]))
            out = {
                "iteration": self.offset + int(info["iteration"]),
                "max_iter": self.offset + int(info["max_iter"]),
                "loss": float(info["loss"]),
                "share": float(min(start + width * min(max(float(share), 0.0), 1.0), 1.0)),
            }
            if calibration:
                out["calibration"] = True
            callback(out)

        return report


class AvailableIf:
    """A method that exists only when `check(instance)` holds (scikit-learn's available_if):
    ``hasattr(model, "predict_proba")`` is False for a model built without probabilities."""

    def __init__(self, method: Callable[..., Any], check: Callable[[Any], bool]) -> None:
        self.method = method
        self.check = check
        functools.update_wrapper(self, method)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            # Read from the class: a function that checks the instance it is called with.
            @functools.wraps(self.method)
            def checked(estimator: Any, *args: Any, **kwargs: Any) -> Any:
                return self.__get__(estimator, owner)(*args, **kwargs)

            return checked
        if not self.check(instance):
            raise AttributeError(
                f"This {type(instance).__name__} has no {self.method.__name__!r}: it was "
                "built with probability=False (build it with probability=True)."
            )
        return MethodType(self.method, instance)


def if_probability(method: Callable[..., Any]) -> AvailableIf:
    """Decorator: the method exists only on estimators with probability=True."""
    return AvailableIf(method, lambda estimator: bool(estimator.probability))
