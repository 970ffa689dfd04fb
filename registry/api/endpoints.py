"""JSON API v1 (django-ninja): datasets, training, registry and prediction.

django-ninja validates request bodies and generates the OpenAPI 3 document from these
functions. Every error is problem+json (registry/api/problems.py), mapped in one place below.
The predict operations hand their body (several scoring formats, JSON or CSV) to the one
serving entry, registry.serving.predict, which reads it.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import orjson
import pydantic
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Query, Status
from ninja.errors import HttpError, ValidationError

from registry import batchjobs, csvio, evaluation, selectors, services, serving, transfer
from registry.algorithms import ALGORITHMS
from registry.api.app import api
from registry.api.auth import token_models
from registry.api.schemas import (
    ALIAS_PATTERN,
    EVALUATION_VERSIONS_MAX_CHARS,
    EVALUATION_VERSIONS_PATTERN,
    MODEL_REF_PATTERN,
    AlertRuleIn,
    AlertRuleOut,
    AlgorithmOut,
    AliasAtQuery,
    AliasIn,
    AliasOut,
    AliasQuery,
    AliasRollbackOut,
    AliasStateOut,
    BatchJobFields,
    BatchJobId,
    BatchJobIn,
    BatchJobOut,
    BatchJobPage,
    BoardId,
    CanaryPromoteOut,
    DatasetId,
    DatasetNameQuery,
    DatasetOut,
    DatasetPage,
    DatasetTypesIn,
    DeliveryOut,
    DriftOut,
    DriftQuery,
    EvaluationFields,
    EvaluationId,
    EvaluationIn,
    EvaluationOut,
    EvaluationPage,
    ExplainQuery,
    FeedbackItem,
    FeedbackOut,
    InvocationOut,
    LeaderboardIn,
    LeaderboardOut,
    LeaderboardPage,
    LiveMetricOut,
    LiveMetricQuery,
    ModelDetailOut,
    ModelEditIn,
    ModelIn,
    ModelPage,
    ModelRefQuery,
    ModelSearch,
    Pagination,
    PredictionOut,
    ReadOptionQuery,
    RegisterIn,
    RuleId,
    StrictQuery,
    ThresholdIn,
    TrainIn,
    VersionEditIn,
    VersionNumber,
    VersionOut,
    VersionQuery,
    VisibilityIn,
    VisibilityOut,
    WebhookCreatedOut,
    WebhookId,
    WebhookIn,
    WebhookOut,
    errors,
)
from registry.models import (
    Alias,
    BatchJob,
    Dataset,
    Leaderboard,
    ModelVersion,
    RegisteredModel,
)
from registry.monitoring import drift, feedback, live
from registry.serving.resolve import MODEL_URI_MAX_CHARS

# Helpers -------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth


def _page(queryset: Any, pagination: Pagination, render: Any) -> dict[str, Any]:
    count = queryset.count()
    start = (pagination.page - 1) * pagination.page_size
    items = [render(obj) for obj in queryset[start : start + pagination.page_size]]
    return {
        "items": items,
        "count": count,
        "page": pagination.page,
        "page_size": pagination.page_size,
    }


def _model_dict(model: RegisteredModel, *, detail: bool = False) -> dict[str, Any]:
    versions = list(model.versions.all())  # prefetched, newest first
    data = {
        "name": model.name,
        "description": model.description,
        "owner": model.owner.get_username(),
        "visibility": model.visibility,
        "team": model.team.name if model.team else None,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "aliases": {a.name: a.version.version for a in model.aliases.all()},
        "tags": {t.key: t.value for t in model.tags.all()},  # prefetched, by key
        "latest_version": versions[0].to_dict(detail=False) if versions else None,
    }
    if detail:
        data["versions"] = [v.to_dict(detail=False) for v in versions]
    return data


def _accepted(version: ModelVersion) -> Status:
    version.refresh_from_db()
    return Status(202, version.to_dict(viewer=version.created_by))


# Algorithms ----------------------------------------------------------------------------


@api.get("/algorithms", response={200: list[AlgorithmOut], **errors()}, tags=["algorithms"])
def list_algorithms(request: HttpRequest) -> list[dict[str, Any]]:
    """Every algorithm with its kind and hyperparameters (type, default, bounds or choices)."""
    return [a.to_dict() for a in ALGORITHMS.values()]


# Datasets ------------------------------------------------------------------------------


def _file_body(raw: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The documented body of an upload: a multipart field `file` (plus `fields`), or a raw
    body of one of the media types in `raw`."""
    properties = {"file": {"type": "string", "format": "binary"}, **fields}
    multipart = {"schema": {"type": "object", "properties": properties, "required": ["file"]}}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": multipart, **raw}}}


_TEXT = {"schema": {"type": "string"}}
_READ_OPTION = {"type": "string", "maxLength": 20}
_UPLOAD_BODY = _file_body(
    dict.fromkeys(("text/csv", "text/plain", "application/csv"), _TEXT),
    name={"type": "string", "maxLength": 200},
    delimiter={**_READ_OPTION, "enum": [csvio.DETECT, *csvio.DELIMITERS]},
    decimal={**_READ_OPTION, "enum": [csvio.DETECT, *csvio.DECIMALS]},
    encoding={**_READ_OPTION, "enum": [csvio.DETECT, *csvio.ENCODINGS]},
)


def _uploaded_file(
    request: HttpRequest, what: str, raw_types: tuple[str, ...], raw_name: str
) -> tuple[bytes, str | None]:
    """The bytes (and file name) of an upload: a multipart field `file`, or a raw body of one
    of `raw_types`; 413 above the upload limit, 415 for any other media type."""
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise services.InvalidInput(
                f"Send {what} in a multipart field named 'file'.",
                {"file": "This field is required."},
            )
        if upload.size > csvio.max_upload_bytes():
            raise HttpError(413, f"The file is larger than {settings.MLSERVE_MAX_UPLOAD_MB} MB.")
        return upload.read(), upload.name
    if content_type in raw_types:
        return request.body, None
    raise HttpError(415, f"Send {what} as multipart/form-data (field 'file') or as {raw_name}.")


@api.post(
    "/datasets",
    response={201: DatasetOut, **errors(409, 413, 415, 422)},
    tags=["datasets"],
    openapi_extra=_UPLOAD_BODY,
)
def upload_dataset(
    request: HttpRequest,
    name: DatasetNameQuery = None,
    delimiter: ReadOptionQuery = None,
    decimal: ReadOptionQuery = None,
    encoding: ReadOptionQuery = None,
) -> Status:
    """Upload a CSV (multipart field `file`, optional field `name`; or a raw text/csv body
    with `?name=`). The first line names the columns; types are inferred. The delimiter
    (comma, semicolon, tab, pipe), decimal mark (point, comma) and encoding (utf-8, cp1252,
    latin-1) are detected unless given, as fields or in the query; `options` in the answer
    says how the file was read."""
    data, filename = _uploaded_file(
        request, "the CSV", ("text/csv", "text/plain", "application/csv"), "text/csv"
    )
    name = request.POST.get("name") or name
    chosen = {"delimiter": delimiter, "decimal": decimal, "encoding": encoding}
    options = {key: request.POST.get(key) or value for key, value in chosen.items()}
    dataset = services.dataset_create(
        owner=_user(request), data=data, name=name, filename=filename, options=options
    )
    return Status(201, Dataset.objects.select_related("owner").get(pk=dataset.pk).to_dict())


@api.get("/datasets", response={200: DatasetPage, **errors(422)}, tags=["datasets"])
def list_datasets(request: HttpRequest, pagination: Query[Pagination]) -> dict[str, Any]:
    """Your datasets, newest first (their bytes are never sent)."""
    return _page(selectors.datasets(_user(request)), pagination, Dataset.to_dict)


@api.get(
    "/datasets/{dataset_id}", response={200: DatasetOut, **errors(404, 422)}, tags=["datasets"]
)
def get_dataset(request: HttpRequest, dataset_id: DatasetId) -> dict[str, Any]:
    return selectors.dataset(_user(request), dataset_id).to_dict()


@api.get(
    "/datasets/{dataset_id}/csv",
    response={200: None, **errors(404, 422)},
    tags=["datasets"],
    openapi_extra={
        "responses": {
            200: {
                "description": "The file as uploaded (its encoding in the charset).",
                "content": {"text/csv": _TEXT},
            }
        }
    },
)
def download_dataset(request: HttpRequest, dataset_id: DatasetId) -> HttpResponse:
    """Download one of your datasets as it was uploaded."""
    found, data = selectors.dataset_csv(_user(request), dataset_id)
    return FileResponse(
        io.BytesIO(data),
        as_attachment=True,
        filename=found.csv_filename(),
        content_type=found.csv_content_type(),
    )


@api.patch(
    "/datasets/{dataset_id}", response={200: DatasetOut, **errors(403, 404, 422)}, tags=["datasets"]
)
def change_dataset_types(
    request: HttpRequest, dataset_id: DatasetId, body: DatasetTypesIn
) -> dict[str, Any]:
    """Choose a column's type (number, category, date, or ignore: left out of features by
    default); null gives it back its inferred type. The schema is read again with the new
    types; a column that cannot be read as its chosen type is refused (422)."""
    dataset = services.dataset_set_types(
        dataset=selectors.dataset(_user(request), dataset_id), user=_user(request), types=body.types
    )
    return Dataset.objects.select_related("owner").get(pk=dataset.pk).to_dict()


@api.delete(
    "/datasets/{dataset_id}", response={204: None, **errors(403, 404, 422)}, tags=["datasets"]
)
def delete_dataset(request: HttpRequest, dataset_id: DatasetId) -> Status:
    """Delete one of your datasets; versions trained on it keep its name and sha256."""
    services.dataset_delete(
        dataset=selectors.dataset(_user(request), dataset_id), user=_user(request)
    )
    return Status(204, None)


@api.put(
    "/datasets/{dataset_id}/visibility",
    response={200: VisibilityOut, **errors(403, 404, 422)},
    tags=["datasets"],
)
def set_dataset_visibility(
    request: HttpRequest, dataset_id: DatasetId, body: VisibilityIn
) -> dict[str, Any]:
    """Who may read one of your datasets: `private` (you), `team` (you and the members of
    `team`, a team you are in) or `public` (everyone signed in). Recorded in the audit log."""
    return _visibility_dict(
        services.set_visibility(
            selectors.dataset(_user(request), dataset_id),
            user=_user(request),
            visibility=body.visibility,
            team=body.team,
            via="api",
        )
    )


def _visibility_dict(obj: Any) -> dict[str, Any]:
    return {"visibility": obj.visibility, "team": obj.team.name if obj.team else None}


# Models and versions -------------------------------------------------------------------


def _training_spec(user: Any, body: TrainIn) -> dict[str, Any]:
    """What a training request asks for, as the services take it."""
    return {
        "dataset": services.training_dataset(user, body.dataset),
        "algorithm": body.algorithm,
        "target": body.target,
        "features": body.features,
        "params": body.params,
        "test_size": body.test_size,
    }


@api.post("/models", response={202: VersionOut, **errors(403, 404, 409, 422, 429)}, tags=["models"])
def create_model(request: HttpRequest, body: ModelIn) -> Status:
    """Register a model and queue the training of its version 1."""
    user = _user(request)
    version = services.model_create_with_version(
        owner=user,
        name=body.name,
        description=body.description,
        **_training_spec(user, body),
    )
    return _accepted(version)


@api.post(
    "/models/{name}/versions",
    response={202: VersionOut, **errors(403, 404, 422, 429)},
    tags=["models"],
)
def create_version(request: HttpRequest, name: str, body: TrainIn) -> Status:
    """Queue the training of the next version of one of your models."""
    user = _user(request)
    model = selectors.model(_user(request), name)
    services.ensure_owner(model, user)  # before looking at the dataset: 403, not 404
    version = services.version_create(
        model=model,
        user=user,
        allow_schema_change=body.allow_schema_change,
        **_training_spec(user, body),
    )
    return _accepted(version)


@api.get("/models", response={200: ModelPage, **errors(422)}, tags=["models"])
def list_models(request: HttpRequest, search: Query[ModelSearch]) -> dict[str, Any]:
    """Models matching every filter given, each with its aliases, tags and newest version,
    a page at a time: follow `next` (a cursor, for the same filters and order) until it is
    null. 400 for a cursor this server did not hand out; 422 for a bad filter."""
    models = selectors.models_with_versions(_user(request), latest_only=True)
    if limited := token_models(request):  # a token limited to some models: those
        models = models.filter(name__in=limited)
    found = selectors.model_search(
        models,
        q=search.q,
        tags=search.tag,
        algorithm=search.algorithm,
        target=search.target,
        order_by=search.order_by,
    )
    items, after = selectors.cursor_page(
        found, order_by=search.order_by, cursor=search.cursor, limit=search.limit
    )
    following = None
    if after is not None:
        query = request.GET.copy()
        query["cursor"] = after
        following = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return {
        "items": [_model_dict(m) for m in items],
        "count": found.order_by().count(),
        "limit": search.limit,
        "next": following,
    }


@api.get("/models/{name}", response={200: ModelDetailOut, **errors(404)}, tags=["models"])
def get_model(request: HttpRequest, name: str) -> dict[str, Any]:
    return _model_dict(selectors.model_with_versions(_user(request), name), detail=True)


@api.patch(
    "/models/{name}", response={200: ModelDetailOut, **errors(403, 404, 422)}, tags=["models"]
)
def edit_model(request: HttpRequest, name: str, body: ModelEditIn) -> dict[str, Any]:
    """Change the description or tags of one of your models: send only what changes.
    `tags` is a JSON merge patch (a key with a value sets it, with null removes it, a key
    not named stays). Recorded in the audit log ("model.edit")."""
    user = _user(request)
    services.model_edit(model=selectors.model(user, name), user=user, via="api", **body.changes())
    return _model_dict(selectors.model_with_versions(_user(request), name), detail=True)


@api.delete("/models/{name}", response={204: None, **errors(403, 404)}, tags=["models"])
def delete_model(request: HttpRequest, name: str) -> Status:
    """Delete one of your models with all its versions and aliases."""
    services.model_delete(model=selectors.model(_user(request), name), user=_user(request))
    return Status(204, None)


@api.put(
    "/models/{name}/visibility",
    response={200: VisibilityOut, **errors(403, 404, 422)},
    tags=["models"],
)
def set_model_visibility(request: HttpRequest, name: str, body: VisibilityIn) -> dict[str, Any]:
    """Who may read (and predict with) one of your models: `private` (you), `team` (you and
    the members of `team`, a team you are in) or `public` (everyone signed in, the default).
    Recorded in the audit log; served everywhere within about a second."""
    return _visibility_dict(
        services.set_visibility(
            selectors.model(_user(request), name),
            user=_user(request),
            visibility=body.visibility,
            team=body.team,
            via="api",
        )
    )


@api.get(
    "/models/{name}/versions/{version}",
    response={200: VersionOut, **errors(404, 422)},
    tags=["models"],
)
def get_version(request: HttpRequest, name: str, version: VersionNumber) -> dict[str, Any]:
    """Status, progress, algorithm, hyperparameters, input schema, classes, metrics, error."""
    return selectors.version(_user(request), name, version).to_dict(viewer=_user(request))


@api.patch(
    "/models/{name}/versions/{version}",
    response={200: VersionOut, **errors(403, 404, 422)},
    tags=["models"],
)
def edit_version(
    request: HttpRequest, name: str, version: VersionNumber, body: VersionEditIn
) -> dict[str, Any]:
    """Change the description, note or tags of a version of one of your models (ready or
    not: these describe the version, they are not its artifact), like PATCH /models/{name}
    ("version.edit" in the audit log)."""
    user = _user(request)
    found = services.version_edit(
        version=selectors.version(user, name, version), user=user, via="api", **body.changes()
    )
    return found.to_dict(viewer=user)


@api.delete(
    "/models/{name}/versions/{version}",
    response={204: None, **errors(403, 404, 409, 422)},
    tags=["models"],
)
def delete_version(request: HttpRequest, name: str, version: VersionNumber) -> Status:
    """Delete a version of one of your models (move its aliases away first)."""
    services.version_delete(
        version=selectors.version(_user(request), name, version), user=_user(request)
    )
    return Status(204, None)


@api.post(
    "/models/{name}/versions/{version}/cancel",
    response={200: VersionOut, **errors(403, 404, 409, 422)},
    tags=["models"],
)
def cancel_version(request: HttpRequest, name: str, version: VersionNumber) -> dict[str, Any]:
    """Cancel the training of a queued or running version of one of your models: it ends
    `cancelled` (a running training is stopped within a second or so); 409 once finished."""
    user = _user(request)
    found = services.version_cancel(
        version=selectors.version(_user(request), name, version), user=user
    )
    return found.to_dict(viewer=user)


@api.put(
    "/models/{name}/versions/{version}/threshold",
    response={200: VersionOut, **errors(403, 404, 409, 422)},
    tags=["models"],
)
def put_threshold(
    request: HttpRequest, name: str, version: VersionNumber, body: ThresholdIn
) -> dict[str, Any]:
    """Set the decision threshold of a ready binary classifier of yours (with probabilities):
    the predict routes then answer classes[1] when its probability is at or above it, and
    say `threshold` in their answer. `null` clears it. A setting, not a new version: the
    change is recorded in the audit log and served everywhere within about a second."""
    user = _user(request)
    found = services.set_threshold(
        selectors.version(_user(request), name, version), body.threshold, actor=user, via="api"
    )
    return found.to_dict(viewer=user)


# Moving versions between instances (registry/transfer.py) --------------------------------

_EXPORT_TYPES = ("application/zip", "application/octet-stream", "application/x-zip-compressed")
_BINARY = {"schema": {"type": "string", "format": "binary"}}


@api.get(
    "/models/{name}/versions/{version}/export",
    response={200: None, **errors(403, 404, 409, 422)},
    tags=["transfer"],
    openapi_extra={
        "responses": {
            200: {
                "description": "The export file: a zip of manifest.json, model-card.json "
                "and artifact.npz (see the README).",
                "content": {"application/zip": _BINARY},
            }
        }
    },
)
def export_version(request: HttpRequest, name: str, version: VersionNumber) -> HttpResponse:
    """Download a ready version as one file (its artifact and a JSON model card), to import
    on another instance. Signed when MLSERVE_SIGNING_KEY is set. 409 if not ready; 403
    unless you own the model or are staff (an artifact can hold training rows)."""
    found = selectors.version(_user(request), name, version)
    data = transfer.version_export(found, user=_user(request))
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{transfer.export_filename(found)}"'
    return response


@api.post(
    "/models/{name}/import",
    response={201: VersionOut, **errors(403, 409, 413, 415, 422, 429)},
    tags=["transfer"],
    openapi_extra=_file_body(dict.fromkeys(_EXPORT_TYPES, _BINARY)),
)
def import_version(request: HttpRequest, name: str) -> Status:
    """Import an export file (multipart field `file`, or the raw body) as the next version
    of model `name`, ready at once; the model is created (yours) if absent, and only its
    owner may import into it. Every checksum, the format version, every field of the model
    card and, when MLSERVE_SIGNING_KEY is set here, the signature are verified; with
    MLSERVE_REQUIRE_SIGNED_IMPORTS an unsigned file is refused: 422 otherwise."""
    data, _ = _uploaded_file(request, "the export file", _EXPORT_TYPES, "application/zip")
    version = services.version_import(user=_user(request), data=data, name=name)
    return Status(
        201, selectors.model_version(version.model, version.version).to_dict(viewer=_user(request))
    )


_MODEL_REF = {
    "type": "string",
    "minLength": 1,
    "maxLength": MODEL_URI_MAX_CHARS,
    "pattern": MODEL_REF_PATTERN,
    "description": "the model to import into: a name or models:/<name> (a version or an "
    "alias is refused: an import makes the next version); default: the name in the file",
}


@api.post(
    "/import",
    response={201: VersionOut, **errors(403, 409, 413, 415, 422, 429)},
    tags=["transfer"],
    openapi_extra=_file_body(dict.fromkeys(_EXPORT_TYPES, _BINARY), model=_MODEL_REF),
)
def import_file(request: HttpRequest, model: ModelRefQuery = None) -> Status:
    """Import an export file as the next version of `model` (a multipart field beside
    `file`, or the query with a raw body): a name or MLflow's `models:/<name>`, by default
    the name in the file. Otherwise as `POST /models/{name}/import`, whose path cannot hold
    a URI (it holds a '/')."""
    data, _ = _uploaded_file(request, "the export file", _EXPORT_TYPES, "application/zip")
    ref = request.POST.get("model") or model
    name = serving.model_name(ref, field="model") if ref else None
    version = services.version_import(user=_user(request), data=data, name=name, field="model")
    return Status(
        201, selectors.model_version(version.model, version.version).to_dict(viewer=_user(request))
    )


@api.put(
    "/models/{name}/aliases/{alias}",
    response={200: AliasOut, **errors(403, 404, 409, 422)},
    tags=["models"],
)
def put_alias(request: HttpRequest, name: str, alias: str, body: AliasIn) -> dict[str, Any]:
    """Point an alias (e.g. production) at a ready version, with its rollout, in one atomic
    update: `canary` {"version", "percent"} answers that share of its requests, `shadow`
    {"version"} scores its logged requests off the request path; either omitted: none (a
    running one ends)."""
    moved = services.alias_rollout(
        model=selectors.model(_user(request), name),
        name=alias,
        version_number=body.version,
        canary=(body.canary.version, body.canary.percent) if body.canary else None,
        shadow=body.shadow.version if body.shadow else None,
        user=_user(request),
        via="api",
    )
    return _alias_dict(name, moved)


def _alias_dict(name: str, alias: Alias) -> dict[str, Any]:
    """An alias and its rollout as the API answers them."""
    canary = alias.canary_version
    return {
        "model": name,
        "alias": alias.name,
        "version": alias.version.version,
        "updated_at": alias.updated_at,
        "canary": (
            {"version": canary.version, "percent": alias.canary_percent} if canary else None
        ),
        "shadow": alias.shadow_version.version if alias.shadow_version else None,
    }


@api.post(
    "/models/{name}/aliases/{alias}/canary/promote",
    response={200: CanaryPromoteOut, **errors(403, 404, 409)},
    tags=["models"],
)
def promote_canary(request: HttpRequest, name: str, alias: str) -> dict[str, Any]:
    """The alias's canary becomes its version and the split ends, in one step (served
    everywhere within about 2 seconds like any move). 409 if it has no canary."""
    moved, previous = services.alias_canary_promote(
        model=selectors.model(_user(request), name), name=alias, user=_user(request), via="api"
    )
    return {**_alias_dict(name, moved), "previous": previous}


@api.delete(
    "/models/{name}/aliases/{alias}/canary",
    response={200: AliasOut, **errors(403, 404, 409)},
    tags=["models"],
)
def end_canary(request: HttpRequest, name: str, alias: str) -> dict[str, Any]:
    """End the alias's canary: all its requests go to its own version again. 409 if it has
    none."""
    ended = services.alias_canary_end(
        model=selectors.model(_user(request), name), name=alias, user=_user(request), via="api"
    )
    return _alias_dict(name, ended)


@api.delete(
    "/models/{name}/aliases/{alias}", response={204: None, **errors(403, 404)}, tags=["models"]
)
def delete_alias(request: HttpRequest, name: str, alias: str) -> Status:
    services.alias_delete(
        model=selectors.model(_user(request), name), name=alias, user=_user(request), via="api"
    )
    return Status(204, None)


@api.get(
    "/models/{name}/aliases/{alias}",
    response={200: AliasStateOut, **errors(404, 422)},
    tags=["models"],
    exclude_unset=True,  # an answer about the past has no rollout fields
)
def get_alias(
    request: HttpRequest, name: str, alias: str, query: Query[AliasAtQuery]
) -> dict[str, Any]:
    """The alias now: its version, canary, shadow and updated_at (as PUT answers them) and
    since when it points at that version; or with `at` the version it pointed at then, from
    the recorded history of its changes (`?at=2026-12-01T10:00:00Z`; a time without an
    offset is UTC). 404 if it was not set then, or its history does not reach back."""
    model = selectors.model(_user(request), name)
    state = {"model": name, "alias": alias, **selectors.alias_state(model, alias, query.at)}
    if query.at is None:
        state.update(_alias_dict(name, selectors.alias(model, alias)))
    return state


@api.post(
    "/models/{name}/aliases/{alias}/rollback",
    response={200: AliasRollbackOut, **errors(403, 404, 409)},
    tags=["models"],
)
def rollback_alias(request: HttpRequest, name: str, alias: str) -> dict[str, Any]:
    """Move an alias back to the version it pointed at before its last change (past
    versions since deleted or not ready), served everywhere within about 2 seconds like any
    move. Rolling back twice returns to where it started. 409 if there is no earlier
    version to go back to."""
    moved, previous = services.alias_rollback(
        model=selectors.model(_user(request), name), name=alias, user=_user(request), via="api"
    )
    return {
        "model": name,
        "alias": moved.name,
        "version": moved.version.version,
        "previous": previous,
        "updated_at": moved.updated_at,
    }


# Prediction ----------------------------------------------------------------------------

_ROW = {"oneOf": [{"type": "array", "items": {}}, {"type": "object"}]}
_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["instances"],
                            "additionalProperties": False,
                            "properties": {"instances": {"type": "array", "items": _ROW}},
                        },
                        {
                            "type": "object",
                            "required": ["inputs"],
                            "additionalProperties": False,
                            "properties": {
                                "inputs": {
                                    "oneOf": [
                                        {"type": "array", "items": _ROW},
                                        {  # columnar: {"feature": [values...], ...}
                                            "type": "object",
                                            "additionalProperties": {"type": "array"},
                                        },
                                    ]
                                }
                            },
                        },
                        {
                            "type": "object",
                            "required": ["dataframe_split"],
                            "additionalProperties": False,
                            "properties": {
                                "dataframe_split": {
                                    "type": "object",
                                    "required": ["columns", "data"],
                                    "properties": {
                                        "columns": {"type": "array", "items": {"type": "string"}},
                                        "data": {"type": "array", "items": {"type": "array"}},
                                    },
                                }
                            },
                        },
                        {
                            "type": "object",
                            "required": ["dataframe_records"],
                            "additionalProperties": False,
                            "properties": {
                                "dataframe_records": {"type": "array", "items": {"type": "object"}}
                            },
                        },
                    ]
                },
                "example": {"instances": [[1.0, 2.0, "red"]]},
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def _predict(
    request: HttpRequest, served: serving.ServedVersion, strict: bool, explain: bool = False
) -> HttpResponse:
    result = serving.predict(
        served,
        request.body,
        user=request.auth,
        source="api",
        content_type=request.content_type or "",
        strict=strict,
        explain=explain,
        key=request.META.get("HTTP_X_REQUEST_KEY"),  # not .headers: it copies every header
    )
    return HttpResponse(serving.result_json(result), content_type="application/json")


@api.post(
    "/models/{name}/predict",
    response={200: PredictionOut, **errors(404, 409, 413, 415, 422, 507)},
    tags=["prediction"],
    openapi_extra=_PREDICT_BODY,
)
def predict(
    request: HttpRequest,
    name: str,
    version: VersionQuery = None,
    alias: AliasQuery = None,
    strict: StrictQuery = False,
    explain: ExplainQuery = False,
) -> HttpResponse:
    """Predict with a model: its `production` alias (409 if it has none: a newer ready
    version never takes these calls by itself; `?alias=` or `?version=` choose another;
    both: 409 unless the alias is at that version). Rows by position (the input schema's
    feature order) or by name; MLflow's dataframe_split / dataframe_records; or text/csv.
    Keys and columns the model does not take are ignored (`?strict=true`: refused, 422).
    Each row's `warnings` name its categories unseen in training. `?explain=true` adds
    `explanations`: per row, a base value and each input column's contribution, in the
    units `output` states (`value`, `logit`, `probability`)."""
    if version is not None and alias is not None:
        # Both: predict only if the alias points at that version (a guard against a move).
        served = serving.resolve(name, alias=alias, user=_user(request))
        if served.version != version:
            raise services.Conflict(
                f"{name}@{alias} is v{served.version}, not v{version}: give ?version= or "
                "?alias= alone."
            )
        # That version answers, as asked: a canary of the alias does not take these calls.
        served = serving.resolve(name, version=version, user=_user(request))
        return _predict(request, served, strict, explain)
    served = serving.resolve(name, version=version, alias=alias, user=_user(request))
    return _predict(request, served, strict, explain)


@api.post(
    "/models/{name}/versions/{version}/predict",
    response={200: PredictionOut, **errors(404, 409, 413, 415, 422, 507)},
    tags=["prediction"],
    openapi_extra=_PREDICT_BODY,
)
def predict_version(
    request: HttpRequest,
    name: str,
    version: VersionNumber,
    strict: StrictQuery = False,
    explain: ExplainQuery = False,
) -> HttpResponse:
    """Predict with one version of a model (same bodies, `?explain=` and answer as
    /models/{name}/predict)."""
    served = serving.resolve(name, version=version, user=_user(request))
    return _predict(request, served, strict, explain)


# MLflow's scoring protocol ---------------------------------------------------------------


def _mlflow_body(body: dict[str, Any]) -> dict[str, Any]:
    """The predict bodies as MLflow's scoring server takes them: each with `params`."""
    params = {
        "anyOf": [{"type": "object"}, {"type": "null"}],
        "description": "inference parameters: no model here takes any (ignored, with a warning)",
    }
    content = copy.deepcopy(body["requestBody"]["content"])
    for shape in content["application/json"]["schema"]["oneOf"]:
        shape["properties"]["params"] = params
    content["application/json"]["example"] = {
        "dataframe_split": {"columns": ["tenure_months", "contract"], "data": [[3, "two-year"]]},
        "params": {},
    }
    return {"requestBody": {**body["requestBody"], "content": content}}


_INVOCATIONS_BODY = _mlflow_body(_PREDICT_BODY)
_INVOCATIONS_ERRORS = errors(404, 409, 413, 415, 422, 507)
_UTF8 = ("utf-8", "utf8")


def _invoke(request: HttpRequest, served: serving.ServedVersion) -> HttpResponse:
    """One call of MLflow's scoring protocol, through the one serving entry (as _predict):
    MLflow's answer, {"predictions": [...]}, with the `params` it ignored named in
    "warnings" and a Warning header; the version that answered and the prediction id (for
    POST .../feedback) in the X-Model-Version and X-Prediction-Id headers."""
    charset = request.content_params.get("charset", "utf-8").lower()
    others = sorted(set(request.content_params) - {"charset"})
    if charset not in _UTF8 or others:
        said = f"charset {charset!r}" if charset not in _UTF8 else f"parameter {others[0]!r}"
        message = f"The Content-Type {said} is not read here: send UTF-8 JSON or text/csv."
        raise HttpError(415, message)
    result = serving.predict(
        served,
        request.body,
        user=request.auth,
        source="api",
        content_type=request.content_type or "",
        key=request.META.get("HTTP_X_REQUEST_KEY"),  # not .headers: it copies every header
        mlflow_params=True,
    )
    answer: dict[str, Any] = {"predictions": result["predictions"]}
    ignored = result.get("ignored_params")
    if ignored:
        warning = (
            f"params ignored: the models served here take no inference parameters "
            f"({', '.join(ignored)})."
        )
        answer["warnings"] = [warning]
    response = HttpResponse(serving.result_json(answer), content_type="application/json")
    if ignored:
        response["Warning"] = f"299 - {json.dumps(warning)}"  # an ASCII quoted-string
    response["X-Model-Version"] = str(result["model"]["version"])
    response["X-Prediction-Id"] = result["prediction_id"]
    return response


@api.post(
    "/models/{name}@{alias}/invocations",
    response={200: InvocationOut, **_INVOCATIONS_ERRORS},
    tags=["prediction"],
    openapi_extra=_INVOCATIONS_BODY,
)
def invoke_alias(request: HttpRequest, name: str, alias: str) -> HttpResponse:
    """Score with the version an alias points at (its canary for its share), as MLflow's
    scoring server does (`models:/name@alias`): the bodies of /models/{name}/invocations."""
    return _invoke(request, serving.resolve(name, alias=alias, user=_user(request)))


@api.post(
    "/models/{name}/invocations",
    response={200: InvocationOut, **_INVOCATIONS_ERRORS},
    tags=["prediction"],
    openapi_extra=_INVOCATIONS_BODY,
)
def invoke(request: HttpRequest, name: str) -> HttpResponse:
    """Score with the model's production alias (409 if it has none), as MLflow's scoring
    server does: JSON with one of `dataframe_split`, `dataframe_records`, `instances` or
    `inputs`, and optionally `params` (no model here takes any: ignored, named in `warnings`
    and a `Warning` header); or text/csv. The answer is MLflow's, `{"predictions": [...]}`;
    the headers X-Model-Version and X-Prediction-Id say which version answered and the id
    POST .../feedback takes. Errors are problem+json."""
    return _invoke(request, serving.resolve(name, user=_user(request)))


@api.post(
    "/models/{name}/versions/{version}/invocations",
    response={200: InvocationOut, **_INVOCATIONS_ERRORS},
    tags=["prediction"],
    openapi_extra=_INVOCATIONS_BODY,
)
def invoke_version(request: HttpRequest, name: str, version: VersionNumber) -> HttpResponse:
    """Score with one version of a model (`models:/name/3`): the bodies and answer of
    /models/{name}/invocations."""
    return _invoke(request, serving.resolve(name, version=version, user=_user(request)))


@api.get(
    "/models/{name}/versions/{version}/drift",
    response={200: DriftOut, **errors(404, 409, 422)},
    tags=["monitoring"],
)
def get_drift(
    request: HttpRequest, name: str, version: VersionNumber, query: Query[DriftQuery]
) -> dict[str, Any]:
    """Recent logged inputs of a ready version against its training data: per feature the
    population stability index (PSI) and, for categories, the share never seen in training.
    A feature is drifting above PSI 0.2 (moderate from 0.1) or with more than 10% unseen
    categories; no verdict below min_rows rows. 409 if the version is not ready."""
    found = selectors.version(_user(request), name, version)
    if not found.is_ready:
        raise services.Conflict(f"{found} is {found.status}: it has no drift report until ready.")
    return drift.report(found, days=query.days, max_rows=query.max_rows)


# Ground-truth feedback and live metrics ------------------------------------------------

_FEEDBACK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": feedback.MAX_ITEMS,
                    "items": FeedbackItem.model_json_schema(),
                },
                "example": [
                    {"prediction_id": "8f14e45f-ceea-467f-a0e6-0f3b1b9c2d10:0", "label": 1}
                ],
            },
            "text/csv": _TEXT,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def _feedback_items(request: HttpRequest) -> list[tuple[Any, Any]]:
    if (request.content_type or "") in ("application/json", ""):
        try:
            return feedback.items_from_json(serving.load_json(request.body))
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, f"The body is not valid JSON: {str(exc)[:200]}") from None
    data, _ = _uploaded_file(request, "the CSV", ("text/csv", "application/csv"), "text/csv")
    return feedback.items_from_csv(data)


@api.post(
    "/models/{name}/feedback",
    response={200: FeedbackOut, **errors(403, 404, 413, 415, 422)},
    tags=["monitoring"],
    openapi_extra=_FEEDBACK_BODY,
)
def post_feedback(request: HttpRequest, name: str) -> dict[str, Any]:
    """Send the true answers of predictions: a JSON list of {"prediction_id", "label"} (the
    ids every predict answer gives, "<prediction_id>:<row>"), or a CSV with the columns
    prediction_id and label; at most 10,000 a request. The same label again changes
    nothing; a different one replaces it (counted as updated). Your own predictions only,
    unless you own the model (403 when every label names another user's). Predictions the
    log did not keep (sampled out, beyond its rows per request, pruned) are unknown."""
    model = selectors.model(_user(request), name)
    done = services.feedback_record(
        user=_user(request), model=model, items=_feedback_items(request)
    )
    return {"detail": done.summary(), "counts": done.counts, "problems": done.problems}


@api.get(
    "/models/{name}/versions/{version}/live-metrics",
    response={200: LiveMetricOut, **errors(404, 422)},
    tags=["monitoring"],
)
def get_live_metrics(
    request: HttpRequest, name: str, version: VersionNumber, query: Query[LiveMetricQuery]
) -> dict[str, Any]:
    """The version's task metric (accuracy, or r2 for a regressor) on its predictions that
    were given true answers (POST .../feedback): over the window (`days`, `last_n`), per day
    of the prediction (UTC), and the same metric on the training holdout beside it."""
    found = selectors.version(_user(request), name, version)
    result = live.live_metric(found, days=query.days, last_n=query.last_n)
    return {"model": name, "version": found.version, **result}


# Leaderboards --------------------------------------------------------------------------


def _board_dict(board: Leaderboard, *, detail: bool) -> dict[str, Any]:
    """A leaderboard as the API shows it to its owner (boards, like datasets, are private)."""
    rows = selectors.leaderboard_rows(board)
    best = next((r for r in rows if r.get("rank") == 1), None)
    best_stat = (best or {}).get("metrics", {}).get(board.metric) or {}
    data: dict[str, Any] = {
        "id": board.pk,
        "status": board.status,
        "dataset": {
            "id": board.dataset_id,
            "name": board.dataset_name,
            "sha256": board.dataset_sha256,
        },
        "target": board.target,
        "task": board.task,
        "folds": board.folds,
        "metric": board.metric,
        "algorithms": board.algorithms,
        "n_iter": board.n_iter,
        "time_budget_s": board.time_budget_s,
        "seed": board.seed,
        "progress": {"trials_done": board.trials_done, "trials_total": board.trials_total},
        "best": None
        if best is None
        else {
            "algorithm": best["algorithm"],
            "trial": best["trial"],
            "params": best.get("params") or {},
            "metric": board.metric,
            "mean": best_stat.get("mean"),
            "std": best_stat.get("std"),
        },
        "error": board.error or None,
        "created_at": board.created_at,
        "started_at": board.started_at,
        "finished_at": board.finished_at,
        "url": board.get_absolute_url(),
    }
    if detail:
        data["features"] = board.features
        data["rows"] = rows
        data["trials"] = [
            {
                "number": t.number,
                "algorithm": t.algorithm,
                "params": t.params,
                "is_default": t.is_default,
                "status": t.status,
                "reason": t.reason or None,
                "scores": t.scores,
                "fit_seconds": t.fit_seconds,
                "predict_seconds": t.predict_seconds,
                "attempts": t.attempts,
            }
            for t in board.trials.all()
        ]
    return data


@api.post(
    "/leaderboards",
    response={202: LeaderboardOut, **errors(404, 422, 429)},
    tags=["leaderboards"],
)
def create_leaderboard(request: HttpRequest, body: LeaderboardIn) -> Status:
    """Compare every algorithm of the task (or those listed) on one of your datasets: each
    configuration of a random search over its hyperparameters (plus its defaults) is
    cross-validated on `folds` folds, as a task on the queue. The task is inferred from the
    target unless given; the rank goes by `metric` (default accuracy, or r2)."""
    user = _user(request)
    board = services.leaderboard_create(
        user=user,
        dataset=services.training_dataset(user, body.dataset),
        target=body.target,
        features=body.features,
        task=body.task,
        folds=body.folds,
        metric=body.metric,
        algorithms=list(body.algorithms) if body.algorithms is not None else None,
        n_iter=body.search.n_iter if body.search is not None else None,
        time_budget_s=body.time_budget_s,
        seed=body.seed,
    )
    return Status(202, _board_dict(selectors.leaderboard(user, board.pk), detail=True))


@api.get("/leaderboards", response={200: LeaderboardPage, **errors(422)}, tags=["leaderboards"])
def list_leaderboards(request: HttpRequest, pagination: Query[Pagination]) -> dict[str, Any]:
    """Your leaderboards, newest first."""
    return _page(
        selectors.leaderboards(_user(request)),
        pagination,
        lambda board: _board_dict(board, detail=False),
    )


@api.get(
    "/leaderboards/{board_id}",
    response={200: LeaderboardOut, **errors(404, 422)},
    tags=["leaderboards"],
)
def get_leaderboard(request: HttpRequest, board_id: BoardId) -> dict[str, Any]:
    """Status, progress (trials done of total), the best so far, one row per algorithm
    (best configuration, mean and sd of every metric over the folds, rank), and every
    trial's configuration and fold scores."""
    return _board_dict(selectors.leaderboard(_user(request), board_id), detail=True)


@api.post(
    "/leaderboards/{board_id}/cancel",
    response={200: LeaderboardOut, **errors(404, 409, 422)},
    tags=["leaderboards"],
)
def cancel_leaderboard(request: HttpRequest, board_id: BoardId) -> dict[str, Any]:
    """Cancel a queued or running leaderboard: trials not finished are stopped; finished
    trials are kept. 409 once it has ended."""
    user = _user(request)
    services.leaderboard_cancel(board=selectors.leaderboard(user, board_id), user=user)
    return _board_dict(selectors.leaderboard(user, board_id), detail=True)


@api.post(
    "/leaderboards/{board_id}/register",
    response={202: VersionOut, **errors(403, 404, 409, 422, 429)},
    tags=["leaderboards"],
)
def register_leaderboard(request: HttpRequest, board_id: BoardId, body: RegisterIn) -> Status:
    """Train the best configuration (or `algorithm`'s best) on every row of the board's
    dataset, as the next version of model `model` (created, yours, if new); the version
    links back to the board."""
    user = _user(request)
    version = services.leaderboard_register(
        board=selectors.leaderboard(user, board_id),
        user=user,
        algorithm=body.algorithm,
        model_name=serving.model_name(body.model, field="model"),
    )
    return _accepted(version)


# Evaluations ---------------------------------------------------------------------------

_EVALUATION_FORM = {
    "file": {"type": "string", "format": "binary"},
    "versions": {
        "type": "string",
        "maxLength": EVALUATION_VERSIONS_MAX_CHARS,
        "pattern": EVALUATION_VERSIONS_PATTERN,
        "description": "versions separated by commas, by number or model URI (2,"
        "models:/churn@production); default: production and the newest ready version",
    },
    "target": {"type": "string", "minLength": 1, "maxLength": 200},
}
_EVALUATION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": EvaluationIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": _EVALUATION_FORM, "required": ["file"]}
            },
        },
    }
}


def _evaluation_body(request: HttpRequest) -> EvaluationFields:
    """The JSON body (EvaluationIn), or the multipart fields next to the file."""
    schema: type[EvaluationFields] = EvaluationIn
    if request.content_type == "multipart/form-data":
        schema = EvaluationFields
        raw = ",".join(request.POST.getlist("versions"))
        fields: dict[str, Any] = {"target": request.POST.get("target") or None}
        if raw.strip():
            try:
                fields["versions"] = [
                    v.strip() if v.strip().startswith(serving.MODEL_URI_PREFIX) else int(v)
                    for v in raw.split(",")
                ]
            except ValueError:
                message = "Versions separated by commas, by number or model URI (1,2 or "
                message += "models:/churn@production,2)."
                raise services.InvalidInput(message, {"versions": message}) from None
        data: Any = fields
    elif request.content_type in ("application/json", ""):
        try:
            data = serving.load_json(request.body)
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, f"The body is not valid JSON: {str(exc)[:200]}") from None
    else:
        raise HttpError(
            415,
            "Send JSON naming one of your datasets, or a labelled CSV as multipart/form-data "
            "(field 'file').",
        )
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(exc.errors(include_url=False)) from None


def _version_numbers(
    model: RegisteredModel, versions: list[int | str] | None, *, multipart: bool
) -> list[int] | None:
    """The versions of an evaluation as numbers: a model URI (models:/churn/3,
    models:/churn@production) names one of `model`'s (422 naming the field otherwise)."""
    if versions is None:
        return None
    numbers = []
    for i, given in enumerate(versions):
        if isinstance(given, int):
            numbers.append(given)
            continue
        field = "versions" if multipart else f"versions.{i}"
        ref = serving.parse_model_uri(given, field=field)
        numbers.append(selectors.referenced_version(model, ref, field=field))
    return numbers


@api.post(
    "/models/{name}/evaluations",
    response={202: EvaluationOut, **errors(403, 404, 409, 413, 415, 422, 429)},
    tags=["evaluations"],
    openapi_extra=_EVALUATION_BODY,
)
def create_evaluation(request: HttpRequest, name: str) -> Status:
    """Score versions of your model on new labelled rows, side by side: JSON naming one of
    your datasets (`dataset`, optional `versions` and `target`), or a labelled CSV as
    multipart field `file` (it becomes one of your datasets) with optional fields `versions`
    ("1,2") and `target`. Default versions: production and the newest ready one. Queued
    (202); poll the evaluation until its status is done or failed."""
    user = _user(request)
    model = selectors.model(_user(request), name)
    body = _evaluation_body(request)
    versions = _version_numbers(model, body.versions, multipart=not isinstance(body, EvaluationIn))
    if isinstance(body, EvaluationIn):
        created = services.evaluation_create(
            user=user,
            model=model,
            dataset=selectors.dataset(user, body.dataset),
            versions=versions,
            target=body.target,
        )
    else:
        services.ensure_owner(model, user)  # before the file is read into a dataset
        data, filename = _uploaded_file(request, "the labelled CSV", (), "JSON")
        created = services.evaluation_create_from_file(
            user=user,
            model=model,
            data=data,
            filename=filename,
            versions=versions,
            target=body.target,
        )
    found = selectors.evaluation(user, name, created.pk)
    return Status(202, evaluation.to_dict(found, detail=True))


@api.get(
    "/models/{name}/evaluations",
    response={200: EvaluationPage, **errors(404, 422)},
    tags=["evaluations"],
)
def list_evaluations(
    request: HttpRequest, name: str, pagination: Query[Pagination]
) -> dict[str, Any]:
    """Your evaluations of this model, newest first (evaluations, like datasets, are private)."""
    model = selectors.model(_user(request), name)
    return _page(
        selectors.evaluations(_user(request)).filter(model=model),
        pagination,
        lambda found: evaluation.to_dict(found, detail=False),
    )


@api.get(
    "/models/{name}/evaluations/{evaluation_id}",
    response={200: EvaluationOut, **errors(404, 422)},
    tags=["evaluations"],
)
def get_evaluation(request: HttpRequest, name: str, evaluation_id: EvaluationId) -> dict[str, Any]:
    """Status and progress; once done, per version its metrics, rows scored and rows it could
    not score (by reason), and the link to the rows it got wrong; and the metrics side by
    side with each version's delta against the first."""
    return evaluation.to_dict(
        selectors.evaluation(_user(request), name, evaluation_id), detail=True
    )


@api.get(
    "/models/{name}/evaluations/{evaluation_id}/versions/{version}/wrong_rows",
    response={200: None, **errors(404, 422)},
    tags=["evaluations"],
    openapi_extra={
        "responses": {
            200: {
                "description": "The dataset's rows the version got wrong (a regressor's: every "
                "row it scored, largest error first), as written, with a `predicted` column.",
                "content": {"text/csv": _TEXT},
            }
        }
    },
)
def download_evaluation_rows(
    request: HttpRequest, name: str, evaluation_id: EvaluationId, version: VersionNumber
) -> HttpResponse:
    """Download the rows one version of a done evaluation got wrong, as CSV."""
    found = selectors.evaluation(_user(request), name, evaluation_id)
    filename, data = evaluation.wrong_rows_csv(found, version)
    return FileResponse(
        io.BytesIO(data), as_attachment=True, filename=filename, content_type="text/csv"
    )


# Background batch jobs (registry/batchjobs/) ---------------------------------------------

_BATCH_FORM = {
    "file": {"type": "string", "format": "binary"},
    "version": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "alias": {"type": "string", "minLength": 1, "maxLength": 50, "pattern": ALIAS_PATTERN},
    "format": {"type": "string", "enum": ["csv", "parquet"], "default": "csv"},
}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": BatchJobIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": _BATCH_FORM,
                    "required": ["file"],
                    "additionalProperties": False,
                }
            },
        },
    }
}


def _batch_body(request: HttpRequest) -> BatchJobFields:
    """The JSON body (BatchJobIn), or the multipart fields next to the file."""
    schema: type[BatchJobFields] = BatchJobIn
    if request.content_type == "multipart/form-data":
        schema = BatchJobFields
        data: Any = {k: request.POST.get(k) for k in request.POST if k != "file"}
    elif request.content_type in ("application/json", ""):
        try:
            data = serving.load_json(request.body)
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, f"The body is not valid JSON: {str(exc)[:200]}") from None
    else:
        raise HttpError(
            415,
            "Send JSON naming one of your datasets, or a CSV as multipart/form-data "
            "(field 'file').",
        )
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(exc.errors(include_url=False)) from None


@api.post(
    "/models/{name}/batch-jobs",
    response={202: BatchJobOut, **errors(400, 404, 409, 413, 415, 422, 429, 507)},
    tags=["batch jobs"],
    openapi_extra=_BATCH_BODY,
)
def create_batch_job(request: HttpRequest, name: str) -> Status:
    """Score a file larger than a predict request may carry, in the background: a CSV as
    multipart field `file` (at most MLSERVE_MAX_BATCH_UPLOAD_MB) with optional fields
    `version` or `alias` and `format` (csv or parquet), or JSON naming one of your datasets
    (`dataset`, and the same optional keys). The version is resolved now (default:
    production). At most MLSERVE_MAX_BATCH_ROWS rows and MLSERVE_USER_MAX_BATCH_JOBS jobs
    queued or running per user. Queued (202): poll the job, then download its result."""
    user = _user(request)
    body = _batch_body(request)
    fields = {"version": body.version, "alias": body.alias, "output_format": body.format}
    if isinstance(body, BatchJobIn):
        dataset = selectors.dataset(user, body.dataset)
        created = services.batch_job_create(user=user, name=name, dataset=dataset, **fields)
    else:
        upload = request.FILES.get("file")
        if upload is None:
            raise services.InvalidInput(
                "Send the CSV in a multipart field named 'file'.",
                {"file": "This field is required."},
            )
        created = services.batch_job_create(
            user=user, name=name, upload=upload, filename=upload.name, **fields
        )
    return Status(202, selectors.batch_job(user, created.pk).to_dict())


@api.get("/batch-jobs", response={200: BatchJobPage, **errors(422)}, tags=["batch jobs"])
def list_batch_jobs(request: HttpRequest, pagination: Query[Pagination]) -> dict[str, Any]:
    """Your batch jobs, newest first, with their progress."""
    return _page(selectors.batch_jobs(_user(request)), pagination, BatchJob.to_dict)


@api.get(
    "/batch-jobs/{job_id}", response={200: BatchJobOut, **errors(404, 422)}, tags=["batch jobs"]
)
def get_batch_job(request: HttpRequest, job_id: BatchJobId) -> dict[str, Any]:
    """One of your batch jobs: status, rows scored of rows total, error."""
    return selectors.batch_job(_user(request), job_id).to_dict()


@api.post(
    "/batch-jobs/{job_id}/cancel",
    response={200: BatchJobOut, **errors(404, 409, 422)},
    tags=["batch jobs"],
)
def cancel_batch_job(request: HttpRequest, job_id: BatchJobId) -> dict[str, Any]:
    """Stop a queued or running batch job (409 once it is finished): the chunks scored are
    kept, the rest never are."""
    user = _user(request)
    return services.batch_job_cancel(job=selectors.batch_job(user, job_id), user=user).to_dict()


@api.get(
    "/batch-jobs/{job_id}/result",
    response={200: None, **errors(404, 409, 422)},
    tags=["batch jobs"],
    openapi_extra={
        "responses": {
            200: {
                "description": "The file's rows with the prediction columns added (as the "
                "version page's CSV prediction writes them), as CSV or Parquet: the job's "
                "format.",
                "content": {
                    "text/csv": _TEXT,
                    "application/vnd.apache.parquet": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        }
    },
)
def download_batch_job(request: HttpRequest, job_id: BatchJobId) -> StreamingHttpResponse:
    """Download a done job's result, streamed (409 while it is not done)."""
    return batchjobs.result.response(selectors.batch_job(_user(request), job_id))


# Alerts and webhooks (registry/alerts/) ---------------------------------------------------


@api.get("/webhooks", response={200: list[WebhookOut], **errors()}, tags=["alerts"])
def list_webhooks(request: HttpRequest) -> list[dict[str, Any]]:
    """Your webhook endpoints (their secrets are never shown again)."""
    return [e.to_dict() for e in selectors.webhook_endpoints(_user(request))]


@api.post(
    "/webhooks",
    response={201: WebhookCreatedOut, **errors(403, 404, 422, 429)},
    tags=["alerts"],
)
def create_webhook(request: HttpRequest, body: WebhookIn) -> Status:
    """A webhook endpoint for registry events and alerts (one model of yours, or all). Each
    POST is signed as Standard Webhooks says (webhook-id, webhook-timestamp,
    webhook-signature); the secret to check it is in this answer only."""
    model = (
        selectors.model(_user(request), serving.model_name(body.model, field="model"))
        if body.model
        else None
    )
    endpoint, secret = services.webhook_create(
        owner=_user(request),
        url=body.url,
        events=list(body.events),
        model=model,
        description=body.description,
    )
    return Status(201, {**endpoint.to_dict(), "secret": secret})


@api.get("/webhooks/{webhook_id}", response={200: WebhookOut, **errors(404, 422)}, tags=["alerts"])
def get_webhook(request: HttpRequest, webhook_id: WebhookId) -> dict[str, Any]:
    return selectors.webhook_endpoint(_user(request), webhook_id).to_dict()


@api.delete("/webhooks/{webhook_id}", response={204: None, **errors(404, 422)}, tags=["alerts"])
def delete_webhook(request: HttpRequest, webhook_id: WebhookId) -> Status:
    user = _user(request)
    services.webhook_delete(endpoint=selectors.webhook_endpoint(user, webhook_id), user=user)
    return Status(204, None)


@api.get(
    "/webhooks/{webhook_id}/deliveries",
    response={200: list[DeliveryOut], **errors(404, 422)},
    tags=["alerts"],
)
def list_deliveries(request: HttpRequest, webhook_id: WebhookId) -> list[dict[str, Any]]:
    """The endpoint's latest deliveries, newest first, with the answers they got."""
    endpoint = selectors.webhook_endpoint(_user(request), webhook_id)
    return [d.to_dict() for d in selectors.webhook_deliveries(endpoint)]


@api.post(
    "/webhooks/{webhook_id}/test",
    response={202: DeliveryOut, **errors(404, 422)},
    tags=["alerts"],
)
def test_webhook(request: HttpRequest, webhook_id: WebhookId) -> Status:
    """Queue a "test" event to the endpoint; its delivery log shows the answer."""
    user = _user(request)
    delivery = services.webhook_send_test(
        endpoint=selectors.webhook_endpoint(user, webhook_id), user=user
    )
    return Status(202, delivery.to_dict())


def _owned_model(request: HttpRequest, name: str) -> RegisteredModel:
    """The caller's model (an alert rule is its owner's business: 403 for anyone else)."""
    model = selectors.model(_user(request), name)
    services.ensure_owner(model, _user(request))
    return model


@api.get(
    "/models/{name}/alert_rules",
    response={200: list[AlertRuleOut], **errors(403, 404)},
    tags=["alerts"],
)
def list_alert_rules(request: HttpRequest, name: str) -> list[dict[str, Any]]:
    """Your model's alert rules with their state (ok or firing), checked by the worker."""
    return [r.to_dict() for r in selectors.alert_rules(_owned_model(request, name))]


@api.post(
    "/models/{name}/alert_rules",
    response={201: AlertRuleOut, **errors(403, 404, 422, 429)},
    tags=["alerts"],
)
def create_alert_rule(request: HttpRequest, name: str, body: AlertRuleIn) -> Status:
    """A rule the task worker checks periodically; when it starts to hold, "alert.fired"
    goes once to your webhook endpoints."""
    rule = services.alert_rule_create(
        model=selectors.model(_user(request), name),
        user=_user(request),
        kind=body.kind,
        params=body.params,
    )
    return Status(201, rule.to_dict())


@api.delete(
    "/models/{name}/alert_rules/{rule_id}",
    response={204: None, **errors(403, 404, 422)},
    tags=["alerts"],
)
def delete_alert_rule(request: HttpRequest, name: str, rule_id: RuleId) -> Status:
    model = _owned_model(request, name)
    services.alert_rule_delete(rule=selectors.alert_rule(model, rule_id), user=_user(request))
    return Status(204, None)
