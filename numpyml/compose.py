"""ColumnTransformer: apply a different transformer to each group of columns.

The registry uses it to impute and scale numeric columns and impute and one-hot
encode categorical ones, on tables (a mapping of column name -> 1-D array).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator, TransformerMixin
from numpyml.pipeline import _Bunch, _is_passthrough
from numpyml.preprocessing import stack_columns, table_columns_as_arrays
from numpyml.utils import _Composition, clone
from numpyml.validation import check_is_fitted, is_table, table_columns

__all__ = ["ColumnTransformer"]

_KINDS = ("drop", "passthrough")


def _as_2d(X: Any) -> np.ndarray:
    """An array input as a 2-D numeric or object array (strings become objects)."""
    if X is None or isinstance(X, (str, bytes)):
        raise ValueError(f"X must be a 2-D array or a table, got {type(X).__name__}.")
    try:
        array = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"X could not be read as a 2-D array: {exc}") from None
    if array.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array or a table for X, got an array of shape {array.shape}."
        )
    if array.dtype.kind in "US":
        array = array.astype(object)
    elif array.dtype.kind not in "fiubO":
        raise ValueError(f"X has dtype {array.dtype}: expected numbers or strings.")
    return array


def _as_float_output(output: Any, name: str, n_samples: int) -> np.ndarray:
    """A transformer's output as a float64 2-D array with one row per sample."""
    if not (type(output) is np.ndarray and output.dtype == np.float64):
        try:
            output = np.asarray(output, dtype=np.float64)
        except (ValueError, TypeError):
            raise ValueError(
                f"The output of {name!r} is not numeric: encode categorical columns "
                "(e.g. with OneHotEncoder) instead of passing them through."
            ) from None
    if output.ndim != 2 or output.shape[0] != n_samples:
        raise ValueError(
            f"The output of {name!r} must be 2-D with {n_samples} rows, got shape {output.shape}."
        )
    return output


class ColumnTransformer(_Composition, TransformerMixin, BaseEstimator):
    """Apply transformers to column subsets and concatenate their outputs.

    Parameters
    ----------
    transformers : list of (name, transformer, columns) tuples
        ``transformer`` is an estimator with fit and transform, "drop" or
        "passthrough"; ``columns`` is a list of column names (table input), a list of
        integer positions, a boolean mask, or a single name / position. An empty
        list is allowed: the transformer is then not fitted and outputs no column.
    remainder : {"drop", "passthrough"} or estimator, default="drop"
        What to do with the columns no transformer selects.
    verbose_feature_names_out : bool, default=True
        Prefix output feature names with the transformer name ("num__age").

    Attributes
    ----------
    transformers_ : list of (name, fitted transformer or str, columns) tuples
        Fitted clones of the given transformers (the given ones are left untouched),
        plus ("remainder", ..., columns) when some columns were not selected.
    named_transformers_ : dict-like
        The fitted transformers by name.
    output_indices_ : dict of str -> slice
        The output columns of each transformer.
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a table.

    Notes
    -----
    The output is ``hstack([t_1(X[:, c_1]), ..., t_k(X[:, c_k])])`` as a float64
    array. With a table, columns are found by name at transform: extra columns are
    ignored, a missing one is an error naming it.
    """

    _items_attr = "transformers"

    def __init__(
        self,
        transformers: list[tuple[str, Any, Any]],
        remainder: Any = "drop",
        verbose_feature_names_out: bool = True,
    ) -> None:
        self.transformers = transformers
        self.remainder = remainder
        self.verbose_feature_names_out = verbose_feature_names_out

    # ---------------------------------------------------------------- params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters, with each transformer and its parameters as "name__param"."""
        return self._nested_get_params(deep)

    def set_params(self, **params: Any) -> ColumnTransformer:
        """Set parameters; "name" replaces a transformer, "name__param" sets its param."""
        return self._nested_set_params(**params)

    # ---------------------------------------------------------------- validation

    def _validate_transformers(self) -> list[tuple[str, Any, Any]]:
        if not isinstance(self.transformers, (list, tuple)):
            raise TypeError("transformers must be a list of (name, transformer, columns) tuples.")
        for item in self.transformers:
            if not isinstance(item, (tuple, list)) or len(item) != 3:
                raise TypeError(
                    f"Each transformer must be a (name, transformer, columns) tuple, got {item!r}."
                )
        self._validate_names([item[0] for item in self.transformers])
        for name, transformer, _ in self.transformers:
            self._check_transformer(name, transformer)
        if not (isinstance(self.remainder, str) and self.remainder in _KINDS):
            if isinstance(self.remainder, str):
                raise ValueError(
                    f"remainder must be 'drop', 'passthrough' or a transformer, "
                    f"got {self.remainder!r}."
                )
            self._check_transformer("remainder", self.remainder)
        return [tuple(item) for item in self.transformers]  # type: ignore[misc]

    @staticmethod
    def _check_transformer(name: str, transformer: Any) -> None:
        if isinstance(transformer, str):
            if transformer not in _KINDS:
                raise ValueError(
                    f"Transformer {name!r} is {transformer!r}: expected an estimator, "
                    "'drop' or 'passthrough'."
                )
            return
        if not hasattr(transformer, "transform") or not (
            hasattr(transformer, "fit") or hasattr(transformer, "fit_transform")
        ):
            raise TypeError(
                f"Transformer {name!r} ({transformer!r}) must have fit and transform, "
                "or be 'drop' / 'passthrough'."
            )

    def _resolve_columns(
        self, name: str, spec: Any, names: list[str] | None, n_features: int
    ) -> list[int]:
        """Positions of the columns a transformer selects."""
        if isinstance(spec, (str, numbers.Integral)):
            spec = [spec]
        items = spec.tolist() if isinstance(spec, np.ndarray) else list(spec)
        if items and all(isinstance(i, (bool, np.bool_)) for i in items):
            if len(items) != n_features:
                raise ValueError(
                    f"The boolean mask of {name!r} has {len(items)} entries, X has "
                    f"{n_features} columns."
                )
            return [i for i, keep in enumerate(items) if keep]
        positions = []
        for item in items:
            if isinstance(item, str):
                if names is None:
                    raise ValueError(
                        f"Transformer {name!r} selects column {item!r} by name, but X is an "
                        "array without column names: use integer positions or a table."
                    )
                if item not in names:
                    raise ValueError(
                        f"Column {item!r} of transformer {name!r} is not in X (columns: {names})."
                    )
                positions.append(names.index(item))
            elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
                if not -n_features <= int(item) < n_features:
                    raise ValueError(
                        f"Column {item} of transformer {name!r} is out of range: X has "
                        f"{n_features} columns."
                    )
                positions.append(int(item) % n_features)
            else:
                raise TypeError(
                    f"Columns of {name!r} must be names or integer positions, got {item!r}."
                )
        return positions

    # ---------------------------------------------------------------- fit

    def fit(self, X: Any, y: Any = None) -> ColumnTransformer:
        """Fit every transformer on its columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Input data; columns are picked by position or, for a table, by name.
        y : None
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        self : ColumnTransformer
        """
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit every transformer on its columns and return the concatenated output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Input data; columns are picked by position or, for a table, by name.
        y : None
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        ndarray of shape (n_samples, n_output_features)
            The same as `fit(X).transform(X)`.
        """
        specs = self._validate_transformers()
        names, array, n_features = self._input_columns(X)
        resolved = [
            (name, transformer, self._resolve_columns(name, columns, names, n_features))
            for name, transformer, columns in specs
        ]
        used = {position for _, _, positions in resolved for position in positions}
        remaining = [i for i in range(n_features) if i not in used]
        if remaining:
            resolved.append(("remainder", self.remainder, remaining))

        fitted: list[tuple[str, Any, list[Any]]] = []
        column_names: list[list[str]] = []
        bounds: dict[str, list[int]] = {}
        outputs: list[np.ndarray] = []
        start = 0
        for name, transformer, positions in resolved:
            selected = [names[i] for i in positions] if names is not None else None
            result, output = self._fit_part(X, y, array, name, transformer, positions, selected)
            if output is not None:
                if outputs and output.shape[0] != outputs[0].shape[0]:
                    raise ValueError("Columns of X have different lengths.")
                outputs.append(output)
            width = 0 if output is None else output.shape[1]
            fitted.append((name, result, selected if selected is not None else list(positions)))
            column_names.append(selected or [])
            bounds[name] = [start, start + width]
            start += width

        self.transformers_ = fitted
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=str)
        elif "feature_names_in_" in self.__dict__:
            del self.feature_names_in_
        self._column_indices = [list(positions) for _, _, positions in resolved]
        # Names (table input) are what transform looks up; None when fitted on an array.
        self._column_names = column_names if names is not None else None
        self._needed_columns = sorted(
            {
                n
                for (a, b), cols in zip(bounds.values(), column_names, strict=True)
                if b > a
                for n in cols
            }
        )
        self._output_bounds = bounds
        self._n_output = start
        if not outputs:
            return np.zeros((self._n_rows(X, array), 0))
        return np.concatenate(outputs, axis=1) if len(outputs) > 1 else outputs[0]

    @staticmethod
    def _input_columns(X: Any) -> tuple[list[str] | None, np.ndarray | None, int]:
        """Column names (table) or the 2-D array (array input), and the column count."""
        if is_table(X):
            names = table_columns(X)
            if not names:
                raise ValueError("X has no columns: expected at least one feature.")
            return names, None, len(names)
        array = _as_2d(X)
        return None, array, array.shape[1]

    def _fit_part(
        self,
        X: Any,
        y: Any,
        array: np.ndarray | None,
        name: str,
        transformer: Any,
        positions: list[int],
        selected: list[str] | None,
    ) -> tuple[Any, np.ndarray | None]:
        """Fit a clone of one transformer on its columns: (fitted clone, output or None)."""
        if isinstance(transformer, str) and transformer == "drop":
            return transformer, None
        if not positions:  # kept unfitted, as scikit-learn does
            return (transformer if isinstance(transformer, str) else clone(transformer)), None
        part = self._select(X, array, positions, selected)
        if isinstance(transformer, str):  # passthrough
            return transformer, _as_float_output(part, name, part.shape[0])
        result = clone(transformer)
        if hasattr(result, "fit_transform"):
            output = result.fit_transform(part, y)
        else:
            output = result.fit(part, y).transform(part)
        return result, _as_float_output(output, name, part.shape[0])

    @staticmethod
    def _select(
        X: Any, array: np.ndarray | None, positions: list[int], names: list[str] | None
    ) -> np.ndarray:
        if array is None:
            return stack_columns(table_columns_as_arrays(X, names))
        return array[:, positions]

    # ---------------------------------------------------------------- transform

    def transform(self, X: Any) -> np.ndarray:
        """Transform each column group with its fitted transformer and concatenate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Input data with the columns seen in `fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_output_features)
            The transformers' outputs side by side, in `transformers_` order.
        """
        check_is_fitted(self)
        fitted = self.transformers_
        if is_table(X) and self._column_names is not None:
            array = None
            self._check_table_columns(X)
        else:
            array = self._check_array(X)
        outputs = []
        n_samples = None
        bounds = self._output_bounds
        for index, (name, transformer, _) in enumerate(fitted):
            start, stop = bounds[name]
            if start == stop:
                continue
            names = self._column_names[index] if array is None else None
            part = self._select(X, array, self._column_indices[index], names)
            if n_samples is None:
                n_samples = part.shape[0]
            elif part.shape[0] != n_samples:
                raise ValueError("Columns of X have different lengths.")
            output = part if isinstance(transformer, str) else transformer.transform(part)
            output = _as_float_output(output, name, n_samples)
            if output.shape[1] != stop - start:
                raise ValueError(
                    f"Transformer {name!r} returned {output.shape[1]} columns at transform "
                    f"but {stop - start} in fit."
                )
            outputs.append(output)
        if not outputs:
            rows = self._n_rows(X, array)
            return np.zeros((rows, 0))
        return np.concatenate(outputs, axis=1) if len(outputs) > 1 else outputs[0]

    def _check_table_columns(self, X: Any) -> None:
        # Only the columns some transformer uses are required (dropped ones may be absent).
        present = X if isinstance(X, dict) else set(table_columns(X))
        missing = [n for n in self._needed_columns if n not in present]
        if missing:
            raise ValueError(
                f"X is missing the column(s) {missing} seen in fit: expected the columns "
                f"{self._needed_columns}."
            )

    def _check_array(self, X: Any) -> np.ndarray:
        if is_table(X):  # a table given to a transformer fitted on an array: by position
            array = stack_columns(table_columns_as_arrays(X, table_columns(X)))
        else:
            array = _as_2d(X)
        if array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {array.shape[1]} features, but ColumnTransformer is expecting "
                f"{self.n_features_in_} features as input."
            )
        if array.shape[0] == 0:
            raise ValueError("X has 0 samples; ColumnTransformer needs at least 1.")
        return array

    @staticmethod
    def _n_rows(X: Any, array: np.ndarray | None) -> int:
        if array is not None:
            return array.shape[0]
        return len(table_columns_as_arrays(X, table_columns(X)[:1])[0])

    # ---------------------------------------------------------------- introspection

    def __sklearn_is_fitted__(self) -> bool:
        return "transformers_" in self.__dict__

    @property
    def named_transformers_(self) -> _Bunch:
        if "transformers_" not in self.__dict__:
            raise AttributeError("named_transformers_ exists only after fit.")
        return _Bunch((name, transformer) for name, transformer, _ in self.transformers_)

    @property
    def output_indices_(self) -> dict[str, slice]:
        if "transformers_" not in self.__dict__:
            raise AttributeError("output_indices_ exists only after fit.")
        indices = {name: slice(0, 0) for name, _, _ in self.transformers}
        indices["remainder"] = slice(0, 0)
        # Like scikit-learn, a transformer with no output gets slice(0, 0).
        indices.update(
            {
                name: slice(a, b) if b > a else slice(0, 0)
                for name, (a, b) in self._output_bounds.items()
            }
        )
        return indices

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output feature names, "<transformer>__<feature>" unless not verbose."""
        check_is_fitted(self)
        if input_features is not None:
            all_names = [str(n) for n in input_features]
            if len(all_names) != self.n_features_in_:
                raise ValueError(
                    f"input_features should have length {self.n_features_in_}, "
                    f"got {len(all_names)}."
                )
        elif "feature_names_in_" in self.__dict__:
            all_names = self.feature_names_in_.tolist()
        else:
            all_names = [f"x{i}" for i in range(self.n_features_in_)]
        out: list[str] = []
        for index, (name, transformer, _) in enumerate(self.transformers_):
            start, stop = self._output_bounds[name]
            if start == stop:
                continue
            inputs = [all_names[i] for i in self._column_indices[index]]
            if _is_passthrough(transformer):
                names = inputs
            elif not hasattr(transformer, "get_feature_names_out"):
                raise AttributeError(
                    f"Transformer {name!r} ({type(transformer).__name__}) does not provide "
                    "get_feature_names_out."
                )
            else:
                names = [str(n) for n in transformer.get_feature_names_out(inputs)]
            if self.verbose_feature_names_out:
                out.extend(f"{name}__{n}" for n in names)
            else:
                out.extend(names)
        if not self.verbose_feature_names_out and len(set(out)) != len(out):
            repeated = sorted({n for n in out if out.count(n) > 1})
            raise ValueError(
                f"Output feature names {repeated[:5]} are not unique: set "
                "verbose_feature_names_out=True to prefix them with the transformer name."
            )
        return np.asarray(out, dtype=object)
