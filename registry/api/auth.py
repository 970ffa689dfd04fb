"""Who is calling the API: an API token (`Authorization: Bearer mls_...`) or a signed-in
browser session. The bearer header is read here once, for the API, /metrics and the WSGI
application's choice of middleware stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from registry import tokens


def bearer_token(meta: Mapping[str, Any]) -> str:
    """The token of an `Authorization: Bearer <token>` header, "" without one. `meta` is
    request.META or a WSGI environ: request.headers would build a dict of every header."""
    header = meta.get("HTTP_AUTHORIZATION", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


class TokenAuth(HttpBearer):
    """`Authorization: Bearer mls_...`: a user's API token."""

    def __call__(self, request: HttpRequest) -> Any:
        token = bearer_token(request.META)
        return self.authenticate(request, token) if token else None

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        bearer = tokens.authenticate(token)
        return bearer.user if bearer else None


class SessionAuth(APIKeyCookie):
    """A signed-in browser session; unsafe methods also need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)  # none on the token stack (mlsite/wsgi.py)
        if user is None or not user.is_authenticated:
            return None  # no session: a 401, not a CSRF failure
        return super().__call__(request)  # the CSRF check, then authenticate

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if key and request.user.is_authenticated else None


AUTH = [TokenAuth(), SessionAuth()]
