"""The WSGI application, with a lean middleware stack for token-authenticated predictions.

A program predicting with `Authorization: Bearer <token>` and no cookie needs none of the
browser's middleware: no session, no CSRF (the token is the credential), no messages, no
login throttling, no static files. Those cost more per request than the prediction does,
so such requests go through PREDICT_MIDDLEWARE, which keeps everything a JSON answer needs:
the request log, the security headers and the site's Content-Security-Policy (built once),
the host and body-size checks, the 503 while the database is down. The same URLconf, view
and serving path answer either way; every other request, a browser predicting with its
session included, takes the full stack.
"""

import os
import re
from collections.abc import Callable, Iterable

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

from mlsite.errors import RequestDeadlineExceeded, deadline, deadline_problem

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsite.settings")

PREDICT_PATH = re.compile(r"/api/v1/models/[^/]+/(?:versions/\d+/)?predict\Z")
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
        and environ.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
        and "HTTP_COOKIE" not in environ
        and PREDICT_PATH.match(environ.get("PATH_INFO", "")) is not None
    )


class _PredictHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        from django.conf import settings

        # Django builds the chain from settings.MIDDLEWARE; this handler's list stands in
        # for it while the chain is built, once, at start.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = PREDICT_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class Application:
    def __init__(self) -> None:
        self.full = get_wsgi_application()
        self.predict = _PredictHandler()

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
