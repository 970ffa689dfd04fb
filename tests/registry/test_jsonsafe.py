"""Values made plain JSON (registry/jsonsafe.py), written once for training, export and the
prediction log."""

import math

import numpy as np
import orjson
import pytest

from registry import jsonsafe


def test_it_turns_nan_and_infinities_into_null_recursively():
    value = {"a": math.nan, "b": [1.0, np.float64(math.inf), (2, np.int64(3))], 4: -math.inf}
    assert jsonsafe.finite(value) == {"a": None, "b": [1.0, None, [2, 3]], "4": None}
    assert type(jsonsafe.finite(np.float32(0.5))) is float


def test_it_stores_whole_float_labels_as_integers():
    assert [jsonsafe.label(v) for v in np.array([1.0, 2.5])] == [1, 2.5]
    assert jsonsafe.label(np.str_("yes")) == "yes"
    assert type(jsonsafe.label(np.int64(3))) is int


def test_it_serialises_the_numpy_values_orjson_leaves_out():
    value = {"rows": np.array([["a", 1]], dtype=object)[:, 0], "n": np.int64(2)}
    assert orjson.loads(orjson.dumps(value, default=jsonsafe.orjson_default)) == {
        "rows": ["a"],
        "n": 2,
    }
    with pytest.raises(TypeError, match="set is not JSON serialisable"):
        jsonsafe.orjson_default({1})
