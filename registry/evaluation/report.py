"""What an evaluation shows: its record as the API gives it, the side-by-side metrics with
deltas against the first version, and the download of the rows a version got wrong."""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse

from registry import csvio
from registry.errors import NotFound
from registry.leaderboard import LOWER_IS_BETTER
from registry.models import Dataset, Evaluation, EvaluationStatus

# The metrics compared side by side, in this order (each when a version has it).
COMPARED = (
    "accuracy",
    "f1_macro",
    "precision_macro",
    "recall_macro",
    "log_loss",
    "roc_auc",
    "average_precision",
    "r2",
    "rmse",
    "mae",
    "explained_variance",
)
# What the detail drops of each version's results: the row lists (the download has them).
ROW_LISTS = ("wrong_rows", "wrong_predicted")


def comparison(evaluation: Evaluation) -> list[dict[str, Any]]:
    """One entry per metric: each version's value and its difference from the first
    version's (None for the first, or when either is missing)."""
    results = evaluation.results or {}
    numbers = [str(n) for n in evaluation.versions if str(n) in results]
    if not numbers:
        return []
    rows = []
    for metric in COMPARED:
        values = [_number((results[n].get("metrics") or {}).get(metric)) for n in numbers]
        if all(v is None for v in values):
            continue
        first = values[0]
        rows.append(
            {
                "metric": metric,
                "lower_is_better": metric in LOWER_IS_BETTER,
                "values": [
                    {
                        "version": int(n),
                        "value": value,
                        "delta": None
                        if i == 0 or value is None or first is None
                        else value - first,
                    }
                    for i, (n, value) in enumerate(zip(numbers, values, strict=True))
                ],
            }
        )
    return rows


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def download_url(evaluation: Evaluation, version: int) -> str:
    return reverse(
        "api:download_evaluation_rows",
        kwargs={"name": evaluation.model.name, "evaluation_id": evaluation.pk, "version": version},
    )


def to_dict(evaluation: Evaluation, *, detail: bool) -> dict[str, Any]:
    """The evaluation as the API shows it to its owner (it names their private dataset)."""
    data: dict[str, Any] = {
        "id": evaluation.pk,
        "model": evaluation.model.name,
        "status": evaluation.status,
        "progress": evaluation.progress,
        "dataset": {
            "id": evaluation.dataset_id,
            "name": evaluation.dataset_name,
            "sha256": evaluation.dataset_sha256,
        },
        "target": evaluation.target,
        "versions": evaluation.versions,
        "error": evaluation.error or None,
        "created_at": evaluation.created_at,
        "started_at": evaluation.started_at,
        "finished_at": evaluation.finished_at,
        "url": evaluation.get_absolute_url(),
    }
    if detail:
        done = evaluation.status == EvaluationStatus.DONE
        data["results"] = {
            number: {
                **{k: v for k, v in result.items() if k not in ROW_LISTS},
                "wrong_rows_url": download_url(evaluation, int(number)),
            }
            for number, result in (evaluation.results or {}).items()
        }
        data["comparison"] = comparison(evaluation) if done else []
    return data


def wrong_rows_csv(evaluation: Evaluation, version: int) -> tuple[str, bytes]:
    """(file name, CSV): the dataset's rows that `version` got wrong (a regressor's: every
    scored row, largest error first), as written, with a `predicted` column."""
    result = (evaluation.results or {}).get(str(version))
    if evaluation.status != EvaluationStatus.DONE or result is None:
        raise NotFound(f"Evaluation {evaluation.pk} has no results for version {version}.")
    stored = Dataset.objects.filter(pk=evaluation.dataset_id).values_list("csv", "options").first()
    if stored is None:
        raise NotFound(
            f"The dataset {evaluation.dataset_name!r} was deleted: its rows can no longer be "
            "downloaded."
        )
    header, cells, _ = csvio.split_cells(bytes(stored[0]), max_rows=10**9, options=stored[1])
    rows = result.get("wrong_rows") or []
    columns = list(header)
    name = _unique("predicted", columns)
    values: dict[str, Any] = {c: cells[rows, i].tolist() for i, c in enumerate(header)}
    values[name] = result.get("wrong_predicted") or []
    columns.append(name)
    stem = re.sub(r"[^A-Za-z0-9.-]+", "_", evaluation.dataset_name).strip("._-")[:80] or "rows"
    filename = f"{evaluation.model.name}-v{version}-wrong-{stem.removesuffix('.csv')}.csv"
    return filename, csvio.write_csv(columns, values)


def _unique(name: str, taken: list[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate
