"""The one training path: dataset -> numpyml Pipeline -> holdout metrics, plots, artifact.

`train(version_id)` runs in the task worker (inside a child process, see tasks.py). It
moves the version from queued to running, reports progress at most a few times a second,
and ends with artifact, metrics and `ready` written in one transaction, or `failed` with
a message a person can act on.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

import numpyml
from numpyml import metrics as M
from numpyml.model_selection import train_test_split
from numpyml.pipeline import Pipeline
from registry import csvio, jsonsafe
from registry.algorithms import ALGORITHMS, CLASSIFIER, CLUSTERING, REGRESSOR, Algorithm
from registry.models import Dataset, ModelVersion
from registry.training.pipeline import build_pipeline, categories_of, estimator_of

logger = logging.getLogger(__name__)
Status = ModelVersion.Status

PROGRESS_LOAD, PROGRESS_FIT_START, PROGRESS_FIT_END, PROGRESS_METRICS = 5, 10, 85, 90
PROGRESS_WRITE_INTERVAL_S = 0.3


class TrainingError(Exception):
    """A failure explained in words a person can act on."""


class Heartbeat:
    """The training child's signs of life to the worker (tasks.run_isolated), one byte each
    down a pipe: BEAT from inside the work (each progress step, each iteration report of
    an iterative fit), QUIET before a step that reports nothing (a fit without iterations,
    the metrics, the plots), which the worker's watchdog then leaves to the time limit.
    Without a pipe (a training run in-process) it does nothing."""

    BEAT, QUIET = b".", b"q"

    def __init__(self, fd: int | None = None) -> None:
        self.fd = fd

    def _send(self, sign: bytes) -> None:
        if self.fd is not None:
            try:
                os.write(self.fd, sign)
            except BlockingIOError:  # the pipe is full of beats not yet read: enough said
                pass

    def beat(self) -> None:
        self._send(self.BEAT)

    def quiet(self) -> None:
        self._send(self.QUIET)


class ProgressWriter:
    """Writes progress and the loss curve to the version, throttled to a few writes a second,
    and beats the heart at every step."""

    def __init__(self, version_id: int, heartbeat: Heartbeat | None = None) -> None:
        self.version_id = version_id
        self.heartbeat = heartbeat or Heartbeat()
        self.last_write = 0.0
        self.losses: list[float] = []

    def set(self, progress: int, *, force: bool = False, **fields: Any) -> None:
        self.heartbeat.beat()
        now = time.monotonic()
        if not force and now - self.last_write < PROGRESS_WRITE_INTERVAL_S:
            return
        self.last_write = now
        ModelVersion.objects.filter(pk=self.version_id).beat(
            progress=min(int(progress), 99), **fields
        )

    def callback(self, info: dict[str, Any]) -> None:
        loss = float(info["loss"])
        self.losses.append(loss if np.isfinite(loss) else None)
        share = min(info["iteration"] / max(info["max_iter"], 1), 1.0)
        progress = PROGRESS_FIT_START + share * (PROGRESS_FIT_END - PROGRESS_FIT_START)
        self.set(progress, loss_curve=self.losses)


def _target(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == CLASSIFIER and values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        return values.astype(np.int64)  # whole-number class labels stay integers
    return values


def _present(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return ~np.isnan(values)
    return np.array([v is not None for v in values], dtype=bool)


def load_training_data(
    version: ModelVersion,
) -> tuple[dict[str, np.ndarray], np.ndarray | None, int, list[dict[str, Any]]]:
    """The feature table and target of the version's dataset (rows without a target
    dropped), how many rows were dropped, and the dataset's schema.

    Everything the training needs from the dataset is read here, once: the dataset may be
    deleted while the model fits, and the training then finishes from this copy.
    """
    dataset = Dataset.objects.filter(pk=version.dataset_id).only("csv", "sha256", "schema").first()
    if dataset is None:  # a retry started again after its first attempt read it
        when = "during training" if version.attempts > 1 else "before training started"
        raise TrainingError(
            f"The dataset was deleted {when}; train a new version on another dataset."
        )
    schema = dataset.schema
    data = bytes(dataset.csv)
    if csvio.sha256_hex(data) != version.dataset_sha256:
        raise TrainingError("The dataset changed since this training was queued.")
    try:
        table = csvio.parse_csv(data, max_rows=10**9)
    except csvio.CSVError as exc:
        raise TrainingError(f"The dataset can no longer be read: {exc}") from None
    X = {f["name"]: table.data[f["name"]] for f in version.features}
    if not version.target:
        return X, None, 0, schema
    y = table.data[version.target]
    keep = _present(y)
    dropped = int((~keep).sum())
    if dropped:
        X = {name: column[keep] for name, column in X.items()}
        y = y[keep]
    if y.size < 4:
        raise TrainingError(f"Only {y.size} rows have a value for the target {version.target!r}.")
    return X, _target(y, ALGORITHMS[version.algorithm].kind), dropped, schema


def _split(
    X: dict[str, np.ndarray], y: np.ndarray | None, kind: str, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    n = len(next(iter(X.values())))
    index = np.arange(n)
    stratify = None
    if kind == CLASSIFIER:
        _, counts = np.unique(y.astype(str) if y.dtype == object else y, return_counts=True)
        if counts.min() >= 2 and round(n * test_size) >= counts.size:
            stratify = y
    train, test = train_test_split(index, test_size=test_size, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(test), stratify is not None


def _take(X: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[rows] for name, column in X.items()}


def compute_metrics(
    kind: str, pipeline: Pipeline, X_test: dict, y_test: np.ndarray | None, X_train: dict
) -> dict[str, Any]:
    model = estimator_of(pipeline)
    if kind == CLASSIFIER:
        predicted = pipeline.predict(X_test)
        labels = list(pipeline.classes_)
        result: dict[str, Any] = {
            "accuracy": M.accuracy_score(y_test, predicted),
            "f1_macro": M.f1_score(y_test, predicted, average="macro", zero_division=0),
            "precision_macro": M.precision_score(
                y_test, predicted, average="macro", zero_division=0
            ),
            "recall_macro": M.recall_score(y_test, predicted, average="macro", zero_division=0),
            "confusion_matrix": {
                "labels": [jsonsafe.label(v) for v in labels],
                "matrix": M.confusion_matrix(y_test, predicted, labels=labels).tolist(),
            },
        }
        if hasattr(model, "predict_proba"):
            result["log_loss"] = M.log_loss(y_test, pipeline.predict_proba(X_test), labels=labels)
        return result
    if kind == REGRESSOR:
        predicted = pipeline.predict(X_test)
        return {
            "r2": M.r2_score(y_test, predicted),
            "rmse": M.root_mean_squared_error(y_test, predicted),
            "mae": M.mean_absolute_error(y_test, predicted),
            "explained_variance": M.explained_variance_score(y_test, predicted),
        }
    Z_test = pipeline[:-1].transform(X_test)
    if kind == CLUSTERING:
        labels = model.predict(Z_test)
        found = np.unique(labels)
        result = {
            "silhouette": (
                M.silhouette_score(Z_test, labels, random_state=0)
                if 1 < found.size < Z_test.shape[0]
                else None
            ),
            "cluster_sizes": np.bincount(labels, minlength=_n_clusters(model)).tolist(),
        }
        if hasattr(model, "inertia_"):
            result["inertia"] = float(model.inertia_)
        if hasattr(model, "bic"):
            result["bic"] = float(model.bic(Z_test))
            result["aic"] = float(model.aic(Z_test))
            result["avg_log_likelihood"] = float(model.score(Z_test))
        return result
    # decomposition
    ratios = model.explained_variance_ratio_
    reconstructed = model.inverse_transform(model.transform(Z_test))
    return {
        "explained_variance": float(ratios.sum()),
        "explained_variance_ratio": ratios.tolist(),
        "n_components": int(model.n_components_),
        "reconstruction_mse": float(np.mean((Z_test - reconstructed) ** 2)),
    }


def _n_clusters(model: Any) -> int:
    return int(getattr(model, "n_clusters", None) or getattr(model, "n_components", 1))


def input_schema(version: ModelVersion, pipeline: Pipeline, dataset_schema: dict) -> list[dict]:
    """Feature names, types, categories seen in training, and numeric summaries for forms."""
    categories = categories_of(pipeline)
    schema = []
    for feature in version.features:
        entry = {"name": feature["name"], "type": feature["type"]}
        info = dataset_schema.get(feature["name"], {})
        if feature["type"] == "number":
            entry.update({k: info[k] for k in ("min", "max", "mean") if k in info})
        else:
            entry["categories"] = categories.get(feature["name"], [])
        schema.append(entry)
    return schema


def _claim(version_id: int) -> ModelVersion | None:
    # The worker claimed it already (counting the attempt); a run in-process claims it here.
    claimed = ModelVersion.objects.filter(pk=version_id).claim(
        started_at=timezone.now(), progress=1, error=""
    )
    if not claimed:
        return None
    return ModelVersion.objects.select_related("model").get(pk=version_id)


def fail(version_id: int, message: str) -> None:
    ModelVersion.objects.filter(pk=version_id).mark_failed(message)


def train(version_id: int, heartbeat: Heartbeat | None = None) -> str:
    """Run one training to the end. Returns the final status."""
    version = _claim(version_id)
    if version is None:
        logger.info("version %s is not queued or running: nothing to do", version_id)
        return "skipped"
    started = time.monotonic()
    try:
        _train(version, started, heartbeat or Heartbeat())
    except TrainingError as exc:
        fail(version_id, str(exc))
    except MemoryError:
        fail(
            version_id,
            "Training ran out of memory: use fewer rows or features, or a "
            "lighter algorithm (MLSERVE_TRAIN_MAX_MEMORY_MB sets the limit).",
        )
    except Exception as exc:  # anything numpyml or the data raised: the message is kept
        logger.exception("training of version %s failed", version_id)
        fail(version_id, f"Training failed: {exc}")
    return ModelVersion.objects.filter(pk=version_id).values_list("status", flat=True).first()


def _profile(X_train: dict[str, np.ndarray], features: list[dict]) -> dict[str, Any]:
    """The training data's profile for drift reports (monitoring/drift.py). A version without
    one still serves: it only has no drift report, so a failure here is logged, not fatal."""
    from registry.monitoring import drift

    try:
        return drift.profile_of(X_train, features)
    except Exception:
        logger.exception("the training data profile could not be computed")
        return {}


def _check_model_size(pipeline: Pipeline, algorithm: Algorithm) -> None:
    """A model too big for the servers' model memory is not kept: it could not be served."""
    from registry.serving import loaded_bytes, model_budget_bytes, too_large_message

    size = loaded_bytes(pipeline)
    if size > model_budget_bytes():
        hint = " (it keeps its training rows)" if algorithm.keeps_training_rows else ""
        raise TrainingError(
            f"{too_large_message('The trained model', size)}: it could not be "
            f"served, so it was not kept. Use fewer rows or features, or another "
            f"algorithm than {algorithm.label}{hint}."
        )


def _train(version: ModelVersion, started: float, heartbeat: Heartbeat) -> None:
    from registry.training import plots

    algorithm = ALGORITHMS[version.algorithm]
    progress = ProgressWriter(version.pk, heartbeat)
    progress.set(PROGRESS_LOAD, force=True)
    X, y, dropped, schema = load_training_data(version)
    train_rows, test_rows, stratified = _split(
        X, y, algorithm.kind, version.test_size, version.seed
    )
    X_train, X_test = _take(X, train_rows), _take(X, test_rows)
    y_train = y[train_rows] if y is not None else None
    y_test = y[test_rows] if y is not None else None

    pipeline = build_pipeline(algorithm, version.params, version.features)
    progress.set(PROGRESS_FIT_START, force=True)
    fit_params = {"callback": progress.callback} if algorithm.iterative else {}
    if not algorithm.iterative:
        heartbeat.quiet()  # one call into numpyml with nothing to report until it returns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", numpyml.ConvergenceWarning)
        try:
            pipeline.fit(X_train, y_train, **fit_params)
        except ValueError as exc:
            raise TrainingError(
                f"{algorithm.label} could not be trained on this data: {exc}"
            ) from None
    notes = sorted(
        {str(w.message) for w in caught if issubclass(w.category, numpyml.ConvergenceWarning)}
    )
    _check_model_size(pipeline, algorithm)

    progress.set(PROGRESS_METRICS, force=True, loss_curve=progress.losses)
    heartbeat.quiet()  # metrics, plots and the artifact report nothing until saved
    result = compute_metrics(algorithm.kind, pipeline, X_test, y_test, X_train)
    result.update(n_train=int(train_rows.size), n_test=int(test_rows.size), stratified=stratified)
    if dropped:
        result["rows_dropped_missing_target"] = dropped
    if notes:
        result["warnings"] = notes
    dataset_schema = {c["name"]: c for c in schema}
    features = input_schema(version, pipeline, dataset_schema)
    classes = None
    if algorithm.kind == CLASSIFIER:
        classes = [jsonsafe.label(c) for c in pipeline.classes_]
    rendered = plots.render_all(
        kind=algorithm.kind,
        pipeline=pipeline,
        metrics=result,
        losses=progress.losses,
        X_test=X_test,
        y_test=y_test,
    )
    artifact = numpyml.save(pipeline)
    profile = _profile(X_train, features)
    from registry import serving

    with transaction.atomic():
        # The model's newest ready version changes (for this process if it trained here).
        transaction.on_commit(serving.forget_resolutions)
        updated = ModelVersion.objects.filter(pk=version.pk).mark_ready(
            metrics=jsonsafe.finite(result),
            loss_curve=jsonsafe.finite(progress.losses),
            plots=rendered,
            features=features,
            classes=classes,
            artifact=artifact,
            artifact_sha256=csvio.sha256_hex(artifact),
            artifact_size=len(artifact),
            training_seconds=round(time.monotonic() - started, 3),
            profile=profile,
        )
    if not updated:
        logger.warning("version %s stopped running before it could be saved", version.pk)
