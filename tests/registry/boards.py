"""Leaderboards for the page and API tests: planned by services.leaderboard_create, with
the trials' results written as a worker would leave them (the engine's own tests run them)."""

from registry import services
from registry.leaderboard.run import update_board
from registry.models import Leaderboard, Trial

# Per algorithm, the accuracy of each fold (of its first trial); the other metrics follow.
ACCURACY = {"logistic_regression": [0.8, 0.9], "gaussian_nb": [0.7, 0.75]}


def make_board(owner, dataset, *, algorithms=("logistic_regression", "gaussian_nb"), **extra):
    return services.leaderboard_create(
        user=owner,
        dataset=dataset,
        target="churned",
        algorithms=list(algorithms),
        folds=2,
        n_iter=extra.pop("n_iter", 1),
        seed=extra.pop("seed", 7),
        **extra,
    )


def finish(board: Leaderboard, accuracy: dict | None = None, *, failed: dict | None = None):
    """Each trial done with its algorithm's fold accuracies (the first trial of each
    algorithm; later ones score 0.1 lower), or failed with the reason given in `failed`;
    the trials of an algorithm in neither stay queued."""
    accuracy = ACCURACY if accuracy is None else accuracy
    failed = failed or {}
    seen: set[str] = set()
    for trial in board.trials.all():
        if trial.algorithm in failed:
            Trial.objects.filter(pk=trial.pk).update(
                status=Trial.Status.FAILED, reason=failed[trial.algorithm]
            )
            continue
        if trial.algorithm not in accuracy:
            continue
        folds = [a - (0.1 if trial.algorithm in seen else 0.0) for a in accuracy[trial.algorithm]]
        seen.add(trial.algorithm)
        scores = {
            "accuracy": folds,
            "f1_macro": [a - 0.05 for a in folds],
            "precision_macro": folds,
            "recall_macro": folds,
            "log_loss": [1 - a for a in folds],
        }
        Trial.objects.filter(pk=trial.pk).update(
            status=Trial.Status.DONE,
            scores=scores,
            fit_seconds=[0.01, 0.02],
            predict_seconds=[0.001, 0.002],
            attempts=1,
        )
    update_board(board.pk)
    board.refresh_from_db()
    return board
