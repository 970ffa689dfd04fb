"""Signs of life and progress of a training: the child's heartbeat down a pipe to the
worker (tasks.run_isolated), and progress with the loss curve written to the version."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from registry.models import ModelVersion

PROGRESS_LOAD, PROGRESS_FIT_START, PROGRESS_FIT_END, PROGRESS_METRICS = 5, 10, 85, 90
# A model that keeps its training rows (k-NN) does its work when it scores the holdout.
PROGRESS_SCORING_KEPT_ROWS = 15
PROGRESS_WRITE_INTERVAL_S = 0.3


class Heartbeat:
    """The training child's signs of life to the worker (tasks.run_isolated), one byte each
    down a pipe: BEAT from inside the work (each progress step; each report of the fit,
    which every numpyml fit sends from inside its own work, per iteration or per part; each
    part of the metrics, plots, permutation importance and profile). A training (and a
    leaderboard trial) never goes quiet: between two beats runs at most one numpy call, or
    one matplotlib figure, whose cost the training's limits bound, so MLSERVE_TRAIN_STALL_S
    watches it from start to end. QUIET, before a step that reports nothing, is left for
    the job that still has one (an evaluation reading its file and computing its metrics),
    which the watchdog then leaves to the time limit.
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

    def __init__(
        self,
        version_id: int,
        heartbeat: Heartbeat | None = None,
        *,
        fit_end: float = PROGRESS_FIT_END,
    ) -> None:
        self.version_id = version_id
        self.heartbeat = heartbeat or Heartbeat()
        # Where the fit's reports take the bar: a model that keeps its training rows does its
        # work when it scores the holdout (PROGRESS_SCORING_KEPT_ROWS on), not in its fit.
        self.fit_end = fit_end
        self.last_write = 0.0
        self.losses: list[float] = []
        self.fit_share = 0.0

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
        """numpyml's fit callback (numpyml.progress.ProgressCallback): the fit's own estimate of
        its share of work done when it gives one, else its iterations out of max_iter; the
        bar never moves back. The losses of a calibration fold's fit (numpyml.calibration:
        an SVM or perceptron with probabilities) are of another model: the curve skips them.
        A fit without iterations reports its parts with no loss: no curve, only progress."""
        if "loss" in info and not info.get("calibration"):
            loss = float(info["loss"])
            self.losses.append(loss if np.isfinite(loss) else None)
        share = info.get("share")
        if share is None:
            share = info["iteration"] / max(info["max_iter"], 1)
        self.fit_share = max(self.fit_share, min(max(float(share), 0.0), 1.0))
        progress = PROGRESS_FIT_START + self.fit_share * (self.fit_end - PROGRESS_FIT_START)
        self.set(progress, loss_curve=self.losses)

    def beat(self, _info: Any = None) -> None:
        """A sign of life and nothing else: a numpyml callback for work that moves no bar
        (a refit, the permutation importance), or a plain call between parts of a step."""
        self.heartbeat.beat()

    def scoring(self, start: float) -> Callable[[float], None]:
        """A report(share) for the scoring of the holdout rows, from `start` to
        PROGRESS_METRICS."""
        return lambda share: self.set(start + share * (PROGRESS_METRICS - start))
