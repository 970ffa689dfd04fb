"""The single-row plan (registry/serving/plan.py) against the full pipeline.

For every algorithm of the table (and the linear SVM beside the default RBF one) and
several column mixes (a few numbers; many numbers, the plan's numpy path, alone and with a
category; numbers and categories; categories only; numbers, a date and a category), on
random rows with missing values and unseen categories: the plan's features, and the
predictions, probabilities, scores and outputs from them, equal the unplanned pipeline's
bit for bit. Then through the one serving entry: a one-row request is answered from the
plan, exactly as the pipeline would, and rows the plan leaves to the pipeline still are.
"""

from __future__ import annotations

import datetime
import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numpyml.compose import ColumnTransformer
from registry.algorithms import ALGORITHMS, CLASSIFIER, CLUSTERING, DECOMPOSITION, REGRESSOR
from registry.pipeline import build_pipeline, estimator_of, preprocessing_of
from registry.serving.plan import PYTHON_NUMBERS, build_plan
from tests.conftest import examples

CATEGORIES = {"colour": ["red", "green", "blue"], "size": ["S", "M", "L", "XL"]}
UNSEEN = ["purple", "XXL", "Red", "s "]
DATE_RANGE = (datetime.datetime(1990, 1, 1).timestamp(), datetime.datetime(2030, 1, 1).timestamp())
MIXES = {
    "numbers": [("a", "number"), ("b", "number"), ("c", "number"), ("d", "number")],
    "many numbers": [(f"n{i}", "number") for i in range(PYTHON_NUMBERS + 3)],
    "many numbers and a category": [
        *((f"n{i}", "number") for i in range(PYTHON_NUMBERS + 1)),
        ("size", "category"),
    ],
    "numbers and categories": [
        ("a", "number"),
        ("b", "number"),
        ("colour", "category"),
        ("size", "category"),
    ],
    "categories": [("colour", "category"), ("size", "category")],
    "with a date": [("a", "number"), ("when", "date"), ("colour", "category")],
}
# Classes per mix: two (1-D scores) and three (one score per class or pair).
N_CLASSES = {
    "numbers": 3,
    "many numbers": 2,
    "many numbers and a category": 3,
    "numbers and categories": 2,
    "categories": 2,
    "with a date": 3,
}
VARIANTS = [(algorithm, {}) for algorithm in ALGORITHMS] + [("svm", {"kernel": "linear"})]


def _variant_id(variant: tuple[str, dict]) -> str:
    algorithm, params = variant
    return f"{algorithm}/{params['kernel']}" if params else algorithm


@functools.cache
def fitted(variant_id: str, mix: str):
    """A fitted pipeline of `variant_id` on 80 random rows of `mix`, with missing values
    in every column."""
    algorithm_id, _, kernel = variant_id.partition("/")
    algorithm = ALGORITHMS[algorithm_id]
    params = {"kernel": kernel} if kernel else {}
    rng = np.random.default_rng(7)
    n = 80
    table: dict[str, np.ndarray] = {}
    signal = np.zeros(n)
    for name, kind in MIXES[mix]:
        if kind == "number":
            column = rng.uniform(0, 10, n)  # non-negative: multinomial naive Bayes needs it
            signal += column
        elif kind == "date":
            column = rng.uniform(*DATE_RANGE, n)
            signal += (column - DATE_RANGE[0]) / (DATE_RANGE[1] - DATE_RANGE[0]) * 10
        else:
            values = CATEGORIES[name]
            picks = rng.integers(0, len(values), n)
            column = np.array([values[i] for i in picks], dtype=object)
            signal += picks * 3
        missing = rng.random(n) < 0.1
        if kind == "category":
            column[missing] = None
        else:
            column[missing] = np.nan
        table[name] = column
    features = [{"name": name, "type": kind} for name, kind in MIXES[mix]]
    pipeline = build_pipeline(algorithm, algorithm.defaults() | params, features)
    if algorithm.kind == CLASSIFIER:
        k = N_CLASSES[mix]
        cuts = np.quantile(signal, np.linspace(0, 1, k + 1)[1:-1])
        target = np.array([f"class-{c}" for c in np.searchsorted(cuts, signal)], dtype=object)
        pipeline.fit(table, target)
    elif algorithm.kind == REGRESSOR:
        pipeline.fit(table, signal * 2.5 + rng.normal(0, 1, n))
    else:
        pipeline.fit(table)
    return pipeline


def rows(mix: str, variant_id: str):
    """One-row tables of `mix`: numbers in and around the training range (non-negative for
    multinomial naive Bayes, which refuses negative counts), dates in 1980-2040, known and
    unseen categories, each cell missing now and then."""
    low = 0.0 if variant_id == "multinomial_nb" else -10.0
    number = st.one_of(st.just(np.nan), st.floats(low, 30.0, allow_nan=False))
    date = st.one_of(
        st.just(np.nan),
        st.floats(DATE_RANGE[0] - 3.2e8, DATE_RANGE[1] + 3.2e8, allow_nan=False),
    )
    cells = {}
    for name, kind in MIXES[mix]:
        if kind == "number":
            cells[name] = number.map(lambda v: np.array([v]))
        elif kind == "date":
            cells[name] = date.map(lambda v: np.array([v]))
        else:
            category = st.one_of(
                st.none(), st.just(""), st.sampled_from(CATEGORIES[name]), st.sampled_from(UNSEEN)
            )
            cells[name] = category.map(lambda v: np.array([v], dtype=object))
    return st.fixed_dictionaries(cells)


def outputs(scorer, features: np.ndarray, kind: str) -> dict[str, np.ndarray]:
    """What the serving entry asks of the estimator, and the scores behind it."""
    if kind == DECOMPOSITION:
        return {"transform": scorer.transform(features)}
    if kind in (REGRESSOR, CLUSTERING):
        return {"predict": scorer.predict(features)}
    out = {"predict": scorer.predict(features)}
    if hasattr(scorer, "predict_proba"):
        labels, proba = scorer.predict_with_proba(features)
        out |= {"labels": labels, "proba": proba}
    if hasattr(scorer, "decision_function"):
        out["decision"] = scorer.decision_function(features)
    return out


def bits(array: np.ndarray) -> tuple:
    array = np.asarray(array)
    return (array.dtype.str, array.shape, array.tobytes() if array.dtype != object else array)


CASES = [(variant, mix) for variant in VARIANTS for mix in MIXES]


@pytest.mark.parametrize(("variant", "mix"), CASES, ids=[f"{_variant_id(v)}-{m}" for v, m in CASES])
def test_it_predicts_every_row_as_the_full_pipeline_does(variant, mix):
    variant_id = _variant_id(variant)
    pipeline = fitted(variant_id, mix)
    plan = build_plan(pipeline)
    assert plan is not None
    kind = ALGORITHMS[variant[0]].kind
    prep, model = preprocessing_of(pipeline), estimator_of(pipeline)

    @settings(
        max_examples=examples(50),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(table=rows(mix, variant_id))
    def check(table):
        unplanned = prep.transform(table)
        features = plan.features(table)
        assert features is not None  # every row here is one the plan reads
        assert bits(features) == bits(unplanned)
        expected, got = outputs(model, unplanned, kind), outputs(model, features, kind)
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            assert bits(got[name]) == bits(value), name

    check()


@pytest.mark.parametrize(
    "cell",
    [
        ("a", np.array([np.inf])),  # the imputer's own error
        ("a", np.array([3], dtype=np.int64)),  # not the float64 column the body layer makes
        ("when", np.array([1e13])),  # after the year 9999: DateFeatures' own error
        ("colour", np.array([3.5], dtype=object)),  # not a string
        ("colour", np.array(["red", "blue"], dtype=object)),  # not one row
    ],
    ids=["infinite number", "int column", "date past 9999", "number as category", "two rows"],
)
def test_it_leaves_rows_it_cannot_reproduce_to_the_pipeline(cell):
    plan = build_plan(fitted("logistic_regression", "with a date"))
    table = {
        "a": np.array([1.0]),
        "when": np.array([DATE_RANGE[0]]),
        "colour": np.array(["red"], dtype=object),
    }
    name, column = cell
    assert plan.features(table) is not None
    assert plan.features(table | {name: column}) is None


def test_it_has_no_plan_for_a_pipeline_of_another_shape():
    pipeline = fitted("logistic_regression", "numbers")
    reshaped = type(pipeline)([("prep", pipeline.steps[0][1]), ("extra", pipeline.steps[1][1])])
    assert build_plan(reshaped) is None
    on_arrays = build_pipeline(ALGORITHMS["logistic_regression"], {}, [])
    on_arrays.steps[0] = (
        "prep",
        ColumnTransformer([("num", "passthrough", [0, 1])]).fit(np.eye(2)),
    )
    assert build_plan(on_arrays) is None


# Through the one serving entry ---------------------------------------------------------


@pytest.mark.django_db
def test_a_one_row_request_is_answered_from_the_plan_as_the_pipeline_would(churn, monkeypatch):
    from registry import serving

    served = serving.resolve("churn", version=1)
    pipeline, plan = serving.pipeline_cache().loaded(served)
    assert plan is not None
    row = {
        "tenure_months": 3,
        "monthly_charges": None,
        "contract": "month-to-month",
        "internet": "satellite",  # unseen
        "support_calls": 4,
    }
    calls = []
    transform = ColumnTransformer.transform
    monkeypatch.setattr(
        ColumnTransformer, "transform", lambda self, X: calls.append(1) or transform(self, X)
    )
    planned = serving.predict(served, [row], user=None, source="test")
    assert calls == []  # the plan answered: the pipeline's preprocessing did not run
    two = serving.predict(served, [row, {**row, "internet": "fiber"}], user=None, source="test")
    assert calls == [1]  # more than one row: the pipeline, as before

    table = serving.rows_to_table(served, [row])
    labels, proba = estimator_of(pipeline).predict_with_proba(
        preprocessing_of(pipeline).transform(table)
    )
    assert planned["predictions"] == labels.tolist()
    assert bits(planned["probabilities"]) == bits(proba)
    # The same row alone and in a batch: the same answer, to the last bit.
    assert two["predictions"][:1] == planned["predictions"]
    assert bits(two["probabilities"][:1]) == bits(planned["probabilities"])
    assert planned["warnings"][0][0]["kind"] == "unseen_category"


@pytest.mark.django_db
def test_a_row_the_plan_leaves_gets_the_pipelines_answer(churn):
    from registry import serving

    served = serving.resolve("churn", version=1)
    table = {
        "tenure_months": np.array([3]),  # integers, not the body layer's float64: the pipeline
        "monthly_charges": np.array([50.0]),
        "contract": np.array(["month-to-month"], dtype=object),
        "internet": np.array(["fiber"], dtype=object),
        "support_calls": np.array([1.0]),
    }
    pipeline, plan = serving.pipeline_cache().loaded(served)
    assert plan.features(table) is None
    answer = serving.predict(served, table, user=None, source="test")
    labels, proba = estimator_of(pipeline).predict_with_proba(
        preprocessing_of(pipeline).transform(table)
    )
    assert answer["predictions"] == labels.tolist()
    assert bits(answer["probabilities"]) == bits(proba)
