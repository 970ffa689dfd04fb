"""The Prometheus metrics of this app (definitions only; registry/monitoring/ exposes them).

Names and labels are documented in docs/operations.md ("Serving metrics"). Under gunicorn,
PROMETHEUS_MULTIPROC_DIR is set (mlsite/gunicorn.conf.py) before this module is first
imported, so each worker writes its values to its own file there; otherwise they live in
this process. Counters get `_total` appended by prometheus_client.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# This process's metrics. In multiprocess mode the values live in PROMETHEUS_MULTIPROC_DIR
# whatever the registry, and /metrics reads them from there.
REGISTRY = CollectorRegistry()
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TRAINING_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

PREDICTION_REQUESTS = Counter(
    "mlserve_prediction_requests",
    "Prediction requests (API, pages, admin) by model and version; requests that named no "
    "servable version (unknown model, no token, not ready) have empty labels.",
    ["model", "version"],
    registry=REGISTRY,
)
PREDICTION_ERRORS = Counter(
    "mlserve_prediction_errors",
    "Prediction requests answered with an error, by status class (4xx, 5xx).",
    ["model", "version", "status_class"],
    registry=REGISTRY,
)
PREDICTION_LATENCY = Histogram(
    "mlserve_prediction_latency_seconds",
    "Time from the resolved version to the answer (reading the rows, predicting, writing "
    "the answer), successful or not.",
    ["model", "version"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
PREDICTED_ROWS = Counter(
    "mlserve_predicted_rows",
    "Rows predicted (successful requests only).",
    ["model", "version"],
    registry=REGISTRY,
)
CACHE_HITS = Counter("mlserve_model_cache_hits", "Loaded-model cache hits.", registry=REGISTRY)
CACHE_MISSES = Counter(
    "mlserve_model_cache_misses",
    "Loaded-model cache misses (the artifact was read and loaded).",
    registry=REGISTRY,
)
CACHE_EVICTIONS = Counter(
    "mlserve_model_cache_evictions",
    "Models evicted from the cache to stay within MLSERVE_MODEL_CACHE_MB.",
    registry=REGISTRY,
)
CACHE_BYTES = Gauge(
    "mlserve_model_cache_bytes",
    "Memory held by loaded models, summed over the live server processes.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
CACHE_MODELS = Gauge(
    "mlserve_model_cache_models",
    "Loaded models, summed over the live server processes.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
LOG_WRITTEN = Counter(
    "mlserve_prediction_log_written",
    "Requests written to the prediction log.",
    registry=REGISTRY,
)
LOG_DROPPED = Counter(
    "mlserve_prediction_log_dropped",
    "Requests not written to the prediction log: buffer_full (the writer fell behind) or "
    "write_error (the database refused the batch).",
    ["reason"],
    registry=REGISTRY,
)
LOG_DROPPED.labels("buffer_full")  # both series exist from the start (0 is a value)
LOG_DROPPED.labels("write_error")
LOG_ROWS_SKIPPED = Counter(
    "mlserve_prediction_log_rows_skipped",
    "Rows of logged requests left out of the log to keep a request within "
    "MLSERVE_PREDICTION_LOG_MAX_BYTES (the request itself is logged).",
    registry=REGISTRY,
)

# Rollouts (an alias's canary and shadow). Labels bounded like the others: a role is one of
# three words, and versions are those that served.
ROLE_REQUESTS = Counter(
    "mlserve_prediction_role_requests",
    "Prediction requests by model, version and role: champion (an alias's own version or "
    "a pinned one), canary (an alias's canary) or shadow (scored off the request path from "
    "the prediction log, so only logged requests).",
    ["model", "version", "role"],
    registry=REGISTRY,
)
SHADOW_FAILURES = Counter(
    "mlserve_shadow_failures",
    "Logged requests a shadow version did not score: error (it failed; the answer was not "
    "affected) or buffer_full (the writer fell behind).",
    ["reason"],
    registry=REGISTRY,
)
SHADOW_FAILURES.labels("error")
SHADOW_FAILURES.labels("buffer_full")


def shadow_requests(served: Any) -> Any:
    """The ROLE_REQUESTS child of a shadow version."""
    return ROLE_REQUESTS.labels(served.model, str(served.version), "shadow")
