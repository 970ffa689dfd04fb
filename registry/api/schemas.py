"""The API's request and response schemas and the bounds of its parameters: what the
OpenAPI document states and ninja enforces (422 outside them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Path, Query, Schema
from pydantic import ConfigDict, StringConstraints, create_model, model_validator

from registry import alerts, csvio, services
from registry.algorithms import ALGORITHMS
from registry.evaluation import MAX_VERSIONS as MAX_EVALUATED_VERSIONS
from registry.models import MAX_TAGS, NAME_RE, TAG_KEY_RE, TAG_VALUE_MAX
from registry.monitoring import drift
from registry.serving.resolve import MAX_VERSION, MODEL_URI_MAX_CHARS

# Bounds the OpenAPI document states and ninja enforces (422 outside them) -----------------

MAX_ID = 2**63 - 1  # BigAutoField


def _ecma(pattern: str) -> str:
    """A Python pattern ending in \\Z for a JSON Schema document, whose patterns are
    ECMA-262 regexes: there `$` is the end of the text (and \\Z does not exist)."""
    return pattern.removesuffix(r"\Z") + "$"


NAME_PATTERN = _ecma(NAME_RE)
ALIAS_PATTERN = _ecma(services.ALIAS_RE.pattern)
VersionNumber = Path[int, {"ge": 1, "le": MAX_VERSION, "description": "1, 2, 3..."}]
DatasetId = Path[int, {"ge": 1, "le": MAX_ID}]
VersionQuery = Query[int | None, {"ge": 1, "le": MAX_VERSION}]
AliasQuery = Query[str | None, {"min_length": 1, "max_length": 50, "pattern": ALIAS_PATTERN}]
StrictQuery = Query[
    bool,
    {
        "description": "refuse (422) keys and CSV columns the model does not take, instead "
        "of ignoring them"
    },
]
ExplainQuery = Query[
    bool,
    {
        "description": "add `explanations`: per row a base value and one contribution per "
        "input column, in the units `output` states (at most MLSERVE_MAX_EXPLAIN_ROWS rows)"
    },
]
# No NUL: an address holding %00 is refused (400) before the API reads it.
DatasetNameQuery = Query[
    str | None, {"min_length": 1, "max_length": 200, "pattern": _ecma(r"^[^\x00]*\Z")}
]
# A read option of an upload: a name ("semicolon", "comma", "cp1252"...), or "detect".
ReadOptionQuery = Query[
    str | None, {"min_length": 1, "max_length": 20, "pattern": _ecma(r"^[^\x00]*\Z")}
]
# MLflow's model URIs (serving/resolve.py parses them): `models:/name` for a model,
# `models:/name/3` or `models:/name@alias` for a version. The patterns are documented, and
# the parser refuses anything else (422 naming the field) with a sentence saying why.
_NAME_BODY = NAME_PATTERN.removeprefix("^").removesuffix("$")
_ALIAS_BODY = ALIAS_PATTERN.removeprefix("^").removesuffix("$")
VERSION_URI = rf"models:/{_NAME_BODY}(?:/[0-9]{{1,10}}|@{_ALIAS_BODY})"
MODEL_REF_PATTERN = _ecma(rf"^(?:models:/)?{_NAME_BODY}\Z")
# A model named by its name or its URI, in a query (POST /import's `model`). No pattern
# here: serving.model_name refuses what is not one with the sentence saying why (a version
# or an alias named, a name that is not one), as for the multipart field.
ModelRefQuery = Query[
    str | None,
    {
        "min_length": 1,
        "max_length": MODEL_URI_MAX_CHARS,
        "description": "a name or models:/<name>; default: the name in the file",
    },
]
VersionUri = Annotated[
    str,
    Field(
        max_length=MODEL_URI_MAX_CHARS,
        description="models:/<name>/<version> or models:/<name>@<alias>",
        json_schema_extra={"pattern": _ecma(rf"^{VERSION_URI}\Z")},
    ),
]
# Documented path parameters; the services check them (an unknown name is a 404).
PATH_PARAMETERS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NAME_PATTERN},
    "alias": {"type": "string", "minLength": 1, "maxLength": 50, "pattern": ALIAS_PATTERN},
}


# Schemas -------------------------------------------------------------------------------


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


def errors(*codes: int) -> dict[int, type[Problem]]:
    # Any operation: 401 without a valid token, 403 for a token without its scope.
    return {code: Problem for code in sorted({400, 401, 403, *codes})}


class HyperparameterOut(Schema):
    name: str
    type: Literal["int", "float", "bool", "choice"]
    default: Any
    help: str
    nullable: bool
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    choices: list[Any] | None = None


class AlgorithmOut(Schema):
    id: str
    label: str
    kind: Literal["classifier", "regressor", "clustering", "decomposition"]
    description: str
    needs_target: bool
    keeps_training_rows: bool
    hyperparameters: list[HyperparameterOut]


ColumnType = Literal["number", "category", "date"]


class ColumnOut(Schema):
    name: str
    type: ColumnType
    missing: int
    format: str | None = Field(None, description="a date column's format, e.g. %Y-%m-%d")
    role: Literal["id", "constant", "mostly_missing", "text"] | None = Field(
        None, description="a column rarely meant as a feature: left out of them by default"
    )
    role_reason: str | None = Field(None, description="why the column has its role")
    override: Literal["number", "category", "date", "ignore"] | None = Field(
        None, description="the type chosen for the column instead of the inferred one"
    )


class DatasetTypesIn(Schema):
    types: dict[str, Literal["number", "category", "date", "ignore"] | None] = Field(
        ...,
        description="column -> number, category, date or ignore (left out of features); "
        "null gives the column back its inferred type",
    )


# Who may read a model or a dataset (registry/access.py, docs/access.md).
VisibilityName = Literal["private", "team", "public"]


class VisibilityIn(Schema):
    visibility: VisibilityName = Field(
        ...,
        description="private: its owner only; team: its owner and the members of `team`; "
        "public: everyone signed in",
    )
    team: str | None = Field(
        None,
        max_length=100,
        description="read with visibility team only: a team you are a member of",
    )


class VisibilityOut(Schema):
    visibility: VisibilityName
    team: str | None


class DatasetOut(Schema):
    id: int
    name: str
    owner: str
    sha256: str
    size_bytes: int
    rows: int
    columns: list[ColumnOut]
    # How the file was read: encoding, delimiter, decimal mark, the columns read with
    # thousands separators (detected, or as chosen at upload).
    options: dict[str, Any]
    visibility: VisibilityName
    team: str | None
    created_at: datetime


class DatasetPage(Schema):
    items: list[DatasetOut]
    count: int
    page: int
    page_size: int


class VersionSummary(Schema):
    model: str
    version: int
    status: Literal["queued", "running", "ready", "failed", "cancelled"]
    progress: int
    algorithm: str
    kind: str
    created_at: datetime
    finished_at: datetime | None
    url: str


class DatasetRef(Schema):
    """Shown to the dataset's owner only: null for everyone else (the dataset is private)."""

    id: int | None
    name: str | None
    sha256: str | None


class VersionOut(VersionSummary):
    params: dict[str, Any]
    dataset: DatasetRef
    target: str | None
    features: list[dict[str, Any]]
    classes: list[Any] | None
    metrics: dict[str, Any]
    loss_curve: list[float | None]
    error: str | None
    test_size: float
    seed: int
    artifact_sha256: str | None
    artifact_size: int
    created_by: str | None
    started_at: datetime | None
    training_seconds: float | None
    origin: dict[str, Any] | None = None
    leaderboard: int | None = Field(
        None, description="the leaderboard it was registered from (GET /leaderboards/{id})"
    )
    threshold: float | None = Field(
        None,
        description="a binary classifier's decision threshold: the probability of classes[1] "
        "at or above which it is predicted (null: the model's own rule)",
    )
    description: str = ""
    note: str = Field("", description="free text about the version (PATCH to change it)")
    tags: dict[str, str] = Field(default_factory=dict, description="key -> value")


class ModelOut(Schema):
    name: str
    description: str
    owner: str
    visibility: VisibilityName
    team: str | None
    created_at: datetime
    updated_at: datetime
    aliases: dict[str, int]
    tags: dict[str, str] = Field(default_factory=dict, description="key -> value")
    latest_version: VersionSummary | None


class ModelDetailOut(ModelOut):
    versions: list[VersionSummary]


class ModelPage(Schema):
    items: list[ModelOut]
    count: int = Field(..., description="how many models match, on every page")
    limit: int
    next: str | None = Field(
        ..., description="the URL of the next page (null on the last): follow it as it is"
    )


# Searching the registry (selectors.model_search) ------------------------------------------

ORDERS = ("name", "updated", "metric")
TAG_PATTERN = _ecma(TAG_KEY_RE)
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TAG_PATTERN)]
# One line of text (the pages edit tags as "key=value" lines).
TAG_VALUE_PATTERN = _ecma(r"^[^\x00-\x1f\x7f]*\Z")
TagValue = Annotated[str, StringConstraints(max_length=TAG_VALUE_MAX, pattern=TAG_VALUE_PATTERN)]
# A search's tag=key:value (split at the first ':', which no key holds); any value.
TAG_FILTER_PATTERN = TAG_PATTERN.removesuffix("$") + rf":[\s\S]{{0,{TAG_VALUE_MAX}}}$"


class ModelSearch(Schema):
    q: str | None = Field(
        None, min_length=1, max_length=100, description="in the name or description, any case"
    )
    tag: list[Annotated[str, StringConstraints(pattern=TAG_FILTER_PATTERN)]] = Field(
        default_factory=list,
        max_length=10,
        description="key:value, repeatable: a model carrying every one of them",
    )
    algorithm: str | None = Field(
        None,
        max_length=50,
        description="a version of the model was trained with it",
        json_schema_extra={"enum": list(ALGORITHMS)},
    )
    target: str | None = Field(
        None, min_length=1, max_length=200, description="a version of the model predicts it"
    )
    order_by: Literal["name", "updated", "metric"] = Field(
        "name",
        description="name (A-Z), updated (newest first), or metric: the headline metric of "
        "the production version (else the newest ready one), best first, models without "
        "one last",
    )
    limit: int = Field(50, ge=1, le=200, description="models per page")
    cursor: str | None = Field(
        None, min_length=1, max_length=500, description="from a page's `next` (opaque)"
    )


# Editing: JSON objects with only the fields that change (unknown fields are refused).


class _Edit(Schema):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _some_field(self) -> _Edit:
        if not self.model_fields_set:
            names = ", ".join(type(self).model_fields)
            raise ValueError(f"send at least one of {names}")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent, as services.model_edit / version_edit take them."""
        return {name: getattr(self, name) for name in self.model_fields_set}


_TAGS_EDIT = Field(
    None,
    max_length=2 * MAX_TAGS,
    description=f"a JSON merge patch: key -> value sets a tag, key -> null removes it, a key "
    f"not named stays (at most {MAX_TAGS} tags; keys of 1-64 letters, digits, _ . - /)",
)


class ModelEditIn(_Edit):
    description: str = Field(None, max_length=5000)
    tags: dict[TagKey, TagValue | None] = _TAGS_EDIT


class VersionEditIn(_Edit):
    description: str = Field(None, max_length=5000)
    note: str = Field(None, max_length=10_000)
    tags: dict[TagKey, TagValue | None] = _TAGS_EDIT


# Every list, map and string of a training request is capped by what it can hold (a
# dataset's columns, the table's hyperparameters, the database's columns), so that a
# 24 MB `features` list is refused by its length before any item is looked at.
class TrainIn(Schema):
    dataset: int = Field(..., ge=1, le=MAX_ID, description="id of one of your datasets")
    algorithm: str = Field(
        ...,
        max_length=50,
        description="an id from GET /algorithms",
        json_schema_extra={"enum": list(ALGORITHMS)},
    )
    target: str | None = Field(
        None, max_length=200, description="target column (supervised algorithms only)"
    )
    features: list[str] | None = Field(
        None,
        max_length=csvio.MAX_COLUMNS,
        description="feature columns, each once; default: all but target",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, max_length=50, description="hyperparameters"
    )
    test_size: float | None = Field(
        None, ge=0.05, le=0.5, description="share of rows held out (0.05-0.5)"
    )
    allow_schema_change: bool = Field(
        False,
        description="train a version whose target, task or input columns differ from "
        "production's (refused with 422 otherwise)",
    )


class ModelIn(TrainIn):
    name: str = Field(
        ...,
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="unique, URL-safe: lowercase letters, digits, . _ -",
    )
    description: str = Field("", max_length=5000)


class CanaryIn(Schema):
    version: int = Field(..., ge=1, le=MAX_VERSION)
    percent: float = Field(
        ..., gt=0, lt=100, allow_inf_nan=False, description="the share of requests it answers"
    )


class ShadowIn(Schema):
    version: int = Field(..., ge=1, le=MAX_VERSION)


class AliasIn(Schema):
    version: int = Field(..., ge=1, le=MAX_VERSION)
    canary: CanaryIn | None = Field(
        None,
        description="a version answering `percent`% of the alias's requests (by X-Request-Key "
        "or the body's `key` when given, at random otherwise); omitted: none",
    )
    shadow: ShadowIn | None = Field(
        None,
        description="a version scoring the alias's logged requests off the request path, "
        "never answering; omitted: none",
    )


class ThresholdIn(Schema):
    threshold: float | None = Field(
        ...,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="the probability of classes[1] at or above which it is predicted; null "
        "clears it (the model's own rule)",
    )


class CanaryOut(Schema):
    version: int
    percent: float


class AliasOut(Schema):
    model: str
    alias: str
    version: int
    updated_at: datetime
    canary: CanaryOut | None = None
    shadow: int | None = Field(None, description="the shadow version's number")


class AliasAtQuery(Schema):
    at: datetime | None = Field(
        None,
        description="a moment (ISO 8601; without an offset, UTC): the version the alias "
        "pointed at then, from its recorded history; default: now",
    )


class AliasStateOut(Schema):
    model: str
    alias: str
    version: int
    since: datetime = Field(..., description="when the alias was set to this version")
    at: datetime | None = Field(..., description="the moment asked about (null: now)")
    # The alias record now (without `at` only, as PUT answers it).
    updated_at: datetime | None = Field(None, description="its last change (now only)")
    canary: CanaryOut | None = Field(None, description="its canary (now only)")
    shadow: int | None = Field(None, description="the shadow version's number (now only)")


class AliasRollbackOut(AliasOut):
    previous: int = Field(..., description="the version the alias pointed at before")


class CanaryPromoteOut(AliasOut):
    previous: int = Field(..., description="the version the alias pointed at before")


class Pagination(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


class PredictionWarning(Schema):
    column: str
    value: str
    kind: Literal["unseen_category", "category_spelling"]
    known: str | None = Field(None, description="the trained category it differs from")
    detail: str


# `class` is a Python keyword: these two are made with create_model so that the documented
# field is named `class`, as the answer's (an alias would be documented as `class_`).
ExplainedRow = create_model(
    "ExplainedRow",
    __base__=Schema,
    base_value=(float, ...),
    contributions=(
        dict[str, float],
        Field(..., description="by input column; base_value + their sum is the output explained"),
    ),
    **{"class": (Any, Field(None, description="the class explained (more than two classes)"))},
)
Explanations = create_model(
    "Explanations",
    __base__=Schema,
    method=(str, Field(..., description="linear, tree_path or sampling_shapley")),
    output=(str, Field(..., description="the units: value, logit or probability")),
    rows=(list[ExplainedRow], ...),
    stderr=(
        list[dict[str, float]] | None,
        Field(None, description="sampling_shapley: each contribution's standard error"),
    ),
    **{"class": (Any, Field(None, description="the class explained (two classes: the second)"))},
)


class PredictionOut(Schema):
    predictions: list[Any]
    model: dict[str, Any] = Field(
        ...,
        description='{"name", "version", "role"}: the version that answered, and its role: '
        '"champion" (the alias\'s own version, or the version asked for) or "canary"',
    )
    warnings: list[list[PredictionWarning]] = Field(
        ..., description="per row: its category values the model did not see in training"
    )
    probabilities: list[list[float]] | None = None
    classes: list[Any] | None = None
    threshold: float | None = Field(
        None, description="the version's decision threshold, when one is set (PUT .../threshold)"
    )
    explanations: Explanations | None = Field(
        None, description="with ?explain=true: each row's output split among its columns"
    )
    prediction_id: str = Field(
        ...,
        description="this request's id; row i of it is '<prediction_id>:<i>' (POST "
        ".../feedback sends the true answers by these ids)",
    )
    prediction_ids: list[str] | None = Field(
        None,
        description="per row: '<prediction_id>:<i>' (for requests of at most "
        "MLSERVE_PREDICTION_LOG_MAX_ROWS rows, the rows the prediction log keeps)",
    )


class InvocationOut(Schema):
    """MLflow's scoring answer."""

    predictions: list[Any] = Field(
        ..., description="per row: the class, the value, the cluster or the coordinates"
    )
    warnings: list[str] | None = Field(
        None, description="about the request as a whole: the `params` it ignored"
    )


# Drift (registry/monitoring/drift.py) ------------------------------------------------------------


class DriftQuery(Schema):
    days: int = Field(drift.DEFAULT_DAYS, ge=1, le=365, description="window: the last N days")
    max_rows: int = Field(
        drift.DEFAULT_MAX_ROWS,
        ge=1,
        le=100_000,
        description="at most this many recent rows (fewer for a wide model: rows x features "
        "at most MLSERVE_DRIFT_MAX_CELLS; window.max_rows says how many)",
    )


class DriftWindow(Schema):
    days: int
    max_rows: int
    since: datetime
    until: datetime


class DriftBin(Schema):
    label: str
    expected: float = Field(..., description="share of the training rows in this bin")
    actual: float | None = Field(..., description="share of the recent rows; null if none")


class DriftFeature(Schema):
    name: str
    type: Literal["number", "category"]
    psi: float | None = Field(..., description="population stability index; null if no rows")
    unseen_share: float | None = Field(
        ..., description="categorical: share of recent values never seen in training"
    )
    missing_share: float | None
    status: Literal["stable", "moderate", "drifting"] | None = Field(
        ..., description="null below min_rows"
    )
    drifting: bool | None
    bins: list[DriftBin]


class FeedbackItem(Schema):
    prediction_id: str = Field(..., max_length=100, description="'<prediction_id>:<row>'")
    label: Any = Field(..., description="the true answer: a class label or a number")


class FeedbackProblem(Schema):
    index: int = Field(..., description="the item's position in the list (CSV: its data row)")
    prediction_id: str
    detail: str


class FeedbackOut(Schema):
    detail: str
    counts: dict[str, int] = Field(
        ...,
        description="accepted (new), updated (a different label replaced the old one), "
        "unchanged (the same label again), unknown (no logged prediction has this id), "
        "refused (another user's prediction), invalid (not a label this version is scored on)",
    )
    problems: list[FeedbackProblem] = Field(..., description="the first few items not stored")


class LiveMetricQuery(Schema):
    days: int | None = Field(None, ge=1, le=365, description="only predictions of the last N days")
    last_n: int | None = Field(
        None, ge=1, le=100_000, description="only the newest N labelled predictions"
    )


class LiveMetricDay(Schema):
    day: str = Field(..., description="the predictions' day (UTC), YYYY-MM-DD")
    value: float | None
    n: int


class LiveMetricOut(Schema):
    model: str
    version: int
    metric: str | None = Field(..., description="accuracy (classifiers) or r2 (regressors)")
    value: float | None = Field(..., description="null without enough labelled rows")
    n_labelled: int
    metrics: dict[str, float | None]
    training_value: float | None = Field(..., description="the same metric on the holdout")
    days: int | None
    last_n: int | None
    series: list[LiveMetricDay]


class DriftOut(Schema):
    model: str
    version: int
    status: Literal["stable", "moderate", "drifting", "insufficient_data", "no_profile"]
    drifting: bool | None = Field(..., description="null without a verdict")
    rows: int = Field(..., description="recent rows compared")
    min_rows: int = Field(..., description="fewest rows for a verdict")
    training_rows: int | None
    window: DriftWindow
    thresholds: dict[str, float]
    features: list[DriftFeature]


# Leaderboards (registry/leaderboard/) -----------------------------------------------------------

BoardId = Path[int, {"ge": 1, "le": MAX_ID}]
BOARD_TASKS = ("classifier", "regressor")
MAX_FOLDS, MAX_N_ITER = services.MAX_FOLDS, services.MAX_N_ITER
MAX_TIME_BUDGET_S, MAX_SEED = services.MAX_TIME_BUDGET_S, services.MAX_SEED
SUPERVISED = tuple(a.id for a in ALGORITHMS.values() if a.kind in BOARD_TASKS)
SupervisedId = Literal[SUPERVISED]


class SearchIn(Schema):
    n_iter: int = Field(
        ...,
        ge=0,
        le=MAX_N_ITER,
        description="random configurations tried per algorithm, besides its defaults",
    )


class LeaderboardIn(Schema):
    dataset: int = Field(..., ge=1, le=MAX_ID, description="id of one of your datasets")
    target: str = Field(..., min_length=1, max_length=200, description="target column")
    features: list[str] | None = Field(
        None, max_length=csvio.MAX_COLUMNS, description="feature columns; default: all but target"
    )
    task: Literal["classifier", "regressor"] | None = Field(
        None, description="default: inferred from the target column"
    )
    folds: int = Field(5, ge=2, le=MAX_FOLDS, description="cross-validation folds")
    metric: str | None = Field(
        None,
        max_length=50,
        description="the metric the rank goes by; default accuracy (classifier), r2 (regressor)",
    )
    algorithms: list[SupervisedId] | None = Field(
        None,
        max_length=len(SUPERVISED),
        description="algorithm ids to compare; default: every one of the task",
    )
    search: SearchIn | None = Field(None, description="the random search per algorithm")
    time_budget_s: float | None = Field(
        None,
        gt=0,
        le=MAX_TIME_BUDGET_S,
        description="seconds; trials not started by then are skipped",
    )
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="folds and search seed")


class LeaderboardProgress(Schema):
    trials_done: int
    trials_total: int


class LeaderboardBest(Schema):
    algorithm: str
    trial: int
    params: dict[str, Any]
    metric: str
    mean: float | None
    std: float | None


class TrialOut(Schema):
    number: int
    algorithm: str
    params: dict[str, Any]
    is_default: bool
    status: Literal["queued", "running", "done", "failed", "skipped", "cancelled"]
    reason: str | None
    scores: dict[str, list[float | None]] = Field(..., description="metric -> value per fold")
    fit_seconds: list[float]
    predict_seconds: list[float]
    attempts: int


class LeaderboardSummary(Schema):
    id: int
    status: Literal["queued", "running", "done", "cancelled", "failed"]
    dataset: DatasetRef
    target: str
    task: str
    folds: int
    metric: str
    algorithms: list[str]
    n_iter: int
    time_budget_s: float | None
    seed: int
    progress: LeaderboardProgress
    best: LeaderboardBest | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str


class LeaderboardOut(LeaderboardSummary):
    features: list[dict[str, Any]]
    rows: list[dict[str, Any]] = Field(
        ...,
        description="one per algorithm: its best configuration, every metric's mean and "
        "sd over the folds, fit and predict seconds per fold, rank (null: none of its trials ran)",
    )
    trials: list[TrialOut]


class LeaderboardPage(Schema):
    items: list[LeaderboardSummary]
    count: int
    page: int
    page_size: int


class RegisterIn(Schema):
    model: str = Field(
        ...,
        min_length=1,
        max_length=MODEL_URI_MAX_CHARS,
        description="a model of yours (its next version) or a new name; or models:/<name>",
        json_schema_extra={"pattern": MODEL_REF_PATTERN},
    )
    algorithm: SupervisedId | None = Field(
        None, description="register this algorithm's best configuration; default: the board's best"
    )


# Evaluations ---------------------------------------------------------------------------

EvaluationId = Path[int, {"ge": 1, "le": MAX_ID}]
# A multipart request's `versions` field: "3", "3,4" or "models:/churn@production,4" (at
# most MAX_EVALUATED_VERSIONS).
_EVALUATED = rf"(?:[0-9]{{1,10}}|{VERSION_URI})"
EVALUATION_VERSIONS_PATTERN = _ecma(
    rf"^{_EVALUATED}(,{_EVALUATED}){{0,{MAX_EVALUATED_VERSIONS - 1}}}\Z"
)
EVALUATION_VERSIONS_MAX_CHARS = MAX_EVALUATED_VERSIONS * (MODEL_URI_MAX_CHARS + 1)
EvaluatedVersion = Annotated[int, Field(ge=1, le=MAX_VERSION)] | VersionUri


class EvaluationFields(Schema):
    """What an evaluation of an uploaded file takes besides the file."""

    versions: list[EvaluatedVersion] | None = Field(
        None,
        max_length=MAX_EVALUATED_VERSIONS,
        description="ready versions to compare (numbers, or model URIs: models:/churn/3, "
        "models:/churn@production), the first the reference of the deltas; default: "
        "production and the newest ready version",
    )
    target: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="the column holding the right answers; default: the versions' target",
    )


class EvaluationIn(EvaluationFields):
    dataset: int = Field(
        ..., ge=1, le=MAX_ID, description="id of a dataset of yours, labelled with the target"
    )


class EvaluationSummary(Schema):
    id: int
    model: str
    status: Literal["queued", "running", "done", "failed"]
    progress: int
    dataset: DatasetRef
    target: str
    versions: list[int]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str


class EvaluationOut(EvaluationSummary):
    results: dict[str, dict[str, Any]] = Field(
        ...,
        description="per version: metrics (as its holdout metrics), n_rows, n_scored, "
        "n_unscorable, unscorable (reason -> rows), n_wrong, threshold, wrong_rows_url",
    )
    comparison: list[dict[str, Any]] = Field(
        ...,
        description="per metric: each version's value and its delta against the first version",
    )


class EvaluationPage(Schema):
    items: list[EvaluationSummary]
    count: int
    page: int
    page_size: int


# Background batch jobs (registry/batchjobs/) ---------------------------------------------

BatchJobId = Path[int, {"ge": 1, "le": MAX_ID}]


class BatchJobFields(Schema):
    """What a batch job takes besides its rows (multipart fields next to the file)."""

    model_config = {"extra": "forbid"}

    version: int | None = Field(None, ge=1, le=MAX_VERSION, description="the version to score with")
    alias: str | None = Field(
        None,
        min_length=1,
        max_length=50,
        pattern=ALIAS_PATTERN,
        description="the alias to score with, resolved when the job is made; default "
        "(neither given): production",
    )
    format: Literal["csv", "parquet"] = Field("csv", description="the result's format")


class BatchJobIn(BatchJobFields):
    dataset: int = Field(..., ge=1, le=MAX_ID, description="id of a dataset of yours to score")


class BatchJobInput(Schema):
    name: str = Field(..., description="the uploaded file's name, or the dataset's")
    dataset: int | None
    bytes: int


class BatchJobOut(Schema):
    id: int
    model: str
    version: int = Field(..., description="the version scoring, resolved when the job was made")
    alias: str | None = Field(..., description="the alias it was resolved from, if any")
    input: BatchJobInput
    format: Literal["csv", "parquet"]
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    rows_total: int
    rows_done: int
    chunks_total: int
    chunks_done: int
    progress: int = Field(..., description="percent of the rows scored")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result_url: str | None = Field(..., description="where the result downloads, once done")


class BatchJobPage(Schema):
    items: list[BatchJobOut]
    count: int
    page: int
    page_size: int


# Alerts and webhooks (registry/alerts/) ---------------------------------------------------

WebhookId = Path[int, {"ge": 1, "le": MAX_ID}]
RuleId = Path[int, {"ge": 1, "le": MAX_ID}]
EventName = Literal[tuple(alerts.EVENTS)]  # the one event table, registry/alerts/


class WebhookIn(Schema):
    url: str = Field(
        ...,
        min_length=1,
        max_length=2000,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://",
        description="http(s) URL that receives the POSTs",
    )
    events: list[EventName] = Field(
        default_factory=list,
        max_length=len(alerts.EVENTS),
        description="events to send; empty: every event",
    )
    model: str | None = Field(
        None,
        max_length=MODEL_URI_MAX_CHARS,
        description="one of your models (its name, or models:/<name>); null: all of them",
        json_schema_extra={"pattern": MODEL_REF_PATTERN},
    )
    description: str = Field("", max_length=200)


class WebhookOut(Schema):
    id: int
    model: str | None
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        ...,
        description='the signing secret ("whsec_..."), shown this once: the server keeps it '
        "encrypted",
    )


class DeliveryOut(Schema):
    id: int
    message_id: str = Field(..., description="the webhook-id header, the same on every attempt")
    event: str
    payload: dict[str, Any]
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    response_status: int | None
    response_excerpt: str
    error: str
    created_at: datetime
    updated_at: datetime


class AlertRuleIn(Schema):
    kind: Literal["drift", "error_rate", "live_metric", "canary_error_rate"]
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="alias (default production); error_rate: percent, minutes, "
        "min_requests; live_metric: below or drop, days; canary_error_rate: margin, minutes",
    )


class AlertRuleOut(Schema):
    id: int
    model: str
    kind: str
    params: dict[str, Any]
    active: bool
    state: Literal["ok", "firing"]
    last_value: float | None
    last_evaluated_at: datetime | None
    last_fired_at: datetime | None
    created_at: datetime
