"""Batch prediction of an uploaded CSV: the file, unchanged, with the prediction columns
and a `warnings` column (categories the model did not see in training, per row), and on
request reason_1..reason_3 (the columns that moved each row's prediction most)."""

from __future__ import annotations

from typing import Any

import numpy as np

from registry import csvio
from registry.algorithms import CLUSTERING, DECOMPOSITION
from registry.serving.bodies import CsvUpload
from registry.serving.explain import reasons
from registry.serving.predict import predict
from registry.serving.resolve import ServedVersion

REASONS = 3  # reason_1..reason_3


def _unique(name: str, taken: list[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def prediction_columns(
    served: ServedVersion, result: dict[str, Any]
) -> list[tuple[str, list[Any]]]:
    predictions = result["predictions"]
    if served.kind == DECOMPOSITION:
        components = np.round(np.asarray(predictions, dtype=float), 6)
        return [
            *(
                (f"component_{j + 1}", components[:, j].tolist())
                for j in range(components.shape[1])
            ),
            warning_column(result),
        ]
    label = "cluster" if served.kind == CLUSTERING else "prediction"
    columns = [(label, list(predictions))]
    if result.get("probabilities") is not None:
        probabilities = np.round(np.asarray(result["probabilities"]), 6)
        for j, name in enumerate(result["classes"]):
            columns.append((f"probability_{name}", probabilities[:, j].tolist()))
    return [*columns, warning_column(result)]


def warning_column(result: dict[str, Any]) -> tuple[str, list[str]]:
    """The `warnings` column: each row's warnings in words, empty for a row without one."""
    return "warnings", [" ".join(w["detail"] for w in row) for row in result["warnings"]]


def reason_columns(result: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """reason_1..reason_3: each row's columns that moved its prediction most, signed."""
    per_row = reasons(result["explanations"], k=REASONS)
    return [(f"reason_{i + 1}", [row[i] for row in per_row]) for i in range(REASONS)]


def predict_csv(
    served: ServedVersion,
    data: bytes,
    *,
    user: Any,
    source: str = "batch",
    with_reasons: bool = False,
) -> bytes:
    """The uploaded CSV, unchanged, with the prediction (and probability) columns added;
    `with_reasons`: and reason_1..reason_3 (explain.reasons; at most
    MLSERVE_MAX_EXPLAIN_ROWS rows)."""
    columns, values = predict_csv_columns(
        served, data, user=user, source=source, with_reasons=with_reasons
    )
    return csvio.write_csv(columns, values)


def predict_csv_columns(
    served: ServedVersion,
    data: bytes,
    *,
    user: Any,
    source: str = "batch",
    with_reasons: bool = False,
) -> tuple[list[str], dict[str, Any]]:
    """What predict_csv writes, as columns: the file's (its cells as sent), then the
    prediction columns; background batch jobs (registry/batchjobs/) write them as CSV or
    Parquet."""
    upload = CsvUpload(data)
    result = predict(served, upload, user=user, source=source, explain=with_reasons)
    assert upload.read is not None  # read by predict
    assert upload.read.text_columns is not None
    header, texts = upload.read.columns, upload.read.text_columns()  # echoed as sent
    columns = list(header)
    values: dict[str, Any] = dict(zip(header, texts, strict=True))
    added = prediction_columns(served, result)
    if with_reasons:
        added += reason_columns(result)
    for name, column in added:
        name = _unique(name, columns)
        columns.append(name)
        values[name] = column
    return columns, values
