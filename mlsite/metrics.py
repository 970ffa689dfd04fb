"""The /metrics view: Prometheus metrics of every worker, for a token or an allowed address."""

from ipaddress import ip_address, ip_network

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from mlsite.login_throttle import client_ip
from registry.api.auth import bearer_token
from registry.api.problems import problem
from registry.monitoring import exposition


def _address_allowed(request: HttpRequest) -> bool:
    address = client_ip(request)  # behind the load balancer: the client, not nginx
    try:
        client = ip_address(address or "")
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped:
        client = client.ipv4_mapped
    return any(
        client in ip_network(allowed, strict=False) for allowed in settings.MLSERVE_METRICS_ALLOW
    )


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics. With MLSERVE_METRICS_TOKEN set: only with that bearer token;
    otherwise only to the addresses in MLSERVE_METRICS_ALLOW."""
    token = settings.MLSERVE_METRICS_TOKEN
    if token:
        if not constant_time_compare(bearer_token(request.META), token):
            return problem(403, "Send the metrics token: Authorization: Bearer <token>.")
    elif not _address_allowed(request):
        return problem(403, "Metrics are only served to the addresses in MLSERVE_METRICS_ALLOW.")
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
