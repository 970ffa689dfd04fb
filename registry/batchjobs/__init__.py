"""Background batch scoring: a CSV larger than one request may carry, scored by the task
workers a chunk at a time, resumable after a worker is killed.

    POST /api/v1/models/{name}/batch-jobs (a file, or a dataset) -> services.batch_job_create:
    the version resolved, the file cut into chunks (plan.py) and stored -> tasks.run_batch_job
    -> run.py: each chunk through serving.predict_csv_columns, its result written with the
    chunk marked done in one transaction -> result.py: CSV or Parquet, streamed.

plan.py    the file's header and chunks, bounded (MLSERVE_MAX_BATCH_ROWS) as it is read
run.py     claim, score chunk by chunk, cancel between chunks, fail with the reason
result.py  the result streamed a chunk at a time, as CSV or Parquet
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from registry.batchjobs import result  # noqa: F401  (batchjobs.result)
from registry.errors import TooLarge


def chunk_rows(served: Any) -> int:
    """Rows per chunk for a version: MLSERVE_BATCH_CHUNK_ROWS, but never more than one
    predict request may hold (MLSERVE_MAX_PREDICT_ROWS) nor cost (MLSERVE_MAX_PREDICT_COST:
    a chunk is scored as one request is). TooLarge when not even one row fits the cost."""
    from registry import serving

    rows = min(settings.MLSERVE_BATCH_CHUNK_ROWS, settings.MLSERVE_MAX_PREDICT_ROWS)
    budget = settings.MLSERVE_MAX_PREDICT_COST
    if budget:
        per_row = serving.row_cost(served, serving.pipeline_cache().get(served))
        if budget // per_row < 1:
            raise TooLarge(
                f"Predicting even one row with {served.model} version {served.version} is over "
                "the budget of one request (MLSERVE_MAX_PREDICT_COST): ask the operator to "
                "raise it."
            )
        rows = min(rows, budget // per_row)
    return rows
