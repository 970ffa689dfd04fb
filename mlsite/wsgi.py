"""The WSGI application, with a lean door for token-authenticated predictions.

A program predicting with `Authorization: Bearer <token>` and no cookie needs none of the
browser's middleware: no session, no CSRF (the token is the credential), no messages, no
login throttling, no static files, and no URL resolution or ninja parameter models for a
route known from its path. Django's handler with its chain of middleware costs more per
request than the prediction does (benchmarks/README.md, issue 21), so such requests take
TokenPredictionDoor: Django's request object, the checks and headers of the middleware a
JSON answer needs (the same middleware objects, called in one function instead of a chain:
the body limit, the HTTPS redirect and security headers, the host check, the site's
Content-Security-Policy built once, X-Frame-Options, Content-Length, the 503 while the
database is down; the headers the response hooks add are computed by them once per kind of
answer), the request log line, and the operation answered by registry/api/door.py
(the same URL patterns, operation function, token check and error mapping as ninja's). Every
other request, a browser predicting with its session included, takes the full stack.

Django's request signals exist for its housekeeping of database connections and caches. A
token prediction served from the in-process caches (registry/serving/cache.py, the token
cache) touches neither, and the receivers cost a large share of such a request
(benchmarks/README.md), so the door sends request_finished only after a request that used
the database (a cache miss): its connection is then tidied as Django's handler tidies it.
tests/registry/api/test_predict_lane.py checks that both answer alike.
"""

import os
import re
import time
from collections.abc import Callable, Iterable

import django
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.http.response import ResponseHeaders
from django.urls import set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsite.settings")
django.setup(set_prefix=False)  # what get_wsgi_application() does; the imports below need it

from csp.utils import build_policy  # noqa: E402
from django.middleware.clickjacking import XFrameOptionsMiddleware  # noqa: E402
from django.middleware.common import CommonMiddleware  # noqa: E402
from django.middleware.security import SecurityMiddleware  # noqa: E402

from mlsite.errors import RequestDeadlineExceeded, deadline, deadline_problem  # noqa: E402
from mlsite.middleware import (  # noqa: E402
    BodyLimitMiddleware,
    DatabaseUnavailableMiddleware,
    log_request,
)
from registry.api import door  # noqa: E402
from registry.api.auth import bearer_token  # noqa: E402

PREDICT_PATH = re.compile(r"/api/v1/models/[^/]+/(?:versions/\d+/)?(?:predict|invocations)\Z")


def is_token_prediction(environ: dict) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and bearer_token(environ) != ""
        and "HTTP_COOKIE" not in environ
        and PREDICT_PATH.match(environ.get("PATH_INFO", "")) is not None
    )


def used_database() -> bool:
    """Whether this thread's database connection was used since Django's housekeeping last
    tidied it (close_old_connections: close it if broken or past CONN_MAX_AGE, and arm the
    health check of its next use). Any query marks it: the health check (CONN_HEALTH_CHECKS,
    on in settings.py) runs on the first cursor after a tidy, and a new connection is marked
    from the start; with the checks off, an open connection always counts as used."""
    for alias in connections:
        connection = connections[alias]
        if connection.connection is not None and (
            connection.health_check_done or not connection.health_check_enabled
        ):
            return True
    return False


class TokenPredictionDoor:
    """A token prediction answered without Django's handler and middleware chain, as that
    chain would answer it."""

    def __init__(self, full: WSGIHandler) -> None:
        def unused(request: HttpRequest) -> HttpResponse:  # pragma: no cover
            raise AssertionError("the door calls these middleware's hooks, not their chain")

        self.full = full
        self.body_limit = BodyLimitMiddleware(unused)
        self.security = SecurityMiddleware(unused)
        self.common = CommonMiddleware(unused)
        self.xframe = XFrameOptionsMiddleware(unused)
        self.database = DatabaseUnavailableMiddleware(unused)
        self.policy = build_policy()
        self.site_headers: dict[tuple, list[tuple[str, str]]] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        set_script_prefix(get_script_name(environ))
        request = WSGIRequest(environ)
        found = door.route(request.path_info)
        if found is None:  # pragma: no cover (is_token_prediction's paths are its routes)
            return self.full(environ, start_response)
        started = time.perf_counter()
        response, site_headers = self.answer(request, found)
        log_request(request, response, started)
        status = f"{response.status_code} {response.reason_phrase}"
        start_response(status, [*response.items(), *site_headers])
        if not used_database():
            return [response.content]  # nothing to close, nothing to tidy
        # Django's housekeeping of the connection this request used: request_finished when
        # the server closes the answer (tests disconnect it as Django's handler's).
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        return response

    def answer(
        self, request: HttpRequest, found: door.Route
    ) -> tuple[HttpResponse, list[tuple[str, str]]]:
        """The middleware's hooks as the full stack's chain calls them, each layer's response
        hook applying to what the layers inside it answered: the answer, and the headers the
        outer layers' response hooks add to it."""
        response = self.security.process_request(request)  # the HTTPS redirect
        if response is not None:
            return self.security.process_response(request, response), []
        response = self.body_limit.refusal(request) or self._checked_host(request, found)
        return response, self._site_headers(request, response)

    def _site_headers(self, request: HttpRequest, response: HttpResponse) -> list[tuple[str, str]]:
        """The headers X-Frame-Options', the policy's and SecurityMiddleware's response hooks
        add to `response`. They depend on nothing but whether the request is secure, whether
        the answer is exempt from X-Frame-Options and which headers it has already, so the
        hooks themselves compute them once per such kind of answer instead of setting each
        header on every answer."""
        exempt = getattr(response, "xframe_options_exempt", False)
        kind = (request.is_secure(), exempt, *response.headers)
        added = self.site_headers.get(kind)
        if added is None:
            probe = HttpResponse(status=response.status_code)
            probe.headers = ResponseHeaders(dict(response.items()))
            probe.xframe_options_exempt = exempt  # type: ignore[attr-defined]
            probe = self.xframe.process_response(request, probe)
            if self.policy and "Content-Security-Policy" not in probe:
                probe["Content-Security-Policy"] = self.policy
            probe = self.security.process_response(request, probe)
            added = [(name, value) for name, value in probe.items() if name not in response]
            if len(self.site_headers) < 256:  # answers have a few kinds; a bound all the same
                self.site_headers[kind] = added
        return added

    def _checked_host(self, request: HttpRequest, found: door.Route) -> HttpResponse:
        try:
            response = self.common.process_request(request)  # the host check
        except Exception as exc:  # a disallowed host: Django's 400
            return response_for_exception(request, exc)
        return self.common.process_response(request, response or self._operation(request, found))

    def _operation(self, request: HttpRequest, found: door.Route) -> HttpResponse:
        try:
            return door.answer(request, found)
        except Exception as exc:  # one the API does not map (door.answer maps the rest)
            handled = None
            if isinstance(exc, (OperationalError, InterfaceError)):
                handled = self.database.process_exception(request, exc)
            return handled or response_for_exception(request, exc)


class Application:
    def __init__(self) -> None:
        self.full = WSGIHandler()
        self.predict = TokenPredictionDoor(self.full)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        handler = self.predict if is_token_prediction(environ) else self.full
        if not deadline.enabled:
            return handler(environ, start_response)
        # Django's handler500 (mlsite/errors.py) answers a deadline passed inside the
        # middleware chain; this answers one passed outside it.
        deadline.start()
        try:
            return handler(environ, start_response)
        except RequestDeadlineExceeded as exc:
            response = deadline_problem(exc)
            start_response(f"503 {response.reason_phrase}", list(response.items()))
            return [response.content]
        finally:
            deadline.stop()


application = Application()
