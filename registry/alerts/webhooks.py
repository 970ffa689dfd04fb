"""Webhook delivery: a signed POST to the endpoint, retried with backoff, by the task worker.

Signing follows the Standard Webhooks convention: headers `webhook-id` (the delivery's
message id, the same on every attempt), `webhook-timestamp` (Unix seconds of the attempt)
and `webhook-signature` = "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")),
where the key is the bytes behind the endpoint's "whsec_..." secret.

Server-side request forgery: only http(s) URLs are taken, and unless
MLSERVE_WEBHOOK_ALLOW_PRIVATE is on, a host that is or resolves to a private, loopback,
link-local or otherwise non-public address is refused, when the endpoint is saved and
again at each attempt. The attempt then connects to the very address it checked (the Host
header and TLS name stay the URL's), so a name that resolves to a public address for the
check and a private one for the connection (DNS rebinding) gets nowhere. Redirects are not
followed: a 3xx answer is a failed attempt.

The task worker's periodic alert step first queues again, once, a pending delivery whose
task was lost (recover_lost_deliveries: overdue by MLSERVE_WEBHOOK_STALE_S; lost twice, it
is failed), then prunes the delivery log (prune_deliveries): per endpoint, the newest
MLSERVE_WEBHOOK_DELIVERIES_KEPT and none older than MLSERVE_WEBHOOK_DELIVERY_DAYS, a pending
delivery always kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django_tasks import task

from registry.alerts import secrets
from registry.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 1000  # of each answer's body kept in the delivery log
USER_AGENT = "mlserve-webhooks/1"


class UnsafeURL(ValueError):
    """A URL a webhook may not be sent to (scheme, or an address in a private range)."""


def enqueue_delivery(delivery_id: int, *, after_s: float = 0.0) -> None:
    if after_s > 0:
        deliver.using(run_after=timezone.now() + timedelta(seconds=after_s)).enqueue(delivery_id)
    else:
        deliver.enqueue(delivery_id)


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> tuple[str, int, str]:
    """(host, port, the address to connect to) for a webhook URL, or UnsafeURL saying why
    it is refused. A name that does not resolve raises OSError (socket.gaierror)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"{url!r} is not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// URLs can receive webhooks.")
    host = parts.hostname
    if not host:
        raise UnsafeURL("The URL has no host name.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # not a host name at all (an empty label, a lone surrogate...)
        raise UnsafeURL(f"{host[:100]!r} is not a valid host name.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    if not settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE:
        refused = [a for a in addresses if _refused(a)]
        if refused:
            raise UnsafeURL(
                f"{host} is or resolves to a private, loopback, link-local or reserved "
                f"address ({refused[0]}): webhooks go to public addresses only "
                "(MLSERVE_WEBHOOK_ALLOW_PRIVATE)."
            )
    return host, port, addresses[0]


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secrets.key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address already checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """POST `body` to `url` (checked again here); (status, the start of the answer)."""
    host, port, address = check_url(url)
    parts = urlsplit(url)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(host, port, address, settings.MLSERVE_WEBHOOK_TIMEOUT_S)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_CHARS).decode("utf-8", errors="replace")
        return response.status, excerpt
    finally:
        connection.close()


def backoff_s(attempts: int) -> float:
    """Wait before the next attempt after `attempts` failed ones: doubling each time."""
    return settings.MLSERVE_WEBHOOK_RETRY_BASE_S * 2 ** (attempts - 1)


@task()
def deliver(delivery_id: int) -> str:
    """One attempt at a delivery; called by the task worker."""
    return attempt(delivery_id)


def attempt(delivery_id: int) -> str:
    """Send a pending delivery once; on a non-2xx answer or a connection error, queue the
    next attempt after a backoff until MLSERVE_WEBHOOK_MAX_ATTEMPTS, then mark it failed.
    Returns the delivery's status."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .first()
    )
    if delivery is None:
        return "skipped"
    # Counted before sending, conditionally: two workers never make the same attempt.
    rows = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    )
    # updated_at marks the attempt's start: one in flight is not taken for a lost one.
    if not rows.update(attempts=F("attempts") + 1, next_attempt_at=None, updated_at=timezone.now()):
        return "skipped"
    attempts = delivery.attempts + 1
    endpoint = delivery.endpoint
    body = orjson.dumps(delivery.payload)
    status: int | None = None
    excerpt = error = ""
    retry = True
    try:
        secret = secrets.decrypt(endpoint.secret_encrypted)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, delivery.message_id, timestamp, body),
        }
        status, excerpt = post(endpoint.url, headers, body)
    except (UnsafeURL, secrets.SecretUnreadable) as exc:
        error, retry = str(exc), False  # no later attempt would do better
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    fields: dict[str, Any] = {
        "response_status": status,
        "response_excerpt": excerpt,
        "error": error[:500],
        "updated_at": timezone.now(),  # update() leaves auto_now alone
    }
    if status is not None and 200 <= status < 300:
        fields["status"] = DeliveryStatus.DELIVERED
    elif retry and attempts < settings.MLSERVE_WEBHOOK_MAX_ATTEMPTS:
        wait = backoff_s(attempts)
        fields["next_attempt_at"] = timezone.now() + timedelta(seconds=wait)
        if status is not None and not error:
            fields["error"] = f"The endpoint answered {status}; retrying."
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        enqueue_delivery(delivery.pk, after_s=wait)
        return DeliveryStatus.PENDING
    else:
        fields["status"] = DeliveryStatus.FAILED
        if status is not None and not error:
            fields["error"] = f"The endpoint answered {status} to the last of {attempts} attempts."
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    logger.info("webhook delivery %s: %s", delivery.pk, fields["status"])
    return fields["status"]


LOST_ONCE = "Its delivery task was lost (the worker stopped before running it): queued again."
LOST_TWICE = (
    "Its delivery task was lost twice (the worker stopped before running it): not queued again."
)


def recover_lost_deliveries() -> tuple[int, int]:
    """Pending deliveries with no task left to run them: the worker died after the delivery
    was recorded and before its task was queued, or during an attempt, or its queued retry
    was lost. Each is queued again once; lost again, it is failed (and then pruned like any
    finished delivery). A delivery is taken for lost when the step it waits for is overdue
    by MLSERVE_WEBHOOK_STALE_S: its retry's time when one is due, else its row's last write
    (its creation, or the start of an attempt). A task that was only slow, not lost, and
    runs after all is harmless: attempts are claimed conditionally and counted against
    MLSERVE_WEBHOOK_MAX_ATTEMPTS, and the webhook-id lets a receiver drop a repeat.
    Returns (queued again, failed)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.MLSERVE_WEBHOOK_STALE_S)
    lost = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, updated_at__lt=cutoff)
    )
    # Conditional updates: a delivery an attempt claims meanwhile (which writes updated_at
    # and clears next_attempt_at) is no longer matched.
    failed = lost.filter(requeued_at__isnull=False).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, error=LOST_TWICE, updated_at=now
    )
    requeued = 0
    for pk in list(lost.filter(requeued_at__isnull=True).values_list("pk", flat=True)):
        with transaction.atomic():
            if lost.filter(pk=pk, requeued_at__isnull=True).update(
                requeued_at=now, next_attempt_at=now, error=LOST_ONCE, updated_at=now
            ):
                requeued += 1
                transaction.on_commit(lambda pk=pk: enqueue_delivery(pk))
    if requeued or failed:
        logger.warning(
            "webhook deliveries whose task was lost: %s queued again, %s failed", requeued, failed
        )
    return requeued, failed


PRUNE_BATCH = 1000  # deliveries deleted per statement: short transactions, no long lock


def prune_deliveries(*, batch_size: int = PRUNE_BATCH) -> int:
    """Delete the finished deliveries (delivered or failed) an endpoint's log no longer
    keeps: those older than MLSERVE_WEBHOOK_DELIVERY_DAYS, and those beyond its newest
    MLSERVE_WEBHOOK_DELIVERIES_KEPT, oldest first. A pending delivery (not sent yet, or a
    retry due) counts among the newest but is never deleted: its attempts are still to come.
    Returns how many were deleted."""
    kept = settings.MLSERVE_WEBHOOK_DELIVERIES_KEPT
    cutoff = timezone.now() - timedelta(days=settings.MLSERVE_WEBHOOK_DELIVERY_DAYS)
    finished = ~Q(status=DeliveryStatus.PENDING)
    # One grouped pass over the log (which the pruning itself keeps bounded) names the
    # endpoints with anything to delete; each is then pruned through its (endpoint, time)
    # index.
    due = list(
        WebhookDelivery.objects.order_by()
        .values("endpoint_id")
        .annotate(n=Count("id"), oldest=Min("created_at", filter=finished))
        .filter(Q(n__gt=kept) | Q(oldest__lt=cutoff))
        .values_list("endpoint_id", flat=True)
    )
    deleted = 0
    for endpoint_id in due:
        rows = WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
        gone = Q(created_at__lt=cutoff)
        # The newest delivery past the count, in the log's order (time, then id): it and
        # every older one go.
        boundary = rows.order_by("-created_at", "-id").values_list("created_at", "id")
        past = list(boundary[kept : kept + 1])
        if past:
            moment, pk = past[0]
            gone |= Q(created_at__lt=moment) | Q(created_at=moment, id__lte=pk)
        while True:
            ids = list(rows.filter(gone & finished).values_list("id", flat=True)[:batch_size])
            if ids:
                deleted += WebhookDelivery.objects.filter(id__in=ids).delete()[0]
            if len(ids) < batch_size:
                break
    if deleted:
        logger.info("webhook delivery log: %s deliveries pruned", deleted)
    return deleted
