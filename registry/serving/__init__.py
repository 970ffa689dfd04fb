"""The one serving path: resolve a model name to a ready version, load it once, predict.

Resolution (name + version or alias -> version) is cached per process for RESOLVE_TTL_S,
so a moved alias is served everywhere within about a second without a database round trip
per request. Loaded pipelines are cached by version id (a ready version never changes) in
an LRU bounded by bytes (MLSERVE_MODEL_CACHE_MB). Pages, the JSON API and the admin all
predict through `predict_rows` / `predict_table`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
from django.conf import settings

import numpyml
from registry import csvio
from registry.algorithms import ALGORITHMS, CLASSIFIER, DECOMPOSITION
from registry.errors import (
    Conflict,
    InvalidInput,
    ModelTooLarge,
    NotFound,
    TooLarge,
)
from registry.models import Alias, ModelVersion, RegisteredModel
from registry.monitoring import metrics

RESOLVE_TTL_S = 1.0
DEFAULT_ALIAS = "production"


@dataclass(frozen=True)
class ServedVersion:
    """What serving needs to know about a ready version (no bytes)."""

    id: int
    model: str
    owner_id: int
    version: int
    algorithm: str
    kind: str
    features: tuple[dict[str, Any], ...]
    classes: tuple[Any, ...] | None
    artifact_sha256: str
    feature_names: tuple[str, ...]
    all_numeric: bool


class PredictionError(InvalidInput):
    """Rows that do not fit the model's input schema; `problems` lists row/column/detail."""

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.problems = problems


# Resolution ----------------------------------------------------------------------------

_resolved: dict[tuple[str, int | None, str | None], tuple[float, ServedVersion]] = {}
_resolved_lock = threading.Lock()


def _served(version: ModelVersion, model: RegisteredModel) -> ServedVersion:
    return ServedVersion(
        id=version.pk,
        model=model.name,
        owner_id=model.owner_id,
        version=version.version,
        algorithm=version.algorithm,
        kind=ALGORITHMS[version.algorithm].kind if version.algorithm in ALGORITHMS else "unknown",
        features=tuple(version.features),
        classes=tuple(version.classes) if version.classes is not None else None,
        artifact_sha256=version.artifact_sha256,
        feature_names=tuple(f["name"] for f in version.features),
        all_numeric=all(f["type"] == "number" for f in version.features),
    )


def _lookup(name: str, version: int | None, alias: str | None) -> ServedVersion:
    model = RegisteredModel.objects.filter(name=name).first()
    if model is None:
        raise NotFound(f"There is no model named {name!r}.")
    fields = ("pk", "version", "algorithm", "features", "classes", "artifact_sha256", "status")
    if version is not None:
        found = model.versions.filter(version=version).only(*fields).first()
        if found is None:
            raise NotFound(f"{name} has no version {version}.")
    elif alias is not None:
        link = Alias.objects.filter(model=model, name=alias).select_related("version").first()
        if link is None:
            raise NotFound(f"{name} has no alias {alias!r}.")
        found = link.version
    else:
        link = (
            Alias.objects.filter(model=model, name=DEFAULT_ALIAS).select_related("version").first()
        )
        found = (
            link.version
            if link
            else (model.versions.filter(status=ModelVersion.Status.READY).only(*fields).first())
        )
        if found is None:
            raise Conflict(f"{name} has no ready version yet: wait for its training to finish.")
    if found.status != ModelVersion.Status.READY:
        raise Conflict(f"{name} version {found.version} is {found.status}, not ready.")
    return _served(found, model)


def resolve(name: str, *, version: int | None = None, alias: str | None = None) -> ServedVersion:
    """The ready version that `name` (optionally at a version or alias) serves right now."""
    key = (name, version, alias)
    now = time.monotonic()
    hit = _resolved.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    served = _lookup(name, version, alias)
    with _resolved_lock:
        if len(_resolved) > 10_000:
            _resolved.clear()
        _resolved[key] = (now + RESOLVE_TTL_S, served)
    return served


def forget_resolutions() -> None:
    """Drop this process's resolution cache (tests, and after local alias changes)."""
    with _resolved_lock:
        _resolved.clear()


# Loaded pipelines ----------------------------------------------------------------------


def model_budget_bytes() -> int:
    """The memory one loaded model may take (the whole of a server's model cache)."""
    return settings.MLSERVE_MODEL_CACHE_MB * 1024 * 1024


def too_large_message(what: str, size: int, verb: str = "takes") -> str:
    return (
        f"{what} {verb} {size / 2**20:,.1f} MB in memory, more than the "
        f"{settings.MLSERVE_MODEL_CACHE_MB} MB a server keeps for loaded models "
        "(MLSERVE_MODEL_CACHE_MB)"
    )


def loaded_bytes(pipeline: Any) -> int:
    """Memory a loaded pipeline holds, as the model cache counts it."""
    return _nbytes(pipeline)


def _nbytes(obj: Any, depth: int = 0) -> int:
    """Memory held by an object's numpy arrays, walking nested estimators and containers."""
    if depth > 32:
        return 0
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(_nbytes(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v, depth + 1) for v in obj)
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("numpyml"):
        return 512 + _nbytes(vars(obj), depth + 1)
    return 0


class ArtifactError(Exception):
    """A stored artifact failed its integrity check."""


class PipelineCache:
    """LRU of loaded pipelines keyed by version id, bounded by their bytes in memory."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[int, str], tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = self.misses = self.evictions = self.refused = 0

    def get(self, served: ServedVersion) -> Any:
        with self._lock:
            # Keyed by id and artifact digest: a reused id (a test database reset) can never
            # serve another model's pipeline.
            key = (served.id, served.artifact_sha256)
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
                self.hits += 1
                metrics.CACHE_HITS.inc()
                return item[0]
            self.misses += 1
            metrics.CACHE_MISSES.inc()
        # A model bigger than the whole cache is refused, not kept: the LRU would hold it
        # whatever its size (a 15,000-value one-hot k-NN added 1.1 GB to every worker).
        what = f"Version {served.version} of {served.model}"
        try:
            pipeline = load_pipeline(served.id, served.artifact_sha256, self.max_bytes)
        except numpyml.ModelSizeError as exc:
            raise self._too_large(what, exc.size) from None
        size = _nbytes(pipeline)
        if size > self.max_bytes:
            raise self._too_large(what, size)
        with self._lock:
            if key not in self._items:
                self._items[key] = (pipeline, size)
                self.bytes += size
                while self.bytes > self.max_bytes and len(self._items) > 1:
                    _, (_, evicted) = self._items.popitem(last=False)
                    self.bytes -= evicted
                    self.evictions += 1
                    metrics.CACHE_EVICTIONS.inc()
                self._gauges()
        return pipeline

    def _too_large(self, what: str, size: int) -> ModelTooLarge:
        self.refused += 1
        return ModelTooLarge(
            f"{too_large_message(what, size)}: it cannot be served. Train a smaller one "
            "(fewer rows or features, or an algorithm that does not keep the training rows)."
        )

    def _gauges(self) -> None:
        metrics.CACHE_MODELS.set(len(self._items))
        metrics.CACHE_BYTES.set(self.bytes)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
            self._gauges()


def load_pipeline(
    version_id: int, expected_sha256: str, max_bytes: int = numpyml.persistence.DEFAULT_MAX_BYTES
) -> Any:
    """Read, verify and load a version's artifact. A tampered artifact is refused, and one
    whose arrays would take more than `max_bytes` raises numpyml.ModelSizeError unread."""
    found = list(ModelVersion.objects.filter(pk=version_id).values_list("artifact", flat=True))
    if not found:
        # Deleted (through any server) after this process resolved and cached it.
        forget_resolutions()
        raise NotFound("This model version no longer exists: it was deleted.")
    artifact = found[0]
    if artifact is None:
        raise ArtifactError(f"Version {version_id} has no artifact.")
    data = bytes(artifact)
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ArtifactError(
            f"The artifact of version {version_id} does not match its sha256: refusing to load it."
        )
    try:
        return numpyml.load(data, max_bytes=max_bytes)
    except numpyml.ModelSizeError:
        raise
    except numpyml.ModelFormatError as exc:
        raise ArtifactError(
            f"The artifact of version {version_id} cannot be loaded: {exc}"
        ) from None


_cache: PipelineCache | None = None


def pipeline_cache() -> PipelineCache:
    global _cache
    if _cache is None:
        _cache = PipelineCache(settings.MLSERVE_MODEL_CACHE_MB * 1024 * 1024)
    return _cache


# Rows -> table -------------------------------------------------------------------------


# One normaliser for every body format: a JSON string is read as the same cell of a CSV
# would be (csvio.clean_text: blanks stripped, "", "NA", "n/a", "nan", "null", "?" in any
# case missing), so a row predicts the same whatever format carried it, and a cell's
# meaning never depends on the other rows (the numpy fast path reads "nan" as missing too).


def _number(value: Any) -> float | None:
    if value is None:
        return np.nan
    if isinstance(value, (int, float)):  # bools too: numpy reads true as 1.0
        value = float(value)
        return value if np.isfinite(value) else None
    if isinstance(value, str):
        text = csvio.clean_text(value)
        if text is None:
            return np.nan
        try:
            parsed = float(text)
        except ValueError:
            return None
        return None if np.isinf(parsed) else parsed  # a NaN spelling is missing, as in CSV
    return None


def _category(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return csvio.clean_text(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TypeError


def _problem(row: int, column: str | None, detail: str) -> dict[str, Any]:
    return {"row": row, "column": column, "detail": detail}


def rows_to_table(served: ServedVersion, rows: list[Any]) -> dict[str, np.ndarray]:
    """Positional lists or named dicts -> typed columns; every problem is reported."""
    if not isinstance(rows, list) or not rows:
        raise PredictionError("Send at least one row to predict.", [])
    if len(rows) > settings.MLSERVE_MAX_PREDICT_ROWS:
        raise TooLarge(
            f"{len(rows)} rows is more than the limit of {settings.MLSERVE_MAX_PREDICT_ROWS} "
            "(MLSERVE_MAX_PREDICT_ROWS)."
        )
    if served.all_numeric and type(rows[0]) is list:
        try:  # the common case in one C call: positional rows of plain numbers
            values = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is not None and values.shape == (len(rows), len(served.feature_names)):
            if not np.isinf(values).any():
                return {name: values[:, j] for j, name in enumerate(served.feature_names)}
    grid = _grid(served, rows)
    if grid is None:
        raise_row_problems(served, rows)
    return convert_columns(
        served, {name: grid[:, j] for j, name in enumerate(served.feature_names)}
    )


def rows_to_table_in_slices(
    served: ServedVersion, slices: Iterable[list[Any]], n_rows: int
) -> dict[str, np.ndarray]:
    """rows_to_table over a request's rows a slice at a time, into columns allocated once:
    only one slice's Python objects (a list or dict per row) exist at any moment."""
    table = {
        f["name"]: np.empty(n_rows, dtype=np.float64 if f["type"] == "number" else object)
        for f in served.features
    }
    # One string object per distinct category value, not one per row: the table outlives
    # the slices, and most rows repeat a few values.
    distinct: dict[str, dict[Any, Any]] = {
        name: {} for name, c in table.items() if c.dtype == object
    }
    done, shape = 0, None
    for rows in slices:
        first = type(rows[0]) if rows and isinstance(rows[0], (dict, list)) else None
        shape = shape or first
        if first is not None and first is not shape:
            said = "an object of named values" if shape is dict else "a list of values"
            problems = [
                _problem(done, None, f"row 0 is {said}: every row must have the same shape")
            ]
            raise PredictionError(_summary(problems), problems)
        try:
            part = rows_to_table(served, rows)
        except PredictionError as exc:
            if not exc.problems or not done:
                raise
            problems = [{**p, "row": p["row"] + done} for p in exc.problems]
            raise PredictionError(_summary(problems), problems) from None
        for name, column in part.items():
            if name in distinct:
                seen = distinct[name]
                column = [seen.setdefault(value, value) for value in column]
            table[name][done : done + len(rows)] = column
        done += len(rows)
    return table


def columns_to_table(served: ServedVersion, columns: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    """Columnar values ({feature: [values...]}, all of one length) -> typed columns, without
    a Python object per row. Columns that are not exactly the features: their first row's
    problems are reported (by name)."""
    if columns.keys() != set(served.feature_names):
        raise_row_problems(served, [{k: v[0] for k, v in columns.items()}])
    return convert_columns(served, {name: _object_column(columns[name]) for name in columns})


def _object_column(values: list[Any]) -> np.ndarray:
    # An object array, not np.asarray: one long string would make a fixed-width string
    # array as wide as it for every row.
    column = np.empty(len(values), dtype=object)
    try:
        column[:] = values
    except ValueError:  # values that are lists: one by one
        for i, value in enumerate(values):
            column[i] = value
    return column


def _grid(served: ServedVersion, rows: list[Any]) -> np.ndarray | None:
    """Rows as an (n, n_features) object array in feature order, or None if any row is off."""
    names = served.feature_names
    width = len(names)
    if type(rows[0]) is dict:
        keys = frozenset(names)
        if not all(type(r) is dict and r.keys() == keys for r in rows):
            return None
        getter = itemgetter(*names)
        rows = [getter(r) for r in rows] if width > 1 else [[getter(r)] for r in rows]
    elif not all(type(r) is list and len(r) == width for r in rows):
        return None
    grid = np.empty((len(rows), width), dtype=object)
    try:
        grid[:] = rows
    except ValueError:  # a value that is itself a list: report it cell by cell
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                grid[i, j] = value
    return grid


def raise_row_problems(served: ServedVersion, rows: list[Any]) -> None:
    """Name every row that is not a list of the right length or an object with the features."""
    names = list(served.feature_names)
    problems: list[dict[str, Any]] = []
    # One request, one row shape: the first row's (objects by name or lists by position).
    shape = type(rows[0]) if isinstance(rows[0], (dict, list)) else None
    for i, row in enumerate(rows):
        if shape is not None and isinstance(row, (dict, list)) and type(row) is not shape:
            first = "an object of named values" if shape is dict else "a list of values"
            problems.append(
                _problem(i, None, f"row 0 is {first}: every row must have the same shape")
            )
        elif isinstance(row, dict):
            unknown = [k for k in row if k not in names]
            missing = [n for n in names if n not in row]
            problems += [
                _problem(i, str(k), f"unknown column; expected {names}") for k in unknown[:5]
            ]
            problems += [_problem(i, k, "missing column") for k in missing[:5]]
        elif isinstance(row, list):
            if len(row) != len(names):
                problems.append(
                    _problem(
                        i, None, f"has {len(row)} values; the model expects {len(names)}: {names}"
                    )
                )
        else:
            problems.append(_problem(i, None, "a row must be a list of values or an object"))
        if len(problems) >= 20:
            break
    if not problems:  # _grid refused the rows for a reason not named above
        problems.append(_problem(0, None, "the rows do not fit the model's input schema"))
    raise PredictionError(_summary(problems), problems)


def _numbers(values: np.ndarray | list[Any]) -> np.ndarray | None:
    """The common case in one numpy call: every value a finite number, None or a numeric string."""
    try:
        column = np.asarray(values).astype(np.float64)
    except (TypeError, ValueError):
        return None
    return None if np.isinf(column).any() else column


def convert_columns(
    served: ServedVersion, raw: dict[str, list[Any] | np.ndarray]
) -> dict[str, np.ndarray]:
    """Raw column values -> float64 (numbers, NaN = missing) or object str (categories)."""
    table: dict[str, np.ndarray] = {}
    problems: list[dict[str, Any]] = []
    for feature in served.features:
        name = feature["name"]
        values = raw[name]
        if feature["type"] == "number":
            if isinstance(values, np.ndarray) and values.dtype == np.float64:
                table[name] = values
                continue
            column = _numbers(values)
            if column is None:
                converted = [_number(v) for v in values]
                for i, v in enumerate(converted):
                    if v is None and len(problems) < 20:
                        problems.append(_problem(i, name, f"{values[i]!r} is not a finite number"))
                column = np.array([np.nan if v is None else v for v in converted], dtype=np.float64)
            table[name] = column
        else:
            column = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                try:
                    column[i] = _category(v)
                except TypeError:
                    if len(problems) < 20:
                        problems.append(_problem(i, name, f"{v!r} is not a category value"))
            table[name] = column
    if problems:
        raise PredictionError(_summary(problems), problems)
    return table


def _summary(problems: list[dict[str, Any]]) -> str:
    first = problems[0]
    where = f"row {first['row']}" + (f", column {first['column']!r}" if first["column"] else "")
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"The input does not fit the model: {where}: {first['detail']}{more}."


# Predict -------------------------------------------------------------------------------


def row_cost(served: ServedVersion, pipeline: Any) -> int:
    """Estimated work of predicting one row (algorithms.py's row_cost, plus reading it)."""
    model = pipeline.steps[-1][1]
    algorithm = ALGORITHMS.get(served.algorithm)
    cost = algorithm.row_cost(model) if algorithm else _nbytes(model) // 8
    return max(1, cost + len(served.features))


def check_cost(served: ServedVersion, pipeline: Any, n_rows: int) -> None:
    """TooLarge (413) for a request whose estimated cost is over MLSERVE_MAX_PREDICT_COST,
    before any of it runs: one request must not hold a web worker for a minute."""
    budget = settings.MLSERVE_MAX_PREDICT_COST
    per_row = row_cost(served, pipeline)
    if not budget or n_rows * per_row <= budget:
        return
    fits = budget // per_row
    advice = (
        f"split it into requests of at most {fits:,} rows"
        if fits
        else "even one row is over it: ask the operator to raise it"
    )
    raise TooLarge(
        f"Predicting {n_rows:,} rows with {served.model} version {served.version} would cost "
        f"about {n_rows * per_row:.2g} operations, over the budget of {budget:.2g} "
        f"(MLSERVE_MAX_PREDICT_COST): {advice}."
    )


def predict_table(served: ServedVersion, table: dict[str, np.ndarray]) -> dict[str, Any]:
    """Predictions (and class probabilities) for a typed table.

    Numeric outputs stay numpy arrays: turning 10,000 rows into Python floats costs more
    than the prediction. Use `result_json` (or `.tolist()`) to serialise them.
    """
    pipeline = pipeline_cache().get(served)
    check_cost(served, pipeline, len(next(iter(table.values()))) if table else 0)
    features = pipeline.steps[0][1].transform(table)  # preprocessing once, then the model
    model = pipeline.steps[-1][1]
    result: dict[str, Any] = {"model": {"name": served.model, "version": served.version}}
    if served.kind == DECOMPOSITION:
        result["predictions"] = model.transform(features)
        return result
    probabilities = None
    if served.kind == CLASSIFIER and hasattr(model, "predict_proba"):
        predicted, probabilities = model.predict_with_proba(features)
    else:
        predicted = model.predict(features)
    # Labels that are strings (object arrays) become lists; numbers stay arrays.
    result["predictions"] = predicted.tolist() if predicted.dtype == object else predicted
    if probabilities is not None:
        result["probabilities"] = probabilities
        result["classes"] = list(served.classes) if served.classes is not None else None
    return result


def result_json(result: dict[str, Any]) -> bytes:
    """JSON bytes of a prediction result; numpy arrays written directly, NaN as null."""
    return orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY)


def predict_rows(served: ServedVersion, rows: list[Any]) -> dict[str, Any]:
    return predict_table(served, rows_to_table(served, rows))
