"""The pipeline's shape, known in one place (registry/pipeline.py): built there and
read back through its accessors."""

import numpy as np

from numpyml.compose import ColumnTransformer
from numpyml.linear_model import LogisticRegression
from numpyml.pipeline import Pipeline
from registry import pipeline as shape
from registry.algorithms import ALGORITHMS

FEATURES = [{"name": "tenure", "type": "number"}, {"name": "contract", "type": "category"}]


def fitted():
    pipeline = shape.build_pipeline(ALGORITHMS["logistic_regression"], {}, FEATURES)
    X = {
        "tenure": np.array([1.0, 5.0, np.nan, 30.0, 2.0, 40.0]),
        "contract": np.array(["month", "year", "month", None, "month", "year"], dtype=object),
    }
    return pipeline.fit(X, np.array([1, 0, 1, 0, 1, 0]))


def test_it_builds_prep_then_the_estimator_and_reads_them_back():
    pipeline = fitted()
    assert shape.is_registry_pipeline(pipeline)
    assert isinstance(shape.preprocessing_of(pipeline), ColumnTransformer)
    assert isinstance(shape.estimator_of(pipeline), LogisticRegression)
    assert shape.features_of(pipeline) == {"num": ["tenure"], "cat": ["contract"]}
    assert shape.categories_of(pipeline) == {"contract": ["month", "year"]}


def test_it_leaves_out_a_kind_without_columns_and_knows_a_foreign_pipeline():
    numbers = [{"name": "tenure", "type": "number"}]
    pipeline = shape.build_pipeline(ALGORITHMS["linear_regression"], {}, numbers)
    pipeline.fit({"tenure": np.array([1.0, 2.0, 3.0])}, np.array([1.0, 2.0, 3.0]))
    assert shape.features_of(pipeline) == {"num": ["tenure"]}
    assert shape.categories_of(pipeline) == {}
    assert not shape.is_registry_pipeline(Pipeline([("model", LogisticRegression())]))
    assert not shape.is_registry_pipeline(object())


def test_it_names_each_estimator_column_in_the_order_of_the_parts_dates_included():
    features = [
        {"name": "tenure", "type": "number"},
        {"name": "day", "type": "date"},
        {"name": "contract", "type": "category"},
    ]
    pipeline = shape.build_pipeline(ALGORITHMS["linear_regression"], {}, features)
    X = {
        "tenure": np.array([1.0, 5.0, 30.0, 2.0]),
        "day": np.array([0.0, 86400.0 * 40, 86400.0 * 400, np.nan]),
        "contract": np.array(["month", "year", "month", "year"], dtype=object),
    }
    pipeline.fit(X, np.array([1.0, 2.0, 3.0, 4.0]))
    parts = ["year", "month", "dayofweek", "dayofyear", "timestamp"]
    labels = shape.encoded_labels(pipeline)
    assert labels == [
        "tenure",
        *(f"day ({part})" for part in parts),
        "contract = month",
        "contract = year",
    ]
    # one label per column the estimator gets, in its order
    names = shape.preprocessing_of(pipeline).get_feature_names_out().tolist()
    assert len(labels) == len(names) == shape.estimator_of(pipeline).coef_.shape[0]
    assert names[1] == "date__day_year"
    assert names[-1] == "cat__contract_year"
    assert shape.encoded_columns(pipeline) == ["tenure", *["day"] * 5, "contract", "contract"]
