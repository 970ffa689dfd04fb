"""A fit's progress reports: the callback's contract and the Progress helper estimators
create per fit (a module of its own, which numpyml.base and numpyml.metrics both import)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

# A fit's progress callback gets {"iteration", "max_iter", "loss"} and, from fits whose
# iterations do not measure their work (a solver that stops when it converges, a tree that
# stops when its leaves are pure), "share": an estimate in [0, 1] of the work done. A fit
# made of several (probability=True: calibration folds, then the final model) marks the
# folds' reports "calibration": True, their losses being of other models. A fit without
# iterations (a closed form, a count per class, rows kept) reports each part of its work
# as it is done, with no "loss" (it has no loss curve): "iteration" is the part, "max_iter"
# the number of parts and "share" their ratio (Progress.part). So every fit that takes a
# callback calls it from inside its own work, and a caller can tell a fit that goes on from
# one that hangs; a part is at most one numpy call whose cost the data's size bounds.
ProgressCallback = Callable[[dict[str, Any]], None]


def convergence_share(first: float, current: float, tol: float) -> float:
    """How far a quantity that must fall from `first` to below `tol` has come, on a log
    scale (iterative solvers shrink their error about geometrically): 0 at `first`, 1 at
    `tol`. An estimate for a progress bar, not a promise."""
    if current < tol:
        return 1.0
    if not first > tol > 0 or not math.isfinite(first) or not math.isfinite(current):
        return 0.0
    return float(min(max(math.log(first / current) / math.log(first / tol), 0.0), 1.0))


class Progress:
    """Reports fit progress to a callback about 100 times per fit (or each time the fit's
    estimated share of work done grows by a hundredth), and at least every
    `REPORT_EVERY_S` seconds while iterations go on, and records the loss curve.

    Iterative estimators create one per fit: `progress = Progress(callback, max_iter)`,
    call `progress.step(iteration, loss)` once per iteration (iteration counts from 1),
    and keep `progress.losses` as `loss_curve_`. The timed reports let a caller tell a
    long fit that still iterates (a large max_iter: one report in 1,000 iterations) from
    one that stopped.
    """

    REPORT_EVERY_S = 1.0

    def __init__(self, callback: ProgressCallback | None, max_iter: int) -> None:
        self.callback = callback
        self.max_iter = max(int(max_iter), 1)
        self.every = max(self.max_iter // 100, 1)
        self.losses: list[float] = []
        self.last_report = time.monotonic()
        self.shares = False  # whether the fit estimates its share of work done
        self.last_share = 0.0
        self.last_iteration = 0

    def step(self, iteration: int, loss: float, share: float | None = None) -> None:
        """Record one iteration's loss; `share` is the fit's estimate of its work done, for
        fits that stop well before max_iter (see ProgressCallback)."""
        self.losses.append(float(loss))
        if self.callback is None:
            return
        self.shares |= share is not None
        now = time.monotonic()
        # A hundredth of the work: of the iterations, or of the fit's own estimate.
        if share is None:
            moved = iteration % self.every == 0
        else:
            moved = iteration - self.last_iteration >= self.every or share - self.last_share >= 0.01
        if moved or iteration == self.max_iter or now - self.last_report >= self.REPORT_EVERY_S:
            self.last_report, self.last_iteration = now, iteration
            self.last_share = share if share is not None else self.last_share
            info = {"iteration": iteration, "max_iter": self.max_iter, "loss": float(loss)}
            if share is not None:
                info["share"] = float(share)
            self.callback(info)

    def part(self, part: int) -> None:
        """Report that part `part` (from 1) of the `max_iter` parts of a fit without
        iterations is done: no loss, and every part reported (there are few)."""
        if self.callback is not None:
            self.last_report, self.last_iteration = time.monotonic(), part
            share = min(part / self.max_iter, 1.0)
            self.callback({"iteration": part, "max_iter": self.max_iter, "share": share})

    def done(self, iteration: int) -> None:
        """Final report when the fit converged before max_iter."""
        if self.callback is not None and self.losses and iteration != self.last_iteration:
            info = {"iteration": iteration, "max_iter": self.max_iter, "loss": self.losses[-1]}
            if self.shares:  # the fit is over: all its work is done
                info["share"] = 1.0
            self.callback(info)
