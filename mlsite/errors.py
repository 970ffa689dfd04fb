"""Server errors as the client was promised them: problem+json under /api/, pages elsewhere.

handler500 answers every exception nothing else handled (DEBUG off), on both middleware
stacks (mlsite/wsgi.py). The per-request deadline answers a request still running after
MLSERVE_REQUEST_DEADLINE_S with a 503, a few seconds before gunicorn's own timeout would
kill the worker and leave the client a dropped connection or gunicorn's HTML 500.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from registry.api.problems import deadline_problem
from registry.errors import MEMORY_DETAIL, RequestDeadlineExceeded, deadline_detail

__all__ = ["RequestDeadlineExceeded", "deadline", "deadline_problem", "server_error"]

logger = logging.getLogger("mlsite.errors")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the exception being handled decides the answer."""
    exc = sys.exc_info()[1]
    api = request.path.startswith("/api/")
    if isinstance(exc, (RequestDeadlineExceeded, MemoryError)):
        if isinstance(exc, MemoryError):
            # This request alone: its objects are freed as the exception unwinds.
            detail = MEMORY_DETAIL
            logger.warning("request out of memory: %s %s", request.method, request.path)
        else:
            detail = deadline_detail(exc.seconds)
        if api:
            if isinstance(exc, RequestDeadlineExceeded):
                return deadline_problem(exc)
            from registry.api.problems import problem

            return problem(503, detail, headers={"Retry-After": "5"})
        from django.template.loader import render_to_string

        page = render_to_string("503.html", {"detail": detail})
        return HttpResponse(page, status=503, headers={"Retry-After": "5"})
    if api:
        from registry.api.problems import problem

        # Never the exception's text: it may name tables, paths or values.
        return problem(500, "The server failed to answer this request; it has been logged.")
    from django.views.defaults import server_error as page

    return page(request)


# The per-request deadline ----------------------------------------------------------------
# Armed only in a gunicorn sync worker (mlsite/gunicorn.conf.py, post_worker_init): one
# request at a time on the main thread, so an interval timer and SIGALRM belong to the
# request being served. The test client and other in-process callers never arm it.


class Deadline:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.armed = False
        self.on_expiry: Callable[[], None] = lambda: None

    def enable(self, seconds: float, on_expiry: Callable[[], None]) -> None:
        if seconds <= 0 or threading.current_thread() is not threading.main_thread():
            return
        self.seconds, self.on_expiry = seconds, on_expiry
        signal.signal(signal.SIGALRM, self._expired)

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def start(self) -> None:
        if self.enabled:
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def stop(self) -> None:
        if self.enabled:
            self.armed = False  # first: an alarm arriving now is ignored
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _expired(self, signum: int, frame: Any) -> None:
        if not self.armed:
            return
        self.armed = False
        # The request was interrupted wherever it stood (a lock, a transaction, a C
        # library's state): this worker answers it, then is replaced by a fresh one.
        self.on_expiry()
        logger.warning("request deadline of %g s passed: answering 503", self.seconds)
        raise RequestDeadlineExceeded(self.seconds)


deadline = Deadline()
