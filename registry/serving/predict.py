"""THE predict entry: `predict(served, body, *, user, source)` for the API, the pages, the
admin and batch CSV. It reads the body (serving/bodies.py), bounds the rows and the cost,
predicts with the cached pipeline, and observes the request (metrics and the prediction
log, registry/monitoring/), errors included.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import orjson
from django.conf import settings

from registry import monitoring
from registry.algorithms import ALGORITHMS, CLASSIFIER, DECOMPOSITION
from registry.errors import TooLarge
from registry.pipeline import estimator_of, preprocessing_of
from registry.serving import bodies
from registry.serving.cache import loaded_bytes, pipeline_cache
from registry.serving.explain import check_explainable, explain_factor, explain_table
from registry.serving.resolve import ServedVersion, check_access, route

Body = bytes | list[Any] | dict[str, np.ndarray] | bodies.CsvUpload


def predict(
    served: ServedVersion,
    body: Body,
    *,
    user: Any,
    source: str,
    content_type: str = "application/json",
    strict: bool = False,
    explain: bool = False,
    key: str | None = None,
    mlflow_params: bool = False,
) -> dict[str, Any]:
    """Predictions for `body`: request bytes (JSON in any accepted format, or CSV with
    content_type="text/csv"), a list of rows (by position or by name), a typed table, or a
    CsvUpload (its cells kept for the caller). `source` names the caller in the log. Keys
    and columns the model does not take are ignored, or refused (422) when `strict`.
    `explain`: the answer's "explanations" split each row's output among its columns
    (serving/explain.py). An alias with a canary answers with it for its share of the
    traffic (resolve.route), by `key` (the X-Request-Key header) or the body's "key" field
    when given, at random otherwise. `mlflow_params`: a JSON body may carry MLflow's "params"
    (the /invocations routes); no model here takes any, so the answer's "ignored_params"
    names those it had. A `user` who may not read the model gets NotFound before any work
    (access.can_read; None: the system itself)."""
    if user is not None:
        check_access(user, served)
    if served.canary is not None:
        served = route(served, key if key is not None else body_key(body, content_type))
    ignored: list[str] | None = [] if mlflow_params else None
    with monitoring.Observation(served, getattr(user, "pk", None), source) as seen:
        seen.table = table = _table(served, body, content_type, strict, ignored)
        seen.result = result = predict_table(served, table, explain=explain)
        _identify(result, seen.request_id)
    if ignored:
        result["ignored_params"] = ignored
    return result


# A "key" field is looked for in JSON bodies up to this size (a second parse, only for an
# alias with a canary); larger ones give their key in the X-Request-Key header.
KEY_BODY_BYTES = 1 << 20
KEY_MAX_CHARS = 200


def body_key(body: Body, content_type: str) -> str | None:
    """The split key a JSON body gives in a top-level "key" field (a string or an integer),
    if any."""
    if (
        isinstance(body, bytes)
        and content_type in ("application/json", "")
        and len(body) <= KEY_BODY_BYTES
        and b'"key"' in body
    ):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None  # the body's own parse says what is wrong with it
        value = parsed.get("key") if isinstance(parsed, dict) else None
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)[:KEY_MAX_CHARS]


def _identify(result: dict[str, Any], request_id: uuid.UUID) -> None:
    """The ids ground-truth feedback names a row by (registry/monitoring/feedback.py): the
    request's, logged with it, and row i's "<request id>:<i>" listed for a request the log
    keeps whole (at most MLSERVE_PREDICTION_LOG_MAX_ROWS rows): past that a row cannot be
    joined, and a long request's answer would grow by an id per row for nothing."""
    prefix = str(request_id)
    result["prediction_id"] = prefix
    n_rows = len(result["predictions"])
    if n_rows <= settings.MLSERVE_PREDICTION_LOG_MAX_ROWS:
        result["prediction_ids"] = [f"{prefix}:{i}" for i in range(n_rows)]


def _table(
    served: ServedVersion,
    body: Body,
    content_type: str,
    strict: bool,
    params: list[str] | None = None,
) -> dict[str, np.ndarray]:
    if isinstance(body, bytes):
        return bodies.request_table(served, body, content_type, strict=strict, params=params)
    if isinstance(body, list):
        return bodies.rows_to_table(served, body, strict=strict)
    if isinstance(body, bodies.CsvUpload):
        return bodies.upload_table(served, body)
    bodies.check_rows(len(next(iter(body.values()))) if body else 0)
    return body


def row_cost(served: ServedVersion, pipeline: Any) -> int:
    """Estimated work of predicting one row (algorithms.py's row_cost, plus reading it)."""
    model = estimator_of(pipeline)
    algorithm = ALGORITHMS.get(served.algorithm)
    cost = algorithm.row_cost(model) if algorithm else loaded_bytes(model) // 8
    return max(1, cost + len(served.features))


def check_cost(served: ServedVersion, pipeline: Any, n_rows: int, *, explain: bool = False) -> None:
    """TooLarge (413) for a request whose estimated cost is over MLSERVE_MAX_PREDICT_COST,
    before any of it runs: one request must not hold a web worker for a minute. An
    explained row costs explain_factor plain ones (a sampling estimate: many)."""
    budget = settings.MLSERVE_MAX_PREDICT_COST
    per_row = row_cost(served, pipeline) * (explain_factor(pipeline) if explain else 1)
    if not budget or n_rows * per_row <= budget:
        return
    fits = budget // per_row
    advice = (
        f"split it into requests of at most {fits:,} rows"
        if fits
        else "even one row is over it: ask the operator to raise it"
    )
    doing = "Predicting and explaining" if explain else "Predicting"
    raise TooLarge(
        f"{doing} {n_rows:,} rows with {served.model} version {served.version} would cost "
        f"about {n_rows * per_row:.2g} operations, over the budget of {budget:.2g} "
        f"(MLSERVE_MAX_PREDICT_COST): {advice}."
    )


# Rows are predicted this many at a time: the preprocessed matrix (one-hot columns
# included) of a large request never exists whole, only its outputs do.
CHUNK_ROWS = 8192


def predict_table(
    served: ServedVersion, table: dict[str, np.ndarray], *, explain: bool = False
) -> dict[str, Any]:
    """Predictions (and class probabilities) for a typed table, and per row the warnings
    of bodies.category_warnings; with `explain`, "explanations" (explain.explain_table).

    Numeric outputs stay numpy arrays: turning 10,000 rows into Python floats costs more
    than the prediction. Use `result_json` (or `.tolist()`) to serialise them.
    """
    pipeline, plan = pipeline_cache().loaded(served)
    n_rows = len(next(iter(table.values()))) if table else 0
    if explain:
        check_explainable(served, n_rows)
    check_cost(served, pipeline, n_rows, explain=explain)
    prep, model = preprocessing_of(pipeline), estimator_of(pipeline)
    with_proba = served.kind == CLASSIFIER and hasattr(model, "predict_proba")
    outputs = []
    for start in range(0, max(n_rows, 1), CHUNK_ROWS):
        chunk = table if n_rows <= CHUNK_ROWS else _rows(table, start, start + CHUNK_ROWS)
        # One row: the plan compiled at load (plan.py) gives the same features without
        # the preprocessing's numpy calls, or None for a row it leaves to the pipeline.
        features = plan.features(chunk) if plan is not None and n_rows == 1 else None
        if features is None:
            features = prep.transform(chunk)  # preprocessing once, then the model
        if served.kind == DECOMPOSITION:
            outputs.append((model.transform(features), None))
        elif with_proba:
            outputs.append(model.predict_with_proba(features))
        else:
            outputs.append((model.predict(features), None))
    predicted = _joined([predicted for predicted, _ in outputs])
    result: dict[str, Any] = {
        "model": {"name": served.model, "version": served.version, "role": served.role}
    }
    if served.kind == DECOMPOSITION:
        result["predictions"] = predicted
        result["warnings"] = bodies.category_warnings(served, table)
        return result
    probabilities = _joined([probabilities for _, probabilities in outputs]) if with_proba else None
    thresholded = (
        probabilities is not None and served.threshold is not None and len(model.classes_) == 2
    )
    if thresholded:
        # The version's decision threshold replaces the model's own rule; the labels come
        # from classes_ so they keep the dtype the model's own predictions have.
        predicted = model.classes_[(probabilities[:, 1] >= served.threshold).astype(np.intp)]
    # Labels that are strings (object arrays) become lists; numbers stay arrays.
    result["predictions"] = predicted.tolist() if predicted.dtype == object else predicted
    if with_proba:
        result["probabilities"] = probabilities
        result["classes"] = list(served.classes) if served.classes is not None else None
    if thresholded:
        result["threshold"] = served.threshold
    result["warnings"] = bodies.category_warnings(served, table)
    if explain:
        result["explanations"] = explain_table(served, pipeline, table)
    return result


def _rows(table: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    return {name: column[start:stop] for name, column in table.items()}


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def result_json(result: dict[str, Any]) -> bytes:
    """JSON bytes of a prediction result; numpy arrays written directly, NaN as null.

    A table of many rows (probabilities, a decomposition's outputs) is written CHUNK_ROWS
    rows at a time, the same bytes: orjson's peak memory for a 2-D array is a multiple of
    the JSON it writes (benchmarks/README.md)."""
    if not any(_is_long_table(value) for value in result.values()):
        return _dumps(result)
    parts = [b"{"]
    for key, value in result.items():
        parts += [b"," if len(parts) > 1 else b"", _dumps(str(key)), b":"]
        if not _is_long_table(value):
            parts.append(_dumps(value))
            continue
        for start in range(0, len(value), CHUNK_ROWS):
            part = _dumps(value[start : start + CHUNK_ROWS])
            parts += [b"[" if not start else b",", memoryview(part)[1:-1]]
        parts.append(b"]")
    parts.append(b"}")
    return b"".join(parts)


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def _is_long_table(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.ndim > 1 and len(value) > CHUNK_ROWS


def predict_rows(served: ServedVersion, rows: list[Any]) -> dict[str, Any]:
    """predict_table for a list of rows, unobserved (shadows, tests and checks, not
    requests)."""
    return predict_table(served, bodies.rows_to_table(served, rows))


# The prediction log's writer scores an alias's shadow with it (monitoring/predlog.py).
monitoring.predlog.use_shadow_scorer(predict_rows)
