"""The training child's signs of life come from inside its own work, for every algorithm:
the fit beats as it goes (an iterative fit at its iteration reports, the others at each
part of their work), and so do the metrics, the plots, the permutation importance and the
profile, so that the worker's watchdog (tasks.run_isolated) watches a training from start
to end and no step is left to the time limit alone (tests/system/test_training_worker.py
shows a hung fit killed)."""

import itertools

import pytest

import numpyml
from numpyml.pipeline import Pipeline
from registry import services
from registry.algorithms import ALGORITHMS
from registry.training import plots
from registry.training import run as run_module
from registry.training.progress import Heartbeat
from tests.registry.training.test_training import DATA, FEATURES

pytestmark = pytest.mark.django_db

# The steps of a training after the data is read, each marked where it starts and ends.
STEPS = [
    (Pipeline, "fit"),
    (run_module, "compute_metrics"),
    (plots, "render_all"),
    (run_module, "measure_importance"),
    (numpyml, "save"),
    (run_module, "_profile"),
]
# k-means finds the shoppers' three clear groups in two Lloyd iterations, within one report:
# the houses' columns take it more, so that its reports (each iteration's) can be counted.
DATA_FOR = {"kmeans": ("houses.csv", None)}
# One bounded call whose cost the model-size check before it bounds: it beats right before
# and after, not inside.
SINGLE_CALLS = {"save"}


class RecordingHeartbeat(Heartbeat):
    """The signs a child would send down its pipe, kept in order with the steps' marks."""

    def __init__(self) -> None:
        super().__init__()
        self.signs: list[str] = []

    def _send(self, sign: bytes) -> None:
        self.signs.append({self.BEAT: "beat", self.QUIET: "QUIET"}[sign])


@pytest.fixture
def heartbeat(monkeypatch) -> RecordingHeartbeat:
    recording = RecordingHeartbeat()
    for owner, name in STEPS:
        original = getattr(owner, name)

        def marked(*args, _original=original, _name=name, **kwargs):
            recording.signs.append(f"{_name}:start")
            try:
                return _original(*args, **kwargs)
            finally:
                recording.signs.append(f"{_name}:end")

        monkeypatch.setattr(owner, name, marked)
    return recording


def inside(signs: list[str], step: str) -> list[str]:
    start, end = signs.index(f"{step}:start"), signs.index(f"{step}:end")
    return signs[start + 1 : end]


@pytest.mark.parametrize("algorithm_id", sorted(ALGORITHMS))
def test_it_beats_all_through_the_training_and_never_goes_quiet(
    owner, make_dataset, heartbeat, algorithm_id
):
    algorithm = ALGORITHMS[algorithm_id]
    filename, target = DATA_FOR.get(algorithm_id, DATA[algorithm.kind])
    version = services.model_create_with_version(
        owner=owner,
        name=algorithm_id.replace("_", "-"),
        dataset=make_dataset(filename),
        algorithm=algorithm_id,
        target=target,
        features=FEATURES.get(algorithm_id),
    )

    assert run_module.train(version.pk, heartbeat) == "ready"

    signs = heartbeat.signs
    assert "QUIET" not in signs, signs
    # The fit beats from inside its own work, more than once.
    assert inside(signs, "fit").count("beat") >= 2, signs
    # No stretch between two marks (a step's start or end) without a beat in it, but the
    # one bounded call: a step beats between its parts, and the training between its steps.
    # (The permutation importance of a model without a target is nothing: it returns at once.)
    single = SINGLE_CALLS if algorithm.supervised else {*SINGLE_CALLS, "measure_importance"}
    marks = [i for i, sign in enumerate(signs) if ":" in sign]
    for before, after in itertools.pairwise(marks):
        step = signs[after].removesuffix(":end")
        if step in single and signs[before] == f"{step}:start":
            continue
        assert "beat" in signs[before + 1 : after], (signs[before], signs[after], signs)
