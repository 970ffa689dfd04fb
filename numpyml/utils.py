"""Helpers shared by the meta-estimators: `clone` and nested-parameter handling.

`clone` builds an unfitted copy of an estimator from its constructor parameters, the
way scikit-learn's `sklearn.base.clone` does, so composites (ColumnTransformer,
model selection) can fit copies without touching the estimators they were given.
"""

from __future__ import annotations

import copy
from typing import Any

from numpyml.base import BaseEstimator


def clone(estimator: Any, *, safe: bool = True) -> Any:
    """Return an unfitted copy of `estimator` built from `get_params(deep=False)`.

    Parameters
    ----------
    estimator : estimator, or list / tuple of estimators
        What to copy. Lists and tuples are copied element by element (a Pipeline's
        steps are a list of ``(name, estimator)`` tuples).
    safe : bool, default=True
        When False, values that are not estimators (strings, numbers, arrays) are
        deep-copied instead of refused; parameters are cloned with ``safe=False``.

    Returns
    -------
    Any
        A new object of the same class with the same (recursively cloned) parameters
        and no fitted state.
    """
    if isinstance(estimator, (list, tuple)):
        return type(estimator)(clone(item, safe=safe) for item in estimator)
    if not hasattr(estimator, "get_params") or isinstance(estimator, type):
        if not safe:
            return copy.deepcopy(estimator)
        raise TypeError(
            f"Cannot clone {estimator!r} (type {type(estimator).__name__}): "
            "it is not an estimator (it has no get_params method)."
        )
    params = estimator.get_params(deep=False)
    return type(estimator)(**{name: clone(value, safe=False) for name, value in params.items()})


class _Composition:
    """get_params / set_params for estimators holding a list of named sub-estimators.

    Subclasses name the attribute holding the list (``steps`` or ``transformers``);
    each item is a tuple whose first two entries are (name, estimator).
    """

    _items_attr: str = ""

    def _items(self) -> list[tuple[Any, ...]]:
        return list(getattr(self, self._items_attr))

    def _nested_get_params(self, deep: bool) -> dict[str, Any]:
        params = BaseEstimator.get_params(self, deep=deep)  # type: ignore[arg-type]
        if not deep:
            return params
        for item in self._items():
            name, estimator = item[0], item[1]
            params[name] = estimator
            if hasattr(estimator, "get_params") and not isinstance(estimator, type):
                for key, value in estimator.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def _nested_set_params(self, **params: Any) -> Any:
        own = set(self._param_names())  # type: ignore[attr-defined]
        # The list itself first, so "steps=..." followed by "step__x=..." works.
        if self._items_attr in params:
            setattr(self, self._items_attr, params.pop(self._items_attr))
        names = [item[0] for item in self._items()]
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if not sub and name in names:
                self._replace_item(name, value)
            elif not sub and name in own:
                setattr(self, name, value)
            elif sub and (name in names or name in own):
                nested.setdefault(name, {})[sub] = value
            else:
                valid = sorted(own | set(names))
                raise ValueError(
                    f"Invalid parameter {key!r} for {type(self).__name__}. "
                    f"Valid parameters are: {', '.join(valid)} (and 'name__param' for a "
                    "named sub-estimator)."
                )
        items = {item[0]: item[1] for item in self._items()}
        for name, sub_params in nested.items():
            # A named sub-estimator, or an estimator-valued parameter such as remainder.
            estimator = items[name] if name in items else getattr(self, name)
            if not hasattr(estimator, "set_params"):
                raise ValueError(
                    f"Cannot set {sorted(sub_params)} on {name!r}: it is {estimator!r}, "
                    "not an estimator."
                )
            estimator.set_params(**sub_params)
        return self

    def _replace_item(self, name: str, value: Any) -> None:
        # A new list, so a list the caller passed in is not modified behind their back.
        items = [
            (item[0], value, *item[2:]) if item[0] == name else tuple(item)
            for item in self._items()
        ]
        setattr(self, self._items_attr, items)

    def _validate_names(self, names: list[Any]) -> None:
        own = set(self._param_names())  # type: ignore[attr-defined]
        seen: set[str] = set()
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"Names in {self._items_attr} must be strings, got {name!r}.")
            if "__" in name:
                raise ValueError(f"Name {name!r} must not contain '__'.")
            if name in own:
                raise ValueError(
                    f"Name {name!r} conflicts with a parameter of {type(self).__name__}."
                )
            if name in seen:
                raise ValueError(f"Names in {self._items_attr} must be unique: {name!r} repeats.")
            seen.add(name)
