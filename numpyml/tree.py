"""Decision trees (CART) for classification and regression, grown breadth-first in numpy.

The fitted tree lives in flat arrays indexed by node id (the root is 0, ids follow
breadth-first order), so it saves with `numpyml.save` and predicts without recursion.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, ClassifierMixin, RegressorMixin
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

TREE_LEAF = -1
TREE_UNDEFINED = -2
# Two values closer than this are one value (scikit-learn's FEATURE_THRESHOLD): no split between.
FEATURE_THRESHOLD = 1e-7
EPSILON = float(np.finfo(np.float64).eps)
# Feature rows are processed in blocks of about this many positions: big enough that
# numpy call overhead vanishes, small enough that the temporaries stay in cache.
BLOCK_SIZE = 1 << 16

_CLASSIFICATION_CRITERIA = ("gini", "entropy", "log_loss")
_REGRESSION_CRITERIA = ("squared_error", "friedman_mse")
# friedman_mse ranks the splits of a node exactly like squared_error (scikit-learn 1.9
# deprecates it as an alias); log_loss is entropy.
_CRITERION_ALIASES = {"log_loss": "entropy", "friedman_mse": "squared_error"}


@dataclass
class _Settings:
    criterion: str
    max_depth: int
    min_samples_split: int
    min_samples_leaf: int
    max_features: int
    min_impurity_decrease: float


@dataclass
class _Level:
    """Per-position quantities of one depth, shared by every feature row."""

    starts: np.ndarray  # (n_nodes,) first position of each node segment
    sizes: np.ndarray  # (n_nodes,) samples per node
    seg: np.ndarray  # (m,) node of each position
    n_left: np.ndarray  # (m,) samples left of a split after this position
    n_right: np.ndarray  # (m,)
    bad: np.ndarray  # (m,) split breaks min_samples_leaf (or is a segment's last position)
    base: np.ndarray  # (C, m) class counts (or target sum) of the nodes before this one
    total: np.ndarray  # (C, m) class counts (or target sum) of this position's node
    extra: dict[str, np.ndarray]  # criterion-specific per-position vectors


class _Grower:
    """Grows one tree level by level over presorted feature orders.

    For every depth the samples of all nodes still to split sit in per-feature rows
    (`order`: sample ids, `xs`: their values) grouped by node and sorted by value inside
    each node's segment. Segments have the same bounds in every row, so everything that
    does not depend on the feature (left/right sizes, node totals) is computed once per
    depth as a vector over positions. Each feature row then costs a few dozen numpy
    passes over contiguous, cache-sized vectors, whatever the number of nodes.
    """

    def __init__(
        self,
        X: np.ndarray,
        target: np.ndarray,
        n_classes: int,
        settings: _Settings,
        rng: np.random.Generator,
        progress: Progress | None,
    ) -> None:
        self.n_samples, self.n_features = X.shape
        self.n_classes = n_classes  # 0 for regression
        self.settings = settings
        self.rng = rng
        self.progress = progress
        self.target = target
        XT = np.ascontiguousarray(X.T)
        index_type = np.int32 if self.n_samples < 2**31 - 1 else np.int64
        self.order = np.argsort(XT, axis=1, kind="stable").astype(index_type, copy=False)
        self.xs = np.take_along_axis(XT, self.order, axis=1)
        del XT
        # Each depth partitions the rows from one storage into the other (the presorted
        # arrays are the first), instead of page-faulting fresh memory every time.
        self.order_buffers = [self.order.reshape(-1), np.empty_like(self.order).reshape(-1)]
        self.xs_buffers = [self.xs.reshape(-1), np.empty_like(self.xs).reshape(-1)]
        if n_classes:
            self.xlogx = _xlogx_table(self.n_samples)
        # Records per depth, joined at the end: nodes created, and splits made.
        self.splits: dict[str, list[np.ndarray]] = {
            key: [] for key in ("id", "feature", "threshold", "left", "right", "improvement")
        }
        self.nodes: dict[str, list[np.ndarray]] = {"n": [], "impurity": [], "value": []}
        self.n_nodes = 0
        self.depth = 0

    # ----------------------------------------------------------------- node statistics
    def _stats(self, groups: np.ndarray, samples: np.ndarray, n_groups: int) -> tuple:
        """Sizes, impurities and values (class counts, or target means) of sample groups."""
        if self.n_classes:
            C = self.n_classes
            codes = groups * C + self.target[samples]
            counts = np.bincount(codes, minlength=n_groups * C).reshape(n_groups, C)
            n = counts.sum(axis=1)
            counts = counts.astype(np.float64)
            return n, self._class_impurity(counts, n), counts
        n = np.bincount(groups, minlength=n_groups)
        y = self.target[samples]
        safe = np.maximum(n, 1)
        mean = np.bincount(groups, weights=y, minlength=n_groups) / safe
        # Squared deviations (not E[y^2] - mean^2) so that constant nodes come out ~0.
        sq = np.bincount(groups, weights=(y - mean[groups]) ** 2, minlength=n_groups) / safe
        return n, sq, mean

    def _class_impurity(self, counts: np.ndarray, n: np.ndarray) -> np.ndarray:
        p = counts / np.maximum(n, 1)[:, None]
        if self.settings.criterion == "gini":
            return 1.0 - np.einsum("ij,ij->i", p, p)
        logp = np.log2(np.where(p > 0, p, 1.0))
        return -np.einsum("ij,ij->i", p, logp)

    def _add_nodes(self, n: np.ndarray, impurity: np.ndarray, value: np.ndarray) -> np.ndarray:
        ids = np.arange(self.n_nodes, self.n_nodes + n.shape[0])
        self.n_nodes += n.shape[0]
        self.nodes["n"].append(n)
        self.nodes["impurity"].append(impurity)
        self.nodes["value"].append(value)
        return ids

    def _can_split(self, n: np.ndarray, impurity: np.ndarray, depth: int) -> np.ndarray:
        s = self.settings
        if depth >= s.max_depth:
            return np.zeros(n.shape[0], dtype=bool)
        return (n >= s.min_samples_split) & (n >= 2 * s.min_samples_leaf) & (impurity > EPSILON)

    # ----------------------------------------------------------------------- growing
    def grow(self) -> None:
        n = self.n_samples
        sizes, impurity, value = self._stats(np.zeros(n, dtype=np.intp), np.arange(n), 1)
        ids = self._add_nodes(sizes, impurity, value)
        active = self._can_split(sizes, impurity, 0)
        frontier = (ids[active], sizes[active], impurity[active], value[active])
        order, xs = self.order, self.xs
        depth = 0
        while frontier[0].shape[0]:
            grown = self._split_level(order, xs, *frontier, depth)
            if self.progress is not None and self.depth > depth:
                # The share of rows already in a leaf: a tree's depth says little of its work.
                unsettled = 0 if grown is None else int(grown[2][1].sum())
                self.progress.step(self.depth, self._leaf_loss(), share=1 - unsettled / n)
            if grown is None:
                break
            order, xs, frontier = grown
            depth += 1
        if self.progress is not None:
            self.progress.done(self.depth)

    def _leaf_loss(self) -> float:
        """Size-weighted mean impurity of the current leaves (the callback's loss)."""
        n = np.concatenate(self.nodes["n"])
        impurity = np.concatenate(self.nodes["impurity"])
        leaf = np.ones(n.shape[0], dtype=bool)
        if self.splits["id"]:
            leaf[np.concatenate(self.splits["id"])] = False
        return float(np.dot(n[leaf], impurity[leaf]) / self.n_samples)

    def _split_level(
        self,
        order: np.ndarray,
        xs: np.ndarray,
        node_ids: np.ndarray,
        sizes: np.ndarray,
        node_impurity: np.ndarray,
        node_value: np.ndarray,
        depth: int,
    ) -> tuple | None:
        """Split every node of one depth; return the next depth's rows and nodes, or None."""
        n_nodes = node_ids.shape[0]
        level = self._level(sizes, node_value, order[0])
        feature, split_pos, splittable = self._best_splits(order, xs, level)
        n_left = np.where(splittable, split_pos - level.starts + 1, 0)

        # Samples going left: the prefix of each node segment in its best feature row.
        positions = np.arange(order.shape[1])
        goes_left = np.zeros(self.n_samples, dtype=bool)
        goes_left[order[feature[level.seg], positions]] = (
            positions < (level.starts + n_left)[level.seg]
        )
        samples = order[0]
        child = 2 * level.seg + ~goes_left[samples]
        c_n, c_impurity, c_value = self._stats(child, samples, 2 * n_nodes)
        improvement = (
            sizes * node_impurity - c_n[0::2] * c_impurity[0::2] - c_n[1::2] * c_impurity[1::2]
        ) / self.n_samples
        splits = splittable & (improvement + EPSILON >= self.settings.min_impurity_decrease)
        if not splits.any():
            return None
        if not splits.all():
            # A refused node sends all its samples "right"; that block is then dropped.
            n_left = np.where(splits, n_left, 0)
            goes_left[samples[~splits[level.seg]]] = False

        # Children of accepted splits become nodes: [left_0, right_0, left_1, ...].
        pair = np.repeat(splits, 2)
        kid_ids = self._add_nodes(c_n[pair], c_impurity[pair], c_value[pair])
        self.depth = depth + 1
        self.splits["id"].append(node_ids[splits])
        self.splits["feature"].append(feature[splits])
        self.splits["threshold"].append(_thresholds(xs, feature, split_pos)[splits])
        self.splits["left"].append(kid_ids[0::2])
        self.splits["right"].append(kid_ids[1::2])
        self.splits["improvement"].append(improvement[splits])

        keep = pair & self._can_split(c_n, c_impurity, depth + 1)
        if not keep.any():
            return None
        child_sizes = np.empty(2 * n_nodes, dtype=np.intp)
        child_sizes[0::2] = n_left
        child_sizes[1::2] = sizes - n_left
        new_order, new_xs = self._partition(order, xs, goes_left, level, child_sizes, keep, depth)
        all_ids = np.zeros(2 * n_nodes, dtype=np.intp)
        all_ids[pair] = kid_ids
        frontier = (all_ids[keep], child_sizes[keep], c_impurity[keep], c_value[keep])
        return new_order, new_xs, frontier

    def _best_splits(self, order: np.ndarray, xs: np.ndarray, level: _Level) -> tuple:
        """Per node: best feature, last position of its left part, and whether one exists."""
        d, m = order.shape
        n_nodes = level.starts.shape[0]
        best = np.empty((d, n_nodes))
        best_pos = np.empty((d, n_nodes), dtype=np.intp)
        positions = np.arange(m)
        for rows in _row_blocks(d, m):
            proxy = self._proxy(order[rows], xs[rows], level)
            best[rows] = np.maximum.reduceat(proxy, level.starts, axis=1)
            # First position reaching the node's best: scikit-learn's strict '>' scan.
            hit = np.where(proxy == best[rows][:, level.seg], positions, m)
            best_pos[rows] = np.minimum.reduceat(hit, level.starts, axis=1)
        feature = self._choose_features(best, xs, level)
        nodes = np.arange(n_nodes)
        return feature, best_pos[feature, nodes], best[feature, nodes] > -np.inf

    def _level(self, sizes: np.ndarray, node_value: np.ndarray, samples: np.ndarray) -> _Level:
        n_nodes = sizes.shape[0]
        m = int(sizes.sum())
        starts = np.zeros(n_nodes, dtype=np.intp)
        np.cumsum(sizes[:-1], out=starts[1:])
        seg = np.repeat(np.arange(n_nodes), sizes)
        n_left = np.arange(1, m + 1, dtype=np.intp) - starts[seg]
        n_right = sizes[seg] - n_left
        msl = self.settings.min_samples_leaf
        bad = (n_left < msl) | (n_right < msl)
        # Running sums over a row restart at each node: subtract the nodes before it.
        totals = node_value if self.n_classes else (node_value * sizes)[:, None]
        before = np.zeros_like(totals)
        np.cumsum(totals[:-1], axis=0, out=before[1:])
        base, total = before[seg].T, totals[seg].T  # (C, m): one contiguous row per class
        extra: dict[str, np.ndarray] = {}
        if self.n_classes and self.settings.criterion == "entropy":
            base, total = base.astype(np.intp), total.astype(np.intp)
            extra["size_terms"] = self.xlogx[n_left] + self.xlogx[n_right]
        else:
            extra["inv_left"] = 1.0 / n_left
            extra["inv_right"] = 1.0 / np.maximum(n_right, 1)
        if self.n_classes > 2:
            extra.update(self._multiclass_level(totals, before, seg, samples))
        return _Level(
            starts=starts,
            sizes=sizes,
            seg=seg,
            n_left=n_left,
            n_right=n_right,
            bad=bad,
            base=np.ascontiguousarray(base),
            total=np.ascontiguousarray(total),
            extra=extra,
        )

    def _multiclass_level(
        self, totals: np.ndarray, before: np.ndarray, seg: np.ndarray, samples: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Per-sample and per-position terms that make the multiclass proxy C-independent.

        Moving the split one position right moves one sample of class c from the right
        child to the left one. If r samples of class c of the node are already on the
        left (its rank among them) and the node holds t of them, sum_c count_c^2 of the
        left grows by 2r + 1 and that of the right shrinks by 2(t - r) - 1 (entropy:
        the same with x log x). Running sums of these per-sample steps give both sides
        for every position, with one stable sort by class per row instead of a pass per
        class. Over a whole node both running sums add up to sum_c t_c^2 (or
        sum_c t_c log t_c), which is what restarts them at each node.
        """
        codes = self.target[samples]
        counts = totals.astype(np.intp)
        sample_before = np.zeros(self.n_samples, dtype=np.intp)
        sample_total = np.zeros(self.n_samples, dtype=np.intp)
        sample_before[samples] = before.astype(np.intp)[seg, codes]
        sample_total[samples] = counts[seg, codes]
        class_sizes = counts.sum(axis=0)
        first_of_class = np.cumsum(class_sizes) - class_sizes
        m = seg.shape[0]
        # Sorting a row by class (stably) lists each class's positions in row order.
        rank_when_sorted = np.arange(m) - np.repeat(first_of_class, class_sizes)
        if self.settings.criterion == "gini":
            per_node = np.einsum("ij,ij->i", counts, counts)
        else:
            per_node = self.xlogx[counts].sum(axis=1)
        node_before = np.cumsum(per_node) - per_node
        return {
            "sample_before": sample_before,
            "sample_total": sample_total,
            "rank_when_sorted": rank_when_sorted,
            "node_before": node_before[seg],
            "node_total": per_node[seg].astype(np.float64),
        }

    def _class_ranks(self, order: np.ndarray, labels: np.ndarray, level: _Level) -> tuple:
        """For each position: r = same-class samples of its node before it, t = in node."""
        extra = level.extra
        by_class = np.argsort(labels, axis=1, kind="stable")
        rank = np.empty(labels.shape, dtype=np.intp)
        np.put_along_axis(rank, by_class, extra["rank_when_sorted"][None, :], axis=1)
        rank -= extra["sample_before"][order]
        return rank, extra["sample_total"][order]

    def _proxy(self, order: np.ndarray, xs: np.ndarray, level: _Level) -> np.ndarray:
        """Split quality (larger is better) at every position of some feature rows.

        Position i of a node segment means "left = the segment's positions up to i". The
        proxy is scikit-learn's proxy_impurity_improvement: minus the size-weighted
        impurity of the two children, up to terms constant within a node. Invalid
        positions (equal values either side, min_samples_leaf, segment end) get -inf.
        """
        labels = self.target[order]
        if not self.n_classes:
            proxy = self._regression_proxy(labels, level)
        elif self.n_classes > 2:
            proxy = self._multiclass_proxy(order, labels, level)
        elif self.settings.criterion == "gini":
            proxy = self._gini_proxy(labels, level)
        else:
            proxy = self._entropy_proxy(labels, level)
        invalid = xs[:, 1:] <= xs[:, :-1] + FEATURE_THRESHOLD
        invalid |= level.bad[:-1]
        np.copyto(proxy[:, :-1], -np.inf, where=invalid)
        proxy[:, -1] = -np.inf
        return proxy

    def _gini_proxy(self, labels: np.ndarray, level: _Level) -> np.ndarray:
        # Two classes: N * gini = 2 * c0 * c1 / N on each side.
        left0 = np.cumsum(labels == 0, axis=1, dtype=np.float64)
        left0 -= level.base[0]
        right0 = level.total[0] - left0
        left1 = level.n_left - left0
        right1 = level.n_right - right0
        left0 *= left1
        left0 *= level.extra["inv_left"]
        right0 *= right1
        right0 *= level.extra["inv_right"]
        left0 += right0
        return np.negative(left0, out=left0)

    def _entropy_proxy(self, labels: np.ndarray, level: _Level) -> np.ndarray:
        # Two classes: N * entropy = N log N - sum_c count_c log count_c on each side,
        # with log2 by table lookup on the integer counts.
        table = self.xlogx
        left = np.cumsum(labels == 0, axis=1, dtype=np.intp)
        left -= level.base[0]
        proxy = table[left]
        proxy += table[level.total[0] - left]
        left = level.n_left - left
        proxy += table[left]
        proxy += table[level.total[1] - left]
        proxy -= level.extra["size_terms"]
        return proxy

    def _multiclass_proxy(self, order: np.ndarray, labels: np.ndarray, level: _Level) -> np.ndarray:
        extra = level.extra
        rank, total = self._class_ranks(order, labels, level)
        total -= rank  # same-class samples of the node from this position on
        if self.settings.criterion == "gini":
            # Left: sum_c L_c^2; right: sum_c R_c^2 = node total - running decrease.
            rank *= 2
            rank += 1
            left = np.cumsum(rank, axis=1, dtype=np.float64)
            total *= 2
            total -= 1
            right = np.cumsum(total, axis=1, dtype=np.float64)
            left -= extra["node_before"]
            left *= extra["inv_left"]
            right -= extra["node_before"]
            np.subtract(extra["node_total"], right, out=right)
            right *= extra["inv_right"]
            left += right
            return left
        table = self.xlogx
        left = np.cumsum(table[rank + 1] - table[rank], axis=1)
        right = np.cumsum(table[total] - table[total - 1], axis=1)
        left -= extra["node_before"]
        right -= extra["node_before"]
        np.subtract(extra["node_total"], right, out=right)
        left += right
        left -= extra["size_terms"]
        return left

    def _regression_proxy(self, labels: np.ndarray, level: _Level) -> np.ndarray:
        left = np.cumsum(labels, axis=1, out=labels)
        left -= level.base[0]
        right = level.total[0] - left
        # N * MSE = sum y^2 - sum_L^2 / N_L - sum_R^2 / N_R; the first term is per node.
        left *= left
        left *= level.extra["inv_left"]
        right *= right
        right *= level.extra["inv_right"]
        left += right
        return left

    def _choose_features(self, best: np.ndarray, xs: np.ndarray, level: _Level) -> np.ndarray:
        """Best feature per node, among max_features drawn in a random order per node.

        Like scikit-learn, features are visited in a random order (which also breaks ties
        between equally good features), and the search goes past max_features only until
        one non-constant feature has been seen.
        """
        d, n_nodes = best.shape
        nodes = np.arange(n_nodes)[:, None]
        visit = self.rng.random((n_nodes, d)).argsort(axis=1)  # feature order per node
        scores = best.T[nodes, visit]
        k = self.settings.max_features
        if k < d:
            ends = level.starts + level.sizes - 1
            nonconstant = xs[:, ends] > xs[:, level.starts] + FEATURE_THRESHOLD
            first = np.argmax(nonconstant.T[nodes, visit], axis=1)
            rank = np.arange(d)[None, :]
            drawn = (rank < k) | (rank == first[:, None])
            scores = np.where(drawn, scores, -np.inf)
        return visit[nodes[:, 0], np.argmax(scores, axis=1)]

    def _partition(
        self,
        order: np.ndarray,
        xs: np.ndarray,
        goes_left: np.ndarray,
        level: _Level,
        child_sizes: np.ndarray,
        keep: np.ndarray,
        depth: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stable partition of every feature row into the kept children's segments.

        Children are laid out kept ones first (in node order), dropped ones after, so the
        scatter is a permutation and the next depth's rows are prefixes.
        """
        d, m = order.shape
        layout = np.concatenate([np.flatnonzero(keep), np.flatnonzero(~keep)])
        start = np.zeros(child_sizes.shape[0], dtype=np.intp)
        start[layout[1:]] = np.cumsum(child_sizes[layout])[:-1]
        n_left, n_right = child_sizes[0::2], child_sizes[1::2]
        # Position = child start + rank among its node's same-side samples; ranks come
        # from one running count of "left" along the row (left_rank = running - 1).
        off_left = (start[0::2] - (np.cumsum(n_left) - n_left) - 1)[level.seg]
        off_right = (start[1::2] - (np.cumsum(n_right) - n_right) - 1)[level.seg]
        off_right += np.arange(1, m + 1)  # right_rank = (i + 1 - running) - 1
        m_new = int(child_sizes[keep].sum())
        target = (depth + 1) % 2  # depth 0 reads storage 0
        new_order = self.order_buffers[target][: d * m]
        new_xs = self.xs_buffers[target][: d * m]
        for rows in _row_blocks(d, m):
            side = goes_left[order[rows]]
            running = np.cumsum(side, axis=1, dtype=np.intp)
            position = np.where(side, running + off_left, off_right - running)
            position += (np.arange(rows.start, rows.stop) * m)[:, None]
            new_order[position] = order[rows]
            new_xs[position] = xs[rows]
        return new_order.reshape(d, m)[:, :m_new], new_xs.reshape(d, m)[:, :m_new]

    # ------------------------------------------------------------------------ result
    def arrays(self) -> dict[str, np.ndarray]:
        n_nodes = self.n_nodes
        left = np.full(n_nodes, TREE_LEAF, dtype=np.intp)
        right = np.full(n_nodes, TREE_LEAF, dtype=np.intp)
        feature = np.full(n_nodes, TREE_UNDEFINED, dtype=np.intp)
        threshold = np.full(n_nodes, float(TREE_UNDEFINED))
        importances = np.zeros(self.n_features)
        if self.splits["id"]:
            ids = np.concatenate(self.splits["id"])
            left[ids] = np.concatenate(self.splits["left"])
            right[ids] = np.concatenate(self.splits["right"])
            feature[ids] = np.concatenate(self.splits["feature"])
            threshold[ids] = np.concatenate(self.splits["threshold"])
            gain = np.concatenate(self.splits["improvement"])
            np.add.at(importances, feature[ids], np.maximum(gain, 0.0))
        total = importances.sum()
        if total > 0:
            importances /= total
        n = np.concatenate(self.nodes["n"]).astype(np.intp)
        value = np.concatenate(self.nodes["value"])
        if self.n_classes:
            value = value / n[:, None]
        return {
            "left": left,
            "right": right,
            "feature": feature,
            "threshold": threshold,
            "value": value,
            "n_node_samples": n,
            "impurity": np.concatenate(self.nodes["impurity"]),
            "importances": importances,
        }


def _thresholds(xs: np.ndarray, feature: np.ndarray, split_pos: np.ndarray) -> np.ndarray:
    """Midpoints between the last left and first right values (scikit-learn's rule)."""
    lo = np.clip(split_pos, 0, xs.shape[1] - 2)
    x_lo = xs[feature, lo]
    x_hi = xs[feature, lo + 1]
    threshold = x_lo / 2.0 + x_hi / 2.0
    # Rounding can land the midpoint on the right value; the left value keeps x <= t exact.
    return np.where((threshold == x_hi) | ~np.isfinite(threshold), x_lo, threshold)


def _count_or_fraction(value: Any, name: str, minimum: int, n_samples: int) -> int:
    """A sample count: an int >= minimum, or a float in (0, 1] times n_samples, rounded up."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        check_scalar(value, name, numbers.Real, min_val=0.0, max_val=1.0, include_min=False)
        return max(minimum, int(np.ceil(value * n_samples)))
    return int(check_scalar(value, name, numbers.Integral, min_val=minimum))


def _row_blocks(n_rows: int, width: int) -> list[slice]:
    """Groups of feature rows small enough (~BLOCK_SIZE elements) to stay in cache."""
    step = max(1, BLOCK_SIZE // max(width, 1))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def _xlogx_table(n: int) -> np.ndarray:
    """c * log2(c) for integer counts c = 0..n (0 for c = 0), for entropy by lookup."""
    counts = np.arange(n + 1, dtype=np.float64)
    table = np.zeros(n + 1)
    table[1:] = counts[1:] * np.log2(counts[1:])
    return table


class BaseDecisionTree(BaseEstimator):
    """Shared fitting, storage and traversal of the classifier and the regressor."""

    _criteria: tuple[str, ...] = ()

    def _validate_params(self, n_samples: int, n_features: int) -> _Settings:
        check_choice(self.criterion, "criterion", self._criteria)
        if self.max_depth is None:
            max_depth = np.iinfo(np.int32).max
        else:
            max_depth = check_scalar(self.max_depth, "max_depth", numbers.Integral, min_val=1)
        split = _count_or_fraction(self.min_samples_split, "min_samples_split", 2, n_samples)
        leaf = _count_or_fraction(self.min_samples_leaf, "min_samples_leaf", 1, n_samples)
        check_scalar(self.min_impurity_decrease, "min_impurity_decrease", numbers.Real, min_val=0.0)
        return _Settings(
            criterion=_CRITERION_ALIASES.get(self.criterion, self.criterion),
            max_depth=int(max_depth),
            min_samples_split=max(split, 2 * leaf),
            min_samples_leaf=leaf,
            max_features=self._resolve_max_features(n_features),
            min_impurity_decrease=float(self.min_impurity_decrease),
        )

    def _resolve_max_features(self, n_features: int) -> int:
        value = self.max_features
        if value is None:
            return n_features
        if isinstance(value, str):
            check_choice(value, "max_features", ("sqrt", "log2"))
            root = np.sqrt(n_features) if value == "sqrt" else np.log2(n_features)
            return max(1, int(root))
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            check_scalar(value, "max_features", numbers.Integral, min_val=1, max_val=n_features)
            return int(value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            check_scalar(
                value, "max_features", numbers.Real, min_val=0.0, max_val=1.0, include_min=False
            )
            return max(1, int(value * n_features))
        raise TypeError(
            "max_features must be None, an int, a float in (0, 1], 'sqrt' or 'log2', "
            f"got {value!r}."
        )

    def _fit_tree(
        self,
        X: np.ndarray,
        target: np.ndarray,
        n_classes: int,
        callback: ProgressCallback | None,
    ) -> None:
        n = X.shape[0]
        settings = self._validate_params(n, X.shape[1])
        rng = check_random_state(self.random_state)
        progress = None
        if callback is not None:
            # Depth is the iteration; without max_depth, n - 1 bounds it (capped so that
            # Progress still reports every level).
            limit = self.max_depth if self.max_depth is not None else min(n - 1, 100)
            progress = Progress(callback, max(limit, 1))
        grower = _Grower(X, target, n_classes, settings, rng, progress)
        grower.grow()
        tree = grower.arrays()
        self.tree_children_left_ = tree["left"]
        self.tree_children_right_ = tree["right"]
        self.tree_feature_ = tree["feature"]
        self.tree_threshold_ = tree["threshold"]
        self.tree_value_ = tree["value"]
        self.tree_n_node_samples_ = tree["n_node_samples"]
        self.tree_impurity_ = tree["impurity"]
        self.feature_importances_ = tree["importances"]
        self.node_count_ = int(tree["left"].shape[0])
        self.max_depth_ = grower.depth
        # Depth levels are the iterations; the per-level loss is only computed for a callback.
        self.n_iter_ = grower.depth
        self.loss_curve_ = progress.losses if progress is not None else []
        self._after_load()

    def _after_load(self) -> None:
        """Traversal arrays derived from the stored tree (leaves loop back to themselves)."""
        if not hasattr(self, "tree_children_left_"):
            return  # an unfitted estimator was saved
        left = self.tree_children_left_
        leaf = left == TREE_LEAF
        ids = np.arange(left.shape[0])
        children = np.empty((left.shape[0], 2), dtype=np.intp)
        children[:, 0] = np.where(leaf, ids, left)
        children[:, 1] = np.where(leaf, ids, self.tree_children_right_)
        self._children = children.ravel()
        self._feature = np.where(leaf, 0, self.tree_feature_).astype(np.intp)
        self._threshold = np.where(leaf, np.inf, self.tree_threshold_)
        self._is_leaf = leaf

    def _leaves(self, X: np.ndarray) -> np.ndarray:
        """Leaf id of every row: one vectorised step per depth level, no recursion."""
        n, d = X.shape
        if n == 1:
            return np.array([self._leaf_of_row(X[0].tolist())])
        flat = np.ascontiguousarray(X).ravel()
        children, feature, threshold = self._children, self._feature, self._threshold
        leaf = np.zeros(n, dtype=np.intp)
        live = np.arange(n)  # rows that may not have reached their leaf yet
        offsets = live * d
        current = leaf.copy()
        for level in range(1, self.max_depth_ + 1):
            index = feature[current]
            index += offsets
            go_right = flat[index] > threshold[current]
            current *= 2
            current += go_right
            current = children[current]
            if level % 4 == 0:
                # Leaves loop back to themselves; dropping finished rows now and then
                # saves the work of walking them down to max_depth_.
                done = self._is_leaf[current]
                n_done = np.count_nonzero(done)
                if n_done == done.shape[0]:
                    break
                if n_done * 4 > done.shape[0]:
                    leaf[live] = current
                    keep = ~done
                    live, offsets, current = live[keep], offsets[keep], current[keep]
        leaf[live] = current
        return leaf

    def _leaf_of_row(self, row: list[float]) -> int:
        # One row: a scalar walk beats numpy calls on length-1 arrays by far.
        left = memoryview(self.tree_children_left_)
        right = memoryview(self.tree_children_right_)
        feature = memoryview(self._feature)
        threshold = memoryview(self._threshold)
        node = 0
        while left[node] != TREE_LEAF:
            node = left[node] if row[feature[node]] <= threshold[node] else right[node]
        return node

    def apply(self, X: Any) -> np.ndarray:
        """Index of the leaf each sample ends in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "tree_children_left_")
        X = validate_data(self, X, reset=False)
        return self._leaves(X)

    def node_path(self, X: Any) -> np.ndarray:
        """The nodes each sample passes from the root to its leaf.

        Unlike scikit-learn's `decision_path` (a sparse node indicator), this is the
        path itself, in order: what path contributions (the change of node value at
        each split) are read from.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, max_depth_ + 1)
            Node ids, the root (0) first; a path that reaches its leaf before the
            deepest level repeats the leaf to the end.
        """
        check_is_fitted(self, "tree_children_left_")
        X = validate_data(self, X, reset=False)
        n, d = X.shape
        depth = self.max_depth_
        if n == 1:
            return np.array([self._path_of_row(X[0].tolist(), depth)], dtype=np.intp)
        flat = np.ascontiguousarray(X).ravel()
        paths = np.zeros((n, depth + 1), dtype=np.intp)
        offsets = np.arange(n) * d
        current = paths[:, 0].copy()
        for level in range(1, depth + 1):
            go_right = flat[self._feature[current] + offsets] > self._threshold[current]
            current = self._children[current * 2 + go_right]
            paths[:, level] = current
        return paths

    def _path_of_row(self, row: list[float], depth: int) -> list[int]:
        left, right = self.tree_children_left_, self.tree_children_right_
        node, path = 0, [0]
        while left[node] != TREE_LEAF:
            node = int(
                left[node] if row[self._feature[node]] <= self._threshold[node] else right[node]
            )
            path.append(node)
        return path + [node] * (depth + 1 - len(path))

    def get_depth(self) -> int:
        """Depth of the tree (the root alone has depth 0)."""
        check_is_fitted(self, "tree_children_left_")
        return self.max_depth_

    def get_n_leaves(self) -> int:
        """Number of leaves."""
        check_is_fitted(self, "tree_children_left_")
        return int(np.count_nonzero(self.tree_children_left_ == TREE_LEAF))


_TREE_ATTRIBUTES = """\
    tree_children_left_ : ndarray of shape (node_count_,)
        Id of each node's left child (samples with x[feature] <= threshold); -1 at leaves.
    tree_children_right_ : ndarray of shape (node_count_,)
        Id of each node's right child; -1 at leaves.
    tree_feature_ : ndarray of shape (node_count_,)
        Feature tested at each node; -2 at leaves.
    tree_threshold_ : ndarray of shape (node_count_,)
        Threshold of each node's test; -2 at leaves.
    tree_n_node_samples_ : ndarray of shape (node_count_,)
        Training samples reaching each node.
    tree_impurity_ : ndarray of shape (node_count_,)
        Impurity of each node under the criterion.
    node_count_ : int
        Number of nodes; ids are breadth-first, the root is 0.
    max_depth_ : int
        Depth of the fitted tree (also `get_depth()`).
    feature_importances_ : ndarray of shape (n_features,)
        Total weighted impurity decrease brought by each feature, normalised to sum to 1
        (all zeros for a single-leaf tree).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had them."""

_PARAMETERS = """\
    max_depth : int or None, default=None
        Maximum depth; None grows until leaves are pure or too small to split.
    min_samples_split : int or float, default=2
        Minimum samples in a node to split it (a float is a fraction of n_samples).
    min_samples_leaf : int or float, default=1
        Minimum samples on each side of a split (a float is a fraction of n_samples).
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features drawn at random (per node) to search for the best split: an int count,
        a float fraction of n_features, sqrt or log2 of n_features, or all when None.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the per-node feature order (which also breaks ties between equal splits).
    min_impurity_decrease : float, default=0.0
        A node splits only if N_t / N * (impurity - N_L / N_t * left_impurity
        - N_R / N_t * right_impurity) is at least this."""

_NOTES = """\
    The tree is grown breadth-first. Each feature is argsorted once; at every depth the
    samples of all splittable nodes are kept grouped by node and sorted by value, so
    cumulative class counts (or target sums) give the quality of every candidate
    threshold of every node and feature in a few vectorised passes. Thresholds are
    midpoints between consecutive distinct values. A split minimises
    N_L * impurity(L) + N_R * impurity(R); stable partitions keep the per-node order for
    the next depth. Prediction walks all rows down one level per step (a single row
    walks its path in plain Python, which is faster than numpy on length-1 arrays).
    Unlike scikit-learn, X is not rounded to float32, so a value lying exactly on a
    threshold may go the other way than in scikit-learn."""


class DecisionTreeClassifier(ClassifierMixin, BaseDecisionTree):
    __doc__ = f"""A CART decision tree classifier (best splits, grown breadth-first).

    Parameters
    ----------
    criterion : {{"gini", "entropy", "log_loss"}}, default="gini"
        Impurity: Gini 1 - sum_k p_k^2, or entropy -sum_k p_k log2 p_k (log_loss is the
        same as entropy).
{_PARAMETERS}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_classes_ : int
        Number of classes.
    tree_value_ : ndarray of shape (node_count_, n_classes)
        Class proportions of the training samples at each node (predict_proba of a leaf).
{_TREE_ATTRIBUTES}

    Notes
    -----
{_NOTES}
    """

    _criteria = _CLASSIFICATION_CRITERIA

    def __init__(
        self,
        *,
        criterion: str = "gini",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float = 1,
        max_features: int | float | str | None = None,
        random_state: int | np.random.Generator | None = None,
        min_impurity_decrease: float = 0.0,
    ) -> None:
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.min_impurity_decrease = min_impurity_decrease

    def fit(
        self, X: Any, y: Any, callback: ProgressCallback | None = None
    ) -> DecisionTreeClassifier:
        """Grow the tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (numbers; no NaN).
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings).
        callback : callable or None, default=None
            Called with {"iteration", "max_iter", "loss", "share"} after each depth
            level; loss is the size-weighted impurity of the leaves so far, share the
            fraction of rows already in a leaf.

        Returns
        -------
        self : DecisionTreeClassifier
        """
        X = validate_data(self, X, reset=True)
        y = check_targets(y, X.shape[0], numeric=False, estimator=self)
        classes = check_classification_targets(y, estimator=self)
        self.classes_ = classes
        self.n_classes_ = int(classes.shape[0])
        # Small codes make the per-depth gathers of labels cheaper.
        code_type = np.uint8 if self.n_classes_ <= 256 else np.intp
        encoded = np.searchsorted(classes, y).astype(code_type)
        self._fit_tree(X, encoded, self.n_classes_, callback)
        return self

    def _after_load(self) -> None:
        super()._after_load()
        if hasattr(self, "tree_value_"):
            self._node_class = np.argmax(self.tree_value_, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """Most frequent training class of the leaf each sample falls in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from `classes_`.
        """
        check_is_fitted(self, "tree_children_left_")
        X = validate_data(self, X, reset=False)
        return self.classes_[self._node_class[self._leaves(X)]]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class proportions of the training samples in each sample's leaf.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`; rows sum to 1.
        """
        check_is_fitted(self, "tree_children_left_")
        X = validate_data(self, X, reset=False)
        return self.tree_value_[self._leaves(X)]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of `predict_proba` (-inf for classes absent from the leaf).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba)


class DecisionTreeRegressor(RegressorMixin, BaseDecisionTree):
    __doc__ = f"""A CART decision tree regressor (best splits, grown breadth-first).

    Parameters
    ----------
    criterion : {{"squared_error", "friedman_mse"}}, default="squared_error"
        Node impurity is the mean squared error around the node mean. friedman_mse is
        accepted as an alias: Friedman's improvement N_L N_R (mean_L - mean_R)^2 / N
        ranks the splits of a node exactly as the squared error does.
{_PARAMETERS}

    Attributes
    ----------
    tree_value_ : ndarray of shape (node_count_,)
        Mean training target at each node (the prediction of a leaf).
{_TREE_ATTRIBUTES}

    Notes
    -----
{_NOTES}
    """

    _criteria = _REGRESSION_CRITERIA

    def __init__(
        self,
        *,
        criterion: str = "squared_error",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float = 1,
        max_features: int | float | str | None = None,
        random_state: int | np.random.Generator | None = None,
        min_impurity_decrease: float = 0.0,
    ) -> None:
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.min_impurity_decrease = min_impurity_decrease

    def fit(
        self, X: Any, y: Any, callback: ProgressCallback | None = None
    ) -> DecisionTreeRegressor:
        """Grow the tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (numbers; no NaN).
        y : array-like of shape (n_samples,)
            Numeric targets.
        callback : callable or None, default=None
            Called with {"iteration", "max_iter", "loss"} after each depth level; loss
            is the size-weighted mean squared error of the leaves so far.

        Returns
        -------
        self : DecisionTreeRegressor
        """
        X = validate_data(self, X, reset=True)
        y = check_targets(y, X.shape[0], numeric=True, estimator=self)
        # Centring keeps the running sums small, so differences of them stay precise.
        self._fit_tree(X, y - y.mean(), 0, callback)
        self.tree_value_ = self.tree_value_ + y.mean()
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Mean training target of the leaf each sample falls in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to predict.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "tree_children_left_")
        X = validate_data(self, X, reset=False)
        return self.tree_value_[self._leaves(X)]
