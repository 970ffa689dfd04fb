"""Input validation shared by every estimator. Messages say what was expected.

The common case (a float64 2-D ndarray) takes a fast path that skips conversion, so that
single-row prediction stays cheap; everything else is converted or refused with a
clear message.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from numpyml.exceptions import DataConversionWarning, InputTypeError, NotFittedError


def is_table(X: Any) -> bool:
    """A named-column input: a mapping of column name -> 1-D values, or a DataFrame."""
    if isinstance(X, Mapping):
        return type(X) is dict or not is_sparse(X)  # a scipy dok_array is a Mapping too
    return hasattr(X, "columns") and hasattr(X, "iloc")


def table_columns(X: Any) -> list[str]:
    return [str(c) for c in (X.keys() if isinstance(X, Mapping) else X.columns)]


def table_column(X: Any, name: str) -> np.ndarray:
    column = X[name]
    return np.asarray(column.to_numpy() if hasattr(column, "to_numpy") else column)


def table_to_array(X: Any) -> np.ndarray:
    names = table_columns(X)
    if not names:
        raise ValueError("X has no columns: expected at least one feature.")
    columns = [table_column(X, name) for name in names]
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ValueError(f"Columns of X have different lengths: {sorted(lengths)}.")
    for name, column in zip(names, columns, strict=True):
        if column.ndim != 1:
            raise ValueError(f"Column {name!r} of X must be 1-D, got shape {column.shape}.")
    return np.column_stack(columns) if len(columns) > 1 else columns[0].reshape(-1, 1)


def _name(estimator: Any) -> str:
    if estimator is None:
        return "this estimator"
    return estimator if isinstance(estimator, str) else type(estimator).__name__


def _assert_all_finite(X: np.ndarray, allow_nan: bool, what: str) -> None:
    if X.dtype.kind not in "fc":
        return
    if X.size <= 256:
        # A served row or a few: one elementwise check costs half of entering np.errstate.
        if np.isfinite(X).all():
            return
    else:
        # A sum is finite only if every element is (overflow aside: the slow path rechecks).
        with np.errstate(over="ignore", invalid="ignore"):
            total = X.sum()
        if np.isfinite(total):
            return
    if not allow_nan and np.isnan(X).any():
        raise ValueError(f"Input {what} contains NaN: fill or drop missing values first.")
    if np.isinf(X).any():
        raise ValueError(f"Input {what} contains infinity or a value too large for float64.")


def _to_float(X: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} could not be read as an array: {exc}") from None
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {what} holds complex numbers.")
    if array.dtype.kind in "fiub":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind in "OUS":
        try:
            return array.astype(np.float64)
        except (ValueError, TypeError):
            flat = array.reshape(-1)
            for position, value in enumerate(flat):
                try:
                    float(value)
                except ValueError:
                    raise ValueError(
                        f"{what} must be numeric, but holds {value!r}{_where(array, position)}: "
                        "encode categories (OneHotEncoder) before this estimator."
                    ) from None
                except TypeError:
                    raise InputTypeError(
                        f"{what} must be numeric, but holds {value!r}"
                        f"{_where(array, position)}: an element's float() argument must be "
                        f"a string or a real number, not {type(value).__name__!r}."
                    ) from None
            raise
    raise ValueError(f"{what} has dtype {array.dtype}, expected numbers.")


def _where(array: np.ndarray, position: int) -> str:
    if array.ndim != 2:
        return ""
    row, col = divmod(position, array.shape[1])
    return f" at row {row}, column {col}"


def is_sparse(X: Any) -> bool:
    # scipy.sparse matrices and arrays, recognised without importing scipy.
    return type(X).__module__.startswith("scipy.sparse")


def refuse_sparse(what: str) -> None:
    raise InputTypeError(
        f"Sparse data was passed for {what}, but numpyml needs dense data: "
        "use X.toarray() to convert it to a dense numpy array."
    )


def check_shape(
    array: np.ndarray, *, estimator: Any = None, ensure_min_features: int = 1, what: str = "X"
) -> None:
    """Refuse anything but a 2-D array with at least `ensure_min_features` columns."""
    if array.ndim == 0:
        raise ValueError(f"Expected a 2-D array for {what}, got a scalar.")
    if array.ndim == 1:
        raise ValueError(
            f"Expected a 2-D array for {what}, got a 1-D array of shape {array.shape}. "
            "Reshape your data: X.reshape(-1, 1) for a single feature or "
            "X.reshape(1, -1) for one sample."
        )
    if array.ndim > 2:
        raise ValueError(f"Expected a 2-D array for {what}, got {array.ndim} dimensions.")
    if array.shape[1] < ensure_min_features:
        raise ValueError(
            f"{what} has {array.shape[1]} feature(s) (shape={array.shape}) while a minimum "
            f"of {ensure_min_features} is required by {_name(estimator)}."
        )


def check_array(
    X: Any,
    *,
    estimator: Any = None,
    ensure_2d: bool = True,
    allow_nan: bool = False,
    ensure_min_samples: int = 1,
    ensure_min_features: int = 1,
    what: str = "X",
) -> np.ndarray:
    """Return X as a float64 ndarray, or raise ValueError saying what is wrong."""
    if type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2 and ensure_2d:
        array = X  # fast path: the common case pays only the shape and finiteness checks
    elif is_sparse(X):  # before is_table: a scipy dok_array is a Mapping
        refuse_sparse(what)
    elif is_table(X):
        array = _to_float(table_to_array(X), what)
    else:
        if isinstance(X, (str, bytes)) or X is None:
            raise ValueError(f"{what} must be an array of numbers, got {type(X).__name__}.")
        array = _to_float(X, what)
    if ensure_2d:
        check_shape(array, estimator=estimator, ensure_min_features=ensure_min_features, what=what)
    if array.shape[0] < ensure_min_samples:
        raise ValueError(
            f"{what} has {array.shape[0]} sample(s); {_name(estimator)} needs at least "
            f"{ensure_min_samples}."
        )
    _assert_all_finite(array, allow_nan, what)
    return array


def column_or_1d(y: Any, *, what: str = "y", warn: bool = False) -> np.ndarray:
    """y as a 1-D array; a column vector is raveled (with a DataConversionWarning if `warn`)."""
    array = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if array.ndim == 2 and array.shape[1] == 1:
        if warn:
            warnings.warn(
                f"A column-vector {what} was passed when a 1d array was expected: "
                f"pass {what} as a 1-D array of shape (n_samples,).",
                DataConversionWarning,
                stacklevel=3,
            )
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one target per sample), got shape {array.shape}.")
    return array


def check_targets(y: Any, n_samples: int, *, numeric: bool, estimator: Any = None) -> np.ndarray:
    """Validate a target vector: 1-D, one per sample, finite numbers when numeric."""
    if y is None:
        raise ValueError(
            f"{_name(estimator)} needs a target y: it requires y to be passed, "
            "but the target y is None."
        )
    array = column_or_1d(y, warn=True)
    if array.shape[0] != n_samples:
        raise ValueError(
            f"y has {array.shape[0]} values but X has {n_samples} samples: they must match."
        )
    if numeric:
        array = _to_float(array, "y")
        _assert_all_finite(array, False, "y")
    elif array.dtype.kind == "f":
        _assert_all_finite(array, False, "y")
    elif array.dtype.kind == "O":
        if any(v is None or (isinstance(v, float) and v != v) for v in array):
            raise ValueError("y contains missing values: drop those samples first.")
    return array


def check_classification_targets(y: np.ndarray, *, estimator: Any = None) -> np.ndarray:
    """Return the sorted classes of y; refuse continuous targets and a single class."""
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(
            f"{_name(estimator)} is a classifier, but y holds continuous values "
            "(e.g. 0.5): use a regressor or give class labels."
        )
    try:
        classes = np.unique(y)
    except TypeError:
        raise ValueError("y mixes labels of different types (e.g. numbers and strings).") from None
    if classes.shape[0] < 2:
        got = "only 1 class" if classes.shape[0] == 1 else "no class"
        raise ValueError(
            f"{_name(estimator)} needs at least 2 classes in y, got {got}: {classes.tolist()}."
        )
    return classes


def feature_names_of(X: Any) -> np.ndarray | None:
    if is_table(X):
        return np.asarray(table_columns(X), dtype=str)
    return None


def validate_data(
    estimator: Any,
    X: Any,
    *,
    reset: bool,
    allow_nan: bool = False,
    ensure_min_samples: int = 1,
) -> np.ndarray:
    """check_array plus the feature bookkeeping: set on fit (reset), checked on predict."""
    if not reset and type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2:
        # Hot path for prediction: avoid the generic machinery entirely.
        if X.shape[1] != estimator.n_features_in_:
            _raise_n_features(estimator, X.shape[1])
        if X.shape[0] == 0:
            raise ValueError(f"X has 0 samples; {_name(estimator)} needs at least 1.")
        _assert_all_finite(X, allow_nan, "X")
        return X
    names = feature_names_of(X)
    array = check_array(
        X, estimator=estimator, allow_nan=allow_nan, ensure_min_samples=ensure_min_samples
    )
    if reset:
        estimator.n_features_in_ = array.shape[1]
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return array
    if array.shape[1] != estimator.n_features_in_:
        _raise_n_features(estimator, array.shape[1])
    fitted_names = getattr(estimator, "feature_names_in_", None)
    if names is not None and fitted_names is not None and not np.array_equal(names, fitted_names):
        missing = [n for n in fitted_names if n not in set(names)]
        detail = f"missing {missing}" if missing else "in a different order"
        raise ValueError(
            f"The feature names of X differ from those seen in fit ({detail}); "
            f"expected {fitted_names.tolist()}."
        )
    return array


def _raise_n_features(estimator: Any, got: int) -> None:
    raise ValueError(
        f"X has {got} features, but {_name(estimator)} is expecting "
        f"{estimator.n_features_in_} features as input."
    )


def is_fitted(estimator: object) -> bool:
    """True when `fit` has set at least one public attribute ending in `_`."""
    return any(key.endswith("_") and not key.startswith("_") for key in vars(estimator))


def check_is_fitted(
    estimator: Any,
    attributes: str | Sequence[str] | None = None,
    *,
    msg: str | None = None,
    all_or_any: Callable[[Iterable[bool]], bool] = all,
) -> None:
    """Raise NotFittedError unless `estimator` has been fitted, as scikit-learn's does.

    Parameters
    ----------
    estimator : estimator instance
        The estimator to check.
    attributes : str or sequence of str, default=None
        Attribute(s) that `fit` sets. When None, the estimator's own
        `__sklearn_is_fitted__` answers (composites such as Pipeline), else any public
        attribute ending in `_` counts (`is_fitted`). Naming the attribute is the cheap
        path that single-row prediction takes.
    msg : str, default=None
        The error message; ``%(name)s`` is replaced by the estimator's class name.
    all_or_any : {all, any}, default=all
        Whether all or any of `attributes` must exist.

    Raises
    ------
    TypeError
        If `estimator` is a class or has no `fit` method.
    NotFittedError
        If the estimator is not fitted.
    """
    if type(attributes) is str and hasattr(estimator, attributes):
        return  # the fitted case of every predict, first: one attribute lookup
    if isinstance(estimator, type):
        raise TypeError(f"{estimator} is a class, not an instance.")
    if not hasattr(estimator, "fit"):
        raise TypeError(f"{estimator!r} is not an estimator instance.")
    if isinstance(attributes, str):
        fitted = False
    elif attributes is not None:
        fitted = all_or_any(hasattr(estimator, name) for name in attributes)
    else:
        check = getattr(estimator, "__sklearn_is_fitted__", None)
        fitted = check() if check is not None else is_fitted(estimator)
    if fitted:
        return
    if msg is None:
        msg = (
            "This %(name)s instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )
    raise NotFittedError(msg % {"name": type(estimator).__name__})


def check_random_state(seed: Any) -> np.random.Generator:
    """A local generator from None, an int seed, or an existing Generator (never global)."""
    if seed is None or isinstance(seed, numbers.Integral):
        if seed is not None and int(seed) < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {seed}.")
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise ValueError(f"random_state must be None, an int or a numpy Generator, got {seed!r}.")


def check_scalar(
    value: Any,
    name: str,
    kind: type | tuple[type, ...],
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
) -> Any:
    """Validate one hyperparameter at fit time (constructors never validate)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise TypeError(f"{name} must be {_kind_names(kinds)}, got a bool.")
    if not isinstance(value, kinds):
        raise TypeError(f"{name} must be {_kind_names(kinds)}, got {type(value).__name__}.")
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    if min_val is not None and (value < min_val or (not include_min and value == min_val)):
        op = ">=" if include_min else ">"
        raise ValueError(f"{name} must be {op} {min_val}, got {value}.")
    if max_val is not None and (value > max_val or (not include_max and value == max_val)):
        op = "<=" if include_max else "<"
        raise ValueError(f"{name} must be {op} {max_val}, got {value}.")
    return value


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}.")
    return value


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {
        numbers.Integral: "an int",
        numbers.Real: "a number",
        int: "an int",
        float: "a float",
        str: "a string",
        bool: "a bool",
        type(None): "None",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)
