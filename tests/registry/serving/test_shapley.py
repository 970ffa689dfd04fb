"""Sampling Shapley values (serving/shapley.py): the contributions add up to the score, they
converge to the exact Shapley values within the documented bound, the background comes from
the training rows (or, for an older version, from its profile), and two server processes
give the same explanation to the bit."""

import itertools
import json
import math
import os
import subprocess

import numpy as np
import pytest

from registry import serving
from registry.models import ModelVersion
from registry.serving import shapley
from registry.serving.cache import pipeline_cache
from tests.conftest import train_once
from tests.helpers import PYTHON, ROOT, database_url

# ------------------------------------------------------------------------------ the estimator


def _curved(table):
    """A score with interactions and a threshold: its Shapley values need every subset."""
    a, b, c = table["a"], table["b"], table["c"]
    return a * b + np.sin(c) + np.where(a > 0, c, 0.0) + (table["d"] == "x") * b


ROWS = {
    "a": np.array([1.5, -0.7, 0.2]),
    "b": np.array([2.0, 0.5, -1.0]),
    "c": np.array([0.3, 2.5, -1.2]),
    "d": np.array(["x", "y", None], dtype=object),
}
BACKGROUND = {
    "a": np.array([0.0, -1.0, 0.8, 2.0, -0.3]),
    "b": np.array([1.0, 0.0, -2.0, 0.4, 0.9]),
    "c": np.array([0.0, 1.0, -0.5, 3.0, 0.2]),
    "d": np.array(["y", "x", "x", None, "y"], dtype=object),
}
COLUMNS = ["a", "b", "c", "d"]


def _exact(score, row, background, columns):
    """Shapley values with v(S) = mean over background rows z of f(x on S, z elsewhere),
    by enumerating every subset S."""
    d = len(columns)

    def value(subset):
        mixed = {
            name: np.where(name in subset, row[name], background[name]).astype(
                background[name].dtype
            )
            for name in columns
        }
        return float(np.mean(score(mixed)))

    phi = np.zeros(d)
    for j, name in enumerate(columns):
        others = [c for c in columns if c != name]
        for size in range(d):
            weight = math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d)
            for subset in itertools.combinations(others, size):
                phi[j] += weight * (value({*subset, name}) - value(set(subset)))
    return value(set()), phi


def _range(score, row, background, columns):
    """Width of the scores over every mix of the row and a background row: each sampled
    marginal lies within [-R, R]."""
    scores = []
    for size in range(len(columns) + 1):
        for subset in itertools.combinations(columns, size):
            mixed = {
                n: np.where(n in subset, row[n], background[n]).astype(background[n].dtype)
                for n in columns
            }
            scores.append(score(mixed))
    scores = np.concatenate(scores)
    return float(scores.max() - scores.min())


def _row(table, i):
    return {name: column[i : i + 1] for name, column in table.items()}


def test_base_plus_contributions_is_the_score():
    base, phi, _ = shapley.sampling_shapley(_curved, ROWS, BACKGROUND, COLUMNS, seed=7)
    np.testing.assert_allclose(base + phi.sum(axis=1), _curved(ROWS), rtol=0, atol=1e-9)


def test_an_additive_score_gets_its_exact_parts_against_the_rows_drawn():
    # Every ordering gives g_j(x_j) - g_j(z_j): only the background rows drawn vary.
    def additive(t):
        return 2 * t["a"] - t["b"] ** 2 + np.cos(t["c"])

    base, phi, stderr = shapley.sampling_shapley(additive, ROWS, BACKGROUND, ["a", "b", "c"])
    parts = [
        (2 * ROWS["a"], 2 * BACKGROUND["a"]),
        (-(ROWS["b"] ** 2), -(BACKGROUND["b"] ** 2)),
        (np.cos(ROWS["c"]), np.cos(BACKGROUND["c"])),
    ]
    _, drawn = shapley._plan(3, 5, 0, shapley.n_orderings(3))
    for j, (own, reference) in enumerate(parts):
        np.testing.assert_allclose(phi[:, j], own - reference[drawn].mean(), atol=1e-12)
    pairs = -parts[0][1][drawn[::2]]
    np.testing.assert_allclose(stderr[:, 0], pairs.std(ddof=1) / math.sqrt(len(pairs)))
    np.testing.assert_allclose(base, additive(BACKGROUND)[drawn].mean(), atol=1e-12)


@pytest.mark.parametrize("max_calls", [64, 2048])
def test_it_converges_to_the_exact_shapley_values_within_the_documented_bound(max_calls):
    m = shapley.n_orderings(len(COLUMNS), max_calls)
    base, phi, stderr = shapley.sampling_shapley(
        _curved, ROWS, BACKGROUND, COLUMNS, seed=0, max_calls=max_calls
    )
    for i in range(3):
        row = _row(ROWS, i)
        exact_base, exact = _exact(_curved, row, BACKGROUND, COLUMNS)
        bound = shapley.hoeffding_bound(_range(_curved, row, BACKGROUND, COLUMNS), m // 2, 1e-6)
        assert np.all(np.abs(phi[i] - exact) <= bound), (phi[i], exact, bound)
        if m >= 100:  # ...and, with enough pairs, within a few standard errors
            assert np.all(np.abs(phi[i] - exact) <= 5 * stderr[i] + 1e-12)
        # Base and total are exact in expectation: base + sum(phi) = f(x) always.
        assert base[i] + phi[i].sum() == pytest.approx(exact_base + exact.sum(), abs=1e-9)
    assert m * len(COLUMNS) + 1 <= max_calls


def test_more_calls_get_closer():
    errors = []
    for max_calls in (32, 512, 8192):
        _, phi, _ = shapley.sampling_shapley(
            _curved, ROWS, BACKGROUND, COLUMNS, max_calls=max_calls
        )
        exact = np.array([_exact(_curved, _row(ROWS, i), BACKGROUND, COLUMNS)[1] for i in range(3)])
        errors.append(np.abs(phi - exact).max())
    assert errors[2] < errors[0]


def test_it_calls_the_model_once_per_row_within_the_budget():
    calls = []

    def counted(table):
        calls.append(len(table["a"]))
        return _curved(table)

    shapley.sampling_shapley(counted, ROWS, BACKGROUND, COLUMNS, max_calls=100)
    assert len(calls) == 3
    assert all(n <= 100 for n in calls)
    assert calls[0] == shapley.n_orderings(4, 100) * 4 + 1


def test_a_row_gets_the_same_explanation_alone_or_with_others():
    together = shapley.sampling_shapley(_curved, ROWS, BACKGROUND, COLUMNS, seed=3)
    alone = shapley.sampling_shapley(_curved, _row(ROWS, 1), BACKGROUND, COLUMNS, seed=3)
    for whole, single in zip(together, alone, strict=True):
        np.testing.assert_array_equal(whole[1:2], single)
    other = shapley.sampling_shapley(_curved, ROWS, BACKGROUND, COLUMNS, seed=4)
    assert not np.array_equal(together[1], other[1])


def test_too_many_columns_for_the_budget_are_refused():
    with pytest.raises(ValueError, match="limit is 4"):
        shapley.n_orderings(4, max_calls=4)


# ------------------------------------------------------------------------------ the background


@pytest.fixture
def trained(owner, make_dataset):
    def run(algorithm: str = "gaussian_nb", target: str = "churned"):
        return train_once(
            owner=owner,
            dataset=make_dataset("churn.csv", dataset_name=f"{algorithm}-{target}"),
            name=f"{algorithm.replace('_', '-')}-{target}",
            algorithm=algorithm,
            target=target,
        )

    return run


def _score(served):
    pipeline = pipeline_cache().get(served)
    positive = list(pipeline.classes_).index(served.classes[1])
    return lambda table: pipeline.predict_proba(table)[:, positive]


@pytest.mark.django_db
def test_training_keeps_a_sample_of_its_rows_as_the_background(trained):
    version = trained()
    background = version.profile["background"]
    assert background["rows"] == min(shapley.BACKGROUND_ROWS, version.metrics["n_train"])
    assert set(background["columns"]) == {f["name"] for f in version.features}
    table = shapley.background_of(version)
    assert all(len(column) == background["rows"] for column in table.values())
    assert table["monthly_charges"].dtype == np.float64
    assert set(table["contract"]) <= {"month-to-month", "one-year", "two-year"}
    # drift reads the same profile, and takes no notice of the sample
    from registry import cards

    assert cards.profile_problem(version.profile, version.features) is None


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ["gaussian_nb", "svm", "knn_classifier", "perceptron"])
def test_a_served_model_is_explained_exactly_to_its_probability(trained, algorithm):
    version = trained(algorithm)
    served = serving.resolve(version.model.name)
    table = {k: v[:4] for k, v in shapley.background_of(served).items()}
    table["monthly_charges"] = np.array([np.nan, 120.0, 20.0, 70.0])  # a missing value too
    score = _score(served)
    base, phi, stderr = shapley.sampling_shapley(
        score, table, shapley.background_of(served), served.feature_names, seed=0
    )
    np.testing.assert_allclose(base + phi.sum(axis=1), score(table), rtol=0, atol=1e-9)
    assert phi.shape == stderr.shape == (4, len(served.feature_names))
    assert np.all(np.isfinite(stderr))


@pytest.mark.django_db
def test_a_version_without_a_sample_gets_one_from_its_profile(trained):
    version = trained()
    profile = {k: v for k, v in version.profile.items() if k != "background"}
    table = shapley.background_of(profile, version.features)
    assert all(len(column) == shapley.PROFILE_BACKGROUND_ROWS for column in table.values())
    tenure = version.profile["features"]["tenure_months"]
    assert tenure["min"] <= table["tenure_months"].min() <= table["tenure_months"].max()
    assert table["tenure_months"].max() <= tenure["max"]
    seen = {value for value, _ in version.profile["features"]["contract"]["categories"]}
    assert set(table["contract"]) <= seen
    # the most frequent category is the most frequent made-up value
    values, counts = np.unique(table["contract"].astype(str), return_counts=True)
    assert values[counts.argmax()] == version.profile["features"]["contract"]["categories"][0][0]
    served = serving.resolve(version.model.name)
    base, phi, _ = shapley.sampling_shapley(
        _score(served), table, table, served.feature_names, seed=0
    )
    np.testing.assert_allclose(base + phi.sum(axis=1), _score(served)(table), atol=1e-9)


# ------------------------------------------------------------------------------ two processes

_CHILD = """
import json, sys
import django
django.setup()
from registry import serving
from registry.serving import shapley
from registry.serving.cache import pipeline_cache

served = serving.resolve(sys.argv[1])
pipeline = pipeline_cache().get(served)
positive = list(pipeline.classes_).index(served.classes[1])
background = shapley.background_of(served)
table = {name: column[:6] for name, column in background.items()}
out = shapley.sampling_shapley(
    lambda t: pipeline.predict_proba(t)[:, positive], table, background,
    served.feature_names, seed=0,
)
print(json.dumps([[float(v).hex() for v in np.ravel(a)] for a in out]))
""".replace("import json, sys", "import json, sys\nimport numpy as np")


def _explain_in_a_process(name: str, hash_seed: str) -> list:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "mlsite.settings",
        "PYTHONHASHSEED": hash_seed,
    }
    done = subprocess.run(
        [PYTHON, "-c", _CHILD, name], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)  # the processes read committed rows
@pytest.mark.parametrize("algorithm", ["svm", "gaussian_nb"])
def test_two_processes_give_the_same_explanation_to_the_bit(trained, algorithm):
    version = trained(algorithm)
    name = version.model.name
    first = _explain_in_a_process(name, "1")
    second = _explain_in_a_process(name, "2")
    assert first == second
    served = serving.resolve(name)
    background = shapley.background_of(ModelVersion.objects.get(pk=version.pk))
    table = {n: column[:6] for n, column in background.items()}
    here = shapley.sampling_shapley(_score(served), table, background, served.feature_names)
    assert first == [[float(v).hex() for v in np.ravel(a)] for a in here]
