"""The progress bar moves through the work: through a tree's growth and a k-NN's scoring
of the holdout (where it does nearly all its work), never backwards (SMO, Lloyd and EM
report their share of work: tests/numpyml/test_progress_share.py)."""

import pytest

from registry import services
from registry.training import progress as progress_module
from registry.training.progress import PROGRESS_FIT_START, ProgressWriter
from registry.training.run import train

pytestmark = pytest.mark.django_db


@pytest.fixture
def bar(monkeypatch):
    """Every progress value a training sets, in order."""
    seen: list[float] = []
    original = ProgressWriter.set

    def spy(self, progress, **fields):
        seen.append(progress)
        return original(self, progress, **fields)

    monkeypatch.setattr(ProgressWriter, "set", spy)
    return seen


def trained(owner, make_dataset, algorithm: str, **params) -> None:
    version = services.model_create_with_version(
        owner=owner,
        name="churn",
        dataset=make_dataset("churn.csv"),
        algorithm=algorithm,
        target="churned",
        params=params or None,
    )
    assert train(version.pk) == "ready"


@pytest.mark.parametrize(
    ("algorithm", "low", "high"),
    [
        ("knn_classifier", 15, 90),  # the holdout's scoring
        ("decision_tree_classifier", PROGRESS_FIT_START, 85),  # the tree's growth
    ],
)
def test_the_bar_moves_through_the_long_part(owner, make_dataset, bar, algorithm, low, high):
    trained(owner, make_dataset, algorithm)
    between = {round(p, 1) for p in bar if low < p < high}
    assert len(between) >= 2, bar
    assert bar == sorted(bar), bar


def test_the_bar_never_moves_back(db, monkeypatch):
    writes: list[int] = []
    monkeypatch.setattr(progress_module, "PROGRESS_WRITE_INTERVAL_S", 0)
    writer = ProgressWriter(version_id=0)
    monkeypatch.setattr(writer, "set", lambda progress, **fields: writes.append(int(progress)))
    for share in (0.5, 0.3, 0.8):
        writer.callback({"iteration": 1, "max_iter": 100, "loss": 1.0, "share": share})
    writer.callback({"iteration": 2, "max_iter": 100, "loss": 1.0})  # no share: iterations
    assert writes == [47, 47, 70, 70]
