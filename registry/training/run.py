"""One training run, to the end: claim the version, load and split the data, fit with
progress, check the model fits the servers' memory, then metrics, plots, profile and
artifact written with `ready` in one transaction; or `failed` with a message a person can
act on."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

import numpyml
from numpyml.pipeline import Pipeline
from registry import alerts, csvio, jsonsafe
from registry.algorithms import ALGORITHMS, CLASSIFIER, Algorithm
from registry.models import ModelVersion
from registry.pipeline import build_pipeline, encoded_labels
from registry.training.data import TrainingError, load_training_data, split, take
from registry.training.evaluate import compute_metrics, input_schema
from registry.training.explain import plain_words
from registry.training.importance import measure as measure_importance
from registry.training.importance import plot as plot_importance
from registry.training.progress import (
    PROGRESS_FIT_END,
    PROGRESS_FIT_START,
    PROGRESS_LOAD,
    PROGRESS_METRICS,
    PROGRESS_SCORING_KEPT_ROWS,
    Heartbeat,
    ProgressWriter,
)

logger = logging.getLogger(__name__)


def _claim(version_id: int) -> ModelVersion | None:
    # The worker claimed it already (counting the attempt); a run in-process claims it here.
    claimed = ModelVersion.objects.filter(pk=version_id).claim(
        started_at=timezone.now(), progress=1, error=""
    )
    if not claimed:
        return None
    return ModelVersion.objects.select_related("model").get(pk=version_id)


def fail(version_id: int, message: str) -> None:
    with transaction.atomic():
        if ModelVersion.objects.filter(pk=version_id).mark_failed(message):
            announce_failed(version_id, message)


def announce_failed(version_id: int, message: str) -> None:
    """The "version.failed" webhook event (registry/alerts/), sent once the failure commits."""
    version = ModelVersion.objects.select_related("model").filter(pk=version_id).first()
    if version is not None:
        alerts.emit(
            "version.failed",
            version.model,
            {"version": version.version, "algorithm": version.algorithm, "error": message[:1000]},
        )


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
    except Exception:  # a failure outside the fit: its text is for the log only
        logger.exception("training of version %s failed", version_id)
        fail(
            version_id,
            "Training failed on an unexpected error; the server log has the details. "
            "Try again, or try another algorithm.",
        )
    return ModelVersion.objects.filter(pk=version_id).values_list("status", flat=True).first()


def _profile(
    X_train: dict[str, np.ndarray],
    features: list[dict],
    seed: int,
    beat: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """The training data's profile for drift reports (monitoring/drift.py), with a seeded
    sample of training rows under "background" for explanations (serving/shapley.py). A
    version without them still serves: it only has no drift report (a background made up
    from the profile), so a failure here is logged, not fatal."""
    from registry.monitoring import drift
    from registry.serving import shapley

    try:
        profile = drift.profile_of(X_train, features)
    except Exception:
        logger.exception("the training data profile could not be computed")
        return {}
    beat()
    try:
        profile["background"] = shapley.background_sample(X_train, features, seed)
    except Exception:
        logger.exception("the background sample could not be taken")
    return profile


def _labels(pipeline: Pipeline) -> list[str]:
    """The estimator's columns in the user's words, when the preprocessing got fitted."""
    try:
        return encoded_labels(pipeline)
    except AttributeError:  # the failure came before the preprocessing was fitted
        return []


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


def _refit_on_all_rows(
    version: ModelVersion,
    algorithm: Algorithm,
    X: dict[str, np.ndarray],
    y: np.ndarray | None,
    progress: ProgressWriter,
) -> Pipeline:
    pipeline = build_pipeline(algorithm, version.params, version.features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numpyml.ConvergenceWarning)  # noted by the first fit
        try:
            # Its reports beat the heart, but move no bar and draw no curve: those are done.
            pipeline.fit(X, y, callback=progress.beat)
        except MemoryError:
            raise
        except Exception as exc:
            logger.warning("refit of version %s failed: %s", version.pk, exc, exc_info=True)
            raise TrainingError(plain_words(exc, algorithm, _labels(pipeline))) from None
    _check_model_size(pipeline, algorithm)
    return pipeline


def _train(version: ModelVersion, started: float, heartbeat: Heartbeat) -> None:
    from registry import serving
    from registry.training import plots

    algorithm = ALGORITHMS[version.algorithm]
    scoring_start = PROGRESS_SCORING_KEPT_ROWS if algorithm.keeps_every_row else PROGRESS_FIT_END
    progress = ProgressWriter(version.pk, heartbeat, fit_end=scoring_start)
    progress.set(PROGRESS_LOAD, force=True)
    X, y, dropped, schema = load_training_data(version)
    train_rows, test_rows, stratified = split(X, y, algorithm.kind, version.test_size, version.seed)
    X_train, X_test = take(X, train_rows), take(X, test_rows)
    y_train = y[train_rows] if y is not None else None
    y_test = y[test_rows] if y is not None else None

    pipeline = build_pipeline(algorithm, version.params, version.features)
    progress.set(PROGRESS_FIT_START, force=True)
    # Every numpyml fit reports from inside its own work (per iteration, or per part of a fit
    # without iterations), and each report beats the heart: the watchdog watches the fit.
    # (Fitting the preprocessing before it, one pass over the columns, reports nothing.)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", numpyml.ConvergenceWarning)
        try:
            pipeline.fit(X_train, y_train, callback=progress.callback)
        except MemoryError:
            raise
        except Exception as exc:
            # numpyml's words are for programmers: the log keeps them, the user gets these.
            logger.warning("fit of version %s failed: %s", version.pk, exc, exc_info=True)
            raise TrainingError(plain_words(exc, algorithm, _labels(pipeline))) from None
    notes = sorted(
        {str(w.message) for w in caught if issubclass(w.category, numpyml.ConvergenceWarning)}
    )
    _check_model_size(pipeline, algorithm)

    progress.set(scoring_start, force=True, loss_curve=progress.losses)
    result = compute_metrics(
        algorithm.kind, pipeline, X_test, y_test, X_train, report=progress.scoring(scoring_start)
    )
    progress.set(PROGRESS_METRICS, force=True)
    # From here each step beats between its parts (each plot, each shuffle of the permutation
    # importance) and the training between its steps: the watchdog watches to the end.
    result.update(n_train=int(train_rows.size), n_test=int(test_rows.size), stratified=stratified)
    if dropped:
        result["rows_dropped_missing_target"] = dropped
    if notes:
        result["warnings"] = notes
    rendered = plots.render_all(
        kind=algorithm.kind,
        pipeline=pipeline,
        metrics=result,
        losses=progress.losses,
        X_test=X_test,
        y_test=y_test,
        beat=progress.beat,
    )
    progress.beat()
    importance = measure_importance(
        algorithm.kind,
        pipeline,
        X_test,
        y_test,
        version.seed,
        keeps_every_row=algorithm.keeps_every_row,
        callback=progress.beat,
    )
    progress.beat()
    if importance is not None:
        result["permutation_importance"] = importance
        rendered["permutation_importance"] = plot_importance(importance)
    if version.leaderboard_id is not None:
        # Registered from a leaderboard, whose folds measured this configuration already:
        # the holdout above gives the page its metrics and plots, and the model served is
        # the configuration fitted on every row.
        pipeline = _refit_on_all_rows(version, algorithm, X, y, progress)
        result["refit_rows"] = len(next(iter(X.values())))
    dataset_schema = {c["name"]: c for c in schema}
    features = input_schema(version, pipeline, dataset_schema)
    classes = None
    if algorithm.kind == CLASSIFIER:
        classes = [jsonsafe.label(c) for c in pipeline.classes_]
    progress.beat()
    # One call, bounded by the model-size check above: a beat right before and after it.
    artifact = numpyml.save(pipeline)
    progress.beat()
    profile = _profile(X_train, features, version.seed, progress.beat)
    with transaction.atomic():
        # What a call without a version gets changes if this is the model's first ready
        # version (for this process at once; the others within serving.RESOLVE_TTL_S).
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
        if updated:
            alerts.emit(
                "version.ready",
                version.model,
                {
                    "version": version.version,
                    "algorithm": version.algorithm,
                    "metrics": jsonsafe.finite(result),
                },
            )
            # After "version.ready": a receiver hears of the version before its first move.
            alerts.first_production(version, via="system")
    if not updated:
        logger.warning("version %s stopped running before it could be saved", version.pk)
