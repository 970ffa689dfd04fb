"""JSON API v1 (django-ninja): datasets, training, registry and prediction.

django-ninja validates request bodies and generates the OpenAPI 3 document from these
functions. Every error is problem+json (registry/api/problems.py), mapped in one place below.
The predict operations hand their body (several scoring formats, JSON or CSV) to the one
serving entry, registry.serving.predict, which reads it.
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Any, Literal

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI, Path, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.parser import Parser

from registry import csvio, monitoring, selectors, services, serving, transfer
from registry.algorithms import ALGORITHMS
from registry.api.auth import AUTH
from registry.api.problems import CONTENT_TYPE as problem_type
from registry.api.problems import deadline_problem, field_errors, problem
from registry.errors import CONFLICT_DETAIL, MEMORY_DETAIL, RequestDeadlineExceeded
from registry.models import NAME_RE, Dataset, ModelVersion, RegisteredModel
from registry.monitoring import drift
from registry.serving.bodies import load_json

# Bounds the OpenAPI document states and ninja enforces (422 outside them) -----------------

MAX_ID = 2**63 - 1  # BigAutoField
MAX_VERSION = 2**31 - 1  # PositiveIntegerField (PostgreSQL integer)


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
DatasetNameQuery = Query[str | None, {"min_length": 1, "max_length": 200}]
# Documented path parameters; the services check them (an unknown name is a 404).
PATH_PARAMETERS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NAME_PATTERN},
    "alias": {"type": "string", "minLength": 1, "maxLength": 50, "pattern": ALIAS_PATTERN},
}


class StrictParser(Parser):
    """The API's JSON reader (load_json) for every ninja operation's body."""

    def parse_body(self, request: HttpRequest) -> Any:
        return load_json(request.body)


def _link(operation: str, description: str, **parameters: str) -> dict[str, Any]:
    return {
        "operationId": f"registry_api_{operation}",
        "description": description,
        "parameters": {name: f"$response.body#/{field}" for name, field in parameters.items()},
    }


_VERSION_LINKS = {
    "GetVersion": _link("get_version", "Follow its training.", name="model", version="version"),
    "PredictWithVersion": _link(
        "predict_version", "Predict with it once ready.", name="model", version="version"
    ),
}
# OpenAPI links: how the id in one answer feeds the next call (create -> get / train / predict).
LINKS = {
    ("upload_dataset", "201"): {
        "GetDataset": _link("get_dataset", "The dataset just uploaded.", dataset_id="id"),
        "TrainOnDataset": {
            **_link("create_model", "Train a model on it."),
            "requestBody": {"dataset": "$response.body#/id"},
        },
    },
    ("create_model", "202"): {
        **_VERSION_LINKS,
        "GetModel": _link("get_model", "The model just registered.", name="model"),
        "Predict": _link("predict", "Predict with its served version.", name="model"),
        "TrainNextVersion": _link("create_version", "Train its next version.", name="model"),
    },
    ("create_version", "202"): _VERSION_LINKS,
}


def _problem_for_wrong_method(view: Any) -> Any:
    """ninja answers a method a path does not take with a plain-text 405: make it a problem."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != problem_type:
            allowed = response.get("Allow", "")
            return problem(405, f"Use {allowed} for this path.", headers={"Allow": allowed})
        return response

    return wrapped


@csrf_exempt
def _no_such_operation(request: HttpRequest) -> HttpResponse:
    return problem(404, f"No API operation answers {request.path}: see /api/v1/docs.")


class ProblemJsonAPI(NinjaAPI):
    """Documents error responses as application/problem+json, which is what they are, and
    adds the OpenAPI links between operations (LINKS)."""

    def _get_urls(self) -> list[Any]:
        # Every answer under /api/v1/ is problem+json: also a wrong method (ninja's is plain
        # text) and a path that names no operation (Django's would be the HTML 404 page).
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern) and pattern.name == "api-root":
                pattern.callback = _no_such_operation  # ninja's raises Http404 (HTML)
            elif isinstance(pattern, URLPattern):
                pattern.callback = _problem_for_wrong_method(pattern.callback)
        # Django tries routes in order: the predict routes, the hot ones, go first.
        patterns.sort(key=lambda pattern: getattr(pattern, "name", None) not in PREDICT_OPERATIONS)
        return [*patterns, re_path(r"", _no_such_operation)]

    def on_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        response = super().on_exception(request, exc)
        if getattr(request.resolver_match, "url_name", None) in PREDICT_OPERATIONS:
            # A prediction refused before it named a servable version (no token, an unknown
            # model, a bad query) is counted with empty labels (unless counted against one).
            monitoring.unresolved(response.status_code, exc)
        return response

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS:
                        parameter["schema"] = {
                            **parameter["schema"],
                            **PATH_PARAMETERS[parameter["name"]],
                        }
                name = operation.get("operationId", "").removeprefix("registry_api_")
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
                    if (name, str(status)) in LINKS:  # the keys are ints until serialised
                        response["links"] = LINKS[name, str(status)]
        return schema


PREDICT_OPERATIONS = ("predict", "predict_version")  # their URL names (the functions' names)
api = ProblemJsonAPI(
    title="ML Serving API",
    version="1",
    description=(
        "Upload datasets, train numpyml models, manage versions and aliases, and predict. "
        "Authenticate with `Authorization: Bearer <token>` (create a token on the Tokens "
        "page or with `manage.py create_api_token`). Any signed-in user may read and predict "
        "with every model; only an object's owner may change, delete or export it."
    ),
    auth=AUTH,
    urls_namespace="api",
    docs=Swagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=StrictParser(),
)


# Errors: one mapping from exceptions to problem+json ------------------------------------


def _registry_error(request: HttpRequest, exc: services.RegistryError) -> HttpResponse:
    problems = getattr(exc, "problems", None)
    return problem(exc.status, exc.message, errors=problems or field_errors(exc.errors))


@api.exception_handler(services.RegistryError)
def on_registry_error(request: HttpRequest, exc: services.RegistryError) -> HttpResponse:
    return _registry_error(request, exc)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(401, "Send a valid API token: Authorization: Bearer <token>.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, services.RegistryError):  # refused by load_json (ninja wraps it)
        return _registry_error(request, exc.__cause__)
    if isinstance(exc.__cause__, MemoryError):  # over MLSERVE_WEB_MAX_MEMORY_MB while parsing
        return problem(503, MEMORY_DETAIL, headers={"Retry-After": "5"})
    if isinstance(exc.__cause__, orjson.JSONDecodeError):
        # ninja says only "Cannot parse request body"; say why (NaN, 1e999, nesting...).
        return problem(400, f"The body is not valid JSON: {str(exc.__cause__)[:200]}")
    return problem(exc.status_code, exc.message)


MAX_LISTED_ERRORS = 10


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # The first few errors only: a list of a million wrong items is not answered in full.
    errors = [
        {
            "field": ".".join(
                str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")
            )[:200],
            "detail": str(e.get("msg", "invalid"))[:300],
        }
        for e in exc.errors[:MAX_LISTED_ERRORS]
    ]
    if len(exc.errors) > MAX_LISTED_ERRORS:
        errors.append({"field": "", "detail": f"and {len(exc.errors) - MAX_LISTED_ERRORS} more"})
    summary = "; ".join(f"{e['field'] or 'body'}: {e['detail']}" for e in errors[:5])
    return problem(422, f"The request does not fit the schema: {summary}.", errors=errors)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(404, str(exc) or "Not found.")


@api.exception_handler(RequestDeadlineExceeded)
def on_deadline(request: HttpRequest, exc: RequestDeadlineExceeded) -> HttpResponse:
    return deadline_problem(exc)  # also with DEBUG on (ninja re-raises otherwise)


@api.exception_handler(IntegrityError)
def on_conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # A write that lost a race the services did not foresee (ProtectedError is one too).
    return problem(409, CONFLICT_DETAIL)


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # Django would answer its HTML 400 page (a 500 with DEBUG on).
    return problem(400, f"The multipart body cannot be read: {str(exc)[:200]}")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem(413, f"The body is larger than {settings.MLSERVE_MAX_UPLOAD_MB} MB.")


# Schemas -------------------------------------------------------------------------------


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


def errors(*codes: int) -> dict[int, type[Problem]]:
    return {code: Problem for code in (400, 401, *codes)}


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


class ColumnOut(Schema):
    name: str
    type: Literal["number", "category"]
    missing: int


class DatasetOut(Schema):
    id: int
    name: str
    owner: str
    sha256: str
    size_bytes: int
    rows: int
    columns: list[ColumnOut]
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


class ModelOut(Schema):
    name: str
    description: str
    owner: str
    created_at: datetime
    updated_at: datetime
    aliases: dict[str, int]
    latest_version: VersionSummary | None


class ModelDetailOut(ModelOut):
    versions: list[VersionSummary]


class ModelPage(Schema):
    items: list[ModelOut]
    count: int
    page: int
    page_size: int


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


class ModelIn(TrainIn):
    name: str = Field(
        ...,
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="unique, URL-safe: lowercase letters, digits, . _ -",
    )
    description: str = Field("", max_length=5000)


class AliasIn(Schema):
    version: int = Field(..., ge=1, le=MAX_VERSION)


class AliasOut(Schema):
    model: str
    alias: str
    version: int
    updated_at: datetime


class Pagination(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


class PredictionOut(Schema):
    predictions: list[Any]
    model: dict[str, Any]
    probabilities: list[list[float]] | None = None
    classes: list[Any] | None = None


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
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "aliases": {a.name: a.version.version for a in model.aliases.all()},
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

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "name": {"type": "string", "maxLength": 200},
                    },
                    "required": ["file"],
                }
            },
            **{
                content_type: {"schema": {"type": "string"}}
                for content_type in ("text/csv", "text/plain", "application/csv")
            },
        },
    }
}


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
def upload_dataset(request: HttpRequest, name: DatasetNameQuery = None) -> Status:
    """Upload a CSV (multipart field `file`, optional field `name`; or a raw text/csv body
    with `?name=`). The first line names the columns; types are inferred."""
    data, filename = _uploaded_file(
        request, "the CSV", ("text/csv", "text/plain", "application/csv"), "text/csv"
    )
    name = request.POST.get("name") or name
    dataset = services.dataset_create(owner=_user(request), data=data, name=name, filename=filename)
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


@api.delete(
    "/datasets/{dataset_id}", response={204: None, **errors(403, 404, 422)}, tags=["datasets"]
)
def delete_dataset(request: HttpRequest, dataset_id: DatasetId) -> Status:
    """Delete one of your datasets; versions trained on it keep its name and sha256."""
    services.dataset_delete(
        dataset=selectors.dataset(_user(request), dataset_id), user=_user(request)
    )
    return Status(204, None)


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
    model = selectors.model(name)
    services.ensure_owner(model, user)  # before looking at the dataset: 403, not 404
    version = services.version_create(
        model=model,
        user=user,
        **_training_spec(user, body),
    )
    return _accepted(version)


@api.get("/models", response={200: ModelPage, **errors(422)}, tags=["models"])
def list_models(request: HttpRequest, pagination: Query[Pagination]) -> dict[str, Any]:
    """All models by name, each with its aliases and newest version."""
    return _page(selectors.models_with_versions(latest_only=True), pagination, _model_dict)


@api.get("/models/{name}", response={200: ModelDetailOut, **errors(404)}, tags=["models"])
def get_model(request: HttpRequest, name: str) -> dict[str, Any]:
    return _model_dict(selectors.model_with_versions(name), detail=True)


@api.delete("/models/{name}", response={204: None, **errors(403, 404)}, tags=["models"])
def delete_model(request: HttpRequest, name: str) -> Status:
    """Delete one of your models with all its versions and aliases."""
    services.model_delete(model=selectors.model(name), user=_user(request))
    return Status(204, None)


@api.get(
    "/models/{name}/versions/{version}",
    response={200: VersionOut, **errors(404, 422)},
    tags=["models"],
)
def get_version(request: HttpRequest, name: str, version: VersionNumber) -> dict[str, Any]:
    """Status, progress, algorithm, hyperparameters, input schema, classes, metrics, error."""
    return selectors.version(name, version).to_dict(viewer=_user(request))


@api.delete(
    "/models/{name}/versions/{version}",
    response={204: None, **errors(403, 404, 409, 422)},
    tags=["models"],
)
def delete_version(request: HttpRequest, name: str, version: VersionNumber) -> Status:
    """Delete a version of one of your models (move its aliases away first)."""
    services.version_delete(version=selectors.version(name, version), user=_user(request))
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
    found = services.version_cancel(version=selectors.version(name, version), user=user)
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
    found = selectors.version(name, version)
    data = transfer.version_export(found, user=_user(request))
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{transfer.export_filename(found)}"'
    return response


@api.post(
    "/models/{name}/import",
    response={201: VersionOut, **errors(403, 409, 413, 415, 422, 429)},
    tags=["transfer"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                **{content_type: _BINARY for content_type in _EXPORT_TYPES},
            },
        }
    },
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


@api.put(
    "/models/{name}/aliases/{alias}",
    response={200: AliasOut, **errors(403, 404, 409, 422)},
    tags=["models"],
)
def put_alias(request: HttpRequest, name: str, alias: str, body: AliasIn) -> dict[str, Any]:
    """Point an alias (e.g. production) at a ready version, in one atomic update."""
    moved = services.alias_move(
        model=selectors.model(name), name=alias, version_number=body.version, user=_user(request)
    )
    return {
        "model": name,
        "alias": moved.name,
        "version": body.version,
        "updated_at": moved.updated_at,
    }


@api.delete(
    "/models/{name}/aliases/{alias}", response={204: None, **errors(403, 404)}, tags=["models"]
)
def delete_alias(request: HttpRequest, name: str, alias: str) -> Status:
    services.alias_delete(model=selectors.model(name), name=alias, user=_user(request))
    return Status(204, None)


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


def _predict(request: HttpRequest, served: serving.ServedVersion) -> HttpResponse:
    result = serving.predict(
        served,
        request.body,
        user=request.auth,
        source="api",
        content_type=request.content_type or "",
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
) -> HttpResponse:
    """Predict with a model: its `production` alias if set, else its newest ready version
    (`?alias=` or `?version=` choose another; both: 409 unless the alias is at that
    version). Rows by position (the input schema's feature order) or by name; MLflow's
    dataframe_split / dataframe_records; or text/csv."""
    if version is not None and alias is not None:
        # Both: predict only if the alias points at that version (a guard against a move).
        served = serving.resolve(name, alias=alias)
        if served.version != version:
            raise services.Conflict(
                f"{name}@{alias} is v{served.version}, not v{version}: give ?version= or "
                "?alias= alone."
            )
        return _predict(request, served)
    return _predict(request, serving.resolve(name, version=version, alias=alias))


@api.post(
    "/models/{name}/versions/{version}/predict",
    response={200: PredictionOut, **errors(404, 409, 413, 415, 422, 507)},
    tags=["prediction"],
    openapi_extra=_PREDICT_BODY,
)
def predict_version(request: HttpRequest, name: str, version: VersionNumber) -> HttpResponse:
    """Predict with one version of a model (same bodies as /models/{name}/predict)."""
    return _predict(request, serving.resolve(name, version=version))


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
    found = selectors.version(name, version)
    if not found.is_ready:
        raise services.Conflict(f"{found} is {found.status}: it has no drift report until ready.")
    return drift.report(found, days=query.days, max_rows=query.max_rows)
