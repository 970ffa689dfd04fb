"""The shape of every registry pipeline, known here only: a `prep` ColumnTransformer (numbers
`num`: impute, scale if the algorithm wants it; dates `date`: `expand` into calendar numbers,
then as numbers; categories `cat`: impute, `onehot`) then the estimator, `model`. Training
builds it; transfer checks an imported one against its card; whoever reads one back goes
through the accessors below."""

from __future__ import annotations

from typing import Any

import numpy as np

from numpyml.compose import ColumnTransformer
from numpyml.pipeline import Pipeline
from numpyml.preprocessing import (
    DATE_PARTS,
    DateFeatures,
    OneHotEncoder,
    SimpleImputer,
    StandardScaler,
)
from registry.algorithms import Algorithm

STEPS = ("prep", "model")
NUMERIC, CATEGORICAL, DATE = "num", "cat", "date"
# A category column's steps (serving/plan.py reads a fitted pipeline by these names).
IMPUTE, ONEHOT = "impute", "onehot"


def build_pipeline(algorithm: Algorithm, params: dict[str, Any], features: list[dict]) -> Pipeline:
    numeric = [f["name"] for f in features if f["type"] == "number"]
    dates = [f["name"] for f in features if f["type"] == "date"]
    categorical = [f["name"] for f in features if f["type"] not in ("number", "date")]
    parts = []
    if numeric:
        parts.append((NUMERIC, Pipeline(_as_numbers(algorithm)), numeric))
    if dates:
        parts.append((DATE, Pipeline([("expand", DateFeatures()), *_as_numbers(algorithm)]), dates))
    if categorical:
        encode = Pipeline(
            [
                (IMPUTE, SimpleImputer(strategy="most_frequent")),
                (ONEHOT, OneHotEncoder(handle_unknown="ignore")),
            ]
        )
        parts.append((CATEGORICAL, encode, categorical))
    prep, model = STEPS
    return Pipeline([(prep, ColumnTransformer(parts)), (model, algorithm.build(params))])


def _as_numbers(algorithm: Algorithm) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="mean"))]
    if algorithm.scale:
        steps.append(("scale", StandardScaler()))
    return steps


def is_registry_pipeline(pipeline: Any) -> bool:
    return isinstance(pipeline, Pipeline) and tuple(n for n, _ in pipeline.steps) == STEPS


# By position (STEPS' order): serving reads them on every request.
def preprocessing_of(pipeline: Pipeline) -> Any:
    return pipeline.steps[0][1]


def estimator_of(pipeline: Pipeline) -> Any:
    return pipeline.steps[-1][1]


def features_of(pipeline: Pipeline) -> dict[str, list[str]]:
    """The input columns of a fitted pipeline by kind: {"num": [...], "date": [...],
    "cat": [...]} (a kind with no column is left out)."""
    return {
        name: [str(c) for c in columns]
        for name, _, columns in preprocessing_of(pipeline).transformers_
        if name in (NUMERIC, DATE, CATEGORICAL)
    }


def categories_of(pipeline: Pipeline) -> dict[str, list[str]]:
    """Each category column of a fitted pipeline -> the categories seen in training."""
    categories: dict[str, list[str]] = {}
    for name, transformer, columns in preprocessing_of(pipeline).transformers_:
        if name == CATEGORICAL:
            encoder = transformer.named_steps["onehot"]
            for column, values in zip(columns, encoder.categories_, strict=True):
                categories[str(column)] = [str(v) for v in values]
    return categories


def encoded_labels(pipeline: Pipeline) -> list[str]:
    """The user's words for each column the fitted preprocessing hands the estimator, in
    its order: a number column by its name, a date's calendar part as `column (month)`, a
    one-hot column as `column = category` (where get_feature_names_out says `num__carat`,
    `date__day_month` and `cat__clarity_SI2`)."""
    return [label for label, _ in _encoded(pipeline)]


def encoded_columns(pipeline: Pipeline) -> list[str]:
    """The user's column behind each column the fitted preprocessing hands the estimator,
    in its order: a date's calendar parts and a category's one-hot columns all name the
    date or category column, so per-column amounts can be summed back to it."""
    return [column for _, column in _encoded(pipeline)]


def encoded_means(pipeline: Pipeline) -> np.ndarray:
    """The training mean of each column the fitted preprocessing hands the estimator,
    where the preprocessing knows it: a number (or a date's calendar part) that is not
    scaled has its imputer's mean, a scaled one 0 (what scaling makes of the mean); a
    one-hot column 0 (its "category absent")."""
    means: list[np.ndarray] = []
    for name, transformer, columns in preprocessing_of(pipeline).transformers_:
        if name in (NUMERIC, DATE):
            steps = transformer.named_steps
            width = len(columns) * (len(DATE_PARTS) if name == DATE else 1)
            unscaled = "scale" not in steps
            means.append(steps["impute"].statistics_ if unscaled else np.zeros(width))
        elif name == CATEGORICAL:
            encoder = transformer.named_steps["onehot"]
            means.append(np.zeros(sum(len(values) for values in encoder.categories_)))
    return np.concatenate(means).astype(float) if means else np.zeros(0)


def _encoded(pipeline: Pipeline) -> list[tuple[str, str]]:
    """(label, original column) per estimator column, in the ColumnTransformer's order
    (the order of its parts: numbers, dates, categories)."""
    encoded: list[tuple[str, str]] = []
    for name, transformer, columns in preprocessing_of(pipeline).transformers_:
        if name == NUMERIC:
            encoded.extend((str(c), str(c)) for c in columns)
        elif name == DATE:
            encoded.extend((f"{c} ({part})", str(c)) for c in columns for part in DATE_PARTS)
        elif name == CATEGORICAL:
            encoder = transformer.named_steps["onehot"]
            for column, values in zip(columns, encoder.categories_, strict=True):
                encoded.extend((f"{column} = {value}", str(column)) for value in values)
    return encoded
