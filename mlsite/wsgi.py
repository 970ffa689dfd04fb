"""The WSGI application, with a lean middleware stack for token-authenticated predictions.

A program predicting with `Authorization: Bearer <token>` and no cookie needs none of the
browser's middleware: no session, no CSRF (the token is the credential), no messages, no
login throttling, no static files. Those cost more per request than the prediction does
(benchmarks/README.md: bench_serving with and without this stack), so such requests go
through PREDICT_MIDDLEWARE, which keeps everything a JSON answer needs: the request log, the
security headers and the site's Content-Security-Policy (built once), the host and body-size
checks, the 503 while the database is down. The same URLconf, the same ninja operation and
the same serving path answer either way; every other request, a browser predicting with its
session included, takes the full stack. tests/registry/api/test_predict_lane.py checks that
both stacks answer alike.
"""

import os
import re
from collections.abc import Callable, Iterable

import django
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsite.settings")
django.setup(set_prefix=False)  # what get_wsgi_application() does; the imports below need it

from mlsite.errors import RequestDeadlineExceeded, deadline, deadline_problem  # noqa: E402
from registry.api.auth import bearer_token  # noqa: E402

PREDICT_PATH = re.compile(r"/api/v1/models/[^/]+/(?:versions/\d+/)?(?:predict|invocations)\Z")
PREDICT_MIDDLEWARE = [
    "mlsite.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "mlsite.middleware.FixedContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mlsite.middleware.BodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",  # ALLOWED_HOSTS, Content-Length
    "mlsite.middleware.DatabaseUnavailableMiddleware",
]


def is_token_prediction(environ: dict) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and bearer_token(environ) != ""
        and "HTTP_COOKIE" not in environ
        and PREDICT_PATH.match(environ.get("PATH_INFO", "")) is not None
    )


class TokenPredictionHandler(WSGIHandler):
    """Django's WSGI handler with PREDICT_MIDDLEWARE as its chain (settings untouched).

    BaseHandler.load_middleware reads settings.MIDDLEWARE; this is its loop over another
    list, for synchronous middleware (all of PREDICT_MIDDLEWARE is)."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for middleware_path in reversed(PREDICT_MIDDLEWARE):
            middleware = import_string(middleware_path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class Application:
    def __init__(self) -> None:
        self.full = WSGIHandler()
        self.predict = TokenPredictionHandler()

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
