"""The plan of a leaderboard: for each algorithm, the algorithms table's defaults as one
trial, then `n_iter` random configurations drawn within the table's bounds.

Scale parameters (a penalty, a smoothing, a tolerance, a learning rate) are drawn
log-uniformly: 0.001 and 0.01 differ as much as 100 and 1000. Counts (neighbours, depth,
leaf sizes) are drawn log-uniformly too, within a range narrower than what the table accepts
(a 1000-neighbour k-NN is a valid request but not a useful guess). The seed of the run, the
number of the trial and the random state of the estimator are not searched. Each
algorithm draws from its own generator, seeded by the board's seed and the algorithm's id,
so the same seed gives the same plan and adding an algorithm changes no other's draws.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

from registry.algorithms import ALGORITHMS, Algorithm, Param, ParamsError, clean_params

# Decades searched around the default of a scale parameter (clipped to the table's bounds);
# a default of 0 (ridge alpha: plain least squares) searches from this floor up.
DECADES = 3
ZERO_DEFAULT_RANGE = (1e-4, 1e2)
# A tolerance trades time for precision more than quality: one decade each side.
TOL_DECADES = 1
# Count parameters: the range searched (the table allows more).
COUNT_RANGES: dict[str, tuple[int, int]] = {
    "n_neighbors": (1, 50),
    "max_depth": (1, 32),
    "min_samples_split": (2, 40),
    "min_samples_leaf": (1, 20),
}
# Not searched: the iteration cap and seeds stay at their defaults.
FIXED = frozenset({"max_iter", "random_state"})
# How often a nullable parameter is drawn as None ("no limit").
NULL_SHARE = 0.25
# Draws tried per configuration before giving up on finding one not yet planned (an
# algorithm with few configurations, like one bool, has fewer than n_iter).
TRIES = 20


def _rng(seed: int, algorithm: Algorithm) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(algorithm.id.encode())])


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _float(param: Param, rng: np.random.Generator) -> float:
    decades = TOL_DECADES if param.name == "tol" else DECADES
    if param.default:
        low, high = param.default / 10**decades, param.default * 10**decades
    else:
        low, high = ZERO_DEFAULT_RANGE
    if param.minimum is not None:
        low = max(low, param.minimum) if param.minimum > 0 else low
    if param.maximum is not None:
        high = min(high, param.maximum)
    value = _log_uniform(rng, low, high)
    return float(f"{value:.3g}")  # three digits: readable, and still a fine grid


def _int(param: Param, rng: np.random.Generator) -> int:
    low, high = COUNT_RANGES.get(param.name, (param.minimum or 1, param.maximum or 100))
    if high <= low:
        return int(low)
    return min(int(high), math.floor(_log_uniform(rng, low, high + 1)))


def draw(param: Param, rng: np.random.Generator) -> Any:
    """One random value of `param` (always one the table accepts)."""
    if param.name in FIXED:
        return param.default
    if param.nullable and rng.random() < NULL_SHARE:
        return None
    if param.type == "bool":
        return bool(rng.integers(2))
    if param.type == "choice":
        choices = [c for c in param.choices if c is not None]
        return choices[int(rng.integers(len(choices)))]
    if param.type == "int":
        return _int(param, rng)
    return _float(param, rng)


def configurations(algorithm: Algorithm, n_iter: int, seed: int) -> list[dict[str, Any]]:
    """The defaults, then up to `n_iter` distinct random configurations, each complete and
    valid for the algorithms table."""
    rng = _rng(seed, algorithm)
    planned = [algorithm.defaults()]
    for _ in range(n_iter):
        for _ in range(TRIES):
            try:
                params = clean_params(algorithm, {p.name: draw(p, rng) for p in algorithm.params})
            except ParamsError:  # a rule across values (PCA's whole counts): draw again
                continue
            if params not in planned:
                planned.append(params)
                break
    return planned


def plan(algorithms: list[str], n_iter: int, seed: int) -> list[dict[str, Any]]:
    """Every trial of a board, in the order the queue takes them: [{"algorithm", "params",
    "is_default"}, ...]. Round by round (every algorithm's defaults, then every algorithm's
    first random configuration, ...), so a time budget that runs out leaves every algorithm
    with its best guesses tried rather than some algorithms with none."""
    per_algorithm = [configurations(ALGORITHMS[a], n_iter, seed) for a in algorithms]
    trials = []
    for index in range(max(map(len, per_algorithm), default=0)):
        for algorithm_id, configs in zip(algorithms, per_algorithm, strict=True):
            if index < len(configs):
                trials.append(
                    {"algorithm": algorithm_id, "params": configs[index], "is_default": index == 0}
                )
    return trials
