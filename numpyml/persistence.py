"""Save and load numpyml objects without pickle.

A saved object is an `.npz` (a zip of `.npy` arrays, read with `allow_pickle=False`):
- `header`: UTF-8 JSON (format name and version, numpyml version, the object tree);
- `a0`, `a1`, ...: every array the tree refers to;
- `checksum`: sha256 over the header and every array, so any edit that does not also
  recompute it is refused as tampered.
The tree names classes only by their numpyml class name, looked up in a table of known
estimator classes: loading never imports a module or runs code named by the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from typing import Any

import numpy as np

from numpyml._version import __version__
from numpyml.base import BaseEstimator
from numpyml.exceptions import ModelFormatError, ModelSizeError

FORMAT = "numpyml"
FORMAT_VERSION = 1
MAX_DEPTH = 64
DEFAULT_MAX_BYTES = 2 * 1024**3  # refuse files that would decompress beyond this
_SAFE_KINDS = "biufcUS"  # bool, ints, floats, complex, fixed-width strings: no objects


def known_classes() -> dict[str, type[BaseEstimator]]:
    """Every estimator class defined inside numpyml, by name."""
    found: dict[str, type[BaseEstimator]] = {}
    stack = [BaseEstimator]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            # Only concrete estimators: not private or abstract bases such as BaseDecisionTree.
            if sub.__module__.startswith("numpyml.") and not sub.__name__.startswith(("_", "Base")):
                found[sub.__name__] = sub
    return found


class _Encoder:
    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []

    def array(self, value: np.ndarray) -> dict[str, Any]:
        if value.dtype.kind == "O":
            return {
                "objarray": [self.encode(v, 0) for v in value.reshape(-1).tolist()],
                "shape": list(value.shape),
            }
        if value.dtype.kind not in _SAFE_KINDS:
            raise TypeError(f"cannot save an array of dtype {value.dtype}")
        self.arrays.append(value if value.flags.c_contiguous else value.copy(order="C"))
        return {"array": len(self.arrays) - 1}

    def encode(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("object is nested too deeply to save")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return {"int": str(value)} if abs(value) >= 2**53 else value
        if isinstance(value, float):
            return value if np.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, np.generic):
            return {"scalar": self.array(np.asarray(value))}
        if isinstance(value, list):
            return {"list": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError("only dicts with string keys can be saved")
            return {"dict": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        if isinstance(value, BaseEstimator):
            cls = type(value)
            if known_classes().get(cls.__name__) is not cls:
                raise TypeError(f"{cls.__name__} is not a numpyml class and cannot be saved")
            params = set(cls._param_names())
            state = {k: v for k, v in vars(value).items() if k not in params and not callable(v)}
            return {
                "estimator": cls.__name__,
                "params": {k: self.encode(getattr(value, k), depth + 1) for k in sorted(params)},
                "state": {k: self.encode(v, depth + 1) for k, v in state.items()},
            }
        raise TypeError(f"cannot save a value of type {type(value).__name__}")


def _digest(header: bytes, arrays: list[np.ndarray]) -> str:
    digest = hashlib.sha256(header)
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save(obj: BaseEstimator) -> bytes:
    """Serialise a numpyml estimator (fitted or not, pipelines included) to bytes."""
    encoder = _Encoder()
    root = encoder.encode(obj, 0)
    header = json.dumps(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "numpyml": __version__,
            "n_arrays": len(encoder.arrays),
            "root": root,
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    members = {f"a{i}": a for i, a in enumerate(encoder.arrays)}
    members["header"] = np.frombuffer(header, dtype=np.uint8)
    members["checksum"] = np.frombuffer(_digest(header, encoder.arrays).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **members)
    return buffer.getvalue()


class _Decoder:
    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.arrays = arrays
        self.classes = known_classes()

    def _fail(self, message: str) -> ModelFormatError:
        return ModelFormatError(f"not a valid numpyml file: {message}")

    def decode(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self._fail("nested too deeply")
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list) or not isinstance(node, dict) or len(node) not in (1, 2, 3):
            raise self._fail(f"unexpected node {str(node)[:60]!r}")
        tag = next(iter(node))
        body = node[tag]
        if tag == "int" and isinstance(body, str) and body.lstrip("-").isdigit():
            return int(body)
        if tag == "float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "array" and isinstance(body, int) and 0 <= body < len(self.arrays):
            return self.arrays[body].copy()
        if tag == "scalar" and isinstance(body, dict):
            array = self.decode(body, depth + 1)
            if not isinstance(array, np.ndarray) or array.shape != ():
                raise self._fail("bad scalar")
            return array[()]
        if tag == "objarray" and isinstance(body, list) and isinstance(node.get("shape"), list):
            shape = node["shape"]
            if not all(isinstance(s, int) and s >= 0 for s in shape):
                raise self._fail("bad object array shape")
            out = np.empty(len(body), dtype=object)
            out[:] = [self.decode(v, depth + 1) for v in body]
            try:
                return out.reshape(shape)
            except ValueError:
                raise self._fail("object array shape does not match its items") from None
        if tag in ("list", "tuple") and isinstance(body, list):
            items = [self.decode(v, depth + 1) for v in body]
            return items if tag == "list" else tuple(items)
        if tag == "dict" and isinstance(body, dict):
            return {str(k): self.decode(v, depth + 1) for k, v in body.items()}
        if tag == "estimator":
            return self._estimator(node, depth)
        raise self._fail(f"unknown entry {tag!r}")

    def _estimator(self, node: dict[str, Any], depth: int) -> BaseEstimator:
        name = node.get("estimator")
        cls = self.classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise self._fail(f"unknown class {name!r}: only numpyml estimators can be loaded")
        params, state = node.get("params"), node.get("state")
        if not isinstance(params, dict) or not isinstance(state, dict):
            raise self._fail(f"{name} entry lacks params or state")
        expected = set(cls._param_names())
        # A parameter added to a class after files were saved without it takes its default
        # (the behaviour those files had); any other difference is refused.
        later = set(getattr(cls, "_params_added_later", ()))
        if not expected - later <= set(params) <= expected:
            raise self._fail(f"{name} parameters {sorted(params)} != {sorted(expected)}")
        obj = cls(**{k: self.decode(v, depth + 1) for k, v in params.items()})
        for key, value in state.items():
            if not (isinstance(key, str) and key.isidentifier()) or key.startswith("__"):
                raise self._fail(f"bad attribute name {key!r}")
            setattr(obj, key, self.decode(value, depth + 1))
        restore = getattr(obj, "_after_load", None)
        if restore is not None:
            restore()
        return obj


def load(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> BaseEstimator:
    """Rebuild an object saved by `save`. Refuses anything truncated, tampered or foreign."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load expects bytes, got {type(data).__name__}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
        infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise ModelFormatError(f"not a numpyml file (not a valid archive: {exc})") from None
    names = {info.filename for info in infos}
    if "header.npy" not in names or "checksum.npy" not in names:
        raise ModelFormatError("not a numpyml file (no header or checksum)")
    size = sum(info.file_size for info in infos)
    if size > max_bytes:
        raise ModelSizeError(f"file would decompress beyond {max_bytes} bytes; refused", size)
    try:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as npz:
            header = npz["header"]
            checksum = npz["checksum"]
            header_bytes = header.tobytes() if header.dtype == np.uint8 else b""
            meta = json.loads(header_bytes.decode())
            n_arrays = meta.get("n_arrays") if isinstance(meta, dict) else None
            if not isinstance(n_arrays, int) or n_arrays < 0 or n_arrays > len(names):
                raise ModelFormatError("not a numpyml file (bad header)")
            arrays = [npz[f"a{i}"] for i in range(n_arrays)]
    except ModelFormatError:
        raise
    except (
        KeyError,
        ValueError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        UnicodeDecodeError,
        RecursionError,
        TypeError,
        AttributeError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise ModelFormatError(f"not a valid numpyml file (damaged: {exc})") from None
    if meta.get("format") != FORMAT:
        raise ModelFormatError("not a numpyml file (wrong format name)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"numpyml file format version {meta.get('format_version')!r} is not supported "
            f"(this numpyml reads version {FORMAT_VERSION})"
        )
    if checksum.dtype != np.uint8 or checksum.tobytes().decode(errors="replace") != _digest(
        header_bytes, arrays
    ):
        raise ModelFormatError("numpyml file checksum mismatch: the file was altered or damaged")
    for array in arrays:
        if array.dtype.kind not in _SAFE_KINDS:
            raise ModelFormatError(f"not a valid numpyml file (array of dtype {array.dtype})")
    try:
        obj = _Decoder(arrays).decode(meta.get("root"), 0)
    except ModelFormatError:
        raise
    except (TypeError, ValueError, RecursionError) as exc:
        raise ModelFormatError(f"not a valid numpyml file ({exc})") from None
    if not isinstance(obj, BaseEstimator):
        raise ModelFormatError("not a valid numpyml file (root is not an estimator)")
    return obj
