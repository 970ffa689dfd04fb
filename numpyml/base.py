"""The estimator contract every numpyml model follows (scikit-learn's conventions).

`__init__` stores its keyword arguments unchanged; `fit` validates, learns, sets
attributes ending in `_` and returns `self`; `get_params`/`set_params` are written once
here by reading the `__init__` signature.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from numpyml.validation import is_fitted


class BaseEstimator:
    """Base class: parameter handling, repr, and the fitted-state convention."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for name, parameter in signature.parameters.items():
            if name == "self":
                continue
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must list its parameters explicitly")
            names.append(name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = {}
        for name in self._param_names():
            value = getattr(self, name)
            params[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for key, sub in value.get_params(deep=True).items():
                    params[f"{name}__{key}"] = sub
        return params

    def set_params(self, **params: Any) -> BaseEstimator:
        valid = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}. "
                    f"Valid parameters are: {', '.join(valid)}."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        changed = []
        for name in self._param_names():
            value = getattr(self, name, None)
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except (TypeError, ValueError):
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self) -> bool:
        return is_fitted(self)


class ClassifierMixin:
    _estimator_type = "classifier"

    def score(self, X: Any, y: Any) -> float:
        """Mean accuracy on the given data."""
        from numpyml.metrics import accuracy_score

        return accuracy_score(y, self.predict(X))

    def predict_with_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """`predict(X)` and `predict_proba(X)` together; models that score once override it."""
        return self.predict(X), self.predict_proba(X)


class RegressorMixin:
    _estimator_type = "regressor"

    def score(self, X: Any, y: Any) -> float:
        """Coefficient of determination R² on the given data."""
        from numpyml.metrics import r2_score

        return r2_score(y, self.predict(X))


class ClusterMixin:
    _estimator_type = "clusterer"

    def fit_predict(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit, then the cluster of each training sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; accepted for pipeline compatibility.
        **fit_params : dict
            Passed to `fit` (e.g. `callback`).

        Returns
        -------
        ndarray of shape (n_samples,)
            Cluster index of each sample.
        """
        return self.fit(X, **fit_params).predict(X)


class TransformerMixin:
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit, then transform the training data: `fit(X, y).transform(X)`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a table
            Training data.
        y : array-like of shape (n_samples,), default=None
            Target, for transformers that use one; ignored by the others.
        **fit_params : dict
            Passed to `fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_output_features)
        """
        return self.fit(X, y, **fit_params).transform(X)


# Iterative work is capped by the data size: EM and Lloyd iterations each cost about
# n_samples x n_components x (features, or features² for full covariances) operations
# plus a fixed numpy overhead, and a run whose tol is never met (a tiny tol, overlapping
# components) would otherwise go on to max_iter whatever the data make it cost. The
# budget is under a minute of one core here; it never goes below scikit-learn's
# default max_iter, so that a default fit behaves as scikit-learn's does.
WORK_BUDGET = 10**10
ITERATION_OVERHEAD = 5 * 10**4


def iteration_cap(max_iter: int, default: int, work_per_iteration: float, runs: int = 1) -> int:
    """The iterations allowed per run: `max_iter`, capped so that `runs` runs of
    `work_per_iteration` operations stay within WORK_BUDGET, never below `default`."""
    cost = runs * (ITERATION_OVERHEAD + float(work_per_iteration))
    return int(min(max_iter, max(default, WORK_BUDGET // cost)))
