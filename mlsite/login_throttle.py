"""Hooks for django-axes, which throttles sign-ins (settings: "Sign-in throttling").

client_ip: the address a failed sign-in is counted against. Directly exposed
(DJANGO_BEHIND_PROXY off), that is REMOTE_ADDR, and X-Forwarded-For is ignored: anybody can
send that header. Behind proxies, each trusted proxy appends the address it received the
request from, so the client is the DJANGO_PROXY_COUNT-th address from the right; anything
left of it was written by the client and may be forged. With Elastic Beanstalk that is 2:
the load balancer appends the client, the instance's nginx appends the load balancer.

lockout_response: the page a locked-out sign-in gets (429 with Retry-After).
"""

from __future__ import annotations

import math
from ipaddress import ip_address
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _valid(text: str) -> str | None:
    try:
        return str(ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    count = settings.MLSERVE_PROXY_COUNT
    if not count:
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < count:
        # Fewer addresses than proxies: the request skipped the outer ones, so every
        # address was written by a trusted proxy and the left-most is the client.
        return _valid(hops[0]) if hops else remote
    return _valid(hops[-count]) or remote


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    context = {
        "minutes": math.ceil(seconds / 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    response = render(
        request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
    response["Retry-After"] = str(seconds)
    return response
