"""One log line per request: method, path, status, duration in milliseconds and the client's
address (behind proxies, the one DJANGO_PROXY_COUNT picks: login_throttle.client_ip).
gunicorn's own access log is off (gunicorn.conf.py): this line is the one per request."""

import logging
import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from mlsite.login_throttle import client_ip
from registry.errors import CONFLICT_DETAIL

logger = logging.getLogger("mlsite.requests")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        log_request(request, response, started)
        return response


def log_request(request: HttpRequest, response: HttpResponse, started: float) -> None:
    """The request's line (also written by the token prediction door, mlsite/wsgi.py)."""
    if not logger.isEnabledFor(logging.INFO):
        return  # its arguments (the client's address among them) are not worth computing
    logger.info(
        "%s %s %s %.1fms %s",
        request.method,
        request.path,
        response.status_code,
        (time.perf_counter() - started) * 1000,
        client_ip(request) or "-",
    )


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# Where a batch job's file is uploaded: the API's and the version page's form.
BATCH_UPLOAD_PATH = re.compile(
    r"^/(api/v1/models/[^/]+/batch-jobs|models/[^/]+/versions/\d+/batch-job/)\Z"
)


class BodyLimitMiddleware:
    """Refuse a body over the upload limit from its Content-Length, before reading it (and
    the other requests that cannot be served whatever their body: chunked, NUL in the URL)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.refusal(request) or self.get_response(request)

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        """The answer to a request refused from its headers alone, or None."""
        from django.conf import settings

        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            # No name holds a NUL, and PostgreSQL fails on any query that compares one.
            return self._refuse(request, 400, "The address contains a NUL character (%00).")
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Django reads a body only up to its Content-Length: a chunked body would be
            # taken as empty (a misleading "empty file"), so it is refused unread.
            return self._refuse(
                request,
                411,
                "Send the body with a Content-Length header: chunked request bodies are not "
                "accepted.",
            )
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return self._refuse(request, 400, f"Content-Length {raw[:40]!r} is not a number.")
        if length < 0:
            return self._refuse(request, 400, "Content-Length is negative.")
        limit, limit_mb, name = (
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            settings.MLSERVE_MAX_UPLOAD_MB,
            "MLSERVE_MAX_UPLOAD_MB",
        )
        if BATCH_UPLOAD_PATH.match(request.path):
            # A batch job's file is streamed to disk and stored a chunk at a time
            # (registry/batchjobs/): it may be larger than a body read whole.
            limit_mb, name = settings.MLSERVE_MAX_BATCH_UPLOAD_MB, "MLSERVE_MAX_BATCH_UPLOAD_MB"
            limit = limit_mb * 1024 * 1024 + 64 * 1024
        if length > limit:
            return self._refuse(
                request,
                413,
                f"The body is {length} bytes; the limit is {limit_mb} MB ({name}).",
            )
        return None

    def _refuse(self, request: HttpRequest, status: int, detail: str) -> HttpResponse:
        if _wants_json(request):
            from registry.api.problems import problem

            response = problem(status, detail)
        else:
            from django.template.loader import select_template

            # There is no page for every status (411): the 400 page stands in.
            page = select_template([f"{status}.html", "400.html"])
            response = HttpResponse(page.render({"detail": detail}), status=status)
        response["Connection"] = "close"  # the unread body must not be taken as a next request
        return response


class DatabaseUnavailableMiddleware:
    """While the database is down, answer 503 quickly instead of a 500 or a hang."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import InterfaceError, OperationalError

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning(
            "database unavailable for %s %s: %s", request.method, request.path, exception
        )
        detail = "The database is unavailable; try again in a few seconds."
        if _wants_json(request):
            from registry.api.problems import problem

            return problem(503, detail, headers={"Retry-After": "5"})
        from django.template.loader import render_to_string

        try:
            body = render_to_string("503.html", {"detail": detail})
        except Exception:  # the template must never turn a 503 into a 500
            body = f"<!doctype html><title>Unavailable</title><h1>Unavailable</h1><p>{detail}</p>"
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "5"
        return response


class DatabaseConflictMiddleware:
    """A write that lost a race the registry's services did not foresee (IntegrityError,
    ProtectedError) is a 409 with a clear message, not a 500: problem+json under /api/
    (ninja's operations map it themselves, registry/api/app.py), a page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import IntegrityError

        if not isinstance(exception, IntegrityError):  # ProtectedError is one
            return None
        logger.warning("conflict on %s %s: %s", request.method, request.path, exception)
        if _wants_json(request):
            from registry.api.problems import problem

            return problem(409, CONFLICT_DETAIL)
        from django.template.loader import render_to_string

        return HttpResponse(render_to_string("409.html", {"detail": CONFLICT_DETAIL}), status=409)


class FixedContentSecurityPolicyMiddleware:
    """The site's Content-Security-Policy, built once: for the token prediction stack
    (mlsite/wsgi.py), whose JSON answers never use a nonce or a per-view override."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from csp.utils import build_policy

        self.get_response = get_response
        self.policy = build_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
