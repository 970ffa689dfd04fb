"""services.leaderboard_register: the winning configuration, trained by the real worker on
every row of the board's dataset, as a version linked back to the board."""

import numpy as np
import pytest

import numpyml
from numpyml.metrics import accuracy_score
from registry import services
from registry.algorithms import ALGORITHMS
from registry.errors import Conflict, Forbidden
from registry.models import ModelVersion, Trial
from registry.pipeline import build_pipeline
from registry.training.data import load_training_data
from tests.registry.boards import finish, make_board

pytestmark = pytest.mark.django_db


def _crown(board, trial):
    """`trial` scores best of the board (every other done trial lower)."""
    Trial.objects.filter(pk=trial.pk).update(
        scores={**trial.scores, "accuracy": [0.99, 0.98], "log_loss": [0.01, 0.02]}
    )


@pytest.mark.django_db(transaction=True)  # the worker closes and reopens connections
def test_it_trains_the_winning_configuration_on_every_row(owner, make_dataset, worker):
    board = finish(make_board(owner, make_dataset("churn.csv")))
    winner = board.trials.get(algorithm="logistic_regression", is_default=False)
    _crown(board, winner)
    version = services.leaderboard_register(board=board, user=owner, model_name="churn-best")
    assert version.leaderboard_id == board.pk
    assert (version.algorithm, version.params) == ("logistic_regression", winner.params)
    assert (
        version.params != board.trials.get(algorithm="logistic_regression", is_default=True).params
    )
    assert [f["name"] for f in version.features] == [f["name"] for f in board.features]

    worker()  # the real db_worker: the training (and the board's queued trial tasks)
    version = ModelVersion.objects.select_related("model").get(pk=version.pk)
    assert version.status == "ready", version.error
    X, y, _, _ = load_training_data(version)
    rows = len(y)
    assert version.metrics["refit_rows"] == rows > version.metrics["n_train"]

    # The configuration refitted on every row, outside the registry: the same predictions.
    spec = ALGORITHMS["logistic_regression"]
    expected = build_pipeline(spec, winner.params, board.features).fit(X, y)
    got = numpyml.load(bytes(version.artifact)).predict_with_proba(X)
    want = expected.predict_with_proba(X)
    assert list(got[0]) == list(want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-12)
    assert accuracy_score(y, got[0]) > 0.5


def test_it_registers_into_an_existing_model_as_its_next_version(owner, make_dataset, churn):
    board = finish(make_board(owner, make_dataset("churn.csv", dataset_name="again")))
    version = services.leaderboard_register(
        board=board, user=owner, model_name="churn", algorithm="gaussian_nb"
    )
    assert (version.model.name, version.version, version.algorithm) == ("churn", 2, "gaussian_nb")


def test_only_the_boards_owner_may_register_and_only_a_finished_row(owner, other, make_dataset):
    board = make_board(owner, make_dataset("churn.csv"))
    with pytest.raises(Conflict):
        services.leaderboard_register(board=board, user=owner, model_name="early")
    finish(board)
    with pytest.raises(Forbidden):
        services.leaderboard_register(board=board, user=other, model_name="theirs")
    board.dataset.delete()
    board.refresh_from_db()
    with pytest.raises(Conflict, match="deleted"):
        services.leaderboard_register(board=board, user=owner, model_name="gone")
    assert not ModelVersion.objects.exists()
