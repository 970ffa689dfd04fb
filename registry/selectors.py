"""Reads of the registry: what a page or the API looks up or lists (HackSoft: services push,
selectors pull).

Lookups raise `NotFound` (registry.errors): the API answers it as problem+json, the pages
as their 404 page. Every lookup and listing of models and datasets takes the user asking
and goes through registry/access.py (who may read what: a record they may not read is not
found). The ownership rule is written once, here (`can_change`); services check it before
every write. Listings run a fixed number of queries whatever the number of rows
(subqueries and one batched lookup, never a query per row) and never load dataset or
artifact bytes; a detail read takes only the few bytes it shows (the first rows of a CSV,
one plot) with a database-side substring or JSON key.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    BinaryField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from registry import access, csvio
from registry.algorithms import ALGORITHMS, HEADLINE_METRIC
from registry.errors import Conflict, InvalidInput, NotFound, RegistryError
from registry.models import (
    TAG_KEY_RE,
    TAG_VALUE_MAX,
    TRIAL_ACTIVE,
    AlertRule,
    Alias,
    AuditEntry,
    BatchJob,
    Dataset,
    Evaluation,
    Leaderboard,
    ModelTag,
    ModelVersion,
    PredictionLog,
    RegisteredModel,
    Trial,
    WebhookDelivery,
    WebhookEndpoint,
)
from registry.serving.resolve import DEFAULT_ALIAS as PRODUCTION
from registry.serving.resolve import ModelRef

Status = ModelVersion.Status
HEAD_BYTES = 64 * 1024  # read at most this much of a dataset to show its first rows
HEAD_ROWS = 10
# What a listing needs of a version: no bytes, no plots, no metrics JSON, no loss curve.
LIST_VERSION_FIELDS = (
    "id",
    "model_id",
    "version",
    "algorithm",
    "target",
    "status",
    "progress",
    "created_by_id",
    "created_at",
    "finished_at",
    "dataset_name",
    "dataset",  # with the annotated dataset_owner_id: whether a viewer may see its name
)
DATASET_LIST_FIELDS = ("id", "name", "n_rows", "n_columns", "size_bytes", "created_at")


# Who may change what ---------------------------------------------------------------------


def can_change(user: Any, obj: Any) -> bool:
    """Only an object's owner (or a superuser) may change it; who may read it (and predict
    with a model) is access.can_read's rule."""
    return access.owns(user, obj) or user.is_superuser


# Lookups ---------------------------------------------------------------------------------


def _no_model(name: str) -> NotFound:
    return NotFound(f"There is no model named {name!r}.")


def model(user: Any, name: str) -> RegisteredModel:
    """Model `name`, if `user` may read it (else it does not exist, as far as they can tell)."""
    found = access.visible_models(user).select_related("owner", "team").filter(name=name).first()
    if found is None:
        raise _no_model(name)
    return found


def model_with_versions(user: Any, name: str) -> RegisteredModel:
    """A model with its aliases and every version prefetched (the API's model detail)."""
    found = models_with_versions(user, latest_only=False).filter(name=name).first()
    if found is None:
        raise _no_model(name)
    return found


def model_version(model: RegisteredModel, number: int) -> ModelVersion:
    """Version `number` of a model already looked up (its 404 names the model)."""
    found = model.versions.select_related("model", "created_by").filter(version=number).first()
    if found is None:
        raise NotFound(f"{model.name} has no version {number}.")
    return found


def visible_versions(user: Any) -> QuerySet:
    """The versions of the models `user` may read."""
    return ModelVersion.objects.filter(access.visible_q(user, "model__"))


def version(user: Any, name: str, number: int) -> ModelVersion:
    """Version `number` of model `name`, with its model and owner, in one query."""
    found = (
        visible_versions(user)
        .select_related("model", "model__owner", "created_by")
        .filter(model__name=name, version=number)
        .first()
    )
    if found is None:
        raise NotFound(f"{model(user, name).name} has no version {number}.")
    return found


def version_progress(user: Any, name: str, number: int) -> ModelVersion:
    """What a progress bar polls: the listed fields, the error, and the metrics."""
    found = (
        visible_versions(user)
        .select_related("model")
        .only(*LIST_VERSION_FIELDS, "model__name", "error", "metrics", "started_at")
        .filter(model__name=name, version=number)
        .first()
    )
    if found is None:
        raise NotFound(f"{model(user, name).name} has no version {number}.")
    return found


def queue_position(version: ModelVersion) -> int | None:
    """Where a queued version waits for a worker (1: next), counting the trainings queued
    before it by anyone (workers are shared); None when it is not queued."""
    if version.status != ModelVersion.Status.QUEUED:
        return None
    queued = ModelVersion.objects.filter(status=ModelVersion.Status.QUEUED, pk__lt=version.pk)
    return queued.count() + 1


def plot_svg(
    user: Any, name: str, number: int, plot: str
) -> tuple[str | None, dict[str, Any] | None]:
    """One stored SVG plot and the version's origin, read by JSON key (never the version's
    other plots or bytes); (None, None) for no such version (or one `user` may not read)."""
    found = (
        visible_versions(user)
        .filter(model__name=name, version=number)
        .annotate(svg=KT(f"plots__{plot}"))
        .values_list("svg", "origin")
        .first()
    )
    return found or (None, None)


def plot_names(version: ModelVersion) -> list[str]:
    """The names of a version's stored plots."""
    plots = (
        ModelVersion.objects.filter(pk=version.pk)
        .order_by("pk")
        .values_list("plots", flat=True)
        .first()
    )
    return list(plots or {})


def datasets(user: Any) -> QuerySet:
    """The datasets `user` may read (access.visible_datasets)."""
    return access.visible_datasets(user).select_related("owner", "team")


def dataset(user: Any, dataset_id: int) -> Dataset:
    """A dataset `user` may not read does not exist, as far as they can tell."""
    found = datasets(user).filter(pk=dataset_id).first()
    if found is None:
        raise NotFound(f"There is no dataset {dataset_id} that you can read.")
    return found


def dataset_csv(user: Any, dataset_id: int) -> tuple[Dataset, bytes]:
    """A dataset `user` may read, with its bytes as uploaded (404 for anyone else's)."""
    found = dataset(user, dataset_id)
    data = Dataset.objects.filter(pk=found.pk).values_list("csv", flat=True).first()
    return found, bytes(data or b"")


# Listings --------------------------------------------------------------------------------


class JSONNumber(Func):
    """The value under `key` of a JSON object column, as a double when it is a JSON number a
    double can hold, NULL otherwise (a string, a boolean, a list, a 400-digit integer): one
    bad row (an old import, a hand edit) never makes a listing's query fail. The CASEs are
    nested because only CASE fixes the order in which SQL evaluates a condition."""

    output_field = FloatField()

    def __init__(self, field: str, key: str) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", key):
            raise ValueError(f"not a metric name: {key!r}")
        self.key = key
        super().__init__(F(field))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        sql = (
            f"CASE WHEN json_type({column}, %s) IN ('integer', 'real') THEN "
            f"CASE WHEN abs(json_extract({column}, %s)) <= 1e300 "
            f"THEN json_extract({column}, %s) END END"
        )
        return sql, [*params, path, *params, path, *params, path]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' THEN "
            f"CASE WHEN abs(({column} ->> %s)::numeric) <= 1e300 "
            f"THEN ({column} ->> %s)::double precision END END"
        )
        return sql, [*params, self.key, *params, self.key, *params, self.key]


def headline_annotations(prefix: str = "") -> dict[str, Case]:
    """The headline metric's name and value of each version, computed by the database from
    the algorithms table, so listings never load the metrics JSON (a confusion matrix can be
    large)."""
    names, values = [], []
    for kind, metric in HEADLINE_METRIC.items():
        ids = [a.id for a in ALGORITHMS.values() if a.kind == kind]
        match = Q(**{f"{prefix}algorithm__in": ids})
        names.append(When(match, then=Value(metric)))
        values.append(When(match, then=JSONNumber(f"{prefix}metrics", metric)))
    return {
        "headline_metric": Case(*names, default=Value(""), output_field=CharField()),
        "headline_value": Case(*values, default=Value(None), output_field=FloatField()),
    }


def listed(versions: QuerySet) -> QuerySet:
    """Versions as a listing shows them: the listed fields and the headline metric."""
    return versions.only(*LIST_VERSION_FIELDS).annotate(
        **headline_annotations(), dataset_owner_id=F("dataset__owner_id")
    )


def listed_with_model(versions: QuerySet) -> QuerySet:
    """Listed versions of several models, newest first, each with its model's name."""
    return (
        listed(versions)
        .select_related("model")
        .only(*LIST_VERSION_FIELDS, "model__name")
        .order_by("-created_at")
    )


def models_overview(models: QuerySet) -> QuerySet:
    """Models with their version count, newest version id and production version number."""
    versions = ModelVersion.objects.filter(model=OuterRef("pk"))
    return models.select_related("owner").annotate(
        latest_id=Subquery(versions.order_by("-version").values("pk")[:1]),
        n_versions=Coalesce(
            Subquery(
                versions.order_by().values("model").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
        production=Subquery(
            Alias.objects.filter(model=OuterRef("pk"), name="production").values(
                "version__version"
            )[:1]
        ),
    )


def models_matching(user: Any, query: str = "", owner: Any = None) -> QuerySet:
    """Every model `user` may read (or `owner`'s of them) whose name or description holds
    `query`, by name."""
    models = access.visible_models(user)
    if query:
        models = models.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if owner is not None:
        models = models.filter(owner=owner)
    return models_overview(models).order_by("name")


# Searching the registry (GET /api/v1/models and the models page) --------------------------

SEARCH_ORDERS = ("name", "updated", "metric")
MAX_SEARCH_TAGS = 10


def _search_tag(text: str) -> tuple[str, str]:
    """ "key:value" (split at the first ':', which no key holds) -> (key, value)."""
    key, colon, value = text.partition(":")
    if not colon or not re.match(TAG_KEY_RE, key) or len(value) > TAG_VALUE_MAX:
        raise InvalidInput(
            f"A tag filter is key:value (a key of 1-64 letters, digits, _ . - /), not "
            f"{text[:80]!r}.",
            {"tag": "Use key:value."},
        )
    return key, value


def model_search(
    models: QuerySet,
    *,
    q: str | None = None,
    tags: list[str] | tuple[str, ...] = (),
    algorithm: str | None = None,
    target: str | None = None,
    order_by: str = "name",
) -> QuerySet:
    """`models` (whatever the caller may list) narrowed and ordered: `q` in the name or
    description (any case); every one of `tags` ("key:value") on the model; a version trained
    with `algorithm` for `target` (the same version when both are given). Ordered by name,
    by updated (newest first), or by metric: the headline metric of the production version,
    else of the newest ready one, best first (every headline is higher-better), models
    without one last. InvalidInput (422) for a filter that cannot match anything valid."""
    if order_by not in SEARCH_ORDERS:
        raise InvalidInput(f"order_by is one of {', '.join(SEARCH_ORDERS)}.", {"order_by": ""})
    if len(tags) > MAX_SEARCH_TAGS:
        raise InvalidInput(f"At most {MAX_SEARCH_TAGS} tag filters.", {"tag": "Too many."})
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise InvalidInput(
            f"There is no algorithm {algorithm[:60]!r}: see GET /api/v1/algorithms.",
            {"algorithm": "Unknown algorithm."},
        )
    if q:
        models = models.filter(Q(name__icontains=q) | Q(description__icontains=q))
    for key, value in dict.fromkeys(_search_tag(t) for t in tags):
        models = models.filter(
            Exists(ModelTag.objects.filter(model=OuterRef("pk"), key=key, value=value))
        )
    trained = {"algorithm": algorithm, "target": target}
    trained = {field: value for field, value in trained.items() if value is not None}
    if trained:
        models = models.filter(Exists(ModelVersion.objects.filter(model=OuterRef("pk"), **trained)))
    if order_by == "updated":
        return models.order_by("-updated_at", "-pk")
    if order_by == "metric":
        return models.annotate(metric_value=_headline_of_model()).order_by(
            F("metric_value").desc(nulls_last=True), "name"
        )
    return models.order_by("name")


def _headline_of_model() -> Subquery:
    """The headline metric value of a model's production version, else its newest ready one."""
    # Every subquery drops its model's default ordering: ModelVersion's ("model", ...) would
    # join a second registeredmodel table that shadows the outer one.
    production = Alias.objects.filter(model=OuterRef(OuterRef("pk")), name=PRODUCTION).order_by()
    newest_ready = ModelVersion.objects.filter(
        model=OuterRef(OuterRef("pk")), status=Status.READY
    ).order_by("-version")
    chosen = Coalesce(
        Subquery(production.values("version_id")[:1]),
        Subquery(newest_ready.values("pk")[:1]),
        output_field=IntegerField(),
    )
    headline = headline_annotations()["headline_value"]
    return Subquery(
        ModelVersion.objects.filter(pk=chosen)
        .order_by()
        .annotate(value=headline)
        .values("value")[:1],
        output_field=FloatField(),
    )


class BadCursor(RegistryError):
    """A cursor this server did not hand out, or one for another order (400)."""


def _cursor_key(model: RegisteredModel, order_by: str) -> list[Any]:
    if order_by == "updated":
        return [model.updated_at.isoformat(), model.pk]
    if order_by == "metric":
        return [model.metric_value, model.name]
    return [model.name]


def _cursor_encode(order_by: str, key: list[Any]) -> str:
    text = json.dumps([order_by, *key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _after_cursor(models: QuerySet, order_by: str, cursor: str) -> QuerySet:
    """The rows of `models` (ordered by `order_by`) after the one `cursor` was made from."""
    bad = BadCursor("The cursor is not one this server handed out: follow a page's `next`.")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise bad from None
    if not isinstance(decoded, list) or not decoded or not isinstance(decoded[0], str):
        raise bad
    order, *key = decoded
    if order != order_by:
        raise BadCursor(
            f"This cursor is for order_by={order[:20]}: keep the order a walk started with."
        )
    try:
        if order == "name" and len(key) == 1 and isinstance(key[0], str):
            return models.filter(name__gt=key[0])
        if order == "updated" and len(key) == 2 and type(key[1]) is int:
            at = datetime.fromisoformat(key[0])
            if at.tzinfo is None:
                raise ValueError(at)
            return models.filter(Q(updated_at__lt=at) | Q(updated_at=at, pk__lt=key[1]))
        if order == "metric" and len(key) == 2 and isinstance(key[1], str):
            value, name = key
            if value is None:
                return models.filter(metric_value__isnull=True, name__gt=name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(value)
            return models.filter(
                Q(metric_value__lt=value)
                | Q(metric_value=value, name__gt=name)
                | Q(metric_value__isnull=True)
            )
    except (TypeError, ValueError):
        raise bad from None
    raise bad


def cursor_page(
    models: QuerySet, *, order_by: str, cursor: str | None, limit: int
) -> tuple[list[RegisteredModel], str | None]:
    """One page of `models` as model_search ordered them: the rows after `cursor` (None: from
    the first), at most `limit`, and the cursor of the next page (None on the last). A
    cursor names the last row shown by its sort key, so a walk shows every row that stays
    put exactly once, whatever is added or deleted meanwhile."""
    if cursor:
        models = _after_cursor(models, order_by, cursor)
    rows = list(models[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _cursor_encode(order_by, _cursor_key(rows[-1], order_by))


def attach_latest(models: list[RegisteredModel]) -> list[RegisteredModel]:
    """Each model's newest version as `model.latest`, in one query for the whole page."""
    ids = [m.latest_id for m in models if m.latest_id]
    found = {v.pk: v for v in listed(ModelVersion.objects.filter(pk__in=ids))}
    for model in models:
        model.latest = found.get(model.latest_id)
        if model.latest is not None:
            model.latest.model = model  # its URL needs the name: no query per row
    return models


def recent_models(owner: Any, limit: int = 20) -> list[RegisteredModel]:
    """`owner`'s most recently changed models, each with its newest version."""
    models = models_overview(RegisteredModel.objects.filter(owner=owner))
    return attach_latest(list(models.order_by("-updated_at", "name")[:limit]))


def running_versions(user: Any) -> QuerySet:
    """The queued and running trainings of `user`'s models or started by `user`."""
    return listed_with_model(
        ModelVersion.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).filter(
            Q(model__owner=user) | Q(created_by=user)
        )
    )


def ready_versions(model: RegisteredModel, limit: int = 50) -> QuerySet:
    """The newest ready versions of a model, listed."""
    return listed(model.versions.filter(status=Status.READY)).order_by("-version")[:limit]


def alias_numbers(model: RegisteredModel) -> dict[str, int]:
    """Each alias of a model and the version number it points at."""
    return dict(model.aliases.values_list("name", "version__version"))


# Alias history (the audit log's alias entries) ------------------------------------------

# A promoted canary moves its alias too (issue 19): in its history like any move.
ALIAS_ACTIONS = ("alias.move", "alias.delete", "alias.rollback", "alias.canary.promote")
# How far back a rollback looks for a version still ready to go back to.
ROLLBACK_LOOKBACK = 200
HISTORY_SHOWN = 50


def alias_entries(model: RegisteredModel, name: str | None = None) -> QuerySet:
    """The changes of a model's aliases (of one, given `name`), newest first."""
    entries = AuditEntry.objects.filter(model=model, action__in=ALIAS_ACTIONS)
    return entries.filter(after__alias=name) if name is not None else entries


def alias_at(model: RegisteredModel, name: str, at: datetime) -> dict[str, Any]:
    """What alias `name` pointed at, at time `at`: {"version": n, "since": when it was set}
    from the last change at or before `at`. An alias with no recorded change at all (set
    before changes were recorded) answers from its row, set at its updated_at. NotFound
    when it was not set then, or nothing says what it was."""
    entry = alias_entries(model, name).filter(created_at__lte=at).only("created_at", "after")
    found = entry.first()
    if found is not None and isinstance(found.after.get("version"), int):
        return {"version": found.after["version"], "since": found.created_at}
    first = None
    if found is None:
        first = alias_entries(model, name).order_by("created_at", "id").only("created_at").first()
    if found is None and first is None:
        row = (
            model.aliases.filter(name=name, updated_at__lte=at)
            .values_list("version__version", "updated_at")
            .first()
        )
        if row is not None:
            return {"version": row[0], "since": row[1]}
    when = _iso(at)
    starts = f" (its recorded history starts at {_iso(first.created_at)})" if first else ""
    raise NotFound(
        f"{model.name} had no {name} alias at {when}, as far as its history tells{starts}."
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(at: datetime) -> datetime:
    """`at` in UTC (a naive time is taken as UTC); the first or last moment a datetime
    holds for one that only another offset makes fit (year 1 or 9999)."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return (datetime.min if at.year < 5000 else datetime.max).replace(tzinfo=UTC)


def alias(model: RegisteredModel, name: str) -> Alias:
    """Alias `name` of `model` with its version, canary and shadow (one query), or NotFound."""
    found = (
        model.aliases.filter(name=name)
        .select_related("version", "canary_version", "shadow_version")
        .first()
    )
    if found is None:
        raise NotFound(f"{model.name} has no alias {name!r}.")
    return found


def referenced_version(model: RegisteredModel, ref: ModelRef, *, field: str) -> int:
    """The number of the version of `model` a model URI names (resolve.parse_model_uri): its
    number, or the version its alias points at; 422 naming `field` when it names another
    model, no version, or an alias the model does not have."""

    def refused(message: str) -> InvalidInput:
        return InvalidInput(message, {field: message})

    if ref.name != model.name:
        raise refused(f"{ref} names model {ref.name!r}, not {model.name!r}.")
    if ref.version is not None:
        return ref.version
    if ref.alias is None:
        raise refused(
            f"models:/{ref.name} does not name a version: name a version "
            f"(models:/{ref.name}/3) or an alias (models:/{ref.name}@production)."
        )
    number = model.aliases.filter(name=ref.alias).values_list("version__version", flat=True)
    found = number.first()
    if found is None:
        raise refused(f"{model.name} has no alias {ref.alias!r}.")
    return found


def alias_state(model: RegisteredModel, name: str, at: datetime | None) -> dict[str, Any]:
    """{"version", "since", "at"}: what alias `name` points at now (`at` None: its row, the
    truth serving reads) or pointed at, at time `at` (from its history, alias_at)."""
    if at is not None:
        at = utc(at)
        return {**alias_at(model, name, at), "at": at}
    row = model.aliases.filter(name=name).values_list("version__version", "updated_at").first()
    if row is None:
        raise NotFound(f"{model.name} has no alias {name!r}.")
    last = alias_entries(model, name).only("created_at", "after").first()
    # Since its last recorded change; a move to where it pointed already touches updated_at.
    since = last.created_at if last is not None and last.after.get("version") == row[0] else row[1]
    return {"version": row[0], "since": since, "at": None}


def alias_rollback_target(model: RegisteredModel, name: str) -> tuple[int, ModelVersion]:
    """The version alias `name` points at now and the one a rollback moves it to: where it
    pointed before its last change, or, if that version was deleted or is not ready, before
    the change before, and so on. NotFound if the alias is not set; Conflict if there is no
    version to go back to."""
    current = model.aliases.filter(name=name).values_list("version__version", flat=True).first()
    if current is None:
        raise NotFound(f"{model.name} has no alias {name!r}: there is nothing to roll back.")
    befores = alias_entries(model, name).values_list("before", flat=True)[:ROLLBACK_LOOKBACK]
    candidates = list(
        dict.fromkeys(
            b.get("version")
            for b in befores
            if isinstance(b, dict) and isinstance(b.get("version"), int)
        )
    )
    candidates = [n for n in candidates if n != current]
    ready = {
        v.version: v
        for v in model.versions.filter(version__in=candidates, status=Status.READY).only(
            "pk", "model_id", "version", "status"
        )
    }
    for number in candidates:
        if number in ready:
            return current, ready[number]
    raise Conflict(
        f"The {name} alias of {model.name} has no earlier version to go back to"
        + (" that is still ready" if candidates else "")
        + f": it points at v{current}. Move it to another version instead."
    )


def alias_history(model: RegisteredModel, limit: int = HISTORY_SHOWN) -> list[dict[str, Any]]:
    """The latest alias changes of a model for its page, each with the versions it moved
    between (their headline metric; None for no version or one since deleted): three
    queries whatever the number of rows."""
    entries = list(alias_entries(model).select_related("actor")[:limit])
    numbers = {
        side.get("version")
        for e in entries
        for side in (e.before or {}, e.after or {})
        if isinstance(side.get("version"), int)
    }
    versions = {v.version: v for v in listed(model.versions.filter(version__in=numbers))}

    def side(value: Any) -> dict[str, Any]:
        number = value.get("version") if isinstance(value, dict) else None
        return {"number": number, "version": versions.get(number)}

    return [
        {
            "entry": e,
            "alias": (e.after or {}).get("alias", ""),
            "before": side(e.before),
            "after": side(e.after),
        }
        for e in entries
    ]


# What comparing a version with production reads (no bytes, no plots).
COMPARED_FIELDS = (
    "pk",
    "model_id",
    "version",
    "algorithm",
    "target",
    "features",
    "metrics",
    "dataset_sha256",
    "test_size",
    "seed",
    "status",
)


def threshold_history(version: ModelVersion, limit: int = 20) -> list[AuditEntry]:
    """The newest changes of a version's decision threshold, with who made them."""
    entries = AuditEntry.objects.filter(version_id=version.pk, action="threshold.set")
    return list(entries.select_related("actor")[:limit])


def production_version(model: RegisteredModel) -> ModelVersion | None:
    """The version `production` points at (what calls without a version get), or None."""
    return model.versions.filter(aliases__name=PRODUCTION).only(*COMPARED_FIELDS).first()


def recent_requests(version: ModelVersion, *, hours: int = 24) -> int | None:
    """Prediction requests `version` answered in the last `hours` hours, estimated from the
    prediction log (divided by its sampling rate); None when the log is off."""
    rate = settings.MLSERVE_PREDICTION_LOG_RATE
    if not rate:
        return None
    since = timezone.now() - timedelta(hours=hours)
    logged = PredictionLog.objects.filter(version=version, created_at__gte=since).count()
    return round(logged / rate)


def same_holdout(a: ModelVersion, b: ModelVersion) -> bool:
    """Whether two versions were measured on the same held-out rows (same data, split and
    seed, same count), so their metrics compare like with like."""
    return (
        a.dataset_sha256 == b.dataset_sha256
        and a.test_size == b.test_size
        and a.seed == b.seed
        and a.metrics.get("n_test") == b.metrics.get("n_test")
    )


def promotion_comparison(model: RegisteredModel, candidate: ModelVersion) -> dict[str, Any] | None:
    """The candidate of an alias move beside the current production version: the reads the
    confirmation page shows (None without production, or when it is the candidate)."""
    current = production_version(model)
    if current is None or current.pk == candidate.pk:
        return None
    return {
        "current": current,
        "candidate": candidate,
        "schema": input_schema_diff(current.features, candidate.features),
        "same_holdout": same_holdout(current, candidate),
        "current_requests": recent_requests(current),
    }


def input_schema_diff(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, list]:
    """How input schema `new` differs from `old`: columns added, removed, and retyped (each
    as (name, old type, new type)), in the new (resp. old) schema's order."""
    before = {f["name"]: f["type"] for f in old}
    after = {f["name"]: f["type"] for f in new}
    return {
        "added": [name for name in after if name not in before],
        "removed": [name for name in before if name not in after],
        "retyped": [
            (name, before[name], kind)
            for name, kind in after.items()
            if name in before and before[name] != kind
        ],
    }


def models_with_versions(user: Any, *, latest_only: bool) -> QuerySet:
    """The models `user` may read with their aliases and versions (or only the newest)
    prefetched, newest first: what the API's model list and detail show."""
    versions = ModelVersion.objects.select_related("model")
    if latest_only:
        newest = ModelVersion.objects.filter(model=OuterRef("model")).order_by("-version")
        versions = versions.filter(pk=Subquery(newest.values("pk")[:1]))
    return (
        access.visible_models(user)
        .select_related("owner", "team")
        .prefetch_related(
            Prefetch("versions", queryset=versions),
            Prefetch("aliases", queryset=Alias.objects.select_related("version")),
            "tags",
        )
    )


def datasets_overview(user: Any) -> QuerySet:
    """The datasets `user` may read (theirs and those shared with them), each with the
    number of versions trained on it."""
    return (
        access.visible_datasets(user)
        .select_related("owner")
        .only(*DATASET_LIST_FIELDS, "visibility", "owner", "owner__username")
        .annotate(
            n_versions=Coalesce(
                Subquery(
                    visible_versions(user)
                    .filter(dataset=OuterRef("pk"))
                    .order_by()
                    .values("dataset")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                0,
            )
        )
    )


def recent_datasets(user: Any, limit: int = 5) -> QuerySet:
    return Dataset.objects.filter(owner=user).only(*DATASET_LIST_FIELDS)[:limit]


def first_rows(dataset: Dataset) -> tuple[list[str], list[list[str]]]:
    """The header and first rows as uploaded, read from at most HEAD_BYTES of the stored CSV
    by csvio's reader (the bytes passed its checks on upload)."""
    head = (
        Dataset.objects.filter(pk=dataset.pk)
        .annotate(head=Substr("csv", 1, HEAD_BYTES, output_field=BinaryField()))
        .values_list("head", flat=True)
        .first()
    )
    data = bytes(head or b"")
    if len(data) >= HEAD_BYTES and dataset.size_bytes > HEAD_BYTES:
        data = data[: data.rfind(b"\n") + 1]  # drop the line cut in the middle
    try:
        header, cells, _ = csvio.split_cells(
            data, max_rows=HEAD_BYTES, min_rows=0, options=dataset.options
        )
    except csvio.CSVError:  # the cut fell inside a quoted field that spans lines
        return [], []
    return header, cells[:HEAD_ROWS].tolist()


# Leaderboards ----------------------------------------------------------------------------


def leaderboards(user: Any) -> QuerySet:
    """The leaderboards `user` may read: their own (a superuser reads all), newest first."""
    found = Leaderboard.objects.select_related("owner")
    return found if user.is_superuser else found.filter(owner_id=user.pk)


def leaderboard(user: Any, pk: int) -> Leaderboard:
    """Another user's leaderboard does not exist, as far as `user` can tell (boards are
    made of a private dataset)."""
    found = leaderboards(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"You have no leaderboard {pk}.")
    return found


def leaderboard_rows(board: Leaderboard) -> list[dict[str, Any]]:
    """One row per algorithm of the board, best first: its best trial so far by the board's
    metric (its configuration and number), the mean and standard deviation over the folds
    of every metric of that trial, its mean fit and predict seconds per fold, and its rank
    (1 = best; ties share a rank). An algorithm with no trial done yet, or none that could
    run, has rank None, and the reason when it has one; such rows come last, in the
    board's order."""
    from registry.leaderboard import LOWER_IS_BETTER, METRICS
    from registry.leaderboard.run import fold_metric

    metric, lower = board.metric, board.metric in LOWER_IS_BETTER
    names = METRICS.get(board.task, ())
    by_algorithm: dict[str, list[dict[str, Any]]] = {a: [] for a in board.algorithms}
    fields = ("number", "algorithm", "params", "is_default", "status", "reason", "scores")
    for trial in Trial.objects.filter(leaderboard=board).values(
        *fields, "fit_seconds", "predict_seconds"
    ):
        by_algorithm.setdefault(trial["algorithm"], []).append(trial)
    rows = []
    for algorithm, trials in by_algorithm.items():
        spec = ALGORITHMS.get(algorithm)
        done = [t for t in trials if t["status"] == Trial.Status.DONE]
        row: dict[str, Any] = {
            "algorithm": algorithm,
            "label": spec.label if spec else algorithm,
            "trials_done": sum(t["status"] not in TRIAL_ACTIVE for t in trials),
            "trials_total": len(trials),
            "status": _row_status(trials),
            "reason": next((t["reason"] for t in trials if t["status"] == "failed"), "")
            if not done
            else "",
            "trial": None,
            "params": None,
            "is_default": None,
            "metrics": {name: {"mean": None, "std": None} for name in names},
            "fit_seconds": None,
            "predict_seconds": None,
            "score": None,
            "rank": None,
        }
        scored = [(fold_metric(t["scores"], metric)[0], t) for t in done]
        with_value = [(v, t) for v, t in scored if v is not None]
        if with_value:
            value, best = _best(with_value, lower)
        elif scored:  # done, but without this metric (no probabilities for a log loss)
            value, best = None, scored[0][1]
        else:
            value, best = None, None
        if best is not None:
            row.update(
                trial=best["number"],
                params=best["params"],
                is_default=best["is_default"],
                metrics={
                    name: dict(zip(("mean", "std"), fold_metric(best["scores"], name), strict=True))
                    for name in names
                },
                fit_seconds=_mean(best["fit_seconds"]),
                predict_seconds=_mean(best["predict_seconds"]),
                score=value,
            )
        rows.append(row)
    ranked = sorted(
        (r for r in rows if r["score"] is not None),
        key=lambda r: r["score"] if lower else -r["score"],
    )
    for index, row in enumerate(ranked):
        tied = index and row["score"] == ranked[index - 1]["score"]
        row["rank"] = ranked[index - 1]["rank"] if tied else index + 1
    return ranked + [r for r in rows if r["score"] is None]


def _best(scored: list[tuple[float, dict[str, Any]]], lower: bool) -> tuple[float, dict]:
    """The best (value, trial): by value in the metric's direction, then the earlier trial."""
    return min(scored, key=lambda vt: (vt[0] if lower else -vt[0], vt[1]["number"]))


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


def _row_status(trials: list[dict[str, Any]]) -> str:
    """An algorithm's status on the board: done once one trial is; else running or queued
    while any is; else what ended its trials (failed, skipped or cancelled)."""
    statuses = {t["status"] for t in trials}
    for status in ("done", "running", "queued", "failed", "skipped", "cancelled"):
        if status in statuses:
            return status
    return "queued"


# Evaluations ---------------------------------------------------------------------------


def evaluations(user: Any) -> QuerySet:
    """The evaluations `user` may read: their own (a superuser reads all), newest first;
    without their results (a listing shows the status)."""
    found = Evaluation.objects.select_related("model", "owner").defer("results")
    return found if user.is_superuser else found.filter(owner_id=user.pk)


def evaluation(user: Any, name: str, pk: int) -> Evaluation:
    """Another user's evaluation does not exist, as far as `user` can tell (it is made of
    their private dataset)."""
    found = Evaluation.objects.select_related("model", "owner").filter(model__name=name, pk=pk)
    found = found if user.is_superuser else found.filter(owner_id=user.pk)
    first = found.first()
    if first is None:
        raise NotFound(f"You have no evaluation {pk} of {name}.")
    return first


# Background batch jobs ---------------------------------------------------------------------


def batch_jobs(user: Any) -> QuerySet:
    """The user's own batch jobs, newest first (their rows are the user's data: nobody
    else's is listed or found; a superuser's listing is their own too)."""
    return BatchJob.objects.filter(owner_id=user.pk)


def batch_job(user: Any, pk: int) -> BatchJob:
    """Another user's batch job does not exist, as far as `user` can tell."""
    found = batch_jobs(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"You have no batch job {pk}.")
    return found


# Alerts and webhooks ---------------------------------------------------------------------


def webhook_endpoints(user: Any) -> QuerySet:
    """The user's own webhook endpoints (nobody else's is listed or found)."""
    return WebhookEndpoint.objects.filter(owner_id=user.pk).select_related("model")


def webhook_endpoint(user: Any, pk: int) -> WebhookEndpoint:
    found = webhook_endpoints(user).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"You have no webhook endpoint {pk}.")
    return found


def webhook_deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])


def alert_rules(model: RegisteredModel) -> QuerySet:
    return model.alert_rules.select_related("model").order_by("id")


def alert_rule(model: RegisteredModel, pk: int) -> AlertRule:
    found = alert_rules(model).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"{model.name} has no alert rule {pk}.")
    return found


# Rollouts ----------------------------------------------------------------------------------


def rollout_state(model: RegisteredModel) -> dict[str, dict[str, Any]]:
    """Per alias of `model`: {"champion": its version number, "canary": {"version",
    "percent"} or None, "shadow": a version number or None}, in one query."""
    rows = model.aliases.order_by("name").values_list(
        "name", "version__version", "canary_version__version", "canary_percent",
        "shadow_version__version",
    )  # fmt: skip
    return {
        name: {
            "champion": champion,
            "canary": {"version": canary, "percent": percent} if canary is not None else None,
            "shadow": shadow,
        }
        for name, champion, canary, percent, shadow in rows
    }
