"""Preprocessing: scaling, imputation and categorical encoding (scikit-learn's API).

The transformers accept 2-D numeric arrays, 2-D object arrays (strings, None for
missing) and tables (a mapping of column name -> 1-D values). Numeric data comes out
as float64; object data stays object until OneHotEncoder turns it into float columns.
"""

from __future__ import annotations

import numbers
from collections import Counter
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, TransformerMixin
from numpyml.exceptions import InputTypeError
from numpyml.validation import (
    _assert_all_finite,
    check_choice,
    check_is_fitted,
    check_shape,
    column_or_1d,
    is_sparse,
    is_table,
    refuse_sparse,
    table_column,
    table_columns,
    validate_data,
)

# Fill for an object column that has no observed value at all (see SimpleImputer).
EMPTY_OBJECT_FILL = "missing"
_NUMERIC_KINDS = "fiub"


# --------------------------------------------------------------------------- helpers


def stack_columns(columns: list[np.ndarray]) -> np.ndarray:
    """Stack 1-D columns into a 2-D array: float64 when all are numeric, else object.

    numpy's own stacking would turn a mix of numbers and strings into strings
    (``np.column_stack([[1.5], ["a"]])`` is ``[['1.5', 'a']]``); object keeps both.
    """
    if all(column.dtype.kind in _NUMERIC_KINDS for column in columns):
        # One C-level copy; the transposed view is fine for every consumer here.
        return np.array(columns, dtype=np.float64).T
    out = np.empty((columns[0].shape[0], len(columns)), dtype=object)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def table_columns_as_arrays(X: Any, names: list[str]) -> list[np.ndarray]:
    """The named columns of a table as 1-D arrays of equal length (a scalar is one row)."""
    columns = []
    for name in names:
        try:
            column = table_column(X, name)
        except KeyError:
            raise ValueError(
                f"Column {name!r} is missing from X: expected the columns {list(names)}."
            ) from None
        if column.ndim == 0:
            column = column.reshape(1)
        elif column.ndim != 1:
            raise ValueError(f"Column {name!r} of X must be 1-D, got shape {column.shape}.")
        columns.append(column)
    lengths = {column.shape[0] for column in columns}
    if len(lengths) > 1:
        raise ValueError(f"Columns of X have different lengths: {sorted(lengths)}.")
    return columns


def _check_2d(array: np.ndarray, estimator: Any) -> None:
    check_shape(array, estimator=estimator)
    if array.shape[0] == 0:
        raise ValueError(f"X has 0 samples; {type(estimator).__name__} needs at least 1.")


def _to_2d_any(X: Any, estimator: Any, keep_int: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """X as a 2-D float64 (numeric) or object (anything else) array, plus its column names."""
    names = None
    if is_sparse(X):  # before is_table: a scipy dok_array is a Mapping
        refuse_sparse("X")
    if is_table(X):
        column_names = table_columns(X)
        if not column_names:
            raise ValueError("X has no columns: expected at least one feature.")
        array = stack_columns(table_columns_as_arrays(X, column_names))
        names = np.asarray(column_names, dtype=str)
    else:
        if X is None or isinstance(X, (str, bytes)):
            raise ValueError(f"X must be a 2-D array or a table, got {type(X).__name__}.")
        try:
            array = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"X could not be read as a 2-D array: {exc}") from None
    kind = array.dtype.kind
    if kind in "USO":
        array = array.astype(object, copy=False)
    elif kind in "iub" and keep_int:
        pass
    elif kind in _NUMERIC_KINDS:
        array = array.astype(np.float64, copy=False)
    elif kind == "c":
        raise ValueError("Complex data not supported: X holds complex numbers.")
    else:
        raise ValueError(f"X has dtype {array.dtype}: expected numbers or strings.")
    _check_2d(array, estimator)
    if array.dtype.kind == "f":
        _assert_all_finite(array, True, "X")
    return array, names


def _check_features(estimator: Any, array: np.ndarray, names: Any, reset: bool) -> None:
    """The feature bookkeeping of validate_data, for arrays validate_data cannot take."""
    if reset:
        estimator.n_features_in_ = array.shape[1]
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    if array.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {array.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    fitted = getattr(estimator, "feature_names_in_", None)
    if names is not None and fitted is not None and not np.array_equal(names, fitted):
        missing = [n for n in fitted if n not in set(names)]
        detail = f"missing {missing}" if missing else "in a different order"
        raise ValueError(
            f"The feature names of X differ from those seen in fit ({detail}); "
            f"expected {fitted.tolist()}."
        )


def validate_any(estimator: Any, X: Any, *, reset: bool, keep_int: bool = False) -> np.ndarray:
    """Validate numeric or categorical X: float64 (NaN allowed) or object, always 2-D."""
    if type(X) is np.ndarray and X.dtype == np.float64:
        return validate_data(estimator, X, reset=reset, allow_nan=True)
    if type(X) is np.ndarray and X.dtype.kind == "O" and X.ndim == 2 and X.size:
        _check_features(estimator, X, None, reset)  # object fast path: no conversion
        return X
    array, names = _to_2d_any(X, estimator, keep_int)
    _check_features(estimator, array, names, reset)
    return array


def object_missing_mask(X: np.ndarray) -> np.ndarray:
    """True where an object array holds None, NaN or the empty string."""
    # `X != X` is True only for NaN; comparisons on object arrays run per element.
    return np.equal(X, None) | (X != X) | (X == "")


def _input_feature_names(estimator: Any, input_features: Any) -> np.ndarray:
    """Validated input feature names, defaulting to feature_names_in_ or x0, x1, ..."""
    check_is_fitted(estimator, "n_features_in_")
    fitted = getattr(estimator, "feature_names_in_", None)
    if input_features is None:
        if fitted is not None:
            return fitted
        return np.asarray([f"x{i}" for i in range(estimator.n_features_in_)], dtype=object)
    names = np.asarray(input_features, dtype=object)
    if names.ndim != 1 or names.shape[0] != estimator.n_features_in_:
        raise ValueError(
            f"input_features should have length {estimator.n_features_in_} (n_features_in_), "
            f"got {names.shape[0] if names.ndim == 1 else names.shape}."
        )
    if fitted is not None and not np.array_equal(names, fitted):
        raise ValueError(
            f"input_features {names.tolist()} differ from feature_names_in_ {fitted.tolist()}."
        )
    return names


# --------------------------------------------------------------------------- scaler


class StandardScaler(TransformerMixin, BaseEstimator):
    """Standardize features by removing the mean and scaling to unit variance.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre the data before scaling.
    with_std : bool, default=True
        Scale the data to unit variance.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        Per-feature mean (None when both with_mean and with_std are False).
    var_ : ndarray of shape (n_features,) or None
        Per-feature (biased) variance; None when with_std is False.
    scale_ : ndarray of shape (n_features,) or None
        Per-feature scale, ``sqrt(var_)``, with 1.0 for (near-)constant features;
        None when with_std is False.
    n_samples_seen_ : int or ndarray of shape (n_features,)
        Samples used per feature: an array only when NaNs made the counts differ.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a table.

    Notes
    -----
    ``z = (x - mean_) / scale_``. NaNs are ignored in fit and kept in transform, like
    scikit-learn. A feature is treated as constant (scale 1.0) when its variance is
    within floating-point noise of zero: ``var <= n eps var + (n mean eps)^2``.
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X: Any, y: Any = None) -> StandardScaler:
        """Compute the per-feature mean and standard deviation of X (NaN ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Training data; NaN marks a missing value.
        y : None
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        self : StandardScaler
        """
        X = validate_data(self, X, reset=True, allow_nan=True)
        mask = np.isnan(X)
        if mask.any():
            counts = (~mask).sum(axis=0)
            filled = np.where(mask, 0.0, X)
        else:
            counts = np.full(X.shape[1], X.shape[0])
            filled = X
        safe_counts = np.maximum(counts, 1)  # an all-NaN column gets mean 0, variance 0
        mean = filled.sum(axis=0) / safe_counts
        # Two-pass variance with the rounding correction scikit-learn uses.
        centred = filled - mean
        centred[mask] = 0.0
        correction = centred.sum(axis=0)
        var = ((centred**2).sum(axis=0) - correction**2 / safe_counts) / safe_counts
        self.n_samples_seen_ = int(counts[0]) if np.all(counts == counts[0]) else counts
        if not self.with_mean and not self.with_std:
            self.mean_ = None
            self.var_ = None
            self.scale_ = None
            return self
        self.mean_ = mean
        if self.with_std:
            self.var_ = var
            eps = np.finfo(np.float64).eps
            constant = var <= counts * eps * var + (counts * mean * eps) ** 2
            scale = np.sqrt(var)
            scale[constant | (scale < 10 * eps)] = 1.0
            self.scale_ = scale
        else:
            self.var_ = None
            self.scale_ = None
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Standardize X with the statistics learned in fit (NaN stays NaN).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Data to scale.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            A new array; X is left untouched.
        """
        if "n_samples_seen_" not in self.__dict__:
            check_is_fitted(self, "n_samples_seen_")
        X = validate_data(self, X, reset=False, allow_nan=True)
        if self.with_mean:
            X = X - self.mean_
            if self.with_std:
                X /= self.scale_
            return X
        if self.with_std:
            return X / self.scale_
        return X.copy()

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map standardized data back to the original scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Standardized data.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "n_samples_seen_")
        X = validate_data(self, X, reset=False, allow_nan=True)
        if self.with_std:
            X = X * self.scale_
        else:
            X = X.copy()
        if self.with_mean:
            X += self.mean_
        return X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names: the input names, unchanged."""
        return np.asarray(_input_feature_names(self, input_features), dtype=object)


# --------------------------------------------------------------------------- dates

DATE_PARTS = ("year", "month", "dayofweek", "dayofyear", "timestamp")
# The seconds of 0001-01-01 and of 9999-12-31 23:59:59 UTC: the calendar's years 1 to 9999.
_FIRST_SECOND, _LAST_SECOND = -62135596800.0, 253402300799.0
_DAY = 86400.0


def _calendar(seconds: np.ndarray) -> np.ndarray:
    """(n,) epoch seconds -> (n, 5) year, month, day of week, day of year, seconds."""
    missing = np.isnan(seconds)
    days = np.floor(np.where(missing, 0.0, seconds) / _DAY).astype(np.int64)
    day = days.astype("datetime64[D]")
    year = day.astype("datetime64[Y]")
    parts = np.column_stack(
        [
            year.astype(np.int64) + 1970,
            day.astype("datetime64[M]").astype(np.int64) % 12 + 1,
            (days + 3) % 7,  # 1970-01-01 was a Thursday; Monday is 0
            (day - year.astype("datetime64[D]")).astype(np.int64) + 1,
        ]
    ).astype(np.float64)
    parts = np.column_stack([parts, seconds])
    parts[missing] = np.nan
    return parts


class DateFeatures(TransformerMixin, BaseEstimator):
    """Expand dates, given as seconds since 1970-01-01 UTC, into numeric calendar features.

    Each input column becomes five: its year, month (1-12), day of the week (Monday = 0),
    day of the year (1-366) and the seconds themselves (a trend). NaN (a missing date)
    gives NaN in all five, for an imputer to fill.

    Attributes
    ----------
    n_features_in_ : int
        Number of date columns seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a table.

    Notes
    -----
    Days are counted in UTC with the proleptic Gregorian calendar (numpy's datetime64).
    """

    def __init__(self) -> None:
        pass

    def fit(self, X: Any, y: Any = None) -> DateFeatures:
        """Record the date columns (nothing is learned from their values).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Seconds since the epoch; NaN marks a missing date.
        y : None
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        self : DateFeatures
        """
        _check_seconds(validate_data(self, X, reset=True, allow_nan=True))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The calendar features of every date column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Seconds since the epoch; NaN marks a missing date.

        Returns
        -------
        ndarray of shape (n_samples, 5 * n_features)
            Per column, in order: year, month, dayofweek, dayofyear, timestamp.
        """
        check_is_fitted(self, "n_features_in_")
        X = _check_seconds(validate_data(self, X, reset=False, allow_nan=True))
        return np.hstack([_calendar(X[:, j]) for j in range(X.shape[1])])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names: `<column>_<part>` for each part of each input column."""
        names = _input_feature_names(self, input_features)
        return np.asarray([f"{name}_{part}" for name in names for part in DATE_PARTS], dtype=object)


def _check_seconds(X: np.ndarray) -> np.ndarray:
    present = X[~np.isnan(X)]
    if present.size and (present.min() < _FIRST_SECOND or present.max() > _LAST_SECOND):
        raise ValueError(
            "X holds a value outside the years 1 to 9999: expected seconds since 1970-01-01 UTC."
        )
    return X


# --------------------------------------------------------------------------- imputer


def _object_to_float(X: np.ndarray, strategy: str) -> np.ndarray:
    """Numbers stored in an object array (None / NaN / "" missing) as float64."""
    values = np.where(object_missing_mask(X), np.nan, X)
    try:
        return values.astype(np.float64)
    except (ValueError, TypeError):
        for position, value in enumerate(values.reshape(-1)):
            try:
                float(value)
            except ValueError:
                raise ValueError(
                    f"SimpleImputer(strategy={strategy!r}) needs numeric data, but column "
                    f"{position % X.shape[1]} of X holds {value!r}: use "
                    "strategy='most_frequent' or 'constant' for categorical columns."
                ) from None
            except TypeError:  # a dict or a list, not a word: numpy raises TypeError too
                raise InputTypeError(
                    f"SimpleImputer(strategy={strategy!r}) needs numeric data, but column "
                    f"{position % X.shape[1]} of X holds {value!r}: an element's float() "
                    f"argument must be a string or a real number, not {type(value).__name__!r}."
                ) from None
        raise


def _most_frequent(values: np.ndarray) -> Any:
    """The most frequent value; the smallest of tied values, like scikit-learn."""
    if values.dtype.kind == "O":
        # Hashing beats sorting Python objects (np.unique) by an order of magnitude.
        counts = Counter(values.tolist())
        top = max(counts.values())
        tied = [value for value, count in counts.items() if count == top]
        try:
            return min(tied)
        except TypeError:
            raise ValueError(
                "SimpleImputer(strategy='most_frequent') cannot order a column that mixes "
                f"strings and numbers ({sorted({type(v).__name__ for v in tied})})."
            ) from None
    uniques, counts = np.unique(values, return_counts=True)
    return uniques[np.argmax(counts)]


class SimpleImputer(TransformerMixin, BaseEstimator):
    """Replace missing values with a per-column statistic or a constant.

    Parameters
    ----------
    strategy : {"mean", "median", "most_frequent", "constant"}, default="mean"
        The statistic used for each column. "mean" and "median" need numeric data.
    fill_value : str or number, default=None
        The value for strategy="constant": None means 0 for numeric data and
        "missing_value" for object data (scikit-learn's defaults). For object data
        it is also the fill of a column with no observed value (see Notes).

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features,)
        The fill value per column: float64 for numeric input, object otherwise.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a table.

    Notes
    -----
    Missing means NaN in numeric input, and None, NaN or "" in object input. The
    output is float64 for numeric input and object for object input (numbers held in
    an object array are converted to float64 for "mean" and "median").

    A column with no observed value in fit is kept, not dropped as scikit-learn does,
    so the number of output columns never depends on the data: it is filled with 0.0
    (numeric input) or with `fill_value`, else "missing" (object input), whatever the
    strategy.
    """

    def __init__(self, strategy: str = "mean", fill_value: Any = None) -> None:
        self.strategy = strategy
        self.fill_value = fill_value

    def fit(self, X: Any, y: Any = None) -> SimpleImputer:
        """Learn the fill value of each column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Training data; NaN, None and "" mark missing values.
        y : None
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        self : SimpleImputer
        """
        strategy = check_choice(
            self.strategy, "strategy", ["mean", "median", "most_frequent", "constant"]
        )
        X = validate_any(self, X, reset=True)
        if X.dtype.kind == "O" and strategy in ("mean", "median"):
            X = _object_to_float(X, strategy)
        if X.dtype.kind == "O":
            self.statistics_ = self._object_statistics(X, strategy)
        else:
            self.statistics_ = self._numeric_statistics(X, strategy)
        return self

    def _numeric_statistics(self, X: np.ndarray, strategy: str) -> np.ndarray:
        if strategy == "constant":
            fill = 0.0 if self.fill_value is None else self.fill_value
            if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
                raise ValueError(
                    f"fill_value={fill!r} is invalid: numeric data needs a numeric fill_value."
                )
            return np.full(X.shape[1], float(fill))
        mask = np.isnan(X)
        counts = (~mask).sum(axis=0)
        if strategy == "mean":
            sums = np.where(mask, 0.0, X).sum(axis=0)
            return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        stats = np.zeros(X.shape[1])
        for j in np.flatnonzero(counts):
            observed = X[~mask[:, j], j]
            stats[j] = np.median(observed) if strategy == "median" else _most_frequent(observed)
        return stats

    def _object_statistics(self, X: np.ndarray, strategy: str) -> np.ndarray:
        empty_fill = EMPTY_OBJECT_FILL if self.fill_value is None else self.fill_value
        if strategy == "constant":
            fill = "missing_value" if self.fill_value is None else self.fill_value
            stats = np.empty(X.shape[1], dtype=object)
            stats[:] = [fill] * X.shape[1]
            return stats
        mask = object_missing_mask(X)
        stats = np.empty(X.shape[1], dtype=object)
        for j in range(X.shape[1]):
            observed = X[~mask[:, j], j]
            stats[j] = _most_frequent(observed) if observed.size else empty_fill
        return stats

    def transform(self, X: Any) -> np.ndarray:
        """Fill the missing values of X with the values learned in fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Data with the columns seen in `fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            A new array (float64, or object for categorical strategies); X is left
            untouched.
        """
        statistics = self.__dict__.get("statistics_")
        if statistics is None:
            check_is_fitted(self, "statistics_")
        X = validate_any(self, X, reset=False)
        if statistics.dtype.kind == "f":
            if X.dtype.kind == "O":
                X = _object_to_float(X, self.strategy)
            return np.where(np.isnan(X), statistics, X)
        if X.dtype.kind != "O":
            X = X.astype(object)
        if X.shape[0] <= 16:
            # A served row: a Python loop beats three object-array ufuncs by far.
            out = X.copy()
            fills = statistics.tolist()
            for i, row in enumerate(X.tolist()):
                for j, value in enumerate(row):
                    if value is None or value != value or value == "":
                        out[i, j] = fills[j]
            return out
        return np.where(object_missing_mask(X), statistics, X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names: the input names (every column is kept)."""
        return np.asarray(_input_feature_names(self, input_features), dtype=object)


# --------------------------------------------------------------------------- one-hot


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and value != value


def _sorted_categories(column: np.ndarray, feature: int) -> np.ndarray:
    """Sorted distinct values like scikit-learn: values, then None, then NaN."""
    if column.dtype.kind != "O":
        return np.unique(column)  # NaN, if any, sorts last and appears once
    distinct = set(column.tolist())
    has_none = None in distinct
    has_nan = any(_is_nan(v) for v in distinct)
    values = [v for v in distinct if v is not None and not _is_nan(v)]
    try:
        ordered = sorted(values)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in values})
        raise ValueError(
            f"Column {feature} of X mixes value types {kinds}: OneHotEncoder needs each "
            "column to hold only strings or only numbers."
        ) from None
    out = np.empty(len(ordered) + has_none + has_nan, dtype=object)
    out[: len(ordered)] = ordered
    if has_none:
        out[len(ordered)] = None
    if has_nan:
        out[-1] = np.nan
    return out


class _CategoryIndex:
    """Per-feature ``category -> position`` dicts, for fast lookups at transform.

    Derived from categories_, so it is a cache: it is callable, which makes
    numpyml.save skip it (dict keys may be numbers, which the file cannot hold), and
    OneHotEncoder._after_load rebuilds it.
    """

    __slots__ = ("maps", "nan_index", "out_maps", "out_nan")

    def __init__(self, categories: list[np.ndarray], positions: list[np.ndarray] | None = None):
        values = [cats.tolist() for cats in categories]
        self.maps = [{v: i for i, v in enumerate(vals)} for vals in values]
        self.nan_index = [
            next((i for i, v in enumerate(vals) if _is_nan(v)), -1) for vals in values
        ]
        # Straight to the output column (-1 when dropped), for the few-rows path.
        positions = positions or [np.arange(len(vals)) for vals in values]
        self.out_maps = [
            dict(zip(vals, cols.tolist(), strict=True))
            for vals, cols in zip(values, positions, strict=True)
        ]
        self.out_nan = [
            int(cols[k]) if k >= 0 else None
            for k, cols in zip(self.nan_index, positions, strict=True)
        ]

    def __call__(self, column: np.ndarray, feature: int) -> np.ndarray:
        lookup = self.maps[feature].get
        index = np.fromiter(
            (lookup(v, -1) for v in column.tolist()), dtype=np.intp, count=column.shape[0]
        )
        nan_index = self.nan_index[feature]
        if nan_index >= 0:  # NaN never equals itself, so dicts cannot find it
            index[column != column] = nan_index
        return index

    def hot_cells(self, X: np.ndarray) -> tuple[list[int], list[int], list[tuple[int, int]]]:
        """Rows and output columns of the ones, plus the (row, feature) of unknowns."""
        rows: list[int] = []
        cols: list[int] = []
        unknown: list[tuple[int, int]] = []
        out_maps, out_nan = self.out_maps, self.out_nan
        for i, values in enumerate(X.tolist()):
            for j, value in enumerate(values):
                col = out_maps[j].get(value)
                if col is None:
                    col = out_nan[j] if value != value else None
                    if col is None:
                        unknown.append((i, j))
                        continue
                if col >= 0:
                    rows.append(i)
                    cols.append(col)
        return rows, cols, unknown


class OneHotEncoder(TransformerMixin, BaseEstimator):
    """Encode categorical features as a one-hot (dense) numeric array.

    Parameters
    ----------
    categories : "auto" or list of array-like, default="auto"
        "auto" takes the sorted distinct values of each column in fit; a list gives
        the categories of each column (numeric ones must be sorted).
    handle_unknown : {"ignore", "error"}, default="ignore"
        What transform does with a category not seen in fit: "ignore" encodes it as
        all zeros for that feature, "error" raises. (scikit-learn's default is
        "error"; a served model must not fail on a new category.)
    drop : {None, "first", "if_binary"} or array-like of shape (n_features,), default=None
        Drop one category per feature: the first, the first of binary features only,
        or the given category of each feature (None in the array keeps all).
    dtype : str or numpy dtype, default="float64"
        Output dtype. A string (not a numpy type object) so the encoder can be saved.

    Attributes
    ----------
    categories_ : list of ndarray, one per feature
        The categories of each feature, in output order.
    drop_idx_ : ndarray of shape (n_features,) or None
        Index in ``categories_[i]`` of the dropped category of feature i (None for a
        feature with nothing dropped); None when drop is None.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a table.

    Notes
    -----
    Feature i with categories c_0..c_{k-1} becomes k columns with a 1 in column j
    when x_i == c_j. Object columns may hold None and NaN as categories (sorted after
    the other values, like scikit-learn).
    """

    def __init__(
        self,
        categories: Any = "auto",
        handle_unknown: str = "ignore",
        drop: Any = None,
        dtype: Any = "float64",
    ) -> None:
        self.categories = categories
        self.handle_unknown = handle_unknown
        self.drop = drop
        self.dtype = dtype

    def fit(self, X: Any, y: Any = None) -> OneHotEncoder:
        """Learn the categories of each column of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Categorical training data (numbers or strings).
        y : None
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        self : OneHotEncoder
        """
        check_choice(self.handle_unknown, "handle_unknown", ["ignore", "error"])
        X = validate_any(self, X, reset=True, keep_int=True)
        try:
            np.dtype(self.dtype)
        except TypeError:
            raise ValueError(f"dtype={self.dtype!r} is not a numpy dtype.") from None
        self.categories_ = self._fit_categories(X)
        self.drop_idx_ = self._fit_drop_idx()
        self._build_positions()
        return self

    def _fit_categories(self, X: np.ndarray) -> list[np.ndarray]:
        if isinstance(self.categories, str):
            check_choice(self.categories, "categories", ["auto"])
            return [_sorted_categories(X[:, j], j) for j in range(X.shape[1])]
        if len(self.categories) != X.shape[1]:
            raise ValueError(
                f"categories has {len(self.categories)} entries but X has {X.shape[1]} "
                "features: give one list of categories per feature."
            )
        found = []
        for j, given in enumerate(self.categories):
            cats = np.asarray(given)
            cats = cats.astype(object) if cats.dtype.kind in "US" else cats
            if cats.ndim != 1 or cats.shape[0] == 0:
                raise ValueError(f"categories[{j}] must be a non-empty 1-D list of values.")
            if cats.dtype.kind in _NUMERIC_KINDS and np.any(cats[1:] < cats[:-1]):
                raise ValueError(
                    f"Unsorted categories for feature {j}: numeric ones must be sorted."
                )
            if self.handle_unknown == "error":
                index = _CategoryIndex([cats])(X[:, j], 0)
                if np.any(index < 0):
                    unknown = _distinct(X[index < 0, j])
                    raise ValueError(
                        f"Found unknown categories {unknown} in column {j} during fit."
                    )
            found.append(cats)
        return found

    def _fit_drop_idx(self) -> np.ndarray | None:
        if self.drop is None:
            return None
        n_features = len(self.categories_)
        if isinstance(self.drop, str):
            check_choice(self.drop, "drop", ["first", "if_binary"])
            if self.drop == "first":
                return np.zeros(n_features, dtype=object)
            idx = np.empty(n_features, dtype=object)
            idx[:] = [0 if len(c) == 2 else None for c in self.categories_]
            return idx
        drop = np.asarray(self.drop, dtype=object)
        if drop.ndim != 1 or drop.shape[0] != n_features:
            raise ValueError(
                f"drop should have length {n_features} (one category per feature), "
                f"got shape {drop.shape}."
            )
        idx = np.empty(n_features, dtype=object)
        for j, (value, cats) in enumerate(zip(drop.tolist(), self.categories_, strict=True)):
            if value is None:
                idx[j] = None
                continue
            matches = [i for i, c in enumerate(cats.tolist()) if c == value]
            if not matches:
                raise ValueError(
                    f"drop[{j}]={value!r} is not a category of feature {j} seen in fit "
                    f"({cats.tolist()})."
                )
            idx[j] = matches[0]
        return idx

    def _build_positions(self) -> None:
        # Output column of every (feature, category) pair, -1 for a dropped one.
        sizes = [len(c) for c in self.categories_]
        self._category_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        positions = []
        start = 0
        for j, size in enumerate(sizes):
            keep = np.ones(size, dtype=bool)
            if self.drop_idx_ is not None and self.drop_idx_[j] is not None:
                keep[int(self.drop_idx_[j])] = False
            column = np.full(size, -1, dtype=np.intp)
            column[keep] = np.arange(start, start + keep.sum())
            start += int(keep.sum())
            positions.append(column)
        self._positions = np.concatenate(positions) if positions else np.zeros(0, np.intp)
        self._n_output = start
        self._after_load()

    def _after_load(self) -> None:
        if "categories_" in self.__dict__:  # an unfitted encoder has nothing to rebuild
            offsets = self._category_offsets
            positions = [
                self._positions[offsets[j] : offsets[j] + len(cats)]
                for j, cats in enumerate(self.categories_)
            ]
            self._index = _CategoryIndex(self.categories_, positions)

    def _category_index(self, X: np.ndarray) -> np.ndarray:
        """Position of each value in categories_ of its feature; -1 when unknown."""
        n_samples, n_features = X.shape
        index = np.empty((n_samples, n_features), dtype=np.intp)
        for j, cats in enumerate(self.categories_):
            column = X[:, j]
            if n_samples <= 32 or column.dtype.kind == "O" or cats.dtype.kind == "O":
                index[:, j] = self._index(column, j)
                continue
            # Numbers: binary search on the sorted categories, then check for a match.
            found = np.searchsorted(cats, column)
            np.minimum(found, len(cats) - 1, out=found)
            hit = (cats[found] == column) | ((column != column) & (cats[found] != cats[found]))
            index[:, j] = np.where(hit, found, -1)
        return index

    def transform(self, X: Any) -> np.ndarray:
        """One-hot encode X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Categorical data with the columns seen in `fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_output_features)
            Dense, of `dtype`; an unknown category is all zeros when
            handle_unknown='ignore'.
        """
        if "_index" not in self.__dict__:
            check_is_fitted(self, "categories_")
        X = validate_any(self, X, reset=False, keep_int=True)
        if X.shape[0] <= 16:
            # Served models predict one row at a time: plain dict lookups beat array ops.
            rows, cols, unknown_cells = self._index.hot_cells(X)
            if unknown_cells and self.handle_unknown == "error":
                j = unknown_cells[0][1]
                self._raise_unknown(X[[i for i, f in unknown_cells if f == j], j], j)
            out = np.zeros((X.shape[0], self._n_output), dtype=self.dtype)
            out[rows, cols] = 1
            return out
        index = self._category_index(X)
        unknown = index < 0
        if unknown.any() and self.handle_unknown == "error":
            rows, cols = np.nonzero(unknown)
            j = int(cols[0])
            self._raise_unknown(X[rows[cols == j], j], j)
        out = np.zeros((X.shape[0], self._n_output), dtype=self.dtype)
        positions = self._positions[index + self._category_offsets]
        positions[unknown] = -1
        rows, cols = np.nonzero(positions >= 0)
        out[rows, positions[rows, cols]] = 1
        return out

    @staticmethod
    def _raise_unknown(values: np.ndarray, feature: int) -> None:
        raise ValueError(
            f"Found unknown categories {_distinct(values)} in column {feature} during "
            "transform: refit with them, or use handle_unknown='ignore'."
        )

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Categories back from a one-hot array.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_output_features)
            One-hot encoded data.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Object array; None for an all-zero feature block.
        """
        check_is_fitted(self, "categories_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self._n_output:
            raise ValueError(f"X should have shape (n_samples, {self._n_output}), got {X.shape}.")
        out = np.empty((X.shape[0], len(self.categories_)), dtype=object)
        for j, cats in enumerate(self.categories_):
            offset = self._category_offsets[j]
            cols = self._positions[offset : offset + len(cats)]
            kept = np.flatnonzero(cols >= 0)
            block = X[:, cols[kept]]
            values = np.empty(X.shape[0], dtype=object)
            if block.shape[1]:
                values[:] = cats[kept[np.argmax(block, axis=1)]]
            none_hot = block.sum(axis=1) == 0 if block.shape[1] else np.ones(X.shape[0], bool)
            dropped = self.drop_idx_ is not None and self.drop_idx_[j] is not None
            values[none_hot] = cats[int(self.drop_idx_[j])] if dropped else None
            out[:, j] = values
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``<feature>_<category>`` in output order."""
        check_is_fitted(self, "categories_")
        features = _input_feature_names(self, input_features)
        names = []
        for j, (feature, cats) in enumerate(zip(features, self.categories_, strict=True)):
            offset = self._category_offsets[j]
            kept = self._positions[offset : offset + len(cats)] >= 0
            names.extend(f"{feature}_{c}" for c, k in zip(cats.tolist(), kept, strict=True) if k)
        return np.asarray(names, dtype=object)


def _distinct(values: np.ndarray) -> list[Any]:
    seen: list[Any] = []
    for value in values.tolist():
        if value not in seen:
            seen.append(value)
    return seen[:10]


# --------------------------------------------------------------------------- labels


class LabelEncoder(TransformerMixin, BaseEstimator):
    """Encode target labels as integers 0..n_classes-1.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted distinct labels; label ``classes_[i]`` is encoded as i.

    Notes
    -----
    ``transform(y)[k] = i`` such that ``classes_[i] == y[k]`` (a binary search in the
    sorted classes); an unseen label raises ValueError.
    """

    def __init__(self) -> None:
        pass

    def fit(self, y: Any) -> LabelEncoder:
        """Learn the sorted distinct labels of y.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Labels (numbers or strings); missing values are refused.

        Returns
        -------
        self : LabelEncoder
        """
        y = column_or_1d(y)
        _refuse_missing_labels(y)
        try:
            self.classes_ = np.unique(y)
        except TypeError:
            raise ValueError(
                "y mixes labels of different types (e.g. numbers and strings)."
            ) from None
        return self

    def fit_transform(self, y: Any) -> np.ndarray:  # type: ignore[override]
        """Fit, then encode y.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Labels.

        Returns
        -------
        ndarray of shape (n_samples,)
            Integer codes, positions in `classes_`.
        """
        return self.fit(y).transform(y)

    def transform(self, y: Any) -> np.ndarray:
        """Encode labels as integers; raises ValueError listing any unseen label.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Labels seen in `fit`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Integer codes, positions in `classes_`.
        """
        check_is_fitted(self, "classes_")
        y = column_or_1d(y)
        if y.shape[0] == 0:
            return np.zeros(0, dtype=np.intp)
        classes = self.classes_
        try:
            index = np.searchsorted(classes, y)
            np.minimum(index, max(len(classes) - 1, 0), out=index)
            seen = classes[index] == y if len(classes) else np.zeros(y.shape, bool)
        except (TypeError, ValueError, np.exceptions.DTypePromotionError):
            lookup = {v: i for i, v in enumerate(classes.tolist())}
            index = np.fromiter((lookup.get(v, -1) for v in y.tolist()), np.intp, y.shape[0])
            seen = index >= 0
        if not np.all(seen):
            raise ValueError(f"y contains previously unseen labels: {_distinct(y[~seen])}")
        return index

    def inverse_transform(self, y: Any) -> np.ndarray:
        """Labels back from their integer codes.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Integer codes, positions in `classes_`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from `classes_`.
        """
        check_is_fitted(self, "classes_")
        y = column_or_1d(y)
        if y.shape[0] == 0:
            return self.classes_[:0].copy()
        if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)):
            raise ValueError(f"y must hold integer codes, got dtype {y.dtype}.")
        codes = y.astype(np.intp)
        bad = (codes < 0) | (codes >= len(self.classes_))
        if bad.any():
            raise ValueError(f"y contains previously unseen labels: {_distinct(y[bad])}")
        return self.classes_[codes]


def _refuse_missing_labels(y: np.ndarray) -> None:
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("y contains NaN: drop or fill missing labels first.")
    if y.dtype.kind == "O" and any(v is None or _is_nan(v) for v in y.tolist()):
        raise ValueError("y contains missing values (None or NaN): drop them first.")


__all__ = [
    "DateFeatures",
    "LabelEncoder",
    "OneHotEncoder",
    "SimpleImputer",
    "StandardScaler",
]
