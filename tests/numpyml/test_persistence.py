"""numpyml.save / numpyml.load: every estimator round-trips; nothing else ever loads.

A saved model is an .npz (arrays read with allow_pickle=False) holding a JSON header and
a sha256 checksum. These tests feed `load` truncated, mutated, foreign and crafted files
and check that each one is refused with ModelFormatError (TypeError only for an argument
that is not bytes), that nothing slips through with different contents, and that no code
named by a file runs: no import of a module, no pickle, no shell.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import numpyml
from numpyml import ModelFormatError
from numpyml.base import BaseEstimator
from numpyml.exceptions import ConvergenceWarning
from numpyml.persistence import _digest
from tests.conftest import examples
from tests.numpyml.test_common import ALL, assert_same_outputs, data_for, fitted, outputs

# Exceptions that `load` lets escape from a damaged archive instead of ModelFormatError:
# a bug (see test_load_turns_every_archive_error_into_model_format_error). The mutation
# tests tolerate exactly these, so that they still catch anything else.
LEAKED_BY_LOAD: tuple[type[BaseException], ...] = ()

FUZZ = settings(
    max_examples=examples(150),
    deadline=None,
    database=None,  # no .hypothesis directory in the repository
    derandomize=True,  # the same examples on every run: a failure reproduces
    suppress_health_check=[HealthCheck.too_slow],
)


# ------------------------------------------------------------------------------ helpers


def _small_model() -> BaseEstimator:
    X = np.random.default_rng(0).normal(size=(30, 2))
    return numpyml.LinearRegression().fit(X, X @ np.array([1.0, 2.0]) + 0.5)


def _registry_pipeline() -> tuple[BaseEstimator, dict[str, np.ndarray]]:
    """The registry's pipeline shape: nested estimators, object arrays of categories."""
    rng = np.random.default_rng(0)
    age = rng.normal(40, 10, 40)
    age[3] = np.nan
    plan = np.array(["basic", "pro", "team", None] * 10, dtype=object)
    table = {"age": age, "plan": plan}
    y = np.array(["stay", "churn"] * 20, dtype=object)
    num = numpyml.Pipeline(
        [("impute", numpyml.SimpleImputer()), ("scale", numpyml.StandardScaler())]
    )
    cat = numpyml.Pipeline(
        [
            ("impute", numpyml.SimpleImputer(strategy="most_frequent")),
            ("onehot", numpyml.OneHotEncoder()),
        ]
    )
    prep = numpyml.ColumnTransformer([("num", num, ["age"]), ("cat", cat, ["plan"])])
    pipe = numpyml.Pipeline([("prep", prep), ("model", numpyml.LogisticRegression())])
    return pipe.fit(table, y), table


SMALL = _small_model()
SMALL_X = np.random.default_rng(1).normal(size=(5, 2))
SMALL_BYTES = numpyml.save(SMALL)
PIPELINE, TABLE = _registry_pipeline()
PIPELINE_BYTES = numpyml.save(PIPELINE)


def members(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def pack(arrays: dict[str, np.ndarray], *, checksum: bool = True) -> bytes:
    """An .npz of these members; with checksum=True the checksum is recomputed first."""
    arrays = dict(arrays)
    if checksum:
        header = arrays["header"].tobytes()
        n = json.loads(header)["n_arrays"]
        # Over the arrays the header names and the file has (a header may lie about them).
        digest = _digest(header, [arrays[f"a{i}"] for i in range(n) if f"a{i}" in arrays])
        arrays["checksum"] = np.frombuffer(digest.encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def header_of(data: bytes) -> dict[str, Any]:
    return json.loads(members(data)["header"].tobytes())


def with_header(data: bytes, edit: Callable[[dict[str, Any]], Any]) -> bytes:
    """`data` with its JSON header edited in place by `edit`, checksum recomputed."""
    arrays = members(data)
    meta = json.loads(arrays["header"].tobytes())
    edit(meta)
    arrays["header"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return pack(arrays)


def contents(obj: BaseEstimator) -> tuple[Any, dict[str, bytes]]:
    """What save writes for obj (header without versions, array bytes): its whole state."""
    arrays = members(numpyml.save(obj))
    meta = json.loads(arrays.pop("header").tobytes())
    arrays.pop("checksum")
    return meta["root"], {k: v.dtype.str.encode() + v.tobytes() for k, v in arrays.items()}


SMALL_CONTENTS = contents(SMALL)
PIPELINE_CONTENTS = contents(PIPELINE)

_calls: list[Any] = []


def _record_call(*args: Any) -> None:
    """What a malicious pickle in these tests would run: it must never be called."""
    _calls.append(args)


class _Payload:
    def __reduce__(self) -> tuple[Any, ...]:
        return (_record_call, ("pickle ran",))


class _Forbidden(Exception):
    pass


def _forbid(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise _Forbidden(f"{name} called during load")

    return refuse


@contextlib.contextmanager
def nothing_runs() -> Iterator[list[str]]:
    """Fail if load imports a module not already imported, unpickles, or starts a process.

    Yields the names load asked to import (numpy imports a few of its own, loaded ones).
    """
    imported: list[str] = []
    real_import = builtins.__import__
    loaded = set(sys.modules)

    def guarded_import(name: str, *args: Any, **kwargs: Any) -> Any:
        imported.append(name)
        level = args[3] if len(args) > 3 else kwargs.get("level", 0)
        if level == 0 and name not in loaded:
            raise _Forbidden(f"load imported {name!r}")
        return real_import(name, *args, **kwargs)

    patches = [
        mock.patch.object(builtins, "__import__", guarded_import),
        mock.patch.object(os, "system", _forbid("os.system")),
        mock.patch.object(os, "popen", _forbid("os.popen")),
        mock.patch.object(subprocess, "Popen", _forbid("subprocess.Popen")),
        mock.patch.object(pickle, "loads", _forbid("pickle.loads")),
        mock.patch.object(pickle, "load", _forbid("pickle.load")),
        mock.patch.object(pickle, "Unpickler", _forbid("pickle.Unpickler")),
    ]
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        yield imported
    assert not set(sys.modules) - loaded, "load imported a module"
    assert not _calls, _calls


def load_guarded(data: Any) -> BaseEstimator:
    with nothing_runs():
        return numpyml.load(data)


def refused(data: bytes, match: str | None = None) -> ModelFormatError:
    with pytest.raises(ModelFormatError, match=match) as error:
        load_guarded(data)
    return error.value


def refused_or_identical(
    data: bytes, expected: tuple[Any, dict[str, bytes]], tolerate: tuple[type, ...] = ()
) -> str:
    """Load damaged bytes: refused, or (harmless damage, e.g. a zip timestamp) identical."""
    try:
        obj = load_guarded(data)
    except ModelFormatError:
        return "refused"
    except tolerate as exc:
        return type(exc).__name__
    assert contents(obj) == expected, "a damaged file loaded with different contents"
    return "identical"


def test_the_guard_catches_a_pickle_an_import_and_a_shell():
    with pytest.raises(_Forbidden, match="pickle"), nothing_runs():
        pickle.loads(pickle.dumps(1))  # noqa: S301  (the guard must stop it)
    with pytest.raises(_Forbidden, match="imported"), nothing_runs():
        __import__("numpyml_no_such_module_xyz")
    with pytest.raises(_Forbidden, match="system"), nothing_runs():
        os.system("true")  # noqa: S605


# ------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("name", ALL)
def test_every_fitted_estimator_round_trips_with_its_whole_state(name):
    estimator = fitted(name)
    loaded = load_guarded(numpyml.save(estimator))
    assert type(loaded) is type(estimator)
    assert contents(loaded) == contents(estimator)
    X = data_for(name).X
    assert_same_outputs(outputs(loaded, X), outputs(estimator, X))
    assert set(vars(loaded)) == set(vars(estimator))


def test_a_saved_pipeline_predicts_the_same_on_a_table():
    loaded = load_guarded(PIPELINE_BYTES)
    assert_array_equal(loaded.predict(TABLE), PIPELINE.predict(TABLE))
    assert_array_equal(loaded.predict_proba(TABLE), PIPELINE.predict_proba(TABLE), strict=True)
    assert contents(loaded) == PIPELINE_CONTENTS


def test_a_loaded_model_saves_to_the_same_contents_again():
    once = load_guarded(SMALL_BYTES)
    twice = load_guarded(numpyml.save(once))
    assert contents(twice) == SMALL_CONTENTS
    assert_array_equal(twice.predict(SMALL_X), SMALL.predict(SMALL_X), strict=True)


def test_the_file_is_an_npz_with_a_json_header_and_a_checksum():
    with zipfile.ZipFile(io.BytesIO(SMALL_BYTES)) as archive:
        names = set(archive.namelist())
    assert {"header.npy", "checksum.npy"} <= names
    meta = header_of(SMALL_BYTES)
    assert meta["format"] == "numpyml"
    assert meta["root"]["estimator"] == "LinearRegression"
    assert meta["n_arrays"] == len(names) - 2


# ------------------------------------------------------------------------------ damage


@pytest.mark.parametrize(
    ("data", "expected"),
    [(SMALL_BYTES, SMALL_CONTENTS), (PIPELINE_BYTES, PIPELINE_CONTENTS)],
    ids=["small", "pipeline"],
)
def test_load_refuses_every_truncation(data, expected):
    for length in range(len(data)):
        assert refused_or_identical(data[:length], expected) == "refused", length


@pytest.mark.parametrize("flip", [0xFF, 0x01, 0x80])
def test_load_refuses_or_ignores_every_single_byte_change(flip):
    outcomes: dict[str, int] = {}
    for position in range(len(SMALL_BYTES)):
        damaged = bytearray(SMALL_BYTES)
        damaged[position] ^= flip
        outcome = refused_or_identical(bytes(damaged), SMALL_CONTENTS, LEAKED_BY_LOAD)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("refused", 0) > len(SMALL_BYTES) // 2, outcomes


def test_load_refuses_every_change_to_the_stored_bytes():
    # Inside the .npy members (not zip bookkeeping), any change must be caught.
    arrays = members(SMALL_BYTES)
    for name, array in arrays.items():
        raw = bytearray(array.tobytes())
        for position in range(0, len(raw), max(1, len(raw) // 50)):
            changed = bytearray(raw)
            changed[position] ^= 0x01
            edited = dict(arrays)
            edited[name] = np.frombuffer(bytes(changed), dtype=array.dtype).reshape(array.shape)
            refused(pack(edited, checksum=False))


def test_load_turns_every_archive_error_into_model_format_error():
    for position in range(len(SMALL_BYTES)):
        for flip in (0xFF, 0x01, 0x80):
            damaged = bytearray(SMALL_BYTES)
            damaged[position] ^= flip
            refused_or_identical(bytes(damaged), SMALL_CONTENTS)


# ------------------------------------------------------------------------------ foreign files


def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    return buffer.getvalue()


def _npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # object arrays are pickled: np.savez allows it on write
    return buffer.getvalue()


def _object_array() -> np.ndarray:
    array = np.empty(2, dtype=object)
    array[:] = [_Payload(), "x"]
    return array


FOREIGN = {
    "empty": b"",
    "random bytes": np.random.default_rng(0).bytes(2000),
    "text": b'{"format": "numpyml", "format_version": 1}',
    "zip magic only": b"PK\x03\x04",
    "plain zip": _plain_zip(),
    "npz of numbers": _npz(weights=np.arange(3.0)),
    "npz with an object array": _npz(a0=_object_array()),
    "npz with an object header": _npz(header=_object_array(), checksum=np.zeros(64, np.uint8)),
    "npz with an object checksum": _npz(
        header=np.frombuffer(b'{"n_arrays": 0}', np.uint8), checksum=_object_array()
    ),
    "pickle of a model": pickle.dumps(SMALL),
    "pickle of a payload": pickle.dumps(_Payload()),
    "npy file": (lambda b: (np.save(b, np.arange(3.0)), b.getvalue())[1])(io.BytesIO()),
}


@pytest.mark.parametrize("name", FOREIGN)
def test_load_refuses_a_foreign_file(name):
    refused(FOREIGN[name])


def test_a_pickle_inside_a_foreign_npz_never_runs():
    for name in ("npz with an object array", "npz with an object header"):
        refused(FOREIGN[name])
    assert not _calls


@pytest.mark.parametrize("value", ["a path.npz", None, 42, io.BytesIO(SMALL_BYTES), [1, 2]])
def test_load_wants_bytes(value):
    with pytest.raises(TypeError, match="bytes"):
        numpyml.load(value)


def test_load_takes_bytearray_and_memoryview():
    for data in (bytearray(SMALL_BYTES), memoryview(SMALL_BYTES)):
        assert contents(load_guarded(data)) == SMALL_CONTENTS


# ------------------------------------------------------------------------------ crafted files
# Valid archives with a recomputed checksum: the checksum proves integrity, not origin, so
# the class table and the decoder are the defence.


def _rename_root(new: str) -> Callable[[dict[str, Any]], None]:
    def edit(meta: dict[str, Any]) -> None:
        meta["root"]["estimator"] = new

    return edit


@pytest.mark.parametrize(
    "name",
    [
        "os.system",
        "builtins.eval",
        "subprocess.Popen",
        "numpy.load",
        "numpyml.persistence.load",
        "Unknown",
        "BaseEstimator",
        "BaseDecisionTree",
        "ClassifierMixin",
        "linearregression",
        "",
    ],
)
def test_load_refuses_a_header_naming_a_class_it_does_not_know(name):
    refused(with_header(SMALL_BYTES, _rename_root(name)))


def test_load_refuses_an_unknown_class_nested_in_a_pipeline():
    def edit(meta: dict[str, Any]) -> None:
        steps = meta["root"]["params"]["steps"]["list"]
        steps[-1]["tuple"][1]["estimator"] = "os.system"

    refused(with_header(PIPELINE_BYTES, edit), match="unknown class")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m.update(format="pickle"), "format"),
        (lambda m: m.update(format_version=2), "version"),
        (lambda m: m.update(n_arrays=10**6), "header"),
        (lambda m: m.update(n_arrays=-1), "header"),
        (lambda m: m.update(root=None), "root"),
        (lambda m: m.update(root={"list": []}), "root"),
        (lambda m: m["root"]["params"].update(alpha={"int": "1e3"}), None),
        (lambda m: m["root"]["params"].update(surprise=1), "parameters"),
        (lambda m: m["root"]["params"].pop("alpha"), "parameters"),
        (lambda m: m["root"]["state"].update(__class__=1), "attribute"),
        (lambda m: m["root"]["state"].update({"__dict__": {"dict": {}}}), "attribute"),
        (lambda m: m["root"]["state"].update({"not an identifier": 1}), "attribute"),
        (lambda m: m["root"]["state"].update(coef_={"array": 99}), None),
        (lambda m: m["root"]["state"].update(coef_={"pickle": "gASV"}), "unknown"),
        (lambda m: m["root"].pop("state"), "state"),
        (lambda m: m["root"]["state"].update(x_={"objarray": [1, 2], "shape": [3]}), None),
        (lambda m: m["root"]["state"].update(x_={"objarray": [1], "shape": [-1]}), None),
        (lambda m: m["root"]["state"].update(x_={"scalar": {"array": 0}}), "scalar"),
    ],
)
def test_load_refuses_a_malformed_header(edit, match):
    refused(with_header(SMALL_BYTES, edit), match=match)


def test_load_refuses_a_header_nested_too_deeply():
    def edit(meta: dict[str, Any]) -> None:
        node: Any = 1
        for _ in range(200):
            node = {"list": [node]}
        meta["root"]["state"]["deep_"] = node

    refused(with_header(SMALL_BYTES, edit), match="deep")


def test_load_refuses_a_json_bomb():
    arrays = members(SMALL_BYTES)
    header = b'{"n_arrays": 0, "root": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    arrays["header"] = np.frombuffer(header, dtype=np.uint8)
    refused(pack(arrays, checksum=False))


def test_load_refuses_a_tampered_array_with_a_valid_zip_but_stale_checksum():
    arrays = members(SMALL_BYTES)
    index = next(i for i in range(len(arrays) - 2) if arrays[f"a{i}"].dtype == np.float64)
    arrays[f"a{index}"] = arrays[f"a{index}"] + 1.0
    data = pack(arrays, checksum=False)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # the zip itself is sound: CRCs match
    refused(data, match="checksum")


def test_load_refuses_a_tampered_header_with_a_stale_checksum():
    arrays = members(SMALL_BYTES)
    meta = json.loads(arrays["header"].tobytes())
    meta["root"]["params"]["fit_intercept"] = False
    arrays["header"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    refused(pack(arrays, checksum=False), match="checksum")


def test_load_refuses_arrays_of_unsafe_dtypes():
    arrays = members(SMALL_BYTES)
    arrays["a0"] = np.zeros(2, dtype="m8[s]")  # timedelta: not a kind numpyml saves
    refused(pack(arrays))


def test_load_refuses_a_renamed_or_missing_member():
    arrays = members(SMALL_BYTES)
    for drop in ("header", "checksum", "a0"):
        kept = {k: v for k, v in arrays.items() if k != drop}
        refused(pack(kept, checksum=False))


def test_load_refuses_a_file_that_would_decompress_beyond_max_bytes():
    with pytest.raises(ModelFormatError, match="decompress"):
        numpyml.load(SMALL_BYTES, max_bytes=100)
    arrays = members(SMALL_BYTES)
    arrays["bomb"] = np.zeros(20_000_000, dtype=np.uint8)  # 20 MB, ~20 KB compressed
    bomb = pack(arrays)
    assert len(bomb) < 200_000
    with pytest.raises(ModelFormatError, match="decompress"):
        numpyml.load(bomb, max_bytes=10_000_000)


def test_the_checksum_covers_header_and_arrays():
    arrays = members(SMALL_BYTES)
    header = arrays["header"].tobytes()
    digest = hashlib.sha256(header)
    n = json.loads(header)["n_arrays"]
    for i in range(n):
        array = arrays[f"a{i}"]
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    assert arrays["checksum"].tobytes().decode() == digest.hexdigest()


# ------------------------------------------------------------------------------ fuzzing


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_random_bytes_are_refused(data):
    refused(data)


@FUZZ
@given(st.binary(min_size=1, max_size=200))
def test_fuzz_bytes_after_a_zip_signature_are_refused(tail):
    refused(b"PK\x03\x04" + tail)


def _mutations(size: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    return st.lists(
        st.tuples(st.integers(0, size - 1), st.integers(0, 255)), min_size=1, max_size=8
    )


def _mutate(data: bytes, changes: list[tuple[int, int]], cut: int | None) -> bytes:
    damaged = bytearray(data)
    for position, value in changes:
        damaged[position] = value
    return bytes(damaged if cut is None else damaged[:cut])


@FUZZ
@given(
    _mutations(len(SMALL_BYTES)),
    st.one_of(st.none(), st.integers(0, len(SMALL_BYTES))),
)
def test_fuzz_mutations_of_a_small_model_are_refused_or_harmless(changes, cut):
    damaged = _mutate(SMALL_BYTES, changes, cut)
    refused_or_identical(damaged, SMALL_CONTENTS, LEAKED_BY_LOAD)


@FUZZ
@given(
    _mutations(len(PIPELINE_BYTES)),
    st.one_of(st.none(), st.integers(0, len(PIPELINE_BYTES))),
)
def test_fuzz_mutations_of_a_pipeline_are_refused_or_harmless(changes, cut):
    damaged = _mutate(PIPELINE_BYTES, changes, cut)
    refused_or_identical(damaged, PIPELINE_CONTENTS, LEAKED_BY_LOAD)


TAGS = ["list", "tuple", "dict", "array", "scalar", "objarray", "shape", "int", "float"]
TAGS += ["estimator", "params", "state", "LinearRegression", "Pipeline", "coef_", "x"]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(TAGS) | st.text(max_size=6),
            children,
            max_size=3,
        )
    ),
    max_leaves=20,
)


@FUZZ
@given(_JSON)
def test_fuzz_decoding_any_json_tree_only_refuses_or_builds_an_estimator(tree):
    # A valid checksum, so only the decoder stands between the tree and an object.
    def edit(meta: dict[str, Any]) -> None:
        meta["root"]["state"]["fuzz_"] = tree

    data = with_header(SMALL_BYTES, edit)
    try:
        obj = load_guarded(data)
    except ModelFormatError:
        return
    assert isinstance(obj, numpyml.LinearRegression)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert_array_equal(obj.predict(SMALL_X), SMALL.predict(SMALL_X), strict=True)


@FUZZ
@given(_JSON)
def test_fuzz_any_json_root_only_refuses_or_builds_an_estimator(tree):
    data = with_header(SMALL_BYTES, lambda meta: meta.update(root=tree))
    try:
        obj = load_guarded(data)
    except ModelFormatError:
        return
    assert isinstance(obj, BaseEstimator)


@pytest.mark.parametrize("estimator", [numpyml.SVC, numpyml.Perceptron])
def test_a_file_saved_before_a_parameter_was_added_loads_with_its_default(estimator):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.9], [1.0, 0.1]])
    model = estimator().fit(X, np.array([0, 1, 0, 1]))

    def older(meta: dict[str, Any]) -> None:
        meta["root"]["params"].pop("probability")

    loaded = numpyml.load(with_header(numpyml.save(model), older))
    assert loaded.probability is False
    assert_array_equal(loaded.predict(X), model.predict(X))
