"""Support vector classification: the C-SVC dual solved by SMO, the way libsvm does it.

The solver is libsvm's (Fan, Chen and Lin 2005): pairwise SMO steps chosen by
second-order working-set selection (WSS2), shrinking of variables stuck at a bound, and
kernel rows computed on demand through a byte-bounded LRU cache. Each step is about ten
numpy calls on vectors over the active variables plus scalar Python for the pair update,
which dominate on small problems; on large ones the time goes to computing kernel rows.
Multiclass problems are split one-vs-one, like libsvm and scikit-learn.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from numpyml import calibration
from numpyml.base import BaseEstimator, ClassifierMixin
from numpyml.exceptions import ConvergenceWarning
from numpyml.progress import Progress, ProgressCallback, convergence_share
from numpyml.validation import (
    check_choice,
    check_classification_targets,
    check_is_fitted,
    check_random_state,
    check_scalar,
    check_targets,
    validate_data,
)

_TAU = 1e-12  # libsvm's floor for a non-positive curvature along the pair direction
_SHRINK_INTERVAL = 1000  # libsvm tries to shrink every min(n, 1000) steps
_DEFAULT_MAX_ITER = 10_000_000  # libsvm's cap when max_iter=-1 (or 100 * n if larger)
# Below 1,000 samples the cap is this many steps per sample instead of libsvm's 10**7: a
# tiny problem that cannot reach tol (a tol below float precision, a huge C) would
# otherwise run all 10**7 steps. A problem that converges needs far fewer.
_STEPS_PER_SAMPLE = 10_000
_BLOCK_ELEMENTS = 1 << 20  # kernel blocks of at most ~8 MB of float64
_DENSE_PAIR_ELEMENTS = 1 << 22  # largest dense (n_SV, n_pairs) weight matrix kept for predict


def _row_norms(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", X, X)


def _scaled_transpose(support_vectors: np.ndarray, gamma: float) -> np.ndarray:
    """(2 gamma SV)^T in C order: the rbf predict's matmul then needs no extra pass."""
    return np.ascontiguousarray((2.0 * gamma) * support_vectors.T)


def _kernel_block(
    X: np.ndarray, Y: np.ndarray, kernel: str, gamma: float, y_sq: np.ndarray
) -> np.ndarray:
    """K(X, Y) for one block; `y_sq` are the squared norms of the rows of Y."""
    block = X @ Y.T
    if kernel == "rbf":
        # exp(-gamma |x - y|^2) expanded; the exponent stays <= ~0 so exp never overflows.
        block *= 2.0 * gamma
        block -= gamma * y_sq
        block -= (gamma * _row_norms(X))[:, None]
        np.exp(block, out=block)
    return block


def _pairs(n_classes: int) -> list[tuple[int, int]]:
    """The one-vs-one problems (i, j), i < j, in libsvm's order."""
    return [(a, b) for a in range(n_classes) for b in range(a + 1, n_classes)]


class _KernelRows:
    """Kernel rows K(x_t, x_s) over the active variables s, cached LRU within a byte budget.

    Shrinking removes variables from the active set; a cached row computed for an older
    (larger) active set is compacted on its next use through a position map, so shrinking
    costs nothing for rows that are never asked for again. Each entry also keeps, once the
    variable has been chosen as i, the WSS2 weights 1 / sqrt(K_ii + K_jj - 2 K_ij).
    """

    def __init__(self, X: np.ndarray, kernel: str, gamma: float, budget: int) -> None:
        self.X = X
        self.kernel = kernel
        self.gamma = gamma
        self.sq = _row_norms(X)
        self.budget = max(int(budget), 4 * X.shape[0] * 8)
        self.cache: dict[int, list[Any]] = {}
        self.maps: dict[int, np.ndarray] = {}
        self.bytes = 0
        self.generation = 0
        self.activate(np.arange(X.shape[0]))

    def activate(self, active: np.ndarray) -> None:
        """Start over on a new active set (unshrinking): cached rows no longer fit it."""
        self.cache.clear()
        self.maps.clear()
        self.bytes = 0
        self.generation += 1
        self._set_active(active)

    def shrink(self, keep: np.ndarray) -> None:
        """Keep only the active positions `keep` (sorted)."""
        live = {entry[0] for entry in self.cache.values()}
        self.maps = {g: m[keep] for g, m in self.maps.items() if g in live}
        if self.generation in live:
            self.maps[self.generation] = keep
        self.generation += 1
        self._set_active(self.active[keep])

    def _set_active(self, active: np.ndarray) -> None:
        self.active = active
        self.keys = active.tolist()
        Xa = self.X if active.shape[0] == self.X.shape[0] else self.X[active]
        if self.kernel == "rbf":
            self.Xa = Xa * (2.0 * self.gamma)
            self.neg_sq = self.sq[active] * -self.gamma
            self.diag = np.ones(active.shape[0])
        else:
            self.Xa = Xa
            self.diag = self.sq[active]

    def _entry(self, position: int) -> list[Any]:
        key = self.keys[position]
        entry = self.cache.pop(key, None)
        if entry is None:
            values = self.Xa @ self.X[key]
            if self.kernel == "rbf":
                values += self.neg_sq
                values -= self.gamma * self.sq[key]
                np.exp(values, out=values)
            entry = [self.generation, values, None]
            self.bytes += values.nbytes
            while self.bytes > self.budget and self.cache:
                old = self.cache.pop(next(iter(self.cache)))  # least recently used
                self.bytes -= old[1].nbytes + (0 if old[2] is None else old[2].nbytes)
        elif entry[0] != self.generation:
            where = self.maps[entry[0]]
            self.bytes -= entry[1].nbytes
            entry[1] = entry[1][where]
            self.bytes += entry[1].nbytes
            if entry[2] is not None:
                self.bytes -= entry[2].nbytes
                entry[2] = entry[2][where]
                self.bytes += entry[2].nbytes
            entry[0] = self.generation
        self.cache[key] = entry  # (re)inserted last: most recently used
        return entry

    def row(self, position: int) -> np.ndarray:
        """K(x_t, X[active]) for the variable at active `position`; never modify it."""
        return self._entry(position)[1]

    def row_and_weights(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """The row and 1 / sqrt(max(K_ii + K_ss - 2 K_is, tau)) over the active s."""
        entry = self._entry(position)
        if entry[2] is None:
            curvature = entry[1] * -2.0
            curvature += self.diag
            curvature += self.diag.item(position)
            np.maximum(curvature, _TAU, out=curvature)
            np.sqrt(curvature, out=curvature)
            entry[2] = np.divide(1.0, curvature, out=curvature)
            self.bytes += curvature.nbytes
        return entry[1], entry[2]

    def decision(self, rows: np.ndarray, coef: np.ndarray, support: np.ndarray) -> np.ndarray:
        """sum_s coef_s K(x_t, x_s) for every t in `rows`, block by block."""
        Xs = self.X[support]
        if self.kernel == "linear" or support.shape[0] == 0:
            return self.X[rows] @ (Xs.T @ coef)
        out = np.empty(rows.shape[0])
        s_sq = self.sq[support]
        step = max(1, _BLOCK_ELEMENTS // support.shape[0])
        for start in range(0, rows.shape[0], step):
            block = rows[start : start + step]
            out[start : start + step] = (
                _kernel_block(self.X[block], Xs, self.kernel, self.gamma, s_sq) @ coef
            )
        return out


class _BinarySMO:
    """libsvm's Solver for one C-SVC dual: min 1/2 a'Qa - sum(a), 0 <= a <= C, y'a = 0.

    The state is F = y * gradient (F_t = sum_s y_s a_s K_ts - y_t), so that a step on the
    pair (i, j) updates it with two unsigned kernel rows. On the active set it is held as
    two copies, the rows of `bounds`: f_up (F where y_t a_t may grow, +inf elsewhere) and
    f_low (F where it may shrink, -inf elsewhere). Working-set selection becomes an argmin
    and an argmax, and one in-place add updates both.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        C: float,
        kernel: str,
        gamma: float,
        tol: float,
        max_iter: int,
        shrinking: bool,
        cache_bytes: int,
    ) -> None:
        self.n = X.shape[0]
        self.y = y
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.shrinking = shrinking
        self.rows = _KernelRows(X, kernel, gamma, cache_bytes)
        # Full-length state; the active copies are written back on shrink and at the end.
        self.alpha = np.zeros(self.n)
        self.F = -y
        self.unshrunk = False
        self.objective = 0.0
        self.snapshot: np.ndarray | None = None  # alpha == C when f_bar was computed
        self.f_bar = np.zeros(0)
        self._load_active()

    # -- active set bookkeeping ---------------------------------------------------------

    def _load_active(self) -> None:
        active = self.rows.active
        full = active.shape[0] == self.n
        F = self.F if full else self.F[active]
        self.aa = self.alpha.copy() if full else self.alpha[active]
        self.ya = self.y if full else self.y[active]
        positive = self.ya > 0
        below_c = self.aa < self.C
        above_0 = self.aa > 0
        # up: y_t a_t may grow; low: it may shrink (libsvm's I_up and I_low).
        self.bounds = np.empty((2, F.shape[0]))
        self.bounds[0] = np.where(np.where(positive, below_c, above_0), F, np.inf)
        self.bounds[1] = np.where(np.where(positive, above_0, below_c), F, -np.inf)

    def _store_active(self) -> None:
        active = self.rows.active
        f_up, f_low = self.bounds
        self.F[active] = np.where(f_up < np.inf, f_up, f_low)
        self.alpha[active] = self.aa

    def _reconstruct(self) -> None:
        """Exact F for every variable, then make all of them active again."""
        self._store_active()
        inactive = np.ones(self.n, dtype=bool)
        inactive[self.rows.active] = False
        inactive = np.flatnonzero(inactive)
        if inactive.shape[0]:
            self.F[inactive] = self._kernel_sum(inactive) - self.y[inactive]
        self.rows.activate(np.arange(self.n))
        self._load_active()

    def _kernel_sum(self, rows: np.ndarray) -> np.ndarray:
        """sum_s y_s a_s K(x_t, x_s) for t in `rows` (libsvm's gradient reconstruction).

        Most support vectors sit at a = C and stay there, so the first call stores their
        contribution for every sample (libsvm's G_bar); later calls only add the variables
        whose alpha differs from that snapshot. The linear kernel needs no such help.
        """
        alpha, y, rows_k = self.alpha, self.y, self.rows
        support = np.flatnonzero(alpha > 0)
        if rows_k.kernel == "linear":
            return rows_k.decision(rows, y[support] * alpha[support], support)
        if self.snapshot is None:
            at_c = np.flatnonzero(alpha >= self.C)
            self.snapshot = alpha >= self.C
            self.f_bar = rows_k.decision(np.arange(self.n), y[at_c] * self.C, at_c)
        change = alpha - self.C * self.snapshot
        changed = np.flatnonzero(change)
        if changed.shape[0] >= support.shape[0]:  # the snapshot no longer saves work
            return rows_k.decision(rows, y[support] * alpha[support], support)
        return self.f_bar[rows] + rows_k.decision(rows, y[changed] * change[changed], changed)

    def _gaps(self) -> tuple[float, float]:
        """libsvm's Gmax1 = max over up of -F and Gmax2 = max over low of F."""
        return -float(self.bounds[0].min()), float(self.bounds[1].max())

    def _shrink(self) -> None:
        gmax_up, gmax_low = self._gaps()
        if not self.unshrunk and gmax_up + gmax_low <= 10 * self.tol:
            self.unshrunk = True
            self._reconstruct()
        f_up, f_low = self.bounds
        # A variable at a bound whose gradient points further out of the box stays there.
        drop = ((f_low == -np.inf) & (f_up > gmax_low)) | ((f_up == np.inf) & (f_low < -gmax_up))
        if not drop.any():
            return
        keep = np.flatnonzero(~drop)
        self._store_active()
        self.rows.shrink(keep)
        self.bounds = self.bounds[:, keep]
        self.aa = self.aa[keep]
        self.ya = self.ya[keep]

    # -- the SMO loop -------------------------------------------------------------------

    def _steps(self, n_steps: int) -> tuple[int, bool]:
        """Up to `n_steps` SMO steps on the active set; returns (steps done, converged)."""
        bounds = self.bounds
        f_up, f_low = bounds  # views: updating `bounds` in place updates both
        # Scalars are read from lists: cheaper than ndarray.item inside the loop.
        alphas, signs = self.aa.tolist(), self.ya.tolist()
        rows = self.rows
        diag = rows.diag.tolist()
        row, row_and_weights = rows.row, rows.row_and_weights
        C, tol, inf = self.C, self.tol, math.inf
        objective = self.objective
        gain = np.empty(f_up.shape[0])
        delta = np.empty(f_up.shape[0])
        for step in range(n_steps):
            # WSS2: i maximises the first-order violation; j maximises the second-order
            # decrease gain_j^2 / curv_ij, i.e. gain_j / sqrt(curv_ij) over gain_j > 0.
            i = int(f_up.argmin())
            Fi = f_up.item(i)
            if f_low.item(f_low.argmax()) - Fi < tol:  # argmax beats max() on call overhead
                self.objective = objective
                self.aa[:] = alphas
                return step, True
            Ki, weights = row_and_weights(i)
            np.subtract(f_low, Fi, out=gain)
            gain *= weights
            j = int(gain.argmax())
            Kj = row(j)
            # The analytic two-variable step, clipped to the box (libsvm's update).
            yi, yj = signs[i], signs[j]
            ai_old = ai = alphas[i]
            aj = alphas[j]
            Fj = f_low.item(j)
            Kii, Kij, Kjj = diag[i], Ki.item(j), diag[j]
            quad = Kii + Kjj - 2.0 * Kij
            if quad <= 0:
                quad = _TAU
            if yi != yj:
                move = (Fj - Fi) * yi / quad  # (-G_i - G_j) / quad with G = y * F
                diff = ai - aj
                ai += move
                aj += move
                if diff > 0:
                    if aj < 0:
                        aj, ai = 0.0, diff
                    if ai > C:
                        ai, aj = C, C - diff
                else:
                    if ai < 0:
                        ai, aj = 0.0, -diff
                    if aj > C:
                        aj, ai = C, C + diff
            else:
                move = (Fi - Fj) * yi / quad  # (G_i - G_j) / quad
                total = ai + aj
                ai -= move
                aj += move
                if total > C:
                    if ai > C:
                        ai, aj = C, total - C
                    if aj > C:
                        aj, ai = C, total - C
                else:
                    if aj < 0:
                        aj, ai = 0.0, total
                    if ai < 0:
                        ai, aj = 0.0, total
            # The constraint sum_t y_t a_t = 0 makes y_j da_j = -y_i da_i: one direction.
            ci = yi * (ai - ai_old)
            # Exact change of the quadratic objective along the step (G = y * F).
            objective += ci * (Fi - Fj) + 0.5 * ci * ci * (Kii + Kjj - 2.0 * Kij)
            alphas[i] = ai
            alphas[j] = aj
            np.subtract(Ki, Kj, out=delta)
            delta *= ci
            bounds += delta
            # Same float operations as the vector update, so F_i and F_j match it exactly.
            Fi += (Ki.item(i) - Kj.item(i)) * ci
            Fj += (Ki.item(j) - Kj.item(j)) * ci
            f_up[i] = Fi if (ai < C if yi > 0 else ai > 0) else inf
            f_low[i] = Fi if (ai > 0 if yi > 0 else ai < C) else -inf
            f_up[j] = Fj if (aj < C if yj > 0 else aj > 0) else inf
            f_low[j] = Fj if (aj > 0 if yj > 0 else aj < C) else -inf
        self.objective = objective
        self.aa[:] = alphas
        return n_steps, False

    def solve(self, report: Any) -> tuple[int, bool]:
        """Run to convergence or max_iter; `report(objective)` after each group of steps.

        Returns (n_iter, reached_max_iter).
        """
        interval = min(self.n, _SHRINK_INTERVAL)
        n_iter = 0
        while True:
            done, converged = self._steps(min(interval, self.max_iter - n_iter))
            n_iter += done
            if converged:
                if self.rows.active.shape[0] == self.n:
                    break
                # Optimal on the active set: check the variables shrinking set aside.
                self._reconstruct()
                gmax_up, gmax_low = self._gaps()
                if gmax_up + gmax_low < self.tol:
                    break
                if self.shrinking:
                    self._shrink()
                continue
            if n_iter >= self.max_iter:
                if self.rows.active.shape[0] < self.n:
                    self._reconstruct()
                self._store_active()
                return n_iter, True
            report(self.objective, sum(self._gaps()))
            if self.shrinking:
                self._shrink()
        self._store_active()
        return n_iter, False

    def rho(self) -> float:
        """libsvm's rho (the intercept is -rho): mean F over free variables, else midpoint."""
        F, a, y, C = self.F, self.alpha, self.y, self.C
        free = (a > 0) & (a < C)
        if free.any():
            return float(F[free].mean())
        up_only = np.where(y > 0, a <= 0, a >= C)
        upper = np.min(F, where=up_only, initial=np.inf)
        lower = np.max(F, where=~up_only, initial=-np.inf)
        return float((upper + lower) / 2)

    def dual_objective(self) -> float:
        # 1/2 a'Qa - sum(a) = 1/2 sum_t a_t (G_t - 1) with G = y * F
        return float(0.5 * np.dot(self.alpha, self.y * self.F - 1.0))


class SVC(ClassifierMixin, BaseEstimator):
    """C-support vector classification with a linear or RBF kernel (libsvm's C-SVC).

    Parameters
    ----------
    C : float, default=1.0
        Penalty on margin violations; must be > 0. Smaller C means a wider margin.
    kernel : {"rbf", "linear"}, default="rbf"
        ``"linear"``: K(x, z) = x.z; ``"rbf"``: K(x, z) = exp(-gamma |x - z|^2).
    gamma : {"scale", "auto"} or float, default="scale"
        RBF width. ``"scale"`` is 1 / (n_features * X.var()), ``"auto"`` is
        1 / n_features; a float must be > 0. Ignored by the linear kernel.
    shrinking : bool, default=True
        Set aside variables stuck at a bound (libsvm's shrinking heuristic).
    probability : bool, default=False
        Also learn class probabilities by Platt scaling (`predict_proba`, which exists
        only then): fit then runs 5 more fits, on internal folds, so it costs about five
        times as much. See Notes.
    tol : float, default=1e-3
        Stop when the largest KKT violation of the working pair is below tol.
    cache_size : float, default=200
        Kernel row cache per sub-problem, in MB.
    max_iter : int, default=-1
        SMO steps per sub-problem; -1 means no limit other than an internal cap,
        reached with a ConvergenceWarning: libsvm's max(10**7, 100 * n) from n = 1,000
        samples in the sub-problem on, and 10,000 * n below that (libsvm keeps 10**7
        there, which lets a 6-row problem that cannot meet tol run for minutes).
    decision_function_shape : {"ovr", "ovo"}, default="ovr"
        Shape of `decision_function` for more than two classes: one-vs-rest votes plus
        confidences, or the raw one-vs-one values.
    random_state : int, Generator or None, default=None
        Seed of the internal folds of `probability=True`; the solver itself is
        deterministic.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    support_ : ndarray of shape (n_SV,)
        Indices of the support vectors in the training data, grouped by class.
    support_vectors_ : ndarray of shape (n_SV, n_features)
        The support vectors.
    n_support_ : ndarray of shape (n_classes,)
        Number of support vectors per class.
    dual_coef_ : ndarray of shape (n_classes - 1, n_SV)
        y_i * alpha_i of each support vector in each one-vs-one problem (libsvm layout).
    intercept_ : ndarray of shape (n_classes * (n_classes - 1) / 2,)
        Intercept of each one-vs-one decision function.
    coef_ : ndarray of shape (n_classes * (n_classes - 1) / 2, n_features)
        Primal weights; only with ``kernel="linear"``.
    fit_status_ : int
        0 when every sub-problem converged, 1 when one stopped at max_iter.
    n_iter_ : ndarray of shape (n_classes * (n_classes - 1) / 2,)
        SMO steps taken by each one-vs-one problem.
    loss_curve_ : list of float
        Dual objective (summed over the sub-problems solved so far) once per group of
        min(n_samples, 1000) SMO steps and at the end of each sub-problem.
    probA_, probB_ : ndarray of shape (n_classes * (n_classes - 1) / 2,)
        With `probability=True`: each one-vs-one problem's Platt sigmoid,
        P(class i | i or j, f) = 1 / (1 + exp(A f + B)) for its decision value f in the
        "ovo" orientation (positive means i).
    n_features_in_ : int
        Number of features seen during fit.

    Notes
    -----
    For classes i < j, the samples of i get y = +1 and those of j get y = -1, and the
    dual problem

        min_a  1/2 sum_st a_s a_t y_s y_t K(x_s, x_t) - sum_t a_t
        s.t.   0 <= a_t <= C,  sum_t y_t a_t = 0

    is solved by SMO: each step moves the pair (i, j) that violates the KKT conditions
    the most to first order (i) and decreases the objective the most to second order
    (j), with a closed-form step clipped to the box. The decision value is
    f(x) = sum_t y_t a_t K(x_t, x) + b; a sample is classified by one-vs-one votes.

    With `probability=True` (scikit-learn's SVC(probability=True), libsvm's method): the
    training rows are dealt to 5 stratified folds (seeded by `random_state`); each fold's
    rows get their one-vs-one decision values from an SVC fitted on the other folds, each
    pair's sigmoid is fitted to its held-out values by Platt's method (Lin, Lin and Weng
    2007; numpyml.calibration), and the model that predicts is fitted on all rows. More
    than two classes combine the pairwise probabilities by pairwise coupling (Wu, Lin and
    Weng 2004). As in scikit-learn, `predict` keeps its votes: on a few rows near the
    boundary the most probable class may differ from the predicted one.
    """

    # Files saved before `probability` existed load with its default (numpyml.persistence).
    _params_added_later = ("probability",)

    def __init__(
        self,
        C: float = 1.0,
        kernel: str = "rbf",
        gamma: str | float = "scale",
        shrinking: bool = True,
        probability: bool = False,
        tol: float = 1e-3,
        cache_size: float = 200,
        max_iter: int = -1,
        decision_function_shape: str = "ovr",
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.shrinking = shrinking
        self.probability = probability
        self.tol = tol
        self.cache_size = cache_size
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape
        self.random_state = random_state

    # -- fit ------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        check_scalar(self.C, "C", numbers.Real, min_val=0, include_min=False)
        check_choice(self.kernel, "kernel", ["linear", "rbf"])
        if isinstance(self.gamma, str):
            check_choice(self.gamma, "gamma", ["scale", "auto"])
        else:
            check_scalar(self.gamma, "gamma", numbers.Real, min_val=0, include_min=False)
        check_scalar(self.shrinking, "shrinking", bool)
        check_scalar(self.probability, "probability", bool)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0, include_min=False)
        check_scalar(self.cache_size, "cache_size", numbers.Real, min_val=0, include_min=False)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=-1)
        if self.max_iter == 0:
            raise ValueError("max_iter must be -1 (no limit) or a positive int, got 0.")
        check_choice(self.decision_function_shape, "decision_function_shape", ["ovr", "ovo"])
        check_random_state(self.random_state)

    def _resolve_gamma(self, X: np.ndarray) -> float:
        if self.gamma == "scale":
            variance = float(X.var())
            return 1.0 / (X.shape[1] * variance) if variance > 0 else 1.0
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        return float(self.gamma)

    def _step_cap(self, n_samples: int) -> int:
        """SMO steps allowed for a sub-problem of `n_samples` rows."""
        if self.max_iter > 0:
            return int(self.max_iter)
        return max(100 * n_samples, min(_DEFAULT_MAX_ITER, _STEPS_PER_SAMPLE * n_samples))

    def fit(self, X: Any, y: Any, callback: ProgressCallback | None = None) -> SVC:
        """Fit one C-SVC per pair of classes by SMO.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (scale it: the RBF kernel and the solver assume comparable units).
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.
        callback : callable, default=None
            Receives {"iteration", "max_iter", "loss"} at most ~100 times. An iteration is
            a group of min(n_samples, 1000) SMO steps or the end of a one-vs-one
            sub-problem; max_iter is the bound implied by the step cap (huge when
            max_iter=-1); loss is the dual objective summed over the sub-problems. With
            probability=True the internal folds' fits report first, marked
            "calibration": True, and "share" spans all six fits.

        Returns
        -------
        SVC
            The fitted estimator.
        """
        self._validate_params()
        self.__dict__.pop("probA_", None)
        self.__dict__.pop("probB_", None)
        if not self.probability:
            return self._fit_model(X, y, callback)
        X_checked = validate_data(self, X, reset=True)
        y_checked = check_targets(y, X_checked.shape[0], numeric=False, estimator=self)
        classes = check_classification_targets(y_checked, estimator=self)
        y_index = np.searchsorted(classes, y_checked)
        folds = calibration.stratified_folds(
            y_index,
            min(calibration.N_FOLDS, y_index.shape[0]),
            check_random_state(self.random_state),
        )
        train_sizes = [int(np.sum(folds != f)) for f in range(int(folds.max()) + 1)]
        stages = calibration.Stages(callback, [*train_sizes, y_index.shape[0]])
        held_out = self._held_out_pair_decisions(X_checked, y_index, folds, stages)
        self._fit_model(X, y, stages.stage(len(train_sizes), calibration=False))
        probA, probB = [], []
        for k, (a, b) in enumerate(_pairs(classes.shape[0])):
            rows = (y_index == a) | (y_index == b)
            A, B = calibration.sigmoid_fit(held_out[rows, k], y_index[rows] == a)
            probA.append(A)
            probB.append(B)
        self.probA_ = np.array(probA)
        self.probB_ = np.array(probB)
        return self

    def _held_out_pair_decisions(
        self,
        X: np.ndarray,
        y_index: np.ndarray,
        folds: np.ndarray,
        stages: calibration.Stages,
    ) -> np.ndarray:
        """Each row's one-vs-one decision values ("ovo" orientation: positive means the
        pair's first class) from an SVC fitted without it. A pair with a class missing
        from a fold's training part gets libsvm's rule: +1 or -1 for the class it saw."""
        n_classes = int(y_index.max()) + 1
        pairs = _pairs(n_classes)
        out = np.zeros((X.shape[0], len(pairs)))
        params = {**self.get_params(deep=False), "probability": False}
        for fold in range(int(folds.max()) + 1):
            test = folds == fold
            seen = np.unique(y_index[~test])
            if seen.shape[0] >= 2:
                model = SVC(**params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # the final fit says it
                    model.fit(X[~test], y_index[~test], stages.stage(fold, calibration=True))
                decision = model._ovo_decision(X[test])
                for column, (i, j) in enumerate(_pairs(seen.shape[0])):
                    out[test, pairs.index((int(seen[i]), int(seen[j])))] = decision[:, column]
            for k, (a, b) in enumerate(pairs):
                has_a, has_b = a in seen, b in seen
                if not (has_a and has_b):
                    out[test, k] = 1.0 if has_a else -1.0 if has_b else 0.0
        return out

    def _fit_model(self, X: Any, y: Any, callback: ProgressCallback | None) -> SVC:
        """The SVC itself (probabilities aside), on every row."""
        X = validate_data(self, X, reset=True)
        y = check_targets(y, X.shape[0], numeric=False, estimator=self)
        self.classes_ = check_classification_targets(y, estimator=self)
        y_index = np.searchsorted(self.classes_, y)
        X = np.ascontiguousarray(X)
        self._gamma = self._resolve_gamma(X)
        n_classes = self.classes_.shape[0]
        pairs = _pairs(n_classes)
        pair_rows = [np.flatnonzero((y_index == a) | (y_index == b)) for a, b in pairs]
        caps = [self._step_cap(rows.shape[0]) for rows in pair_rows]
        # One progress step per shrinking interval of SMO steps plus one per sub-problem.
        n_reports = sum(
            math.ceil(cap / min(rows.shape[0], _SHRINK_INTERVAL)) + 1
            for cap, rows in zip(caps, pair_rows, strict=True)
        )
        progress = Progress(callback, n_reports)
        results: list[tuple[np.ndarray, np.ndarray, float, int, bool]] = []
        finished, step, solved, first_gap, within = 0.0, 0, 0, np.inf, 0.0

        def report(objective: float, gap: float | None = None) -> None:
            # The loss is the dual objective summed over the sub-problems solved so far; the
            # share counts solved sub-problems, and the current one by how far its KKT gap
            # has fallen towards tol (SMO stops there, long before its step cap).
            nonlocal step, first_gap, within
            step += 1
            if gap is not None:
                first_gap = gap if not np.isfinite(first_gap) else first_gap
                within = max(within, convergence_share(first_gap, gap, float(self.tol)))
            share = (solved + within) / len(pairs) if gap is not None else solved / len(pairs)
            progress.step(step, finished + objective, share=share)

        for (a, _), rows, cap in zip(pairs, pair_rows, caps, strict=True):
            first_gap, within = np.inf, 0.0
            signs = np.where(y_index[rows] == a, 1.0, -1.0)
            solver = _BinarySMO(
                X[rows] if n_classes > 2 else X,
                signs,
                C=float(self.C),
                kernel=self.kernel,
                gamma=self._gamma,
                tol=float(self.tol),
                max_iter=cap,
                shrinking=self.shrinking,
                cache_bytes=int(self.cache_size * 2**20),
            )
            n_iter, hit_cap = solver.solve(report)
            finished += solver.dual_objective()
            solved += 1
            report(0.0)
            results.append((rows, signs * solver.alpha, -solver.rho(), n_iter, hit_cap))
        progress.done(step)
        self.loss_curve_ = progress.losses
        self._store_model(X, y_index, pairs, results)
        if self.fit_status_:
            warnings.warn(
                f"SVC stopped at max_iter={max(caps)} SMO steps before reaching tol={self.tol}; "
                "scale the features (StandardScaler) or raise max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _store_model(
        self,
        X: np.ndarray,
        y_index: np.ndarray,
        pairs: list[tuple[int, int]],
        results: list[tuple[np.ndarray, np.ndarray, float, int, bool]],
    ) -> None:
        n_classes = self.classes_.shape[0]
        # libsvm's layout: a sample is a support vector if it is one in any of its pairs;
        # they are grouped by class, in training order within a class.
        is_support = np.zeros(X.shape[0], dtype=bool)
        for rows, coef, *_ in results:
            is_support[rows[coef != 0]] = True
        order = np.argsort(y_index, kind="stable")
        support = order[is_support[order]]
        position = np.full(X.shape[0], -1)
        position[support] = np.arange(support.shape[0])
        # Row b - 1 holds the coefficients of class a's vectors in pair (a, b); row a
        # those of class b's vectors (libsvm's sv_coef).
        dual = np.zeros((n_classes - 1, support.shape[0]))
        for (a, b), (rows, coef, *_) in zip(pairs, results, strict=True):
            nonzero = coef != 0
            where, label = position[rows[nonzero]], y_index[rows[nonzero]]
            dual[np.where(label == a, b - 1, a), where] = coef[nonzero]
        intercept = np.array([r[2] for r in results])
        if n_classes == 2:
            # scikit-learn's sign convention: a positive value means classes_[1].
            dual, intercept = -dual, -intercept
        self.support_ = support.astype(np.int32)
        self.support_vectors_ = X[support]
        self.n_support_ = np.bincount(y_index[support], minlength=n_classes).astype(np.int32)
        self.dual_coef_ = dual
        self.intercept_ = intercept
        self.n_iter_ = np.array([r[3] for r in results], dtype=np.int32)
        self.fit_status_ = int(any(r[4] for r in results))
        self._prepare_prediction(pairs)

    def _class_slices(self) -> list[slice]:
        ends = np.cumsum(self.n_support_).tolist()
        return [slice(start, end) for start, end in zip([0, *ends[:-1]], ends, strict=True)]

    def _prepare_prediction(self, pairs: list[tuple[int, int]]) -> None:
        """Precompute what predict needs: pair weights, vote matrices, linear weights."""
        n_classes, n_sv = self.classes_.shape[0], self.support_vectors_.shape[0]
        slices = self._class_slices()
        self._sv_sq = _row_norms(self.support_vectors_) * self._gamma
        if self.kernel == "rbf":
            self._sv_scaled_t = _scaled_transpose(self.support_vectors_, self._gamma)
        # (n_SV, n_pairs) weights, zero outside each pair's two classes: one matmul gives
        # every pair's decision. Too big with many classes: then predict loops over pairs.
        self._pair_coef = None
        if n_sv * len(pairs) <= _DENSE_PAIR_ELEMENTS:
            self._pair_coef = np.zeros((n_sv, len(pairs)))
            for k, (a, b) in enumerate(pairs):
                self._pair_coef[slices[a], k] = self.dual_coef_[b - 1, slices[a]]
                self._pair_coef[slices[b], k] = self.dual_coef_[a, slices[b]]
        first = np.array([a for a, _ in pairs])
        second = np.array([b for _, b in pairs])
        # (n_pairs, n_classes) one-hot of each pair's classes, to count votes by matmul.
        self._vote_first = (first[:, None] == np.arange(n_classes)).astype(float)
        self._vote_second = (second[:, None] == np.arange(n_classes)).astype(float)
        if self.kernel == "linear":
            # C order, so that a saved and reloaded model runs the very same matmul.
            self.coef_ = np.ascontiguousarray(self._pair_sums(self.support_vectors_.T).T)

    def _pair_sums(self, K: np.ndarray) -> np.ndarray:
        """Each pair's sum_s dual_s K[:, s] over its support vectors: (n_rows, n_pairs)."""
        if self._pair_coef is not None:
            return K @ self._pair_coef
        n_classes = self.classes_.shape[0]
        slices = self._class_slices()
        out = np.empty((K.shape[0], n_classes * (n_classes - 1) // 2))
        k = 0
        for a in range(n_classes):
            for b in range(a + 1, n_classes):
                sa, sb = slices[a], slices[b]
                out[:, k] = (
                    K[:, sa] @ self.dual_coef_[b - 1, sa] + K[:, sb] @ self.dual_coef_[a, sb]
                )
                k += 1
        return out

    # -- predict ----------------------------------------------------------------------------

    def _pair_decision(self, X: Any) -> np.ndarray:
        """One-vs-one decision values, shape (n_samples, n_pairs)."""
        check_is_fitted(self, "intercept_")
        X = validate_data(self, X, reset=False)
        if self.kernel == "linear":
            return X @ self.coef_.T + self.intercept_
        step = max(1, _BLOCK_ELEMENTS // max(1, self.support_vectors_.shape[0]))
        if X.shape[0] <= step:
            return self._rbf_decision(X)
        return np.concatenate(
            [self._rbf_decision(X[s : s + step]) for s in range(0, X.shape[0], step)]
        )

    def _rbf_decision(self, X: np.ndarray) -> np.ndarray:
        gamma = self._gamma
        scaled = self.__dict__.get("_sv_scaled_t")
        if scaled is None:  # a model saved before it was precomputed
            scaled = _scaled_transpose(self.support_vectors_, gamma)
        block = X @ scaled
        block -= self._sv_sq
        block -= (gamma * np.einsum("ij,ij->i", X, X))[:, None]
        np.exp(block, out=block)
        dec = self._pair_sums(block)
        dec += self.intercept_
        return dec

    def decision_function(self, X: Any) -> np.ndarray:
        """Signed distance to each separating surface.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for two classes (positive means classes_[1]),
        (n_samples, n_classes) for "ovr", or (n_samples, n_classes * (n_classes - 1) / 2)
        for "ovo" (pair (i, j) positive means class i).
        """
        dec = self._pair_decision(X)
        if self.classes_.shape[0] == 2:
            return dec[:, 0]
        if self.decision_function_shape == "ovo":
            return dec
        # scikit-learn's ovr aggregate: votes plus confidences squashed into (-1/3, 1/3).
        wins = dec >= 0
        votes = wins @ self._vote_first + (~wins) @ self._vote_second
        confidence = dec @ (self._vote_first - self._vote_second)
        return votes + confidence / (3 * (np.abs(confidence) + 1))

    def predict(self, X: Any) -> np.ndarray:
        """Class labels by one-vs-one voting (ties go to the first class), like libsvm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._labels(self._pair_decision(X))

    def _ovo_decision(self, X: Any) -> np.ndarray:
        """One-vs-one decision values with positive meaning each pair's first class (the
        binary decision is stored the other way round, scikit-learn's sign)."""
        dec = self._pair_decision(X)
        return -dec if self.classes_.shape[0] == 2 else dec

    def _proba(self, dec: np.ndarray) -> np.ndarray:
        ovo = -dec if self.classes_.shape[0] == 2 else dec
        if ovo.shape[1] == 1:
            proba = np.empty((ovo.shape[0], 2))
            proba[:, 0] = calibration.sigmoid_proba(ovo[:, 0], self.probA_[0], self.probB_[0])
            # 1 - p written as its own sigmoid: a tiny probability keeps its digits.
            proba[:, 1] = calibration.sigmoid_proba(ovo[:, 0], -self.probA_[0], -self.probB_[0])
            return proba
        pair_proba = calibration.sigmoid_proba(ovo, self.probA_, self.probB_)
        return calibration.pairwise_coupling(pair_proba, self.classes_.shape[0])

    @calibration.if_probability
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities by Platt scaling (only with probability=True).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`; rows sum to 1.
        """
        check_is_fitted(self, "probA_")
        return self._proba(self._pair_decision(X))

    @calibration.if_probability
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of `predict_proba` (only with probability=True).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @calibration.if_probability
    def predict_with_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """`predict(X)` and `predict_proba(X)` from one scoring pass (the served path)."""
        check_is_fitted(self, "probA_")
        dec = self._pair_decision(X)
        return self._labels(dec), self._proba(dec)

    def _labels(self, dec: np.ndarray) -> np.ndarray:
        if dec.shape[1] == 1:
            return self.classes_[(dec[:, 0] >= 0).view(np.int8)]
        wins = dec > 0
        votes = wins @ self._vote_first + (~wins) @ self._vote_second
        return self.classes_[votes.argmax(axis=1)]
