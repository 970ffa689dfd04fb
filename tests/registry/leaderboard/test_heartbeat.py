"""A leaderboard trial beats from inside each fold's fit and scoring, as a training does
(tests/registry/training/test_heartbeat.py): it never goes quiet, so the worker's watchdog
watches it from start to end."""

import pytest

from numpyml.pipeline import Pipeline
from registry import services
from registry.leaderboard.run import score_trial
from registry.models import Trial
from tests.registry.training.test_heartbeat import RecordingHeartbeat, inside

pytestmark = pytest.mark.django_db


def test_a_trial_beats_inside_each_fold_and_never_goes_quiet(owner, make_dataset, monkeypatch):
    heartbeat = RecordingHeartbeat()
    original = Pipeline.fit

    def marked(self, *args, **kwargs):
        heartbeat.signs.append("fit:start")
        try:
            return original(self, *args, **kwargs)
        finally:
            heartbeat.signs.append("fit:end")

    monkeypatch.setattr(Pipeline, "fit", marked)
    board = services.leaderboard_create(
        user=owner,
        dataset=make_dataset("churn.csv"),
        target="churned",
        algorithms=["gaussian_nb", "knn_classifier"],
        n_iter=1,
        folds=3,
        seed=5,
    )
    for trial in Trial.objects.filter(leaderboard=board).select_related("leaderboard"):
        heartbeat.signs.clear()
        score_trial(trial, heartbeat)
        signs = heartbeat.signs
        assert "QUIET" not in signs, signs
        assert signs.count("fit:start") == 3
        for fold in range(3):
            assert inside(signs, "fit").count("beat") >= 2, (trial.algorithm, fold, signs)
            end = signs.index("fit:end")
            # The fold's scoring beats too before the next fold's fit.
            assert "beat" in signs[end + 1 : [*signs, "fit:start"].index("fit:start", end)]
            signs = signs[end + 1 :]
