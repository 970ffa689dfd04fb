"""The NinjaAPI of v1: every error as problem+json (registry/api/problems.py), mapped in one
place here, the OpenAPI document's error media type, path parameters and links."""

from __future__ import annotations

import copy
from functools import wraps
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.parser import Parser

from registry import monitoring, services
from registry.api.auth import AUTH, required_scope
from registry.api.problems import CONTENT_TYPE as problem_type
from registry.api.problems import deadline_problem, field_errors, problem
from registry.api.schemas import PATH_PARAMETERS
from registry.errors import CONFLICT_DETAIL, MEMORY_DETAIL, RequestDeadlineExceeded
from registry.serving.bodies import load_json


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

    def on_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        response = super().on_exception(request, exc)
        if getattr(request.resolver_match, "url_name", None) in PREDICT_OPERATIONS:
            # A prediction refused before it named a servable version (no token, an unknown
            # model, a bad query) is counted with empty labels (unless counted against one).
            monitoring.unresolved(response.status_code, exc)
        return response

    def get_openapi_operation_id(self, operation: Any) -> str:
        # The published ids (and the links between operations) stay put when code moves.
        return f"registry_api_{operation.view_func.__name__}"

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        """The document, built once per process and path (it depends on the code alone, and
        building it costs most of a second of CPU); each caller gets its own copy."""
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        cache = self.__dict__.setdefault("_openapi_schemas", {})
        if key not in cache:
            cache[key] = self._build_openapi_schema(path_prefix, path_params)
        return copy.deepcopy(cache[key])

    def forget_openapi_schema(self) -> None:
        """Build the document again on the next request (tests that count the builds)."""
        self.__dict__.pop("_openapi_schemas", None)

    def _build_openapi_schema(
        self, path_prefix: str | None, path_params: dict[str, Any] | None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                # The scope a token needs for it (registry/api/auth.py), also in its words.
                scope = required_scope(method.upper(), path.removeprefix("/api/v1"))
                operation["x-required-scope"] = scope
                operation["description"] = (
                    f"{operation.get('description', '')}\n\nToken scope: `{scope}`."
                ).lstrip()
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


PREDICT_OPERATIONS = (  # their URL names (the functions' names)
    "predict",
    "predict_version",
    "invoke",
    "invoke_alias",
    "invoke_version",
)
api = ProblemJsonAPI(
    title="ML Serving API",
    version="1",
    description=(
        "Upload datasets, train numpyml models, manage versions and aliases, and predict. "
        "Authenticate with `Authorization: Bearer <token>` (create a token on the Tokens "
        "page or with `manage.py create_api_token`). Any signed-in user may read and predict "
        "with every model; only an object's owner may change, delete or export it. A token "
        "has scopes (`predict`, `read`, `write`, `admin`: each operation says which it needs; "
        "without it, 403), may be limited to some models (others answer 404) and may expire."
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
    return problem(
        exc.status,
        exc.message,
        errors=problems or field_errors(exc.errors),
        extra=getattr(exc, "extra", None),
    )


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


# Query parameters: one a GET operation does not declare is refused ---------------------

MAX_NAMED_PARAMETERS = 10


class UnknownQueryParameter(services.RegistryError):
    """A query parameter the operation does not take (400)."""

    status = 400

    def __init__(self, message: str, problems: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.problems = problems


def declared_query(operation: Any) -> frozenset[str]:
    """The query parameters a ninja operation declares (a Query[Schema] one by its fields)."""
    return frozenset(
        name
        for model in operation.models
        if model.__ninja_param_source__ == "query"
        for name in model.__ninja_flatten_map__
    )


def refuse_unknown_query(view_func: Any) -> Any:
    """A GET operation's view, refusing a query parameter its operation does not declare
    (once the caller is authenticated and the declared ones are valid): ninja would ignore
    it, and a misspelt `?page_sise=` or an unsupported filter would answer as if unsent."""
    operation = view_func._ninja_operation
    if "GET" not in operation.methods:
        return view_func
    declared = declared_query(operation)
    takes = ", ".join(sorted(declared)) or "no query parameters"

    @wraps(view_func)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        unknown = [name for name in request.GET if name not in declared]
        if unknown:
            shown = [name[:100] for name in unknown[:MAX_NAMED_PARAMETERS]]
            more = len(unknown) - len(shown)
            detail = "not a query parameter of this operation"
            errors = [{"field": name, "detail": detail} for name in shown]
            if more:
                errors.append({"field": "", "detail": f"and {more} more"})
            named = ", ".join(map(repr, shown)) + (f" and {more} more" if more else "")
            raise UnknownQueryParameter(
                f"Unknown query parameter(s) {named}: this operation takes {takes}.", errors
            )
        return view_func(request, *args, **kwargs)

    return checked


api.add_decorator(refuse_unknown_query, mode="operation")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem(413, f"The body is larger than {settings.MLSERVE_MAX_UPLOAD_MB} MB.")


def mounted(api: NinjaAPI) -> tuple[list[Any], str, str]:
    """`api.urls` as the project mounts them: every answer under /api/v1/ is problem+json,
    also a wrong method (ninja's is plain text) and a path that names no operation
    (Django's would be the HTML 404 page); the predict routes, the hot ones, tried first."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and pattern.name == "api-root":
            pattern.callback = _no_such_operation  # ninja's raises Http404 (HTML)
        elif isinstance(pattern, URLPattern):
            pattern.callback = _problem_for_wrong_method(pattern.callback)
    patterns.sort(key=lambda pattern: getattr(pattern, "name", None) not in PREDICT_OPERATIONS)
    return [*patterns, re_path(r"", _no_such_operation)], app_name, namespace
