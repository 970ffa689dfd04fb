"""Model-agnostic explanations: Shapley values estimated by sampling permutations.

For models whose output has no additive form (naive Bayes, k-NN, an SVM, a perceptron with
Platt probabilities), each original column's contribution to one row's score is its Shapley
value with the training rows as the reference population: the average, over orderings of
the columns and over background rows z, of how much the score moves when the column takes
the row's value instead of z's, the columns before it in the ordering having taken theirs
already (Strumbelj and Kononenko 2014). The work is on the raw typed table, the very
input serving takes: a column's values are swapped whole (a category, a date, a missing
value) and the whole pipeline scores the mixed rows, so one-hot parts never need adding up.

- Bounded: each explained row costs at most `max_calls` rows of model input (an ordering
  of d columns costs d mixed rows; the row itself is scored once), all in one call.
- Exact sum: along one ordering the score moves from f(z) to f(x) and the moves add up to
  f(x) - f(z); so base (the mean f(z) over the sampled z) plus the contributions is the
  row's score, up to rounding.
- Deterministic: the orderings and background rows come from a generator seeded by `seed`
  alone, the same for every row, so a row gets the same explanation on every server and
  whatever other rows a request holds.
- Antithetic: each ordering is followed by its reverse (with the same z), which cancels
  much of the sampling noise.
- Error: `stderr` is the standard error of each estimate over the independent pairs. With
  K pairs and a score within a range of width R (1 for a probability), Hoeffding's
  inequality bounds the error: |phi_hat - phi| <= R * sqrt(2 ln(2 / delta) / K) with
  probability at least 1 - delta (docs/explanations.md).

The background is a small seeded sample of the training rows, stored with the version at
training (`ModelVersion.profile["background"]`, from `background_sample`); a version trained
before that gets one made up from its training-data profile (`background_of`).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

# Rows of model input per explained row: with 10 columns, 204 orderings (102 pairs).
MAX_CALLS = 2048
# The background stored at training: this many training rows, fewer for a wide table so
# that the stored profile stays small.
BACKGROUND_ROWS = 100
BACKGROUND_MAX_CELLS = 20_000
# Rows of a background made up from a profile (features taken as independent).
PROFILE_BACKGROUND_ROWS = 50
_NUMBER_TYPES = ("number", "date")  # served as float64 columns (a date as epoch seconds)

Table = dict[str, np.ndarray]
Score = Callable[[Table], np.ndarray]


def n_orderings(n_columns: int, max_calls: int = MAX_CALLS) -> int:
    """Orderings sampled per row: as many as `max_calls` rows allow (each costs n_columns
    rows, plus the row itself once), an even number (antithetic pairs) when there are two."""
    if n_columns < 1:
        raise ValueError("there must be at least one column to explain")
    if n_columns + 1 > max_calls:
        raise ValueError(
            f"{n_columns} columns need at least {n_columns + 1} model rows per explained row; "
            f"the limit is {max_calls}"
        )
    m = (max_calls - 1) // n_columns
    return m - m % 2 if m >= 2 else m


def _plan(n_columns: int, n_background: int, seed: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The orderings (m, d) and background row of each (m,): antithetic pairs, seeded."""
    rng = np.random.default_rng(seed)
    pairs = max(m // 2, 1)
    first = np.argsort(rng.random((pairs, n_columns)), axis=1)
    rows = rng.integers(0, n_background, size=pairs)
    if m < 2:
        return first[:m], rows[:m]
    orders = np.empty((2 * pairs, n_columns), dtype=np.intp)
    orders[0::2], orders[1::2] = first, first[:, ::-1]
    return orders, np.repeat(rows, 2)


def sampling_shapley(
    score: Score,
    table: Table,
    background: Table,
    columns: list[str] | tuple[str, ...],
    *,
    seed: int = 0,
    max_calls: int = MAX_CALLS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shapley values of `columns` for each row of `table`, by sampling orderings.

    Parameters
    ----------
    score : callable
        Scores a typed table (column -> array, as serving's) with one number per row: the
        output explained (a class probability, a logit, a value).
    table : dict of str -> ndarray
        The rows to explain (n rows). Columns not in `columns` keep the row's values.
    background : dict of str -> ndarray
        Reference rows (at least one), holding every column of `columns`.
    columns : list of str
        The original feature names explained.
    seed : int, default=0
        Seed of the orderings and of the background rows drawn.
    max_calls : int, default=MAX_CALLS
        Rows of model input per explained row.

    Returns
    -------
    base_values : ndarray of shape (n,)
        Mean score of the background rows drawn.
    contributions : ndarray of shape (n, len(columns))
        base_values + contributions.sum(axis=1) equals score(table), up to rounding.
    stderr : ndarray of shape (n, len(columns))
        Standard error of each contribution over the independent samples (antithetic
        pairs); NaN when fewer than two were drawn.
    """
    columns = list(columns)
    n = len(next(iter(table.values()))) if table else 0
    d = len(columns)
    n_background = len(background[columns[0]]) if columns else 0
    if n_background < 1:
        raise ValueError("the background holds no row")
    m = n_orderings(d, max_calls)
    orders, drawn = _plan(d, n_background, seed, m)
    # included[o, k, j]: column j takes the row's value in mixed row k of ordering o (the
    # columns at positions < k of the ordering do).
    position = np.empty_like(orders)
    np.put_along_axis(position, orders, np.arange(d)[None, :], axis=1)
    included = position[:, None, :] < np.arange(d)[None, :, None]
    base = np.empty(n)
    contributions = np.empty((n, d))
    stderr = np.empty((n, d))
    for i in range(n):
        mixed: Table = {}
        for name, values in table.items():
            if name not in columns:
                mixed[name] = np.repeat(values[i : i + 1], m * d + 1)
        for j, name in enumerate(columns):
            reference = background[name][drawn]
            value = table[name][i : i + 1]
            column = np.where(included[:, :, j], value, reference[:, None]).reshape(-1)
            mixed[name] = np.concatenate([column, value]).astype(table[name].dtype, copy=False)
        scores = np.asarray(score(mixed), dtype=np.float64)
        path = np.empty((m, d + 1))
        path[:, :d] = scores[:-1].reshape(m, d)
        path[:, d] = scores[-1]
        steps = np.diff(path, axis=1)  # steps[o, k]: the move of the column at position k
        samples = np.empty((m, d))
        np.put_along_axis(samples, orders, steps, axis=1)
        base[i] = path[:, 0].mean()
        contributions[i] = samples.mean(axis=0)
        stderr[i] = _stderr(samples)
    return base, contributions, stderr


def _stderr(samples: np.ndarray) -> np.ndarray:
    """Standard error of the mean over the independent units: antithetic pairs."""
    m = samples.shape[0]
    units = samples.reshape(m // 2, 2, -1).mean(axis=1) if m >= 2 else samples
    if units.shape[0] < 2:
        return np.full(samples.shape[1], np.nan)
    return units.std(axis=0, ddof=1) / math.sqrt(units.shape[0])


def hoeffding_bound(output_range: float, n_pairs: int, delta: float = 0.05) -> float:
    """The error no contribution exceeds with probability 1 - delta: each pair's mean
    marginal lies within [-R, R], so by Hoeffding |phi_hat - phi| <= R sqrt(2 ln(2/delta) / K)."""
    return output_range * math.sqrt(2.0 * math.log(2.0 / delta) / n_pairs)


# The background --------------------------------------------------------------------------------


def background_sample(table: Table, features: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """A seeded sample of training rows, JSON-ready, for ModelVersion.profile["background"]:
    {"rows": k, "columns": {name: [value, ...]}}, numbers (and dates, as epoch seconds) as
    floats, categories as text, a missing value as null."""
    n = len(next(iter(table.values()))) if table else 0
    k = min(BACKGROUND_ROWS, n, max(1, BACKGROUND_MAX_CELLS // max(1, len(features))))
    rows = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False)) if k else []
    columns: dict[str, list[Any]] = {}
    for feature in features:
        values = np.asarray(table[feature["name"]])[rows]
        if feature["type"] in _NUMBER_TYPES:
            columns[feature["name"]] = [None if math.isnan(v) else float(v) for v in values]
        else:
            columns[feature["name"]] = [None if v is None else str(v) for v in values.tolist()]
    return {"rows": int(k), "columns": columns}


def _stored(background: Any, features: list[dict[str, Any]]) -> Table | None:
    """The stored sample as a typed table, or None when it is missing or does not hold
    every feature (a version trained before it, or imported without it)."""
    if not isinstance(background, dict) or not isinstance(background.get("columns"), dict):
        return None
    stored, rows = background["columns"], background.get("rows")
    if not isinstance(rows, int) or rows < 1:
        return None
    out: Table = {}
    for feature in features:
        values = stored.get(feature["name"])
        if not isinstance(values, list) or len(values) != rows:
            return None
        out[feature["name"]] = _typed(values, feature["type"])
    return out


def _typed(values: list[Any], kind: str) -> np.ndarray:
    if kind in _NUMBER_TYPES:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    column = np.empty(len(values), dtype=object)
    column[:] = [None if v is None else str(v) for v in values]
    return column


def _quantiles(spec: dict[str, Any], q: np.ndarray) -> np.ndarray:
    """Values at quantiles q of a numeric profile's bins, linear within each bin."""
    edges = [float(e) for e in spec.get("edges") or []]
    low = spec.get("min", edges[0] if edges else None)
    high = spec.get("max", edges[-1] if edges else None)
    if low is None or high is None:
        return np.full(q.shape, np.nan)
    bounds = np.array([float(low), *edges, float(high)])
    shares = np.asarray(spec.get("proportions") or [], dtype=np.float64)
    if shares.shape[0] != bounds.shape[0] - 1 or shares.sum() <= 0:
        return np.full(q.shape, (float(low) + float(high)) / 2)
    cumulative = np.concatenate([[0.0], np.cumsum(shares / shares.sum())])
    return np.interp(q, cumulative, bounds)


def _category_quantiles(spec: dict[str, Any], q: np.ndarray) -> np.ndarray:
    pairs = [p for p in spec.get("categories") or [] if isinstance(p, list) and len(p) == 2]
    column = np.empty(q.shape[0], dtype=object)
    if not pairs:
        column[:] = None
        return column
    shares = np.asarray([float(share) for _, share in pairs])
    if not shares.sum() > 0:  # no shares recorded: equal ones
        shares = np.ones(len(pairs))
    cumulative = np.cumsum(shares / shares.sum())
    picked = np.minimum(np.searchsorted(cumulative, q, side="right"), len(pairs) - 1)
    column[:] = [str(pairs[i][0]) for i in picked.tolist()]
    return column


def profile_background(
    profile: Any, features: list[dict[str, Any]], *, rows: int = PROFILE_BACKGROUND_ROWS
) -> Table:
    """A background made up from a training-data profile (for a version stored without a
    sample): per feature, its values at evenly spaced quantiles of the profile's bins (a
    number) or of its most frequent categories, each column shuffled by a fixed seed so that
    the features are independent. A feature the profile does not describe (a date) is missing
    in every row, which the pipeline's imputer fills with the training mean or mode."""
    described = profile.get("features") if isinstance(profile, dict) else None
    described = described if isinstance(described, dict) else {}
    q = (np.arange(rows) + 0.5) / rows
    rng = np.random.default_rng(0)
    out: Table = {}
    for feature in features:
        spec = described.get(feature["name"])
        number = feature["type"] in _NUMBER_TYPES
        if not isinstance(spec, dict):
            out[feature["name"]] = _typed([None] * rows, feature["type"])
            continue
        column = _quantiles(spec, q) if number else _category_quantiles(spec, q)
        out[feature["name"]] = column[rng.permutation(rows)]
    return out


_CACHE_SIZE = 64
_cache: OrderedDict[tuple[int, str], Table] = OrderedDict()
_cache_lock = threading.Lock()  # a threaded web worker's requests share it


def background_of(source: Any, features: list[dict[str, Any]] | None = None) -> Table:
    """The background rows of a version as a typed table (column -> array, read-only).

    `source` is a ModelVersion, a ServedVersion (its profile read once from the database,
    then kept by version id and artifact: a ready version never changes), or a profile dict
    (then `features` lists the version's features). The stored training sample when there
    is one, else one made up from the profile (`profile_background`).
    """
    if isinstance(source, dict):
        return _background(source, list(features or []))
    key = (int(source.id if hasattr(source, "id") else source.pk), source.artifact_sha256)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    profile = getattr(source, "profile", None)
    if profile is None:  # a ServedVersion carries no profile: read it (only it)
        from registry.models import ModelVersion

        profile = ModelVersion.objects.filter(pk=key[0]).values_list("profile", flat=True).first()
    built = _background(profile or {}, list(features or source.features))
    for column in built.values():
        column.setflags(write=False)
    with _cache_lock:
        _cache[key] = built
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return built


def _background(profile: dict[str, Any], features: list[dict[str, Any]]) -> Table:
    stored = _stored(profile.get("background") if isinstance(profile, dict) else None, features)
    return stored if stored is not None else profile_background(profile, features)
