"""The model card of an export file as a strict schema: every field an import stores.

An imported card is attacker-controlled content: whatever it holds is stored in the version
and later read by the models listing (its SQL casts the headline metric), the version page
(metrics, confusion matrix, explained variance, input schema) and the drift report (the
training-data profile). `check_card` validates every field with pydantic before anything is
written: types (a number is a JSON number, never a string or a boolean), finite values
within sane bounds (no 400-digit integer), shapes (a square confusion matrix of
non-negative counts over the card's classes, one proportion per profile bin) and how the
fields fit together (the profile describes the card's features). The first problem found
is raised as CardError, naming the field.

Metrics a newer instance may add are accepted only as bounded scalars (a number, a
boolean or null): that is all the pages show of an unknown metric.
"""

from __future__ import annotations

import logging
import math
import re
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, TypeAdapter, ValidationError

from registry import csvio
from registry.algorithms import (
    CLASSIFIER,
    CLUSTERING,
    DECOMPOSITION,
    REGRESSOR,
    Algorithm,
    ParamsError,
    clean_params,
)
from registry.models import MAX_DESCRIPTION, MAX_NOTE, MAX_TAGS, TAG_KEY_RE, TAG_VALUE_MAX

logger = logging.getLogger(__name__)
MAX_INT = 2**53  # exact in a float, in JSON and in SQL's double precision
MAX_FLOAT = 1e300
MAX_ITEMS = 1_000_000  # of any list in a card (the card itself is at most 64 MB)
MAX_TEXT = 10_000
MAX_ORIGIN_DEPTH = 32
SHA256_PATTERN = r"^[0-9a-f]{64}\z"  # Rust regex: \z is the very end, no newline
PLOT_NAME_PATTERN = r"^[a-z0-9_]{1,50}\z"
METRIC_NAME_RE = re.compile(r"[a-z0-9_]{1,50}")


class CardError(ValueError):
    """The card's `field` is not valid; `detail` says why."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" between {low:g} and {high:g}"
    if low is not None:
        return f" of at least {low:g}"
    return f" of at most {high:g}" if high is not None else ""


def _number(value: Any, low: float | None, high: float | None) -> Any:
    expected = f"must be a finite number{_bounds(low, high)}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(expected)
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise ValueError(f"{expected}, not a {len(str(abs(value)))}-digit integer")
    if not math.isfinite(value) or abs(value) > MAX_FLOAT:
        raise ValueError(expected)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(expected)
    return value


def number(low: float | None = None, high: float | None = None) -> Any:
    """A finite JSON number (an integer within ±2**53), within [low, high] if given."""
    return Annotated[Any, PlainValidator(lambda value: _number(value, low, high))]


def count(low: int = 0, high: int = MAX_INT) -> Any:
    """A whole JSON number (not a boolean, not 1.0) within [low, high]."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            shown = _bounds(low, None if high == MAX_INT else high)
            raise ValueError(f"must be a whole number{shown}")
        return value

    return Annotated[Any, PlainValidator(check)]


def _label(value: Any) -> Any:
    """A class label as training writes it: a string, a boolean or a number."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"must be at most {MAX_TEXT} characters")
        return value
    return value if isinstance(value, bool) else _number(value, None, None)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    try:
        return _number(value, None, None)
    except ValueError:
        raise ValueError("must be a finite number, a boolean or null") from None


Label = Annotated[Any, PlainValidator(_label)]
Scalar = Annotated[Any, PlainValidator(_scalar)]
Share = number(0, 1)
Finite = number()
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Name = Annotated[str, Field(min_length=1, max_length=1000)]
Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN)]
PlotName = Annotated[str, Field(pattern=PLOT_NAME_PATTERN)]
Stamp = Annotated[str, Field(max_length=64)]
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)?")


def _bound(value: Any) -> Any:
    """A feature's min or max: a finite number, or ISO text for a date feature."""
    if isinstance(value, str):
        if not _DATE_TEXT.fullmatch(value):
            raise ValueError("must be a finite number or an ISO 8601 date")
        return value
    return _number(value, None, None)


Bound = Annotated[Any, PlainValidator(_bound)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# The card's fields ---------------------------------------------------------------------------


class CardModel(Strict):
    name: Name
    version: count(1)
    description: Annotated[str, Field(max_length=100_000)] = ""


class Feature(Strict):
    name: Name
    type: Literal["number", "category", "date"]
    categories: Annotated[list[Text], Field(max_length=MAX_ITEMS)] | None = None
    format: Literal[csvio.DATE_FORMATS] | None = None  # type: ignore[valid-type]
    min: Bound = None
    max: Bound = None
    mean: Finite = None


class Training(Strict):
    test_size: number(0, 1)
    seed: count(0, 2**31 - 1)
    seconds: number(0) | None = None
    created_at: Stamp | None = None
    finished_at: Stamp | None = None
    created_by: Text | None = None


class Dataset(Strict):
    name: Text
    sha256: Sha256


class Artifact(Strict):
    file: Literal["artifact.npz"]
    format: Literal["numpyml"]
    sha256: Sha256
    size: count(1)


class Exported(Strict):
    instance: Text
    at: Stamp
    by: Text | None = None


class Origin(Strict):
    """What an imported version records about where it came from (transfer.origin)."""

    instance: Text
    exported_at: Stamp
    exported_by: Text | None = None
    model: Name
    version: count(1)
    card_sha256: Sha256
    artifact_sha256: Sha256
    format_version: count(1)
    signature: Text
    imported_at: Stamp
    imported_by: Text
    previous: Origin | None = None


def _tags(value: Any) -> Any:
    """Tags as the API edits them (services._tags_patch): at most MAX_TAGS, each key of
    TAG_KEY_RE, each value one line of at most TAG_VALUE_MAX characters."""
    if not isinstance(value, dict):
        raise ValueError("must be an object of tag key -> value")
    if len(value) > MAX_TAGS:
        raise ValueError(f"must hold at most {MAX_TAGS} tags, not {len(value)}")
    for key, text in value.items():
        if not TAG_KEY.match(key):
            raise ValueError(
                f"tag key {key[:70]!r} is not valid (1-64 letters, digits, '_', '.', '-' or "
                "'/', not starting with '.', '-' or '/')"
            )
        if not isinstance(text, str) or len(text) > TAG_VALUE_MAX or _CONTROL.search(text):
            raise ValueError(
                f"the value of tag {key!r} must be one line of text of at most "
                f"{TAG_VALUE_MAX} characters"
            )
    return value


TAG_KEY = re.compile(TAG_KEY_RE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Tags = Annotated[Any, PlainValidator(_tags)]


class Annotations(Strict):
    """What people wrote about the model and the version (services.model_edit and
    version_edit), with the API's bounds."""

    model_tags: Tags = {}
    version_description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] = ""
    version_note: Annotated[str, Field(max_length=MAX_NOTE)] = ""
    version_tags: Tags = {}


class Card(Strict):
    format: Literal["mlserving-model-card"]
    format_version: Literal[1]
    model: CardModel
    algorithm: Text
    kind: Literal[CLASSIFIER, REGRESSOR, CLUSTERING, DECOMPOSITION]
    params: dict[str, Any]
    target: Text
    features: Annotated[list[Feature], Field(min_length=1, max_length=100_000)]
    classes: Annotated[list[Label], Field(min_length=1, max_length=MAX_ITEMS)] | None
    metrics: dict[str, Any]
    profile: dict[str, Any]
    loss_curve: Annotated[list[Finite | None], Field(max_length=MAX_ITEMS)]
    plots: dict[PlotName, str]
    training: Training
    dataset: Dataset
    artifact: Artifact
    exported: Exported
    origin: Origin | None
    # Absent from cards made before tags and notes travelled: nothing to restore.
    annotations: Annotations | None = None


# Metrics, by kind of model --------------------------------------------------------------------


class ColumnImportance(Strict):
    name: Name
    mean: Finite
    std: number(0)


class PermutationImportance(Strict):
    """registry/training/importance.py: the score's drop when each column is shuffled."""

    scoring: Literal["accuracy", "r2"]
    n_repeats: count(1)
    n_rows: count(1)
    features: Annotated[list[ColumnImportance], Field(max_length=100_000)]


class Metrics(BaseModel):
    """What every kind records (registry/training/); unknown keys: bounded scalars only."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Scalar] = Field(init=False)

    n_train: count() = None
    n_test: count() = None
    stratified: bool = False
    rows_dropped_missing_target: count() = None
    warnings: Annotated[list[Text], Field(max_length=1000)] = []
    permutation_importance: PermutationImportance | None = None


class ConfusionMatrix(Strict):
    labels: Annotated[list[Label], Field(max_length=MAX_ITEMS)]
    matrix: list[list[count()]]


class ClassResult(Strict):
    label: Label
    precision: Share
    recall: Share
    f1: Share
    support: count()


class RocCurve(Strict):
    fpr: Annotated[list[Share], Field(max_length=MAX_ITEMS)]
    tpr: Annotated[list[Share], Field(max_length=MAX_ITEMS)]


class PrCurve(Strict):
    recall: Annotated[list[Share], Field(max_length=MAX_ITEMS)]
    precision: Annotated[list[Share], Field(max_length=MAX_ITEMS)]


class ThresholdCounts(Strict):
    """registry/training/evaluate.threshold_counts: held-out rows per probability bin of the
    positive class (classes[1]), by true class."""

    positive: Label
    bins: Literal[1000]
    pos: Annotated[list[count()], Field(min_length=1000, max_length=1000)]
    neg: Annotated[list[count()], Field(min_length=1000, max_length=1000)]


class ClassifierMetrics(Metrics):
    accuracy: Share | None = None
    f1_macro: Share | None = None
    precision_macro: Share | None = None
    recall_macro: Share | None = None
    log_loss: number(0) | None = None
    confusion_matrix: ConfusionMatrix | None = None
    per_class: Annotated[list[ClassResult], Field(max_length=MAX_ITEMS)] | None = None
    # Binary classifiers with scores: the holdout's curves for the class named positive.
    positive_class: Label | None = None
    roc_auc: Share | None = None
    average_precision: Share | None = None
    roc_curve: RocCurve | None = None
    pr_curve: PrCurve | None = None
    threshold_counts: ThresholdCounts | None = None


class RegressorMetrics(Metrics):
    r2: number(high=1) | None = None
    rmse: number(0) | None = None
    mae: number(0) | None = None
    explained_variance: number(high=1) | None = None


class ClusteringMetrics(Metrics):
    silhouette: number(-1, 1) | None = None
    cluster_sizes: Annotated[list[count()], Field(max_length=MAX_ITEMS)] | None = None
    inertia: number(0) | None = None
    bic: Finite | None = None
    aic: Finite | None = None
    avg_log_likelihood: Finite | None = None


class DecompositionMetrics(Metrics):
    # Sums of float shares: a hair above 1 is rounding, not a lie.
    explained_variance: number(0, 1 + 1e-6) | None = None
    explained_variance_ratio: Annotated[list[Share], Field(max_length=MAX_ITEMS)] | None = None
    n_components: count(1) | None = None
    reconstruction_mse: number(0) | None = None


METRICS = {
    CLASSIFIER: ClassifierMetrics,
    REGRESSOR: RegressorMetrics,
    CLUSTERING: ClusteringMetrics,
    DECOMPOSITION: DecompositionMetrics,
}


# The training data's profile (registry/monitoring/drift.py) ------------------------------------


class NumericProfile(Strict):
    type: Literal["number"]
    edges: Annotated[list[Finite], Field(max_length=1000)]
    proportions: Annotated[list[Share], Field(min_length=1, max_length=1001)]
    missing: Share
    min: Finite = None
    max: Finite = None


class CategoryProfile(Strict):
    type: Literal["category"]
    categories: Annotated[
        list[Annotated[tuple[Text, Share], Field(strict=False)]], Field(max_length=1000)
    ]
    other: Share
    missing: Share
    distinct: count()


def _cell(value: Any) -> Any:
    """A background cell: a finite number (a number or a date), text (a category) or null."""
    if value is None:
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"must be at most {MAX_TEXT} characters")
        return value
    return _number(value, None, None)


class Background(Strict):
    """A sample of training rows, the reference of model-agnostic explanations
    (registry/serving/shapley.py)."""

    rows: count(1, 1000)
    columns: dict[
        Name, Annotated[list[Annotated[Any, PlainValidator(_cell)]], Field(max_length=1000)]
    ]


class Profile(Strict):
    format: Literal[1]
    rows: count()
    features: dict[Name, dict[str, Any]]  # each checked against its feature's type
    background: Background | None = None


# Checking a card --------------------------------------------------------------------------------


def _first_error(exc: ValidationError, prefix: str = "") -> CardError:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
    message = {
        "extra_forbidden": "is not a field it may hold",
        "missing": "is missing",
        "string_pattern_mismatch": "does not have the expected form",
    }.get(error["type"]) or re.sub(
        r" or instance of \w+", "", error["msg"].removeprefix("Value error, ")
    )
    where = where if len(where) <= 120 else f"{where[:117]}..."
    return CardError(where or "card", message[:200])


def _validate(schema: Any, value: Any, field: str) -> Any:
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        raise _first_error(exc, field) from None


def check_card(card: dict[str, Any], algorithm: Algorithm) -> None:
    """Every field of `card` (a model card of `algorithm`) is valid; CardError otherwise."""
    parsed = _validate(Card, card, "")
    if parsed.kind != algorithm.kind:
        raise CardError("kind", f"must be {algorithm.kind!r} (the kind of {algorithm.id})")
    try:
        cleaned = clean_params(algorithm, parsed.params)
    except ParamsError as exc:
        field, detail = next(iter(exc.errors.items()))
        raise CardError(f"params.{field}" if field else "params", detail) from None
    missing = sorted(set(cleaned) - set(parsed.params))
    if missing:
        raise CardError(f"params.{missing[0]}", "is missing")
    _check_features(parsed.features)
    _check_classes(parsed, algorithm)
    check_metrics(algorithm.kind, card["metrics"], parsed.classes)
    if card["profile"]:
        _check_profile(_validate(Profile, card["profile"], "profile"), parsed.features)
    _check_origin_depth(parsed.origin)


def check_metrics(kind: str, metrics: Any, classes: list[Any] | None) -> None:
    """The metrics of a model of this kind (and these classes) fit; CardError otherwise."""
    parsed = _validate(METRICS[kind], metrics, "metrics")
    for key in parsed.model_extra or {}:
        if not METRIC_NAME_RE.fullmatch(key):
            raise CardError(f"metrics.{key[:60]}", "is not a metric name (a-z, 0-9, _)")
    if isinstance(parsed, ClassifierMetrics) and parsed.confusion_matrix is not None:
        _check_confusion(parsed.confusion_matrix, classes or [])
    if isinstance(parsed, ClassifierMetrics) and parsed.threshold_counts is not None:
        classes = classes or []
        if len(classes) != 2 or parsed.threshold_counts.positive != classes[1]:
            raise CardError(
                "metrics.threshold_counts.positive", "must be the second of two classes"
            )


def _check_features(features: list[Feature]) -> None:
    names = set()
    for i, feature in enumerate(features):
        if feature.type == "category" and feature.categories is None:
            raise CardError(f"features.{i}.categories", "must list the values of a category")
        if feature.type != "category" and feature.categories is not None:
            raise CardError(f"features.{i}.categories", f"must be absent for a {feature.type}")
        if (feature.type == "date") != (feature.format is not None):
            raise CardError(f"features.{i}.format", "must be given for a date, and only for one")
        bounds = (feature.min, feature.max)
        if any(isinstance(b, str) != (feature.type == "date") for b in bounds if b is not None):
            expected = "ISO text" if feature.type == "date" else "a number"
            raise CardError(f"features.{i}.min", f"must be {expected} for a {feature.type}")
        if feature.name in names:
            raise CardError(f"features.{i}.name", f"{feature.name[:60]!r} is listed twice")
        names.add(feature.name)


def _check_classes(card: Card, algorithm: Algorithm) -> None:
    if algorithm.kind == CLASSIFIER and card.classes is None:
        raise CardError("classes", "must be a list (the model is a classifier)")
    if algorithm.kind != CLASSIFIER and card.classes is not None:
        raise CardError("classes", "must be null (the model is not a classifier)")


def _check_confusion(confusion: ConfusionMatrix, classes: list[Any]) -> None:
    n = len(classes)
    if confusion.labels != classes:
        raise CardError("metrics.confusion_matrix.labels", "must be the card's classes")
    if len(confusion.matrix) != n or any(len(row) != n for row in confusion.matrix):
        raise CardError(
            "metrics.confusion_matrix.matrix", f"must be a square {n} x {n} table of counts"
        )


def _check_profile(profile: Profile, features: list[Feature]) -> None:
    types = {f.name: f.type for f in features}
    for name, described in profile.features.items():
        where = f"profile.features.{name[:60]}"
        if name not in types:
            raise CardError(where, "must describe one of the card's features")
        schema = NumericProfile if types[name] == "number" else CategoryProfile
        spec = _validate(schema, described, where)
        if isinstance(spec, NumericProfile):
            if any(b < a for a, b in pairwise(spec.edges)):
                raise CardError(f"{where}.edges", "must be in increasing order")
            if len(spec.proportions) != len(spec.edges) + 1:
                raise CardError(f"{where}.proportions", "must hold one share per bin")
    if profile.background is not None:
        _check_background(profile.background, types)


def _check_background(background: Background, types: dict[str, str]) -> None:
    for name, values in background.columns.items():
        where = f"profile.background.columns.{name[:60]}"
        if name not in types:
            raise CardError(where, "must be one of the card's features")
        if len(values) != background.rows:
            raise CardError(where, f"must hold {background.rows} values (the rows)")
        text = types[name] not in ("number", "date")
        if any(v is not None and isinstance(v, str) != text for v in values):
            raise CardError(where, "must hold text" if text else "must hold numbers")


def _check_origin_depth(origin: Origin | None) -> None:
    depth = 0
    while origin is not None:
        depth += 1
        if depth > MAX_ORIGIN_DEPTH:
            raise CardError("origin", f"must record at most {MAX_ORIGIN_DEPTH} earlier imports")
        origin = origin.previous


# Reading stored rows ---------------------------------------------------------------------------
# Versions stored before imports were checked (or edited by hand) may hold anything: what the
# pages and the drift report read of them goes through these, never raising.


def is_number(value: Any) -> bool:
    """A JSON number a page may format (finite, within a double, not a boolean)."""
    try:
        _number(value, None, None)
    except ValueError:
        return False
    return True


def shown_metrics(kind: str, metrics: Any, classes: Any) -> dict[str, Any]:
    """A version's metrics as the pages may show them: all of them when they fit the schema,
    otherwise only the entries that do on their own."""
    schema = METRICS.get(kind)
    if schema is None or not isinstance(metrics, dict):
        return {}
    try:
        check_metrics(kind, metrics, classes if isinstance(classes, list) else None)
        return metrics
    except CardError as exc:
        logger.warning("stored metrics do not fit the model card schema: %s", exc)
    kept = {}
    for key, value in metrics.items():
        try:
            check_metrics(kind, {key: value}, classes if isinstance(classes, list) else None)
        except CardError:
            continue
        kept[key] = value
    return kept


def profile_problem(profile: Any, features: Any) -> str | None:
    """Why a stored training-data profile cannot be compared with (None: it can)."""
    try:
        parsed = TypeAdapter(list[Feature]).validate_python(features)
    except ValidationError as exc:
        return str(_first_error(exc, "features"))
    try:
        _check_profile(_validate(Profile, profile, "profile"), parsed)
    except CardError as exc:
        return str(exc)
    return None
