"""One trial of a leaderboard, claim to done or failed, and the board's bookkeeping.

A trial is scored on every fold of its board (folds.py) with the training pipeline
(registry.pipeline.build_pipeline), fitted on the fold's training part only, so nothing of
the held-out rows (not even the imputer's means) reaches the model it is scored against,
and scored by the training's own metrics (training.evaluate.compute_metrics). An algorithm
that cannot run on this data fails its trial with a reason in the user's words; the board
goes on. The task worker runs `run_trial` in a child process (registry/tasks.py).
"""

from __future__ import annotations

import logging
import time
import warnings
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import numpyml
from registry import jsonsafe
from registry.algorithms import ALGORITHMS, CLASSIFIER
from registry.leaderboard import METRICS
from registry.leaderboard.folds import make_folds, missing_classes
from registry.models import BOARD_ACTIVE, TRIAL_ACTIVE, Leaderboard, Trial
from registry.pipeline import build_pipeline, encoded_labels
from registry.training.data import TrainingError, load_data, take
from registry.training.evaluate import compute_metrics
from registry.training.explain import plain_words
from registry.training.progress import Heartbeat

logger = logging.getLogger(__name__)
Status = Trial.Status


def claim_trial(trial_id: int) -> bool:
    """queued (or running, for a retry) -> running, counting the attempt, and the board
    queued -> running. False when the trial is not to run: finished, cancelled, deleted, or
    its board's time budget ran out (then every trial of the board not yet started is
    skipped, with the reason)."""
    now = timezone.now()
    with transaction.atomic():
        trial = (
            Trial.objects.select_related("leaderboard")
            .filter(pk=trial_id, status__in=TRIAL_ACTIVE)
            .first()
        )
        if trial is None or trial.leaderboard.status not in BOARD_ACTIVE:
            return False
        board = trial.leaderboard
        budget = board.time_budget_s
        if budget is not None and board.started_at is not None:
            if now - board.started_at >= timedelta(seconds=budget):
                _skip_the_rest(board, budget)
                return False
        claimed = Trial.objects.filter(pk=trial_id, status__in=TRIAL_ACTIVE).update(
            status=Status.RUNNING,
            attempts=F("attempts") + 1,
            heartbeat_at=now,
            started_at=now,
            reason="",
        )
        Leaderboard.objects.filter(pk=board.pk, status=Leaderboard.Status.QUEUED).update(
            status=Leaderboard.Status.RUNNING, started_at=now
        )
    return bool(claimed)


def _skip_the_rest(board: Leaderboard, budget: float) -> None:
    Trial.objects.filter(leaderboard=board, status=Status.QUEUED).update(
        status=Status.SKIPPED,
        reason=f"Not started: the board's time budget of {budget:g} s ran out first.",
        finished_at=timezone.now(),
    )
    update_board(board.pk)


def update_board(board_id: int) -> None:
    """Count the board's finished trials; once none is left to run, the board is done (or
    failed, when no trial could run at all); a cancelled board stays cancelled."""
    with transaction.atomic():
        trials = Trial.objects.filter(leaderboard_id=board_id)
        done = trials.exclude(status__in=TRIAL_ACTIVE).count()
        board = Leaderboard.objects.filter(pk=board_id)
        board.update(trials_done=done)
        if trials.filter(status__in=TRIAL_ACTIVE).exists():
            return
        active = board.filter(status__in=BOARD_ACTIVE)
        if trials.filter(status=Status.DONE).exists():
            active.update(status=Leaderboard.Status.DONE, finished_at=timezone.now())
        else:
            reasons = list(
                dict.fromkeys(trials.exclude(reason="").values_list("reason", flat=True))
            )
            active.update(
                status=Leaderboard.Status.FAILED,
                finished_at=timezone.now(),
                error="No algorithm could run on this data. " + " ".join(reasons[:3]),
            )


def fail(trial_id: int, reason: str) -> None:
    """running or queued -> failed, with a reason a person can act on."""
    Trial.objects.filter(pk=trial_id, status__in=TRIAL_ACTIVE).update(
        status=Status.FAILED, reason=reason[:5000], finished_at=timezone.now()
    )


def beat(trial_id: int, **fields: Any) -> int:
    return Trial.objects.filter(pk=trial_id, status=Status.RUNNING).update(
        heartbeat_at=timezone.now(), **fields
    )


def run_trial(trial_id: int, heartbeat: Heartbeat | None = None) -> str:
    """Score one claimed trial on every fold and save it done, or fail it with the reason.
    Returns its final status."""
    heartbeat = heartbeat or Heartbeat()
    trial = Trial.objects.select_related("leaderboard").filter(pk=trial_id).first()
    if trial is None or trial.status != Status.RUNNING:
        return trial.status if trial else "deleted"
    try:
        scores, fit_seconds, predict_seconds = score_trial(trial, heartbeat)
    except TrainingError as exc:
        fail(trial_id, str(exc))
    except MemoryError:
        fail(
            trial_id,
            "The trial ran out of memory: use fewer rows or features, or a lighter algorithm "
            "(MLSERVE_TRAIN_MAX_MEMORY_MB sets the limit).",
        )
    except Exception:  # a failure outside the fit: its text is for the log only
        logger.exception("trial %s failed", trial_id)
        fail(trial_id, "The trial failed on an unexpected error; the server log has the details.")
    else:
        Trial.objects.filter(pk=trial_id, status=Status.RUNNING).update(
            status=Status.DONE,
            scores=scores,
            fit_seconds=fit_seconds,
            predict_seconds=predict_seconds,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
    return Trial.objects.filter(pk=trial_id).values_list("status", flat=True).first() or "deleted"


def score_trial(
    trial: Trial, heartbeat: Heartbeat
) -> tuple[dict[str, list[float | None]], list[float], list[float]]:
    """Per fold: the trial's pipeline fitted on the training part, scored on the held-out
    part. Returns (metric -> value per fold, fit seconds per fold, predict seconds per fold);
    TrainingError with the reason when the algorithm cannot run on this data."""
    board = trial.leaderboard
    algorithm = ALGORITHMS[trial.algorithm]
    heartbeat.beat()
    X, y, _, _ = load_data(
        board,
        board.task,
        deleted="The dataset was deleted: run a new leaderboard on another dataset.",
    )
    folds = make_folds(y, board.task, board.folds, board.seed)
    if board.task == CLASSIFIER:
        absent = missing_classes(y, folds)
        if absent:
            raise TrainingError(absent)
    scores: dict[str, list[float | None]] = {name: [] for name in METRICS[board.task]}
    fit_seconds: list[float] = []
    predict_seconds: list[float] = []
    for train_rows, test_rows in folds:
        X_train, X_test = take(X, train_rows), take(X, test_rows)
        pipeline = build_pipeline(algorithm, trial.params, board.features)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numpyml.ConvergenceWarning)
            try:
                # Every numpyml fit reports from inside its own work (per iteration, or per
                # part of a fit without iterations): each report is a sign of life.
                pipeline.fit(X_train, y[train_rows], callback=lambda info: heartbeat.beat())
            except MemoryError:
                raise
            except Exception as exc:
                # numpyml's words are for programmers: the log keeps them, the user gets these.
                logger.info("trial %s: the fit failed: %s", trial.pk, exc)
                raise TrainingError(plain_words(exc, algorithm, _labels(pipeline))) from None
        fitted = time.perf_counter()
        result = compute_metrics(
            board.task,
            pipeline,
            X_test,
            y[test_rows],
            X_train,
            report=lambda share: heartbeat.beat(),
        )
        predict_seconds.append(round(time.perf_counter() - fitted, 6))
        fit_seconds.append(round(fitted - started, 6))
        heartbeat.beat()
        for name in scores:
            value = result.get(name)
            scores[name].append(None if value is None else float(value))
    return jsonsafe.finite(scores), fit_seconds, predict_seconds


def _labels(pipeline: Any) -> list[str]:
    try:
        return encoded_labels(pipeline)
    except AttributeError:  # the failure came before the preprocessing was fitted
        return []


def fold_metric(scores: dict[str, list[Any]], name: str) -> tuple[float | None, float | None]:
    """(mean, standard deviation) of one metric over the folds; None when a fold has none."""
    values = scores.get(name) or []
    if not values or any(v is None for v in values):
        return None, None
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std())
