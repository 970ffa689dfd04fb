"""Ground-truth feedback: the true answers for logged predictions, named by their ids.

Every prediction answer carries a "prediction_id" (one UUID per request, logged with the
request: PredictionLog.request_id) and per row "<prediction_id>:<i>". A label joins the
logged prediction of that row: `plan` reads the log rows of the ids sent (this model's
only), decides per item whether it is new, the same as before, a change, unknown, another
user's, or not a label this version can be scored on, and services.feedback_record writes
the outcome. Only what the log kept can be joined: a request the log sampled out
(MLSERVE_PREDICTION_LOG_RATE below 1) or dropped, and rows past the log's per-request
bound (MLSERVE_PREDICTION_LOG_MAX_ROWS, MLSERVE_PREDICTION_LOG_MAX_BYTES), are "unknown".

A shadow version's log rows carry the same request id as the champion's: one label then
scores both versions (one Feedback row per version).
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from registry import csvio, jsonsafe
from registry.algorithms import CLASSIFIER, REGRESSOR
from registry.errors import InvalidInput, TooLarge
from registry.models import Feedback, ModelVersion, PredictionLog, RegisteredModel

MAX_ITEMS = 10_000  # labels per request
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_LABEL_CHARS = 200
PROBLEMS_SHOWN = 10
LOOKUP_CHUNK = 200  # request ids per log query (each row brings its logged outputs)
OUTCOMES = ("accepted", "updated", "unchanged", "unknown", "refused", "invalid")


@dataclass
class Plan:
    """What a batch of labels does: rows to create and update, and per item its outcome."""

    create: list[Feedback] = field(default_factory=list)
    update: dict[int, Feedback] = field(default_factory=dict)  # by primary key
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    problems: list[dict[str, Any]] = field(default_factory=list)

    def note(self, outcome: str, index: int, prediction_id: Any, detail: str = "") -> None:
        self.counts[outcome] += 1
        if detail and len(self.problems) < PROBLEMS_SHOWN:
            self.problems.append(
                {"index": index, "prediction_id": str(prediction_id)[:100], "detail": detail}
            )

    def summary(self) -> str:
        said = [f"{n:,} {outcome}" for outcome, n in self.counts.items() if n]
        text = ", ".join(said) or "nothing sent"
        if self.counts["updated"]:
            text += " (a different label than before replaced the old one)"
        return text[0].upper() + text[1:] + "."


# Reading a body ------------------------------------------------------------------------------


def check_count(n: int) -> None:
    if n > MAX_ITEMS:
        raise TooLarge(f"{n:,} labels in one request: send at most {MAX_ITEMS:,} at a time.")


def items_from_json(data: Any) -> list[tuple[Any, Any]]:
    """[{"prediction_id", "label"}, ...] -> [(id, label)], bounded before anything else."""
    if not isinstance(data, list):
        raise InvalidInput('Send a JSON list of {"prediction_id": ..., "label": ...} objects.')
    check_count(len(data))
    items = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "prediction_id" not in item or "label" not in item:
            raise InvalidInput(f'Item {i} is not an object with "prediction_id" and "label".')
        items.append((item["prediction_id"], item["label"]))
    return items


def items_from_csv(data: bytes) -> list[tuple[Any, Any]]:
    """A CSV with the columns prediction_id and label (others ignored) -> [(id, label)]."""
    if len(data) > MAX_CSV_BYTES:
        raise TooLarge(f"The CSV is over {MAX_CSV_BYTES // 1024 // 1024} MB: send it in parts.")
    check_count(max(0, data.count(b"\n") - 1))
    if b"\x00" in data:  # PostgreSQL can neither store nor compare text holding one
        raise InvalidInput("The CSV holds a NUL character: it is not accepted in any value.")
    # Read as an upload is (csvio): UTF-8, else Windows-1252 (an Excel export), and the
    # delimiter detected (semicolons from a European Excel, tabs).
    try:
        text, _ = csvio.decode_as(data, csvio.DETECT)
    except csvio.CSVError as exc:
        raise InvalidInput(str(exc)) from None
    try:
        return _csv_items(text, csvio.detect_delimiter(text))
    except csv.Error as exc:  # e.g. an unterminated quoted cell
        raise InvalidInput(f"The CSV cannot be read: {exc}.") from None


def _csv_items(text: str, delimiter: str) -> list[tuple[Any, Any]]:
    # newline="": the csv module reads line breaks itself (quoted ones are data).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader, [])]
    if "prediction_id" not in header or "label" not in header:
        raise InvalidInput(
            "The CSV needs a header with the columns prediction_id and label "
            f"(found: {', '.join(header)[:200] or 'none'})."
        )
    at_id, at_label = header.index("prediction_id"), header.index("label")
    items = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) <= max(at_id, at_label):
            raise InvalidInput(f"Line {line} has {len(cells)} cells, fewer than the header.")
        items.append((cells[at_id].strip(), cells[at_label].strip()))
    check_count(len(items))
    return items


# Joining ------------------------------------------------------------------------------------


def parse_id(text: Any) -> tuple[uuid.UUID, int] | None:
    """ "<uuid>:<row>" -> (uuid, row); a bare request id names its row 0."""
    if not isinstance(text, str) or len(text) > 60:
        return None
    head, _, row = text.partition(":")
    try:
        request_id = uuid.UUID(head)
        number = int(row) if row else 0
    except ValueError:
        return None
    return (request_id, number) if number >= 0 else None


def key(value: Any) -> str:
    """A class label as comparable text: 1, 1.0 and "1" are the same answer."""
    return str(jsonsafe.label(value))


def _label(value: Any, kind: str) -> tuple[Any, str]:
    """(the label as stored, "" or why it cannot be one) for a version of this kind."""
    if kind == REGRESSOR:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return None, "a regressor's label is a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "a regressor's label is a number"
        if not math.isfinite(value):
            return None, "the label is not a finite number"
        return value, ""
    if kind != CLASSIFIER:
        return None, f"a {kind} model has no true answers to score against"
    if isinstance(value, str):
        if not value or len(value) > MAX_LABEL_CHARS:
            return None, f"a class label is 1 to {MAX_LABEL_CHARS} characters"
        return value, ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (jsonsafe.label(value), "") if math.isfinite(value) else (None, "not finite")
    if isinstance(value, bool):
        return value, ""
    return None, "a label is a class label or a number"


def _log_rows(model: RegisteredModel, request_ids: list[uuid.UUID]) -> dict[uuid.UUID, list]:
    """request id -> its successful log rows for this model's versions."""
    found: dict[uuid.UUID, list] = {}
    for start in range(0, len(request_ids), LOOKUP_CHUNK):
        rows = PredictionLog.objects.filter(
            request_id__in=request_ids[start : start + LOOKUP_CHUNK],
            version__model=model,
            status__lt=400,
        ).values_list("request_id", "version_id", "user_id", "created_at", "outputs")
        for row in rows:
            found.setdefault(row[0], []).append(row)
    return found


def plan(*, user: Any, model: RegisteredModel, items: list[tuple[Any, Any]], owner: bool) -> Plan:
    """What `items` [(prediction id, label)] do to the model's feedback; `owner`: the caller
    may label anyone's predictions of this model (else only their own)."""
    result = Plan()
    parsed = [parse_id(prediction_id) for prediction_id, _ in items]
    request_ids = sorted({p[0] for p in parsed if p is not None})
    logged = _log_rows(model, request_ids)
    kinds = {
        v.pk: v.kind
        for v in ModelVersion.objects.filter(
            pk__in={row[1] for rows in logged.values() for row in rows}
        ).only("algorithm")
    }
    existing = {
        (f.request_id, f.row, f.version_id): f
        for start in range(0, len(request_ids), LOOKUP_CHUNK)
        for f in Feedback.objects.filter(
            request_id__in=request_ids[start : start + LOOKUP_CHUNK], version__model=model
        )
    }
    for index, ((prediction_id, value), ids) in enumerate(zip(items, parsed, strict=True)):
        if ids is None:
            result.note(
                "unknown",
                index,
                prediction_id,
                f"{str(prediction_id)[:60]!r} is not a prediction id (<uuid>:<row>)",
            )
            continue
        request_id, row = ids
        rows = [
            r for r in logged.get(request_id, ()) if r[4] and row < len(r[4].get("predictions", ()))
        ]
        if not rows:
            result.note(
                "unknown",
                index,
                prediction_id,
                f"no logged prediction of {model.name} has this id (the log may have sampled "
                "the request out, kept fewer of its rows, or been pruned)",
            )
            continue
        if not owner and any(r[2] != user.pk for r in rows):
            result.note("refused", index, prediction_id, "another user's prediction")
            continue
        label, why = _label(value, kinds.get(rows[0][1], ""))
        if why:
            result.note("invalid", index, prediction_id, why)
            continue
        outcome = "unchanged"
        for _, version_id, _, created_at, outputs in rows:
            known = existing.get((request_id, row, version_id))
            if known is None:
                known = Feedback(
                    request_id=request_id,
                    row=row,
                    version_id=version_id,
                    label=label,
                    predicted=outputs["predictions"][row],
                    predicted_at=created_at,
                    created_by=user,
                )
                existing[request_id, row, version_id] = known
                result.create.append(known)
                outcome = "accepted"
            elif known.label != label:
                known.label = label
                if known.pk is not None:
                    result.update[known.pk] = known
                outcome = "updated" if outcome != "accepted" else outcome
        result.note(outcome, index, prediction_id)
    return result
