"""K-means clustering (Lloyd's algorithm with k-means++ seeding), like scikit-learn's KMeans."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, ClusterMixin, TransformerMixin, iteration_cap
from numpyml.exceptions import ConvergenceWarning
from numpyml.progress import Progress, ProgressCallback, convergence_share
from numpyml.validation import (
    check_array,
    check_choice,
    check_is_fitted,
    check_random_state,
    check_scalar,
    validate_data,
)

# Products are computed on blocks of rows small enough that OpenBLAS runs each on one
# thread: it threads a matrix product from about 2**19 multiply-adds and a
# matrix-vector product from 9216 matrix elements, and on a busy 2-core machine its
# spinning second thread makes thin (n x 20) @ (20 x k) products many times slower (on a
# quiet one it gains little on them). Blocks this size also keep temporaries in cache.
_BLOCK_WORK = 2**19
_VECTOR_WORK = 2**13


def _block_rows(inner: int, outputs: int) -> int:
    """Rows per block for a product of (rows, inner) by (inner, outputs)."""
    budget = _VECTOR_WORK if min(inner, outputs) == 1 else _BLOCK_WORK
    return max(64, budget // max(inner * outputs, 1))


def _blocks(n_rows: int, inner: int, outputs: int) -> Iterator[slice]:
    step = _block_rows(inner, outputs)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _squared_norms(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", X, X)


def _squared_distances(
    X: np.ndarray, x_squared_norms: np.ndarray, points: np.ndarray
) -> np.ndarray:
    """||p - x||² for every point p and every row x of X, shape (n_points, n_samples).

    Computed as ||x||² - 2 p·x + ||p||² (one matmul per block of rows), clipped at 0.
    Points are rows of the result so that per-point reductions run along long rows.
    """
    distances = np.empty((points.shape[0], X.shape[0]))
    neg2_points = -2.0 * points
    for rows in _blocks(X.shape[0], X.shape[1], points.shape[0]):
        np.matmul(neg2_points, X[rows].T, out=distances[:, rows])
    distances += x_squared_norms
    distances += _squared_norms(points)[:, None]
    return np.maximum(distances, 0.0, out=distances)


def kmeans_plusplus(
    X: Any,
    n_clusters: int,
    *,
    x_squared_norms: np.ndarray | None = None,
    random_state: int | np.random.Generator | None = None,
    n_local_trials: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii), as scikit-learn does it.

    Each new centre is the best (lowest resulting potential) of `n_local_trials`
    candidates drawn with probability proportional to the squared distance to the
    nearest centre chosen so far.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data to pick centres from.
    n_clusters : int
        Number of centres (at most n_samples).
    x_squared_norms : ndarray of shape (n_samples,), default=None
        Precomputed squared row norms of X.
    random_state : int, numpy.random.Generator or None, default=None
        Source of randomness.
    n_local_trials : int, default=None
        Candidates per centre; None means ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    indices : ndarray of shape (n_clusters,)
        Row of X each centre was taken from.
    """
    X = check_array(X)
    check_scalar(n_clusters, "n_clusters", numbers.Integral, min_val=1, max_val=X.shape[0])
    if n_local_trials is not None:
        check_scalar(n_local_trials, "n_local_trials", numbers.Integral, min_val=1)
    rng = check_random_state(random_state)
    return _kmeans_plusplus(X, n_clusters, rng, x_squared_norms, n_local_trials)


def _kmeans_plusplus(
    X: np.ndarray,
    n_clusters: int,
    rng: np.random.Generator,
    x_squared_norms: np.ndarray | None = None,
    n_local_trials: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    n_samples, n_features = X.shape
    if x_squared_norms is None:
        x_squared_norms = _squared_norms(X)
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))
    centers = np.empty((n_clusters, n_features))
    indices = np.empty(n_clusters, dtype=np.intp)
    first = int(rng.integers(n_samples))
    centers[0], indices[0] = X[first], first
    closest = _squared_distances(X, x_squared_norms, X[first : first + 1])[0]
    potential = closest.sum()
    for c in range(1, n_clusters):
        targets = rng.random(n_local_trials) * potential
        candidates = np.searchsorted(np.cumsum(closest), targets)
        np.clip(candidates, None, n_samples - 1, out=candidates)
        trial = _squared_distances(X, x_squared_norms, X[candidates])
        np.minimum(closest, trial, out=trial)
        potentials = np.einsum("ij->i", trial)
        best = int(np.argmin(potentials))
        potential, closest = potentials[best], trial[best]
        indices[c] = candidates[best]
        centers[c] = X[indices[c]]
    return centers, indices


def _augmented_centred(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """[X - mean, 1]. The column of ones lets the distance matmul add ||c||² and the
    update matmul count each cluster's members, saving two passes per iteration."""
    augmented = np.empty((X.shape[0], X.shape[1] + 1))
    np.subtract(X, mean, out=augmented[:, :-1])
    augmented[:, -1] = 1.0
    return augmented


def _assign(
    X_augmented: np.ndarray, centers: np.ndarray, labels: np.ndarray, with_sums: bool
) -> np.ndarray | None:
    """Label each row with its nearest centre (written into `labels`).

    argmin_k ||x - c_k||² = argmin_k (-2 x·c_k + ||c_k||²): one matmul per block of
    [x, 1] rows. With `with_sums`, also return per-cluster sums of [x, 1] (member sums
    and counts, shape (n_clusters, n_features + 1)) from a one-hot matmul on the same
    block while it is in cache.
    """
    n_clusters, n_features = centers.shape
    weights = np.empty((n_features + 1, n_clusters))
    weights[:-1] = -2.0 * centers.T
    weights[-1] = _squared_norms(centers)
    cluster_ids = np.arange(n_clusters)[:, None]
    sums = np.zeros((n_clusters, n_features + 1)) if with_sums else None
    for rows in _blocks(X_augmented.shape[0], n_features + 1, n_clusters):
        block = X_augmented[rows]
        block_labels = (block @ weights).argmin(axis=1)
        labels[rows] = block_labels
        if sums is not None:
            sums += (cluster_ids == block_labels).astype(np.float64) @ block
    return sums


def _exact_inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for rows in _blocks(X.shape[0], X.shape[1], 16):
        diff = X[rows] - centers[labels[rows]]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


def _relocate_empty(
    X: np.ndarray,
    centers_old: np.ndarray,
    labels: np.ndarray,
    sums: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Move each empty cluster onto one of the points farthest from its centre.

    Done on the sums and counts before averaging, like scikit-learn: the point leaves
    its old cluster's sum and becomes the empty cluster's only member.
    """
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0:
        return
    distances = np.empty(X.shape[0])
    for rows in _blocks(X.shape[0], X.shape[1], 16):
        diff = X[rows] - centers_old[labels[rows]]
        distances[rows] = np.einsum("ij,ij->i", diff, diff)
    if distances.max() == 0.0:
        return  # fewer distinct points than clusters: nothing to move
    far = np.argpartition(distances, -empty.size)[: -empty.size - 1 : -1]
    for new_cluster, index in zip(empty, far, strict=True):
        old_cluster = labels[index]
        sums[old_cluster] -= X[index]
        sums[new_cluster] = X[index]
        counts[old_cluster] -= 1
        counts[new_cluster] = 1


def _lloyd(
    X_augmented: np.ndarray,
    total_squared_norm: float,
    centers: np.ndarray,
    max_iter: int,
    tol: float,
    progress: Progress,
    first_step: int,
    run: tuple[int, int] = (0, 1),
) -> tuple[np.ndarray, float, np.ndarray, int, bool]:
    """One k-means run from the given centres (scikit-learn's `_kmeans_single_lloyd`);
    `run` is its index among the fit's runs and their number, for the progress share."""
    X = X_augmented[:, :-1]
    labels = np.empty(X.shape[0], dtype=np.intp)
    labels_old = np.full(X.shape[0], -1, dtype=np.intp)
    strict = converged = False
    iteration, first_shift, within = 0, np.inf, 0.0
    for iteration in range(max_iter):
        augmented_sums = _assign(X_augmented, centers, labels, with_sums=True)
        sums, counts = augmented_sums[:, :-1], augmented_sums[:, -1].copy()
        # Inertia of this assignment: sum ||x||² + sum_k (n_k ||c_k||² - 2 c_k·S_k).
        inertia = total_squared_norm + counts @ _squared_norms(centers)
        inertia -= 2.0 * float(np.einsum("kd,kd->", centers, sums))
        _relocate_empty(X, centers, labels, sums, counts)
        filled = counts > 0
        centers_new = centers.copy()
        centers_new[filled] = sums[filled] / counts[filled, None]
        shift = float(((centers_new - centers) ** 2).sum())
        # Lloyd stops when the centres move less than tol, mostly long before max_iter.
        if iteration == 0:
            first_shift = shift
        within = max(within, (iteration + 1) / max_iter, convergence_share(first_shift, shift, tol))
        share = (run[0] + within) / run[1]
        progress.step(first_step + iteration + 1, max(inertia, 0.0), share=share)
        centers = centers_new
        if np.array_equal(labels, labels_old):
            strict = converged = True
            break
        if shift <= tol:
            converged = True
            break
        labels_old, labels = labels, labels_old
    if not strict:
        # One more assignment so that labels_ agree with the final centres.
        _assign(X_augmented, centers, labels, with_sums=False)
    return labels, _exact_inertia(X, centers, labels), centers, iteration + 1, converged


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (and centres).
    init : {"k-means++", "random"} or ndarray of shape (n_clusters, n_features), \
default="k-means++"
        Seeding: greedy k-means++, `n_clusters` distinct random rows, or explicit centres.
    n_init : "auto" or int, default="auto"
        Number of seedings run; the run with the lowest inertia is kept. "auto" means
        1 for "k-means++" and explicit centres, 10 for "random".
    max_iter : int, default=300
        Maximum Lloyd iterations per run. Above 300 it is capped by the data size (see
        `numpyml.base.iteration_cap`): n_iter_ never exceeds `max_iter_`.
    tol : float, default=1e-4
        A run stops when the squared shift of the centres falls to `tol` times the mean
        per-feature variance of X (or when no label changes).
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the seeding.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centres.
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row.
    inertia_ : float
        Sum of squared distances of the training rows to their centre.
    n_iter_ : int
        Lloyd iterations of the kept run.
    max_iter_ : int
        The iterations allowed per run: `max_iter`, or less when n_init x max_iter x
        the cost of an iteration on X exceeded the work budget.
    loss_curve_ : list of float
        Inertia of the assignment at each iteration of the kept run.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had them.

    Notes
    -----
    Minimises the inertia sum_i min_j ||x_i - c_j||² by alternating the assignment of
    each row to its nearest centre (distances as ||x||² - 2 x·c + ||c||², one matmul
    per block of rows) and the move of each centre to the mean of its rows. The data
    are centred during fit for numerical accuracy, as in scikit-learn.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        init: str | np.ndarray = "k-means++",
        n_init: str | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_params(self, n_features: int) -> tuple[np.ndarray | str, int]:
        check_scalar(self.n_clusters, "n_clusters", numbers.Integral, min_val=1)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0.0)
        if isinstance(self.init, str):
            init: np.ndarray | str = check_choice(self.init, "init", ["k-means++", "random"])
        else:
            init = check_array(self.init, what="init")
            if init.shape != (self.n_clusters, n_features):
                raise ValueError(
                    f"init has shape {init.shape}, expected (n_clusters, n_features) = "
                    f"({self.n_clusters}, {n_features})."
                )
        if isinstance(self.n_init, str):
            check_choice(self.n_init, "n_init", ["auto"])
            n_init = 10 if isinstance(init, str) and init == "random" else 1
        else:
            n_init = check_scalar(self.n_init, "n_init", numbers.Integral, min_val=1)
        return init, int(n_init)

    def fit(self, X: Any, y: Any = None, callback: ProgressCallback | None = None) -> KMeans:
        """Compute the cluster centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        callback : callable, default=None
            Called with {"iteration", "max_iter", "loss"} (loss = inertia) as fit runs.

        Returns
        -------
        self : KMeans
        """
        X = validate_data(self, X, reset=True)
        init, n_init = self._check_params(X.shape[1])
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        rng = check_random_state(self.random_state)
        # einsum sums columns in one pass; X.mean(axis=0) is far slower on tall arrays.
        x_mean = np.einsum("ij->j", X) / X.shape[0]
        # Centring keeps ||x||² - 2 x·c + ||c||² accurate.
        X_augmented = _augmented_centred(X, x_mean)
        X = X_augmented[:, :-1]
        x_squared_norms = _squared_norms(X)
        total_squared_norm = float(x_squared_norms.sum())
        # Mean per-feature variance of the centred data, from the norms already at hand.
        tol = total_squared_norm / X.size * self.tol
        n_samples, n_features = X.shape
        work = n_samples * self.n_clusters * n_features
        self.max_iter_ = iteration_cap(self.max_iter, 300, work, n_init)
        progress = Progress(callback, self.max_iter_ * n_init)
        runs = []
        for run in range(n_init):
            start = len(progress.losses)
            centers = self._seed(X, x_squared_norms, init, x_mean, rng)
            result = _lloyd(
                X_augmented,
                total_squared_norm,
                centers,
                self.max_iter_,
                tol,
                progress,
                start,
                (run, n_init),
            )
            runs.append((result, progress.losses[start:]))
        progress.done(len(progress.losses))
        # The first run with the lowest inertia wins (min keeps the first of ties).
        (labels, inertia, centers, n_iter, converged), curve = min(runs, key=lambda r: r[0][1])
        if not converged:
            warnings.warn(
                f"KMeans stopped at {self.max_iter_} iterations (max_iter={self.max_iter}) "
                "before the centres converged; increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        n_distinct = np.unique(labels).size
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters "
                f"({self.n_clusters}): X probably has duplicate points.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centers + x_mean
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.loss_curve_ = curve
        return self

    def _seed(
        self,
        X: np.ndarray,
        x_squared_norms: np.ndarray,
        init: np.ndarray | str,
        x_mean: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        if isinstance(init, np.ndarray):
            return init - x_mean
        if init == "random":
            return X[rng.choice(X.shape[0], size=self.n_clusters, replace=False)]
        return _kmeans_plusplus(X, self.n_clusters, rng, x_squared_norms)[0]

    def _check_fitted(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "cluster_centers_")
        return validate_data(self, X, reset=False)

    def _distances(self, X: np.ndarray) -> np.ndarray:
        """Squared distances to the centres minus ||x||² (enough for an argmin)."""
        centers = self.cluster_centers_
        neg2_centers_t = -2.0 * centers.T
        center_norms = np.einsum("ij,ij->i", centers, centers)
        if X.shape[0] <= _block_rows(*neg2_centers_t.shape):
            distances = X @ neg2_centers_t
            distances += center_norms
            return distances
        distances = np.empty((X.shape[0], centers.shape[0]))
        for rows in _blocks(X.shape[0], *neg2_centers_t.shape):
            np.matmul(X[rows], neg2_centers_t, out=distances[rows])
        distances += center_norms
        return distances

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre for each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._check_fitted(X)
        return self._distances(X).argmin(axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of each row of X to each centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        X = self._check_fitted(X)
        distances = self._distances(X)
        distances += np.einsum("ij,ij->i", X, X)[:, None]
        np.maximum(distances, 0.0, out=distances)
        return np.sqrt(distances, out=distances)

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the inertia of X with respect to the fitted centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        X = self._check_fitted(X)
        labels = self._distances(X).argmin(axis=1)
        return -_exact_inertia(X, self.cluster_centers_, labels)

    def fit_predict(
        self, X: Any, y: Any = None, callback: ProgressCallback | None = None
    ) -> np.ndarray:
        """Fit and return `labels_` (the labels of the final assignment).

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
        return self.fit(X, callback=callback).labels_

    def fit_transform(
        self, X: Any, y: Any = None, callback: ProgressCallback | None = None
    ) -> np.ndarray:
        """Fit, then return the distances of X to the centres (see `transform`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; accepted for pipeline compatibility.
        callback : callable, default=None
            See `fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
            Euclidean distance of each sample to each centre.
        """
        return self.fit(X, callback=callback).transform(X)
