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
database is down), the request log line, and the operation answered by registry/api/door.py
(the same URL patterns, operation function, token check and error mapping as ninja's). Every
other request, a browser predicting with its session included, takes the full stack.
tests/registry/api/test_predict_lane.py checks that both answer alike.
"""

import os
import re
import time
from collections.abc import Callable, Iterable

import django
from django.core import signals
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
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

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        set_script_prefix(get_script_name(environ))
        request = WSGIRequest(environ)
        found = door.route(request.path_info)
        if found is None:  # pragma: no cover (is_token_prediction's paths are its routes)
            return self.full(environ, start_response)
        # As Django's handler: request_started now, request_finished when the server closes
        # the response (its database housekeeping; tests disconnect it as Django's do).
        signals.request_started.send(sender=self.__class__, environ=environ)
        started = time.perf_counter()
        response = self.answer(request, found)
        log_request(request, response, started)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return response

    def answer(self, request: HttpRequest, found: door.Route) -> HttpResponse:
        """The middleware's hooks as the full stack's chain calls them: each layer's
        response hook applies to what the layers inside it answered."""
        response = self.security.process_request(request)  # the HTTPS redirect
        if response is None:
            response = self.body_limit.refusal(request) or self._checked_host(request, found)
            response = self.xframe.process_response(request, response)
            if self.policy and "Content-Security-Policy" not in response:
                response["Content-Security-Policy"] = self.policy
        return self.security.process_response(request, response)

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
