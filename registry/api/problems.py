"""RFC 9457 problem details: the one shape of every API error (never HTML, never a trace)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

from registry.errors import RequestDeadlineExceeded, deadline_detail

CONTENT_TYPE = "application/problem+json"

# status -> (type slug, title)
_KINDS = {
    400: ("bad-request", "Malformed request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    411: ("length-required", "Length required"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Input does not fit"),
    429: ("throttled", "Too many requests"),
    500: ("server-error", "Server error"),
    503: ("unavailable", "Service unavailable"),
    507: ("model-too-large", "Model too large to serve"),
}


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    slug, default_title = _KINDS.get(status, ("error", HTTPStatus(status).phrase))
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{slug}",
        "title": title or default_title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    if extra:  # members of this kind of problem (RFC 9457 extensions)
        body.update({k: v for k, v in extra.items() if k not in body})
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def field_errors(errors: dict[str, str]) -> list[dict[str, Any]]:
    """{field: sentence} -> [{"field", "detail"}]."""
    return [{"field": field, "detail": detail} for field, detail in errors.items()]


def deadline_problem(exc: RequestDeadlineExceeded) -> HttpResponse:
    response = problem(503, deadline_detail(exc.seconds), headers={"Retry-After": "5"})
    response["Connection"] = "close"  # an unread body must not be taken as a next request
    return response
