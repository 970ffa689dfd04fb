"""Who is calling the API: an API token (`Authorization: Bearer mls_...`) or a signed-in
browser session. The bearer header is read here once, for the API, /metrics and the WSGI
application's choice of middleware stack.

What a token may do is checked here too, the one place, before the operation reads its body:
SCOPE_RULES says which scope each operation needs (by method and path), and a token limited
to some models reaches no other model (404, as if it did not exist, so a token does not tell
which names exist) and no operation that is not about one model, except the model list
(filtered to its models) and the algorithms. A browser session has every scope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string
from ninja.security import APIKeyCookie, HttpBearer

from registry import tokens
from registry.errors import Forbidden, NotFound

PREDICT, READ, WRITE, ADMIN = "predict", "read", "write", "admin"

# (methods, a regex on the operation's path under /api/v1, the scope it needs): the first
# rule that matches decides. tests/registry/api/test_token_scopes.py lists every operation.
SCOPE_RULES: tuple[tuple[frozenset[str] | None, re.Pattern[str], str], ...] = (
    # Scoring, also MLflow-style invocations.
    (frozenset({"POST"}), re.compile(r"/(predict|invocations)\Z"), PREDICT),
    # Account settings: where alerts are sent (and tokens or users, if the API manages them).
    (None, re.compile(r"\A/(webhooks|tokens|users)(/|\Z)"), ADMIN),
    (frozenset({"GET", "HEAD", "OPTIONS"}), re.compile(""), READ),
    (None, re.compile(""), WRITE),
)
# Operations a token limited to some models may still call, though they name no model.
MODEL_FREE_OPERATIONS = {("GET", "/models"), ("GET", "/algorithms")}
_API_ROOT = "api/v1/"


def required_scope(method: str, path: str) -> str:
    """The scope an operation (its method and path template, e.g. /models/{name}) needs."""
    for methods, pattern, scope in SCOPE_RULES:
        if (methods is None or method in methods) and pattern.search(path):
            return scope
    raise AssertionError("the last rule matches every operation")  # pragma: no cover


@lru_cache(maxsize=256)
def path_template(route: str) -> str:
    """Django's route of an operation (api/v1/models/<name>/versions/<int:version>) as the
    OpenAPI document writes its path (/models/{name}/versions/{version})."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.removeprefix(_API_ROOT))


@lru_cache(maxsize=1)
def _client_ip_rule() -> Any:
    # The one client-address rule of the site (behind proxies, DJANGO_PROXY_COUNT), which
    # the sign-in throttle uses too; registry does not import mlsite, so it is looked up.
    return import_string(settings.AXES_CLIENT_IP_CALLABLE)


@lru_cache(maxsize=512)
def _operation(method: str, route: str) -> tuple[str, str]:
    """(the path template, the scope it needs) of the operation at Django's `route`."""
    path = path_template(route)
    return path, required_scope(method, path)


def check_bearer(bearer: tokens.Bearer, request: HttpRequest) -> None:
    """Refuse an operation `bearer`'s token may not call: a missing scope (403 naming it), a
    model outside its list (404), an operation about no model for a token limited to some."""
    match = request.resolver_match
    if match is None:  # pragma: no cover (every API operation is resolved by its URL)
        raise Forbidden("This token may not call this operation.")
    method = request.method or "GET"
    path, scope = _operation(method, match.route)
    if scope not in bearer.scopes:
        error = Forbidden(
            f"This token lacks the {scope!r} scope, which {method} /api/v1{path} needs "
            f"(it has: {', '.join(sorted(bearer.scopes)) or 'none'})."
        )
        error.extra = {"required_scope": scope}
        raise error
    if not bearer.models:
        return
    name = match.kwargs.get("name")
    if name is not None:
        # A model reference may carry an alias (name@alias): the model is what is limited.
        model = str(name).split("@", 1)[0]
        if not bearer.allows_model(model):
            raise NotFound(f"There is no model named {model!r}.")
    elif (method, path) not in MODEL_FREE_OPERATIONS:
        raise Forbidden(
            f"This token may only be used on the models {', '.join(sorted(bearer.models))}: "
            f"{method} /api/v1{path} is not about one model."
        )


def token_models(request: HttpRequest) -> frozenset[str]:
    """The models the request's token is limited to; empty: no limit (or a session)."""
    bearer = getattr(request, "bearer", None)
    return bearer.models if bearer is not None else frozenset()


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
        bearer = tokens.authenticate(token, address=_client_ip_rule()(request))
        if bearer is None:
            return None
        check_bearer(bearer, request)  # raises: ninja answers it through the API's handlers
        request.bearer = bearer  # type: ignore[attr-defined]
        return bearer.user


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
