"""Leaderboards: every applicable algorithm on one dataset and target, cross-validated, with a
random search over its hyperparameters (PyCaret's compare_models, H2O's leaderboard).

A board (models.Leaderboard) is planned at once (search.py: the defaults of each algorithm
plus `n_iter` random configurations) into Trials; each trial is one task on the queue, run
by any `db_worker` in a forked child like a training (registry/tasks.py), which scores it on
every fold (folds.py, run.py). selectors.leaderboard_rows ranks the algorithms by their best
trial.

folds.py   the folds: stratified for classifiers, shuffled with the board's seed
search.py  the plan: configurations per algorithm, deterministic from the seed
run.py     one trial: per fold, the training pipeline fitted on the training part only
"""

from __future__ import annotations

from registry.algorithms import CLASSIFIER, HEADLINE_METRIC, REGRESSOR

# Every metric compute_metrics gives for a kind (the board keeps each per fold).
METRICS: dict[str, tuple[str, ...]] = {
    CLASSIFIER: ("accuracy", "f1_macro", "precision_macro", "recall_macro", "log_loss"),
    REGRESSOR: ("r2", "rmse", "mae", "explained_variance"),
}
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
TASKS = (CLASSIFIER, REGRESSOR)


def default_metric(task: str) -> str:
    return HEADLINE_METRIC[task]
