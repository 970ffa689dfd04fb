"""k-nearest-neighbour classification and regression by brute-force search.

`KNeighborsClassifier` and `KNeighborsRegressor` follow scikit-learn's estimators of the
same names (euclidean or manhattan distance, uniform or distance weights). Fit stores the
training data in the layout the search reads; prediction compares every query with every
training row, block by block, so memory stays bounded whatever the data size.
"""

from __future__ import annotations

import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, ClassifierMixin, RegressorMixin
from numpyml.progress import Progress, ProgressCallback
from numpyml.validation import (
    check_choice,
    check_classification_targets,
    check_is_fitted,
    check_scalar,
    check_targets,
    validate_data,
)

# Bound on the temporaries of the search (score blocks, samples, candidate lists).
_WORKING_MEMORY = 64 * 1024**2
# Target size of one score block (query rows x training rows): about a core's L2 cache,
# so that the comparison and extraction passes re-read it from cache, not memory.
_BLOCK_BYTES = 2 * 1024**2
# Narrowest panel (training rows) for the L1 kernel, and the pairs of one of its tiles.
_L1_MIN_WIDTH = 4096
_L1_TILE_PAIRS = 32768
# Training rows sampled per query to set its candidate threshold (at least this many).
_MIN_SAMPLE = 2048
# OpenBLAS runs a product on the calling thread below these sizes (m * n * k for a matrix
# product, m * n for matrix-vector); see _product for why that matters.
_GEMM_SINGLE_THREAD = 500_000
_GEMV_SINGLE_THREAD = 9_000
# Score blocks up to this size are computed in one piece (few queries).
_DIRECT_BYTES = 8 * 1024**2
# Searches with fewer (query, training row) pairs than this run on one thread; larger
# ones use up to _MAX_THREADS threads (each holding its own chunk's temporaries).
_PARALLEL_MIN_PAIRS = 1 << 24
_MAX_THREADS = 8
_EPS = np.finfo(np.float64).eps

_METRICS = ("minkowski", "euclidean", "manhattan")
_WEIGHTS = ("uniform", "distance")


class _KNeighborsBase(BaseEstimator):
    """Parameters, fit-time storage and the neighbour search shared by both estimators."""

    def __init__(
        self,
        *,
        n_neighbors: int = 5,
        weights: str = "uniform",
        metric: str = "minkowski",
        p: int | float = 2,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.metric = metric
        self.p = p

    def _effective_metric(self) -> str:
        check_choice(self.metric, "metric", _METRICS)
        if self.metric != "minkowski":
            return self.metric
        if isinstance(self.p, bool) or not isinstance(self.p, numbers.Real) or self.p not in (1, 2):
            raise ValueError(
                f"p must be 1 (manhattan) or 2 (euclidean) with metric='minkowski', got {self.p!r}."
            )
        return "euclidean" if self.p == 2 else "manhattan"

    def _validate_fit_X(self, X: Any) -> tuple[np.ndarray, str]:
        """Check the hyperparameters and the training data; return X and the metric."""
        check_scalar(self.n_neighbors, "n_neighbors", numbers.Integral, min_val=1)
        check_choice(self.weights, "weights", _WEIGHTS)
        metric = self._effective_metric()
        X = validate_data(self, X, reset=True)
        if self.n_neighbors > X.shape[0]:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} is larger than the {X.shape[0]} training "
                f"samples (n_samples={X.shape[0]}): give more samples or a smaller n_neighbors."
            )
        return X, metric

    def _store(self, X: np.ndarray, metric: str, progress: Progress) -> None:
        progress.part(1)
        self.effective_metric_ = metric
        self.n_samples_fit_ = X.shape[0]
        # Training data with features in rows (n_features, n_samples): a block of training
        # rows is then a column slice that BLAS and the L1 loop read with unit stride.
        if metric == "euclidean":
            # Two extra rows, |x|^2 / 2 and 1: the product of a query row [-q, 1, -t] with a
            # column is |x|^2/2 - q.x - t, which orders training rows like
            # |q - x|^2 = |q|^2 + 2 (|x|^2/2 - q.x) and is <= 0 exactly when below t.
            data = np.empty((X.shape[1] + 2, X.shape[0]))
            data[:-2] = X.T
            with np.errstate(over="ignore"):
                data[-2] = 0.5 * np.einsum("ij,ij->i", X, X)
            if not np.isfinite(data[-2]).all():
                raise ValueError(
                    "X holds values so large that squared distances overflow float64: "
                    "scale the features (e.g. StandardScaler) first."
                )
            data[-1] = 1.0
            self._fit_norm_max = float(np.sqrt(2.0 * data[-2].max()))
        else:
            data = np.ascontiguousarray(X.T)
            self._fit_norm_max = float(np.abs(X).sum(axis=1).max())
        self._fit_X = data
        progress.part(2)

    def _check_n_neighbors(self, n_neighbors: Any) -> int:
        check_scalar(n_neighbors, "n_neighbors", numbers.Integral, min_val=1)
        if n_neighbors > self.n_samples_fit_:
            raise ValueError(
                f"n_neighbors={n_neighbors} is larger than the {self.n_samples_fit_} "
                "training samples: expected n_neighbors <= n_samples_fit_."
            )
        return int(n_neighbors)

    def kneighbors(
        self, X: Any, n_neighbors: int | None = None, return_distance: bool = True
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """The nearest training rows of each query row, closest first.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query rows.
        n_neighbors : int, default=None
            How many neighbours to return; defaults to the `n_neighbors` parameter.
        return_distance : bool, default=True
            Also return the distances.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Distances to the neighbours (only when return_distance=True).
        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Row indices of the neighbours in the training data. Equal distances are
            ordered by index.
        """
        check_is_fitted(self, "_fit_X")
        k = self._check_n_neighbors(self.n_neighbors if n_neighbors is None else n_neighbors)
        X = validate_data(self, X, reset=False)
        dist, ind = self._kneighbors(X, k)
        return (dist, ind) if return_distance else ind

    def _neighbors_for_predict(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Validated neighbour indices plus the vote weights (None for uniform)."""
        check_is_fitted(self, "_fit_X")
        check_choice(self.weights, "weights", _WEIGHTS)
        k = self._check_n_neighbors(self.n_neighbors)
        X = validate_data(self, X, reset=False)
        dist, ind = self._kneighbors(X, k)
        return ind, (_distance_weights(dist) if self.weights == "distance" else None)

    def _kneighbors(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        euclidean = self.effective_metric_ == "euclidean"
        n_queries = X.shape[0]
        threads = 1
        if n_queries * self.n_samples_fit_ >= _PARALLEL_MIN_PAIRS:
            threads = min(_available_cores(), _MAX_THREADS, n_queries)
        search = _Search(self._fit_X, euclidean, self._fit_norm_max, k, n_queries, threads)
        dist = np.empty((n_queries, k))
        ind = np.empty((n_queries, k), dtype=np.intp)
        # Equal chunks, as many as the memory budget needs, rounded up to a multiple of
        # the thread count so that the threads finish together.
        n_chunks = -(-n_queries // search.chunk_rows)
        n_chunks = -(-n_chunks // threads) * threads
        size, extra = divmod(n_queries, n_chunks)
        edges = [i * size + min(i, extra) for i in range(n_chunks + 1)]
        chunks = [(a, b) for a, b in pairwise(edges) if b > a]

        def run(chunk: tuple[int, int]) -> None:
            start, stop = chunk
            dist[start:stop], ind[start:stop] = search.nearest(X[start:stop])

        if threads == 1 or len(chunks) == 1:
            for chunk in chunks:
                run(chunk)
        else:
            # numpy releases the GIL inside BLAS, ufunc loops, nonzero and partition, so
            # chunks searched on separate threads use separate cores (as scikit-learn's
            # OpenMP loop does).
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(run, chunks))
        return dist, ind


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Search:
    """Top-k search for chunks of query rows against the stored training data.

    Scores are |x|^2/2 - q.x (euclidean) or |q - x|_1 (manhattan): smaller is nearer.
    For a large training set each query first scores a strided sample of training rows;
    the k-th best sampled score bounds the k-th best overall, so the full pass only keeps
    the rows scoring at or below it (a few hundred per query rather than all of them),
    and the exact top k is taken among those with np.argpartition.
    """

    def __init__(
        self,
        data: np.ndarray,
        euclidean: bool,
        norm_max: float,
        k: int,
        n_queries: int,
        threads: int = 1,
    ) -> None:
        self.data = data
        self.euclidean = euclidean
        self.norm_max = norm_max
        self.k = k
        self.n_train = n_train = data.shape[1]
        self.n_features = data.shape[0] - 2 if euclidean else data.shape[0]
        sample = max(_MIN_SAMPLE, 16 * k, int(np.sqrt(8.0 * k * n_train)))
        # Every `stride`-th training row is scored first to set each query's threshold; on a
        # small training set (stride 0) argpartition over all rows is as cheap.
        self.stride = n_train // sample if 4 * sample < n_train else 0
        # Few queries: score all training rows at once. Many: go through cache-sized panels.
        self.tiled = bool(self.stride) and n_queries * n_train * 8 > _DIRECT_BYTES
        if self.tiled:
            self.sample = np.ascontiguousarray(data[:, :: self.stride])
            # Candidates held per query before compacting: 4x the expected k * n / sample.
            self.cap = max(8 * k, 4 * k * n_train // self.sample.shape[1])
            row_bytes = 16 * self.sample.shape[1] + 24 * self.cap
        else:
            row_bytes = 24 * n_train  # the full score row, a mask or temporary, indices
        # The L1 kernel runs faster on panels at least this wide (longer inner loops).
        min_width = 1 if euclidean else min(_L1_MIN_WIDTH, n_train)
        if self.tiled:
            row_bytes += 9 * min_width  # its panel and mask beyond the block budget
        # Each thread holds one chunk's temporaries at a time.
        budget = max(_WORKING_MEMORY // threads, 4 * _BLOCK_BYTES) - 2 * _BLOCK_BYTES
        rows = max(budget // row_bytes, 1)
        self.chunk_rows = int(min(rows, -(-n_queries // threads)))
        width = max(_BLOCK_BYTES // (8 * self.chunk_rows), min_width)
        self.width = int(min(width, n_train))

    def nearest(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the k nearest training rows, closest first."""
        best = self.top_k(Q)
        # Exact distances of the k winners (not the rounded scores), sorted, ties by index.
        diff = self.data[: self.n_features, best] - Q.T[:, :, None]
        if self.euclidean:
            dist = np.sqrt(np.einsum("jik,jik->ik", diff, diff))
        else:
            dist = np.abs(diff, out=diff).sum(axis=0)
        order = np.lexsort((best, dist), axis=1)
        return np.take_along_axis(dist, order, axis=1), np.take_along_axis(best, order, axis=1)

    def _prepare(self, Q: np.ndarray) -> np.ndarray:
        if not self.euclidean:
            return Q
        augmented = np.empty((Q.shape[0], Q.shape[1] + 2))
        np.negative(Q, out=augmented[:, :-2])
        augmented[:, -2] = 1.0
        augmented[:, -1] = 0.0  # the threshold, set once known
        return augmented

    def _scores(self, Qp: np.ndarray, columns: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Scores of query rows against training columns (features x rows), into `out`."""
        if self.euclidean:
            return _product(Qp, columns, out)
        return _l1_block(Qp, columns, out)

    def top_k(self, Q: np.ndarray) -> np.ndarray:
        """Indices of the k best-scoring training rows of each query row, unordered."""
        Qp = self._prepare(Q)
        m, k = Q.shape[0], self.k
        if not self.tiled:
            scores = np.empty((m, self.n_train))
            if self.euclidean and m <= 8:
                np.matmul(Qp, self.data, out=scores)  # one call: cheaper than _product's pieces
            else:
                self._scores(Qp, self.data, scores)
            return _select_smallest_k(scores, k, self.stride)

        scores = self._scores(Qp, self.sample, np.empty((m, self.sample.shape[1])))
        tau = np.partition(scores, k - 1, axis=1)[:, k - 1]
        # The sampled rows are scored again below by other products, which may round
        # differently: widen the threshold by a bound on that rounding.
        tau += self._rounding_margin(Q, tau)
        limit = self._set_threshold(Qp, tau)

        panel = np.empty(m * self.width)
        mask = np.empty(m * self.width, dtype=bool)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        held = 0
        for start in range(0, self.n_train, self.width):
            stop = min(start + self.width, self.n_train)
            width = stop - start
            block = self._scores(Qp, self.data[:, start:stop], panel[: m * width].reshape(m, width))
            hits = mask[: m * width].reshape(m, width)
            np.less_equal(block, limit, out=hits)
            flat = np.flatnonzero(hits)
            if flat.size == 0:
                continue
            row = flat // width
            rows.append(row)
            cols.append(flat - row * width + start)
            value = block.ravel()[flat]
            vals.append(value + tau[row] if self.euclidean else value)  # undo the shift
            held += flat.size
            if held > m * self.cap:
                # Keep each query's best k so far; their worst becomes the new threshold
                # (a query with fewer than k so far keeps its threshold: max is inf).
                best_cols, best_vals = _best_k_of_candidates(rows, cols, vals, m, k)
                tau = np.minimum(tau, best_vals.max(axis=1))
                limit = self._set_threshold(Qp, tau)
                found = best_cols >= 0
                rows = [np.nonzero(found)[0]]
                cols, vals = [best_cols[found]], [best_vals[found]]
                held = rows[0].size
        if held < m * k or np.bincount(np.concatenate(rows), minlength=m).min() < k:
            return self._exhaustive(Qp, k)  # only if the rounding margin were too small
        return _best_k_of_candidates(rows, cols, vals, m, k)[0]

    def _set_threshold(self, Qp: np.ndarray, tau: np.ndarray) -> np.ndarray | float:
        """What scores are compared with: the euclidean product subtracts tau itself."""
        if self.euclidean:
            Qp[:, -1] = -tau
            return 0.0
        return tau[:, None]

    def _rounding_margin(self, Q: np.ndarray, tau: np.ndarray) -> np.ndarray:
        if self.euclidean:
            q_norm = np.sqrt(np.einsum("ij,ij->i", Q, Q))
            bound = q_norm * self.norm_max + 0.5 * self.norm_max**2
        else:
            bound = np.abs(Q).sum(axis=1) + self.norm_max
        return 4.0 * (self.n_features + 3) * _EPS * (bound + np.abs(tau))

    def _exhaustive(self, Qp: np.ndarray, k: int) -> np.ndarray:
        if self.euclidean:
            Qp[:, -1] = 0.0
        best = np.empty((Qp.shape[0], k), dtype=np.intp)
        step = max(1, self.chunk_rows * self.width // self.n_train)
        for start in range(0, Qp.shape[0], step):
            part = Qp[start : start + step]
            block = self._scores(part, self.data, np.empty((part.shape[0], self.n_train)))
            best[start : start + step] = _smallest_k(block, k)
        return best


def _product(A: np.ndarray, B: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = A @ B, in pieces small enough that OpenBLAS runs each on the calling thread.

    OpenBLAS starts a second thread for larger products; on a busy machine waking it can
    cost a scheduler time slice per call, far more than the product itself.
    """
    m, inner = A.shape
    step_rows = min(m, 64)
    limit = _GEMV_SINGLE_THREAD if m == 1 else _GEMM_SINGLE_THREAD
    step_cols = max(1, limit // (step_rows * inner))
    for i in range(0, m, step_rows):
        for j in range(0, B.shape[1], step_cols):
            np.matmul(
                A[i : i + step_rows],
                B[:, j : j + step_cols],
                out=out[i : i + step_rows, j : j + step_cols],
            )
    return out


def _l1_block(Q: np.ndarray, columns: np.ndarray, out: np.ndarray) -> np.ndarray:
    """L1 distances between the rows of Q and the columns of `columns`, into `out`.

    One feature at a time over tiles of at most 8 query rows x 32k pairs: the running
    sums and the temporary then stay in L2 cache, which is faster than larger tiles.
    """
    n_rows, n_cols = out.shape
    rows = min(8, n_rows)
    cols = max(_L1_TILE_PAIRS // rows, 1)
    tmp = np.empty(rows * min(cols, n_cols))
    for i in range(0, n_rows, rows):
        q = Q[i : i + rows]
        for c in range(0, n_cols, cols):
            acc = out[i : i + rows, c : c + cols]
            x = columns[:, c : c + cols]
            t = tmp[: acc.size].reshape(acc.shape)
            np.subtract(q[:, :1], x[:1], out=acc)
            np.abs(acc, out=acc)
            for j in range(1, x.shape[0]):
                np.subtract(q[:, j : j + 1], x[j : j + 1], out=t)
                np.abs(t, out=t)
                acc += t
    return out


def _select_smallest_k(scores: np.ndarray, k: int, stride: int) -> np.ndarray:
    """Column indices of the k smallest scores of each row, unordered.

    With a stride, the k-th smallest of every stride-th score bounds the k-th smallest of
    the row: only the scores below it (about k * stride per row) go to argpartition.
    """
    if not stride:
        return _smallest_k(scores, k)
    m, n = scores.shape
    tau = np.partition(scores[:, ::stride], k - 1, axis=1)[:, k - 1]
    if m == 1:  # a single query (the latency-critical case): skip the ragged bookkeeping
        candidates = np.flatnonzero(scores[0] <= tau[0])
        if candidates.size > k:
            candidates = candidates[np.argpartition(scores[0, candidates], k - 1)[:k]]
        return candidates[None, :]
    flat = np.flatnonzero(scores <= tau[:, None])
    row = flat // n
    return _best_k_of_candidates([row], [flat - row * n], [scores.ravel()[flat]], m, k)[0]


def _smallest_k(block: np.ndarray, k: int) -> np.ndarray:
    if k == block.shape[1]:
        return np.broadcast_to(np.arange(k), block.shape).copy()
    return np.argpartition(block, k - 1, axis=1)[:, :k]


def _best_k_of_candidates(
    rows: list[np.ndarray], cols: list[np.ndarray], vals: list[np.ndarray], m: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per query row, the k smallest of its candidates: (columns, values), each (m, k).

    A row with fewer than k candidates gets column -1 and value +inf in the missing slots.
    """
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    val = np.concatenate(vals)
    order = np.argsort(row, kind="stable")
    row, col, val = row[order], col[order], val[order]
    counts = np.bincount(row, minlength=m)
    starts = np.zeros(m, dtype=np.intp)
    np.cumsum(counts[:-1], out=starts[1:])
    # Lay the ragged candidate lists out as a dense matrix padded with +inf.
    dense = np.full((m, max(int(counts.max()), k)), np.inf)
    dense[row, np.arange(row.size) - starts[row]] = val
    slot = _smallest_k(dense, k)
    if counts.min() >= k:
        pick = starts[:, None] + slot
        return col[pick], val[pick]
    found = slot < counts[:, None]
    pick = np.where(found, starts[:, None] + slot, 0)
    return np.where(found, col[pick], -1), np.where(found, val[pick], np.inf)


def _distance_weights(dist: np.ndarray) -> np.ndarray:
    """1 / distance; a query with exact matches gives them all the weight (as scikit-learn)."""
    exact = dist == 0
    if not exact.any():
        return 1.0 / dist
    with np.errstate(divide="ignore"):
        weights = 1.0 / dist
    has_exact = exact.any(axis=1)
    weights[has_exact] = exact[has_exact]
    return weights


class KNeighborsClassifier(ClassifierMixin, _KNeighborsBase):
    """Classifier voting among the k nearest training samples.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours that vote.
    weights : {"uniform", "distance"}, default="uniform"
        "uniform": every neighbour counts the same; "distance": a neighbour counts
        1 / distance, and exact matches (distance 0) take all the weight.
    metric : {"minkowski", "euclidean", "manhattan"}, default="minkowski"
        Distance; "minkowski" means euclidean for p=2 and manhattan for p=1.
    p : {1, 2}, default=2
        Power of the Minkowski distance (used when metric="minkowski").

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    effective_metric_ : str
        The distance used: "euclidean" or "manhattan".
    n_samples_fit_ : int
        Number of training samples.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X, when X had named columns.

    Notes
    -----
    Brute force: the euclidean search ranks training rows by |x|^2/2 - q.x (one matrix
    product per block, with |x|^2 stored at fit), keeps those below a per-query threshold
    taken from a sample of rows, and selects the k nearest among them with argpartition;
    the returned distances are then computed exactly. predict_proba is the (weighted)
    share of each class among the neighbours and predict its argmax; ties go to the
    smallest label, as in scikit-learn.
    """

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> KNeighborsClassifier:
        """Store the training data and labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two distinct.
        callback : callable, default=None
            Called as each part of the fit is done (numpyml.progress.ProgressCallback, with
            no loss): the data checked, then stored (the work comes at prediction).

        Returns
        -------
        self : KNeighborsClassifier
        """
        X, metric = self._validate_fit_X(X)
        y = check_targets(y, X.shape[0], numeric=False, estimator=self)
        self.classes_ = check_classification_targets(y, estimator=self)
        self._y = np.searchsorted(self.classes_, y)
        self._store(X, metric, Progress(callback, 2))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Share of each class among the (weighted) neighbours.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        ndarray of shape (n_queries, n_classes)
            Columns follow `classes_`; rows sum to 1.
        """
        ind, weights = self._neighbors_for_predict(X)
        n_classes = self.classes_.shape[0]
        slots = self._y[ind] + n_classes * np.arange(ind.shape[0])[:, None]
        votes = np.bincount(
            slots.ravel(),
            weights=None if weights is None else weights.ravel(),
            minlength=ind.shape[0] * n_classes,
        ).reshape(ind.shape[0], n_classes)
        return votes / votes.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Class with the most (weighted) neighbour votes.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        ndarray of shape (n_queries,)
            Labels taken from `classes_`.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def predict_with_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """`predict(X)` and `predict_proba(X)` from one neighbour search."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)], proba


class KNeighborsRegressor(RegressorMixin, _KNeighborsBase):
    """Regressor averaging the targets of the k nearest training samples.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours averaged.
    weights : {"uniform", "distance"}, default="uniform"
        "uniform": plain mean; "distance": mean weighted by 1 / distance, exact matches
        (distance 0) taking all the weight.
    metric : {"minkowski", "euclidean", "manhattan"}, default="minkowski"
        Distance; "minkowski" means euclidean for p=2 and manhattan for p=1.
    p : {1, 2}, default=2
        Power of the Minkowski distance (used when metric="minkowski").

    Attributes
    ----------
    effective_metric_ : str
        The distance used: "euclidean" or "manhattan".
    n_samples_fit_ : int
        Number of training samples.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X, when X had named columns.

    Notes
    -----
    The prediction is sum_i w_i y_i / sum_i w_i over the k nearest neighbours, with
    w_i = 1 (uniform) or 1 / d_i (distance). The search is the classifier's.
    """

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> KNeighborsRegressor:
        """Store the training data and targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Numeric targets.
        callback : callable, default=None
            Called as each part of the fit is done (numpyml.progress.ProgressCallback, with
            no loss): the data checked, then stored (the work comes at prediction).

        Returns
        -------
        self : KNeighborsRegressor
        """
        X, metric = self._validate_fit_X(X)
        self._y = check_targets(y, X.shape[0], numeric=True, estimator=self).copy()
        self._store(X, metric, Progress(callback, 2))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Mean target of the (weighted) neighbours.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        ind, weights = self._neighbors_for_predict(X)
        targets = self._y[ind]
        if weights is None:
            return targets.mean(axis=1)
        return (targets * weights).sum(axis=1) / weights.sum(axis=1)
