"""Values made plain JSON, written once: the training's metrics and the export card
(no NaN or infinity, no numpy scalars), class labels as every card and version stores them,
and the prediction log's fallback for numpy values orjson does not serialise itself."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def finite(value: Any) -> Any:
    """JSON has no NaN or infinity (SQLite's JSON keeps them): they become None, recursively;
    numpy scalars become Python ones, tuples lists, and keys strings."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def label(value: Any) -> Any:
    """A class label as stored: a Python value, and a whole float (1.0) as an integer."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def orjson_default(value: Any) -> Any:
    """orjson's `default`: the numpy values it does not serialise itself."""
    if isinstance(value, np.ndarray):  # not C-contiguous, or of objects
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
