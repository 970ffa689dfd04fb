"""Pipeline: chain transformers and a final estimator into one estimator.

A fitted Pipeline is saved and loaded as one object (numpyml.save / numpyml.load):
its steps are its parameters, and each step carries its own fitted state.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import MethodType
from typing import Any

import numpy as np

from numpyml.base import BaseEstimator
from numpyml.exceptions import NotFittedError
from numpyml.utils import _Composition, clone
from numpyml.validation import is_fitted

__all__ = ["Pipeline", "clone", "make_pipeline"]

PASSTHROUGH = "passthrough"


def _is_passthrough(estimator: Any) -> bool:
    return estimator is None or (isinstance(estimator, str) and estimator == PASSTHROUGH)


def _accepts(method: Callable[..., Any], name: str) -> bool:
    """Whether `method` takes a keyword argument called `name`."""
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class _AvailableIf:
    """A method that exists only when `check(instance)` holds (scikit-learn's available_if).

    So ``hasattr(pipeline, "predict_proba")`` tells whether the final step has one.
    """

    def __init__(self, method: Callable[..., Any], check: Callable[[Any], bool]) -> None:
        self.method = method
        self.check = check
        functools.update_wrapper(self, method)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.method
        if not self.check(instance):
            final = instance.steps[-1][1] if getattr(instance, "steps", None) else None
            raise AttributeError(
                f"This {type(instance).__name__} has no {self.method.__name__!r}: its final "
                f"step {type(final).__name__} does not provide it."
            )
        return MethodType(self.method, instance)


def _final_has(*names: str, passthrough_ok: bool = False) -> Callable[..., _AvailableIf]:
    def check(pipeline: Pipeline) -> bool:
        final = pipeline.steps[-1][1]
        if _is_passthrough(final):
            return passthrough_ok
        return all(hasattr(final, name) for name in names)

    return lambda method: _AvailableIf(method, check)


class _Bunch(dict):
    """A dict whose keys are also attributes (``pipe.named_steps.model``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class Pipeline(_Composition, BaseEstimator):
    """A sequence of transformers followed by a final estimator.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The steps in order. Every step but the last must have fit and transform;
        the last needs fit. Any step may be "passthrough" (or None) to skip it.

    Attributes
    ----------
    named_steps : dict-like
        The steps by name (also as attributes: ``pipe.named_steps.model``).
    classes_ : ndarray of shape (n_classes,)
        The final step's classes (classifiers only).
    n_features_in_ : int
        Number of features seen by the first step in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen by the first step, when X was a table.

    Notes
    -----
    ``fit(X, y)`` runs ``X <- step.fit_transform(X, y)`` through the transformers,
    then fits the final step on the result; ``predict(X)`` runs ``X <-
    step.transform(X)`` and calls the final step's predict. Fit parameters are routed
    with "stepname__param" keys, as in scikit-learn; in addition, a plain
    ``callback=`` goes to the final step's fit (and is dropped when that fit takes no
    callback, so one training path can pass it to every model). Steps are fitted in
    place, like scikit-learn's Pipeline.
    """

    _items_attr = "steps"

    def __init__(self, steps: list[tuple[str, Any]]) -> None:
        self.steps = steps

    # ---------------------------------------------------------------- params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters, with each step and its parameters as "step" / "step__param"."""
        return self._nested_get_params(deep)

    def set_params(self, **params: Any) -> Pipeline:
        """Set parameters; "step" replaces a step, "step__param" sets one of its params."""
        return self._nested_set_params(**params)

    # ---------------------------------------------------------------- structure

    def _validate_steps(self) -> None:
        steps = self.steps
        if not isinstance(steps, (list, tuple)) or len(steps) == 0:
            raise ValueError("steps must be a non-empty list of (name, estimator) tuples.")
        for step in steps:
            if not isinstance(step, (tuple, list)) or len(step) != 2:
                raise TypeError(f"Each step must be a (name, estimator) tuple, got {step!r}.")
        self._validate_names([name for name, _ in steps])
        for name, estimator in steps[:-1]:
            if _is_passthrough(estimator):
                continue
            if isinstance(estimator, str) or not (
                hasattr(estimator, "transform")
                and (hasattr(estimator, "fit") or hasattr(estimator, "fit_transform"))
            ):
                raise TypeError(
                    f"Step {name!r} ({estimator!r}) must be a transformer with fit and "
                    "transform, or 'passthrough': only the last step may be a model."
                )
        name, final = steps[-1]
        if not _is_passthrough(final) and (isinstance(final, str) or not hasattr(final, "fit")):
            raise TypeError(
                f"The last step {name!r} ({final!r}) must be an estimator with fit, "
                "or 'passthrough'."
            )

    @property
    def named_steps(self) -> _Bunch:
        return _Bunch(self.steps)

    @property
    def _final_estimator(self) -> Any:
        return self.steps[-1][1]

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int | str | slice) -> Any:
        """A step's estimator by position or name; a slice gives a sub-Pipeline."""
        if isinstance(index, slice):
            if index.step not in (None, 1):
                raise ValueError("Pipeline slicing supports only a step of 1.")
            return type(self)(self.steps[index])
        if isinstance(index, str):
            return self.named_steps[index]
        return self.steps[index][1]

    @property
    def classes_(self) -> np.ndarray:
        return self.steps[-1][1].classes_

    @property
    def n_features_in_(self) -> int:
        return self.steps[0][1].n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        return self.steps[0][1].feature_names_in_

    @property
    def _estimator_type(self) -> str | None:
        return getattr(self.steps[-1][1], "_estimator_type", None)

    def __sklearn_is_fitted__(self) -> bool:
        estimators = [e for _, e in self.steps if not _is_passthrough(e)]
        if not estimators:
            return True
        last = estimators[-1]
        check = getattr(last, "__sklearn_is_fitted__", None)
        return bool(check()) if check is not None else is_fitted(last)

    # ---------------------------------------------------------------- fitting

    def _route(self, params: dict[str, Any], callback: Any) -> dict[str, dict[str, Any]]:
        routed: dict[str, dict[str, Any]] = {name: {} for name, _ in self.steps}
        for key, value in params.items():
            name, sep, param = key.partition("__")
            if not sep or name not in routed:
                raise ValueError(
                    f"Pipeline.fit does not accept the {key!r} parameter: pass parameters "
                    "to a step as 'stepname__parameter' (steps: "
                    f"{list(routed)}), or callback= for the final step."
                )
            routed[name][param] = value
        name, final = self.steps[-1]
        if callback is not None and not _is_passthrough(final) and _accepts(final.fit, "callback"):
            routed[name].setdefault("callback", callback)
        return routed

    def _fit_transformers(self, X: Any, y: Any, routed: dict[str, dict[str, Any]]) -> Any:
        for name, transformer in self.steps[:-1]:
            if _is_passthrough(transformer):
                continue
            if hasattr(transformer, "fit_transform"):
                X = transformer.fit_transform(X, y, **routed[name])
            else:
                X = transformer.fit(X, y, **routed[name]).transform(X)
        return X

    def fit(self, X: Any, y: Any = None, callback: Any = None, **params: Any) -> Pipeline:
        """Fit every transformer in turn, then the final estimator; returns self.

        Parameters
        ----------
        X : array-like or table
            Training input, given to the first step.
        y : array-like of shape (n_samples,), default=None
            Target, given to every step's fit.
        callback : callable, default=None
            Progress callback for the final step's fit (ignored when it takes none).
        **params : dict
            Fit parameters as "stepname__parameter".

        Returns
        -------
        self : Pipeline
        """
        self._validate_steps()
        routed = self._route(params, callback)
        Xt = self._fit_transformers(X, y, routed)
        name, final = self.steps[-1]
        if not _is_passthrough(final):
            final.fit(Xt, y, **routed[name])
        return self

    @_final_has("transform", passthrough_ok=True)
    def fit_transform(self, X: Any, y: Any = None, callback: Any = None, **params: Any) -> Any:
        """Fit all steps and return the last step's transform of X.

        Parameters
        ----------
        X : array-like or table
            Training input, given to the first step.
        y : array-like of shape (n_samples,), default=None
            Target, given to every step's fit.
        callback : callable, default=None
            Progress callback for the final step's fit (ignored when it takes none).
        **params : dict
            Fit parameters as "stepname__parameter".

        Returns
        -------
        ndarray of shape (n_samples, n_output_features)
        """
        self._validate_steps()
        routed = self._route(params, callback)
        Xt = self._fit_transformers(X, y, routed)
        name, final = self.steps[-1]
        if _is_passthrough(final):
            return Xt
        if hasattr(final, "fit_transform"):
            return final.fit_transform(Xt, y, **routed[name])
        return final.fit(Xt, y, **routed[name]).transform(Xt)

    @_final_has("fit_predict")
    def fit_predict(self, X: Any, y: Any = None, callback: Any = None, **params: Any) -> Any:
        """Fit the transformers, then the final step's fit_predict on their output.

        Parameters
        ----------
        X : array-like or table
            Training input, given to the first step.
        y : array-like of shape (n_samples,), default=None
            Target, given to every step's fit.
        callback : callable, default=None
            Progress callback for the final step's fit (ignored when it takes none).
        **params : dict
            Fit parameters as "stepname__parameter".

        Returns
        -------
        ndarray of shape (n_samples,)
            The final step's fit_predict output.
        """
        self._validate_steps()
        routed = self._route(params, callback)
        Xt = self._fit_transformers(X, y, routed)
        name, final = self.steps[-1]
        return final.fit_predict(Xt, y, **routed[name])

    # ---------------------------------------------------------------- prediction

    def _transform_all_but_final(self, X: Any) -> Any:
        # The hot path of a served model: no re-validation here, each step validates its
        # own input once.
        for _, transformer in self.steps[:-1]:
            if transformer is None or isinstance(transformer, str):
                continue
            X = transformer.transform(X)
        return X

    @_final_has("predict")
    def predict(self, X: Any, **params: Any) -> Any:
        """Transform X through the transformers, then the final step's predict.

        Parameters
        ----------
        X : array-like or table
            Input, given to the first step.
        **params : dict
            Keyword arguments for the final step's predict.

        Returns
        -------
        ndarray of shape (n_samples,)
            The final step's predictions.
        """
        return self.steps[-1][1].predict(self._transform_all_but_final(X), **params)

    @_final_has("predict_proba")
    def predict_proba(self, X: Any, **params: Any) -> Any:
        """Transform X, then the final step's predict_proba.

        Parameters
        ----------
        X : array-like or table
            Input, given to the first step.
        **params : dict
            Keyword arguments for the final step's predict_proba.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`.
        """
        return self.steps[-1][1].predict_proba(self._transform_all_but_final(X), **params)

    @_final_has("predict_with_proba", "predict_proba")
    def predict_with_proba(self, X: Any) -> Any:
        """Transform X once, then the final step's labels and probabilities together."""
        return self.steps[-1][1].predict_with_proba(self._transform_all_but_final(X))

    @_final_has("predict_log_proba")
    def predict_log_proba(self, X: Any, **params: Any) -> Any:
        """Transform X, then the final step's predict_log_proba.

        Parameters
        ----------
        X : array-like or table
            Input, given to the first step.
        **params : dict
            Keyword arguments for the final step's predict_log_proba.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`.
        """
        return self.steps[-1][1].predict_log_proba(self._transform_all_but_final(X), **params)

    @_final_has("decision_function")
    def decision_function(self, X: Any) -> Any:
        """Transform X, then the final step's decision_function.

        Parameters
        ----------
        X : array-like or table
            Input, given to the first step.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            The final step's scores.
        """
        return self.steps[-1][1].decision_function(self._transform_all_but_final(X))

    @_final_has("score")
    def score(self, X: Any, y: Any = None, **params: Any) -> float:
        """Transform X, then the final step's score against y."""
        return self.steps[-1][1].score(self._transform_all_but_final(X), y, **params)

    @_final_has("transform", passthrough_ok=True)
    def transform(self, X: Any) -> Any:
        """Apply every step's transform, the final one included.

        Parameters
        ----------
        X : array-like or table
            Input, given to the first step.

        Returns
        -------
        ndarray of shape (n_samples, n_output_features)
        """
        X = self._transform_all_but_final(X)
        final = self.steps[-1][1]
        return X if _is_passthrough(final) else final.transform(X)

    def _all_invertible(self) -> bool:
        return all(_is_passthrough(e) or hasattr(e, "inverse_transform") for _, e in self.steps)

    def inverse_transform(self, X: Any) -> Any:
        """Apply every step's inverse_transform, last step first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_output_features)
            Output of `transform`.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        if not self._all_invertible():
            raise AttributeError("Not every step of this Pipeline has inverse_transform.")
        for _, estimator in reversed(self.steps):
            if not _is_passthrough(estimator):
                X = estimator.inverse_transform(X)
        return X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output feature names, passed through each step's get_feature_names_out."""
        names = input_features
        for name, estimator in self.steps:
            if _is_passthrough(estimator):
                continue
            if not hasattr(estimator, "get_feature_names_out"):
                raise AttributeError(
                    f"Step {name!r} ({type(estimator).__name__}) has no get_feature_names_out."
                )
            names = estimator.get_feature_names_out(names)
        if names is None:
            raise NotFittedError("This Pipeline has only passthrough steps: no feature names.")
        return np.asarray(names, dtype=object)


def make_pipeline(*steps: Any) -> Pipeline:
    """Build a Pipeline, naming each step after its lowercased class name.

    Repeated names get "-1", "-2", ... suffixes, as in scikit-learn.
    """
    names = [s if isinstance(s, str) else type(s).__name__.lower() for s in steps]
    counts = {name: names.count(name) for name in names}
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            unique.append(f"{name}-{seen[name]}")
        else:
            unique.append(name)
    return Pipeline(list(zip(unique, steps, strict=True)))
