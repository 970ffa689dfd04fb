"""leaderboard.search: the defaults first, random configurations within the algorithms
table's bounds (log-uniform for scale parameters), the same plan for the same seed."""

import math

import numpy as np
import pytest

from registry.algorithms import ALGORITHMS, clean_params
from registry.leaderboard import search


def test_every_algorithm_starts_with_its_defaults_then_distinct_valid_draws():
    for algorithm in ALGORITHMS.values():
        configs = search.configurations(algorithm, 6, seed=3)
        assert configs[0] == algorithm.defaults()
        for params in configs:
            assert clean_params(algorithm, params) == params
        assert len({repr(sorted(p.items(), key=str)) for p in configs}) == len(configs)


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    algorithms = ["logistic_regression", "svm", "knn_classifier", "decision_tree_classifier"]
    first = search.plan(algorithms, 4, seed=9)
    assert first == search.plan(algorithms, 4, seed=9)
    assert first != search.plan(algorithms, 4, seed=10)
    # Each algorithm draws on its own: another list leaves an algorithm's draws alone.
    alone = search.plan(["svm"], 4, seed=9)
    assert [t for t in first if t["algorithm"] == "svm"] == alone


def test_the_plan_goes_round_by_round_defaults_first():
    plan = search.plan(["gaussian_nb", "svm"], 2, seed=0)
    assert [(t["algorithm"], t["is_default"]) for t in plan] == [
        ("gaussian_nb", True),
        ("svm", True),
        ("gaussian_nb", False),
        ("svm", False),
        ("gaussian_nb", False),
        ("svm", False),
    ]


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [("logistic_regression", "C"), ("multinomial_nb", "alpha"), ("gaussian_nb", "var_smoothing")],
)
def test_scale_parameters_are_drawn_log_uniformly_around_the_default(algorithm, name):
    spec = ALGORITHMS[algorithm]
    param = spec.param(name)
    rng = np.random.default_rng(0)
    logs = np.log10([search.draw(param, rng) for _ in range(2000)])
    centre = math.log10(param.default)
    assert logs.min() >= centre - search.DECADES - 0.01
    assert logs.max() <= centre + search.DECADES + 0.01
    # Uniform in log space: each decade about as likely as the next.
    counts = np.histogram(logs, bins=2 * search.DECADES, range=(centre - 3, centre + 3))[0]
    assert counts.min() > 0.7 * counts.mean()


def test_a_tolerance_spans_less_and_counts_stay_in_a_useful_range():
    rng = np.random.default_rng(1)
    tol = ALGORITHMS["svm"].param("tol")
    tols = [search.draw(tol, rng) for _ in range(500)]
    assert tol.default / 10 <= min(tols)
    assert max(tols) <= tol.default * 10
    k = ALGORITHMS["knn_classifier"].param("n_neighbors")
    ks = [search.draw(k, rng) for _ in range(500)]
    assert set(ks) <= set(range(1, 51))
    assert {1, 50} <= set(ks)
    ridge = ALGORITHMS["linear_regression"].param("alpha")  # default 0: a range of its own
    alphas = [search.draw(ridge, rng) for _ in range(500)]
    assert search.ZERO_DEFAULT_RANGE[0] <= min(alphas)
    assert max(alphas) <= 100


def test_seeds_and_iteration_caps_are_not_searched():
    configs = search.configurations(ALGORITHMS["perceptron"], 8, seed=5)
    assert {c["random_state"] for c in configs} == {0}
    assert {c["max_iter"] for c in configs} == {1000}
