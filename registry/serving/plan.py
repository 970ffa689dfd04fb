"""A compiled single-row plan for a fitted registry pipeline, built once when the serving
cache loads a version (cache.py) and used by the one predict entry for one-row requests.

A served row is one value per column, so the preprocessing (impute, expand dates, scale,
one-hot: registry/pipeline.py) costs mostly numpy's fixed price per call: a dozen calls,
with their validation, for a handful of numbers. The plan reads the fitted steps'
statistics at load and turns a one-row table into the estimator's input with the same IEEE
operations on the same values (the number columns in plain Python for a few of them, in
a few numpy calls for many; dates and categories in plain Python), so the features are
bit for bit the ones `prep.transform` gives and so are the predictions (checked on probe
rows when the plan is built, and by tests/registry/serving/test_plan.py for every
algorithm). A pipeline of another shape, or one that fails the check, gets no plan and is
served as before; the estimator is called as ever, with its own checks.

The scaling is not folded into linear models' weights (W ((x - m) / s) + b as (W / s) x +
(b - W m / s)): that reorders the floating-point sums, so a row's scores would differ in
their last bits between a one-row request and the same row in a batch, and with the
preprocessing in plain Python it saves nothing measurable (benchmarks/README.md).

A row the plan does not read exactly as the pipeline would (a column that is not one
float64 or object value, an infinite number, a date outside the years 1 to 9999, a
category that is not a string) gets None from `features`: it goes through the full
pipeline, which gives the usual answer or error.
"""

from __future__ import annotations

import datetime
import logging
import math
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
from registry.pipeline import (
    CATEGORICAL,
    DATE,
    IMPUTE,
    NUMERIC,
    ONEHOT,
    is_registry_pipeline,
    preprocessing_of,
)

logger = logging.getLogger(__name__)

# Up to this many number columns a Python loop over them costs less than the numpy calls.
PYTHON_NUMBERS = 20
# DateFeatures' range: the seconds of 0001-01-01 and of 9999-12-31 23:59:59 UTC.
_FIRST_SECOND, _LAST_SECOND = -62135596800.0, 253402300799.0
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_INFINITIES = (math.inf, -math.inf)
# Compared by identity, the cheapest test (a byte-swapped float64 array fails it and is
# left to the pipeline).
_FLOAT64, _OBJECT = np.dtype(np.float64), np.dtype(object)


class Plan:
    """One fitted pipeline's single-row preprocessing, compiled: `features(table)` is
    `prep.transform(table)` for a one-row table, or None for a row left to the pipeline."""

    __slots__ = (
        "_categories",
        "_dates",
        "_fills",
        "_means",
        "_names",
        "_numbers",
        "_scaled",
        "_scales",
        "_width",
        "nbytes",
    )

    def __init__(
        self,
        numbers: list[tuple[str, float, float, float]],
        scaled: bool,
        dates: list[tuple[str, int, list[tuple[float, float, float]]]],
        categories: list[tuple[str, Any, dict[str, int]]],
        width: int,
    ) -> None:
        # numbers: (column, fill, mean, scale), at output positions 0, 1, ... (the
        # ColumnTransformer's first part); `scaled`: whether they are scaled at all.
        # dates: (column, first output position, per calendar part (fill, mean, scale)).
        # categories: (column, fill, category -> output position).
        self._numbers = numbers
        self._scaled = scaled
        self._names = [name for name, *_ in numbers]
        self._fills = np.array([fill for _, fill, _, _ in numbers], dtype=np.float64)
        self._means = np.array([mean for _, _, mean, _ in numbers], dtype=np.float64)
        self._scales = np.array([scale for _, _, _, scale in numbers], dtype=np.float64)
        self._dates = dates
        self._categories = categories
        self._width = width
        self.nbytes = 64 * width + 3 * self._fills.nbytes

    def features(self, table: dict[str, np.ndarray]) -> np.ndarray | None:
        """The estimator's input for a one-row table, shape (1, n_features), or None."""
        n = len(self._numbers)
        if n > PYTHON_NUMBERS:
            numbers = self._number_vector(table)
            if numbers is None:
                return None
            if n == self._width:
                return numbers.reshape(1, n)
            row = [0.0] * self._width
            if not self._fill_tail(table, row):
                return None
            out = np.empty((1, self._width))
            out[0, :n] = numbers
            out[0, n:] = row[n:]
            return out
        row = [0.0] * self._width
        if not (self._fill_numbers(table, row) and self._fill_tail(table, row)):
            return None
        return np.array([row])

    def _fill_numbers(self, table: dict[str, np.ndarray], row: list[float]) -> bool:
        """SimpleImputer then StandardScaler on each number, in Python floats (the same
        IEEE double operations numpy's elementwise ones are)."""
        scaled = self._scaled
        for position, (name, fill, mean, scale) in enumerate(self._numbers):
            column = table.get(name)
            if type(column) is not np.ndarray or column.dtype is not _FLOAT64:
                return False
            if column.shape != (1,):
                return False
            value = column.item()
            if value != value:
                value = fill
            elif value in _INFINITIES:
                return False
            row[position] = (value - mean) / scale if scaled else value
        return True

    def _number_vector(self, table: dict[str, np.ndarray]) -> np.ndarray | None:
        """The same for many number columns, in a few numpy calls."""
        try:
            values = np.concatenate([table[name] for name in self._names])
        except (KeyError, ValueError, TypeError):
            return None
        if values.dtype != np.float64 or values.shape != (len(self._names),):
            return None
        values = np.where(np.isnan(values), self._fills, values)
        if np.isinf(values).any():
            return None
        if self._scaled:
            values -= self._means
            values /= self._scales
        return values

    def _fill_tail(self, table: dict[str, np.ndarray], row: list[float]) -> bool:
        """Dates (DateFeatures, then impute and scale each part) and categories (impute,
        one-hot) into their positions of `row`."""
        for name, position, parts in self._dates:
            seconds = _number(table.get(name))
            if seconds is None:
                return False
            if seconds != seconds:
                values = [fill for fill, _, _ in parts]
            elif _FIRST_SECOND <= seconds <= _LAST_SECOND:
                values = _calendar(seconds)
            else:
                return False  # DateFeatures' own error
            scaled = self._scaled
            for k, (value, (_, mean, scale)) in enumerate(zip(values, parts, strict=True)):
                row[position + k] = (value - mean) / scale if scaled else value
        for name, fill, positions in self._categories:
            column = table.get(name)
            if type(column) is not np.ndarray or column.dtype is not _OBJECT:
                return False
            if column.shape != (1,):
                return False
            value = column[0]
            if value is None or value == "":
                value = fill
            elif type(value) is not str:
                return False
            position = positions.get(value)
            if position is not None:  # an unseen category is all zeros (handle_unknown)
                row[position] = 1.0
        return True


def _number(column: Any) -> float | None:
    """The value of a one-row float64 column (NaN for missing); None for anything else."""
    if type(column) is not np.ndarray or column.dtype is not _FLOAT64 or column.shape != (1,):
        return None
    value = column.item()
    return None if value in _INFINITIES else value


def _calendar(seconds: float) -> list[float]:
    """numpyml's DateFeatures of one date: year, month, day of week (Monday 0), day of year,
    the seconds (UTC, proleptic Gregorian), as floats."""
    days = math.floor(seconds / 86400.0)
    day = datetime.date.fromordinal(days + _EPOCH_ORDINAL)
    day_of_year = day.toordinal() - datetime.date(day.year, 1, 1).toordinal() + 1
    return [float(day.year), float(day.month), float((days + 3) % 7), float(day_of_year), seconds]


# -- building ------------------------------------------------------------------------------


def build_plan(pipeline: Any) -> Plan | None:
    """The plan of a fitted registry pipeline, or None for one it cannot compile exactly."""
    if not is_registry_pipeline(pipeline):
        return None
    prep = preprocessing_of(pipeline)
    try:
        plan = _compile(prep)
    except _NotPlanned:
        return None
    if not _checks_out(plan, prep):
        logger.warning("no single-row plan: its features differ from the pipeline's")
        return None
    return plan


class _NotPlanned(Exception):
    """The pipeline has a step or setting the plan does not reproduce."""


def _compile(prep: Any) -> Plan:
    if not isinstance(prep, ColumnTransformer) or prep.__dict__.get("_column_names") is None:
        raise _NotPlanned  # fitted on an array, not a table: columns by position
    numbers: list[tuple[str, float, float, float]] = []
    dates: list[tuple[str, int, list[tuple[float, float, float]]]] = []
    categories: list[tuple[str, Any, dict[str, int]]] = []
    width = 0
    scaled = set()
    for name, transformer, columns in prep.transformers_:
        if (isinstance(transformer, str) and transformer == "drop") or not columns:
            continue
        if not isinstance(transformer, Pipeline):
            raise _NotPlanned
        steps = dict(transformer.steps)
        if name in (NUMERIC, DATE):
            # The ColumnTransformer's order: numbers first (positions 0, 1, ...), then dates.
            if (name == NUMERIC and width) or (name == DATE and dates):
                raise _NotPlanned
            parts = len(DATE_PARTS) if name == DATE else 1
            expected = ["expand"] if name == DATE else []
            expected += ["impute", "scale"] if "scale" in steps else ["impute"]
            if [n for n, _ in transformer.steps] != expected:
                raise _NotPlanned
            if name == DATE and type(steps["expand"]) is not DateFeatures:
                raise _NotPlanned
            fills = _number_fills(steps["impute"], len(columns) * parts)
            centre, spread = _scaling(steps.get("scale"), len(columns) * parts)
            scaled.add("scale" in steps)
            for j, column in enumerate(columns):
                span = range(j * parts, (j + 1) * parts)
                slots = [(fills[k], centre[k], spread[k]) for k in span]
                if name == NUMERIC:
                    numbers.append((str(column), *slots[0]))
                else:
                    dates.append((str(column), width, slots))
                width += parts
        elif name == CATEGORICAL:
            if [n for n, _ in transformer.steps] != [IMPUTE, ONEHOT]:
                raise _NotPlanned
            fills = _object_fills(steps[IMPUTE], len(columns))
            encoder = steps[ONEHOT]
            if (
                type(encoder) is not OneHotEncoder
                or encoder.handle_unknown != "ignore"
                or encoder.drop is not None
                or np.dtype(encoder.dtype) != np.float64
            ):
                raise _NotPlanned
            for column, fill, values in zip(columns, fills, encoder.categories_, strict=True):
                positions = {}
                for value in values.tolist():
                    if not isinstance(value, str):
                        raise _NotPlanned  # None / NaN / numbers as categories: not served rows
                    positions[value] = width
                    width += 1
                categories.append((str(column), fill, positions))
        else:
            raise _NotPlanned
    if len(scaled) > 1:
        raise _NotPlanned  # numbers and dates are scaled alike (pipeline.py)
    return Plan(numbers, scaled == {True}, dates, categories, width)


def _number_fills(imputer: Any, width: int) -> list[float]:
    statistics = getattr(imputer, "statistics_", None)
    if (
        type(imputer) is not SimpleImputer
        or statistics is None
        or statistics.dtype != np.float64
        or statistics.shape != (width,)
    ):
        raise _NotPlanned
    return statistics.tolist()


def _object_fills(imputer: Any, width: int) -> list[Any]:
    statistics = getattr(imputer, "statistics_", None)
    if (
        type(imputer) is not SimpleImputer
        or statistics is None
        or statistics.dtype != object
        or statistics.shape != (width,)
    ):
        raise _NotPlanned
    return statistics.tolist()


def _scaling(scaler: Any, width: int) -> tuple[list[float], list[float]]:
    if scaler is None:
        return [0.0] * width, [1.0] * width
    if (
        type(scaler) is not StandardScaler
        or not (scaler.with_mean and scaler.with_std)
        or scaler.mean_.shape != (width,)
        or scaler.scale_.shape != (width,)
    ):
        raise _NotPlanned
    return scaler.mean_.tolist(), scaler.scale_.tolist()


def _checks_out(plan: Plan, prep: Any) -> bool:
    """The plan's features equal prep.transform's, bit for bit, on probe rows: every value
    missing, and every value present (the first category, a date in 2000)."""
    probes: list[dict[str, np.ndarray]] = [{}, {}]
    for name, *_ in plan._numbers:
        probes[0][name] = np.array([np.nan])
        probes[1][name] = np.array([1.5])
    for name, *_ in plan._dates:
        probes[0][name] = np.array([np.nan])
        probes[1][name] = np.array([951_782_400.0])  # 2000-02-29
    for name, _, positions in plan._categories:
        probes[0][name] = np.array([None], dtype=object)
        probes[1][name] = np.array([next(iter(positions), "x")], dtype=object)
    for probe in probes:
        features = plan.features(probe)
        try:
            expected = prep.transform(probe)
        except ValueError:
            return False
        if features is None or features.shape != expected.shape:
            return False
        if features.tobytes() != expected.tobytes():
            return False
    return True
