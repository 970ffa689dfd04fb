"""Evaluations: versions of one model scored on the same new labelled rows, side by side.

A user uploads a labelled CSV (or chooses one of their datasets) on the model page or
`POST /api/v1/models/{name}/evaluations`; services.evaluation_create checks the plan and
queues it; the task worker scores it (tasks.run_evaluation, in a child process like a
training) and the page and API show the metrics side by side.

plan.py    which versions (default: production and the newest ready), the target, the bounds
run.py     the scoring, through serving.predict_table (exactly as served), and the counts
report.py  the API's record, the side-by-side comparison, the wrong rows as CSV
"""

from registry.evaluation.plan import MAX_VERSIONS, Plan, default_versions, plan
from registry.evaluation.report import comparison, to_dict, wrong_rows_csv

__all__ = [
    "MAX_VERSIONS",
    "Plan",
    "comparison",
    "default_versions",
    "plan",
    "to_dict",
    "wrong_rows_csv",
]
