"""Per-prediction explanations (registry/serving/explain.py): for linear, logistic and tree
models the base value plus the contributions is the model's output, to 1e-9, with the
one-hot parts of a category and the calendar parts of a date summed back to their column."""

from datetime import date, timedelta

import numpy as np
import pytest

from registry import serving
from registry.errors import InvalidInput
from registry.pipeline import estimator_of, preprocessing_of
from registry.serving.explain import explain_table, reasons
from tests.conftest import train_once

pytestmark = pytest.mark.django_db

FEATURES = ["size", "rooms", "colour", "day"]
ROWS = [
    {"size": 80.0, "rooms": 3, "colour": "red", "day": "2024-02-03"},
    {"size": 140.5, "rooms": None, "colour": "blue", "day": "2023-07-19"},
    {"size": 55.0, "rooms": 1, "colour": "green", "day": None},
    {"size": 101.0, "rooms": 4, "colour": "purple", "day": "2024-11-30"},  # unseen colour
]


def mixed_csv(n: int = 150) -> bytes:
    """Numbers (one with gaps), a category and a date; numeric, binary and 3-class targets."""
    rng = np.random.default_rng(7)
    lines = ["size,rooms,colour,day,price,sold,grade"]
    start = date(2023, 1, 1)
    for i in range(n):
        size = round(float(rng.uniform(40, 160)), 1)
        rooms = "" if i % 11 == 0 else str(int(rng.integers(1, 6)))
        colour = ["red", "blue", "green"][i % 3]
        day = start + timedelta(days=int(rng.integers(0, 700)))
        price = (
            2.5 * size + 10 * (int(rooms) if rooms else 3) + {"red": 40, "blue": 0}.get(colour, -25)
        )
        price += (day - start).days * 0.05 + float(rng.normal(0, 8))
        sold = "yes" if price + float(rng.normal(0, 40)) > 320 else "no"
        grade = "abc"[min(2, int(price // 150))] if i % 17 else "abc"[i % 3]
        lines.append(f"{size},{rooms},{colour},{day.isoformat()},{price:.2f},{sold},{grade}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def mixed(owner, make_dataset):
    dataset = make_dataset(data=mixed_csv(), dataset_name="mixed")

    def train(algorithm: str, target: str, **params):
        version = train_once(
            owner=owner,
            dataset=dataset,
            name=f"{algorithm.replace('_', '-')}-{target or 'all'}",
            algorithm=algorithm,
            target=target,
            features=FEATURES,
            params=params or None,
        )
        served = serving.resolve(version.model.name, version=1)
        pipeline = serving.pipeline_cache().get(served)
        table = serving.rows_to_table(served, ROWS)
        return served, pipeline, table

    return train


def totals(explained: dict) -> np.ndarray:
    return np.array(
        [row["base_value"] + sum(row["contributions"].values()) for row in explained["rows"]]
    )


def assert_every_column_named(explained: dict) -> None:
    assert len(explained["rows"]) == len(ROWS)
    for row in explained["rows"]:
        assert list(row["contributions"]) == FEATURES
        assert all(isinstance(v, float) for v in row["contributions"].values())


def test_linear_regression_adds_up_to_the_prediction(mixed):
    served, pipeline, table = mixed("linear_regression", "price")
    explained = explain_table(served, pipeline, table)
    assert explained["method"] == "linear"
    assert explained["output"] == "value"
    assert explained["class"] is None
    assert_every_column_named(explained)
    np.testing.assert_allclose(totals(explained), pipeline.predict(table), rtol=0, atol=1e-9)
    model = estimator_of(pipeline)
    features = preprocessing_of(pipeline).get_feature_names_out().tolist()
    # The base is the output at the training means of the numbers (linear regression does
    # not scale: each number contributes coefficient x (value - its training mean), the
    # standardised coefficient x the standardised value), categories absent.
    prep = preprocessing_of(pipeline)
    means = np.zeros(len(features))
    for part in ("num", "date"):  # unscaled: the imputers' means are the training means
        statistics = prep.named_transformers_[part].named_steps["impute"].statistics_
        at = [i for i, name in enumerate(features) if name.startswith(f"{part}__")]
        means[at] = statistics
    for row in explained["rows"]:
        assert row["base_value"] == pytest.approx(model.intercept_ + means @ model.coef_, abs=1e-9)
    size = features.index("num__size")
    X = preprocessing_of(pipeline).transform(table)
    np.testing.assert_allclose(
        [row["contributions"]["size"] for row in explained["rows"]],
        (X[:, size] - means[size]) * model.coef_[size],
        rtol=0,
        atol=1e-9,
    )
    # A category's contribution is its one-hot coefficient; an unseen one contributes 0.
    red = model.coef_[features.index("cat__colour_red")]
    assert explained["rows"][0]["contributions"]["colour"] == pytest.approx(red, abs=1e-12)
    assert explained["rows"][3]["contributions"]["colour"] == 0.0
    # The date's five calendar parts land on `day`.
    parts = [i for i, name in enumerate(features) if name.startswith("date__day_")]
    expected_day = (X[:, parts] - means[parts]) @ model.coef_[parts]
    got_day = [row["contributions"]["day"] for row in explained["rows"]]
    np.testing.assert_allclose(got_day, expected_day, rtol=0, atol=1e-9)


def test_binary_logistic_regression_explains_the_logit_of_the_second_class(mixed):
    served, pipeline, table = mixed("logistic_regression", "sold")
    explained = explain_table(served, pipeline, table)
    assert (explained["method"], explained["output"], explained["class"]) == (
        "linear",
        "logit",
        "yes",
    )
    assert_every_column_named(explained)
    model = estimator_of(pipeline)
    logit = model.decision_function(preprocessing_of(pipeline).transform(table))
    np.testing.assert_allclose(totals(explained), logit, rtol=0, atol=1e-9)
    # the logit is the probability's: sigmoid(total) == P(yes)
    proba = pipeline.predict_proba(table)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-totals(explained))), proba, rtol=1e-12)


def test_multiclass_logistic_regression_explains_each_rows_predicted_class(mixed):
    served, pipeline, table = mixed("logistic_regression", "grade")
    explained = explain_table(served, pipeline, table)
    assert (explained["output"], explained["class"]) == ("logit", None)
    assert_every_column_named(explained)
    model = estimator_of(pipeline)
    scores = model.decision_function(preprocessing_of(pipeline).transform(table))
    predicted = pipeline.predict(table)
    assert [row["class"] for row in explained["rows"]] == predicted.tolist()
    chosen = scores[np.arange(len(ROWS)), scores.argmax(axis=1)]
    np.testing.assert_allclose(totals(explained), chosen, rtol=0, atol=1e-9)
    assert len(set(predicted.tolist())) > 1  # more than one class explained here


@pytest.mark.parametrize("target", ["sold", "grade"])
def test_a_tree_classifier_explains_the_class_probability_along_the_path(mixed, target):
    served, pipeline, table = mixed("decision_tree_classifier", target, max_depth=6)
    explained = explain_table(served, pipeline, table)
    assert (explained["method"], explained["output"]) == ("tree_path", "probability")
    assert_every_column_named(explained)
    proba = pipeline.predict_proba(table)
    model = estimator_of(pipeline)
    if target == "sold":
        assert explained["class"] == "yes"
        expected = proba[:, 1]
    else:
        assert explained["class"] is None
        k = proba.argmax(axis=1)
        assert [row["class"] for row in explained["rows"]] == model.classes_[k].tolist()
        expected = proba[np.arange(len(ROWS)), k]
    np.testing.assert_allclose(totals(explained), expected, rtol=0, atol=1e-9)
    # the base is the root's value: the training share of the class explained
    roots = [row["base_value"] for row in explained["rows"]]
    if target == "sold":
        assert roots == [model.tree_value_[0, 1]] * len(ROWS)


def test_a_tree_regressor_adds_up_to_the_leaf_value(mixed):
    served, pipeline, table = mixed("decision_tree_regressor", "price", max_depth=8)
    explained = explain_table(served, pipeline, table)
    assert (explained["method"], explained["output"], explained["class"]) == (
        "tree_path",
        "value",
        None,
    )
    assert_every_column_named(explained)
    np.testing.assert_allclose(totals(explained), pipeline.predict(table), rtol=0, atol=1e-9)
    model = estimator_of(pipeline)
    assert explained["rows"][0]["base_value"] == model.tree_value_[0]
    # the strongest feature moves the prediction most on average
    mean_size = np.mean([abs(r["contributions"]["size"]) for r in explained["rows"]])
    mean_rooms = np.mean([abs(r["contributions"]["rooms"]) for r in explained["rows"]])
    assert mean_size > mean_rooms


@pytest.mark.parametrize(("algorithm", "params"), [("kmeans", {"n_clusters": 3}), ("pca", {})])
def test_it_refuses_to_explain_clustering_and_decomposition(mixed, algorithm, params):
    served, pipeline, table = mixed(algorithm, None, **params)
    with pytest.raises(InvalidInput, match="classifiers and regressors"):
        explain_table(served, pipeline, table)


def test_reasons_are_the_largest_contributions_in_words():
    explanations = {
        "rows": [
            {"base_value": 1.0, "contributions": {"a": 0.5, "b": -2.25, "c": 0.0, "d": 0.125}},
            {"base_value": 1.0, "contributions": {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}},
        ]
    }
    assert reasons(explanations) == [["b (-2.25)", "a (+0.5)", "d (+0.125)"], ["", "", ""]]
    assert reasons(explanations, k=1) == [["b (-2.25)"], [""]]


# The model-agnostic method (registry/serving/shapley.py, merged from the Platt/Shapley work)


@pytest.mark.parametrize(
    ("algorithm", "target", "output"),
    [
        ("gaussian_nb", "sold", "probability"),
        ("gaussian_nb", "grade", "probability"),
        ("knn_regressor", "price", "value"),
    ],
)
def test_the_other_models_get_a_sampling_estimate_that_adds_up(mixed, algorithm, target, output):
    pytest.importorskip("registry.serving.shapley")
    served, pipeline, table = mixed(algorithm, target)
    explained = explain_table(served, pipeline, table)
    assert (explained["method"], explained["output"]) == ("sampling_shapley", output)
    assert_every_column_named(explained)
    assert [list(e) for e in explained["stderr"]] == [FEATURES] * len(ROWS)
    if output == "value":
        expected = pipeline.predict(table)
    else:
        proba = pipeline.predict_proba(table)
        k = np.ones(len(ROWS), dtype=int) if proba.shape[1] == 2 else proba.argmax(axis=1)
        expected = proba[np.arange(len(ROWS)), k]
        if proba.shape[1] > 2:
            classes = estimator_of(pipeline).classes_[k].tolist()
            assert [row["class"] for row in explained["rows"]] == classes
    np.testing.assert_allclose(totals(explained), expected, rtol=0, atol=1e-9)
    # the same rows, explained again (or alone), get the same numbers: a fixed seed
    assert explain_table(served, pipeline, table) == explained
    alone = explain_table(served, pipeline, {k: v[1:2] for k, v in table.items()})
    assert alone["rows"][0]["contributions"] == explained["rows"][1]["contributions"]
