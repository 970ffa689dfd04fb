"""The one training path: dataset -> numpyml Pipeline -> holdout metrics, plots, artifact.

`train(version_id)` runs in the task worker (inside a child process, see tasks.py). It
moves the version from queued to running, reports progress at most a few times a second,
and ends with artifact, metrics and `ready` written in one transaction, or `failed` with
a message a person can act on.

data.py      the dataset read once, the target, the holdout split
progress.py  the child's heartbeat and the progress written to the version
evaluate.py  holdout metrics by kind, the input schema
run.py       one run, claim to ready or failed
plots.py     the SVG plots a version keeps
(the pipeline's shape is registry/pipeline.py's, shared with serving and transfer)
"""

from registry.pipeline import build_pipeline
from registry.training.data import TrainingError, load_training_data
from registry.training.evaluate import compute_metrics, input_schema
from registry.training.progress import (
    PROGRESS_FIT_END,
    PROGRESS_FIT_START,
    PROGRESS_LOAD,
    PROGRESS_METRICS,
    Heartbeat,
    ProgressWriter,
)
from registry.training.run import fail, train

__all__ = [
    "PROGRESS_FIT_END",
    "PROGRESS_FIT_START",
    "PROGRESS_LOAD",
    "PROGRESS_METRICS",
    "Heartbeat",
    "ProgressWriter",
    "TrainingError",
    "build_pipeline",
    "compute_metrics",
    "fail",
    "input_schema",
    "load_training_data",
    "train",
]
