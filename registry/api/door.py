"""The token prediction door: a prediction sent with a bearer token and no query string,
answered by its ninja operation's own function without Django's URL resolution or ninja's
per-request parameter machinery (pydantic models for the path and query, a temporal
response), which cost more than the prediction itself (benchmarks/README.md, issue 21).

It is not a second route: the URL patterns are the API's own (matched here without the
resolver's three levels), the function called is the operation's (with its decorators), the
token is checked by the API's TokenAuth and every exception is answered by the API's own
mapping (`api.on_exception`), as ninja's `Operation.run` does; a query string (or a version
number out of bounds) is read by the operation's own ninja parameter models. mlsite/wsgi.py
calls it for token predictions only; tests/registry/api/test_predict_lane.py checks that it
answers as the full stack does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, get_resolver
from django.urls.resolvers import ResolverMatch
from ninja.errors import AuthenticationError

from registry.api.app import PREDICT_OPERATIONS, api
from registry.api.auth import AUTH
from registry.serving.resolve import MAX_VERSION

PREFIX = "/api/v1/"


Route = tuple[URLPattern, str, Any, dict[str, Any]]


@cache
def _routes() -> tuple[tuple[URLPattern, str, Any], ...]:
    """(URL pattern, its full route, its ninja operation) of each prediction operation, in
    the order the resolver tries them (registry/api/app.py `mounted`)."""
    api_patterns = next(
        p.url_patterns
        for p in get_resolver().url_patterns
        if getattr(p, "namespace", None) == api.urls_namespace
    )
    operations = {  # the operations as ninja bound them to this API (decorators applied)
        operation.view_func.__name__: operation
        for bound in api._get_bound_routers()
        for path_view in bound.path_operations.values()
        for operation in path_view.operations
        if "POST" in operation.methods
    }
    return tuple(
        (pattern, PREFIX[1:] + str(pattern.pattern), operations[pattern.name])
        for pattern in api_patterns
        if isinstance(pattern, URLPattern) and pattern.name in PREDICT_OPERATIONS
    )


def route(path: str) -> Route | None:
    """The prediction operation at `path` (URL pattern, route, operation, path arguments)."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX) :]
    for pattern, full_route, operation in _routes():
        matched = pattern.pattern.match(rest)
        if matched:
            return pattern, full_route, operation, matched[2]
    return None


def _plain_values(request: HttpRequest, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The operation's arguments read from the path alone, when that is all there is (no
    query string, a version number within its bounds); else None: ninja's models read them."""
    if request.META.get("QUERY_STRING"):
        return None
    values = dict(kwargs)
    if "version" in values:
        text = values["version"]  # ninja's VersionNumber: an int from 1 to MAX_VERSION
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_VERSION:
            return None
        values["version"] = int(text)
    return values


def answer(request: HttpRequest, found: Route) -> HttpResponse:
    """The answer of the operation `found` (route(request.path_info)) to `request`, as
    ninja's Operation.run gives it: authentication with the API's callbacks, the arguments,
    the operation's function, every exception through the API's mapping."""
    pattern, full_route, operation, kwargs = found
    request.resolver_match = ResolverMatch(
        pattern.callback, (), kwargs, pattern.name, route=full_route, captured_kwargs=kwargs
    )
    for callback in AUTH:
        try:
            user = callback(request)
        except Exception as exc:
            return api.on_exception(request, exc)
        if user:
            request.auth = user  # type: ignore[attr-defined]
            break
    else:
        return api.on_exception(request, AuthenticationError())
    try:
        values = _plain_values(request, kwargs)
        if values is None:  # ninja's own parameter models (and their 422)
            temporal = api.create_temporal_response(request)
            values = operation._get_values(request, kwargs, temporal)
        response = operation.view_func(request, **values)
    except Exception as exc:
        return api.on_exception(request, exc)
    if not isinstance(response, HttpResponse):  # pragma: no cover (every one answers one)
        raise TypeError(f"{pattern.name} answered {type(response).__name__}, not a response")
    return response
