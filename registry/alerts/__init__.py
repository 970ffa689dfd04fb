"""Alerts and webhooks: registry events and alert rules delivered to users' endpoints.

`emit(event, model, payload)` is the one door: it records a delivery for every active
endpoint of the model's owner subscribed to the event (in the caller's transaction, so an
event rolled back sends nothing) and queues each for the task worker once the transaction
commits. Delivery (signed, retried with backoff, guarded against requests into private
networks) is in webhooks.py; the rules the worker checks periodically are in rules.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry.alerts.webhooks import enqueue_delivery
from registry.models import RegisteredModel, WebhookDelivery, WebhookEndpoint

# Every event an endpoint can subscribe to, with what it means (the pages' labels): the API's
# schema and the pages' form read this one table.
EVENTS = {
    "version.ready": "a version is ready",
    "version.failed": "a training failed",
    "alias.moved": "an alias moved",
    "alias.rollback": "an alias was rolled back",
    "alias.deleted": "an alias was removed",
    "alias.canary.started": "a canary was started (or its version or share changed)",
    "alias.canary.promoted": "a canary was promoted",
    "alias.canary.ended": "a canary was ended",
    "alias.shadow.changed": "a shadow was set, changed or ended",
    "alert.fired": "an alert rule fired",
    "test": "test events",
}


def body(event: str, model: RegisteredModel | None, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON a receiver gets (the Standard Webhooks shape: type, timestamp, data)."""
    data = {"model": model.name, **payload} if model is not None else dict(payload)
    return {"type": event, "timestamp": timezone.now().isoformat(), "data": data}


def _record(endpoint: WebhookEndpoint, event: str, content: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=f"msg_{uuid.uuid4().hex}",
        event=event,
        payload=content,
    )


def _queue_after_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: [enqueue_delivery(pk) for pk in ids])


def emit(event: str, model: RegisteredModel, payload: dict[str, Any]) -> None:
    """Send `event` about `model` to every active endpoint of its owner subscribed to it
    (an endpoint with no events listed takes them all), after the caller's transaction
    commits."""
    if event not in EVENTS:  # a caller's mistake, not a user's
        raise ValueError(f"event must be one of {', '.join(EVENTS)}, not {event!r}")
    endpoints = WebhookEndpoint.objects.filter(owner_id=model.owner_id, active=True).filter(
        Q(model__isnull=True) | Q(model_id=model.pk)
    )
    content = body(event, model, payload)
    ids = [
        _record(endpoint, event, content).pk
        for endpoint in endpoints
        if not endpoint.events or event in endpoint.events
    ]
    _queue_after_commit(ids)


def alias_changed(
    event: str,
    model: RegisteredModel,
    *,
    alias: str,
    version: int | None,
    previous: int | None,
    user: Any,
    via: str,
    **extra: Any,
) -> None:
    """Send an alias change: `version` is what the alias (for a canary or shadow event: its
    canary or shadow) is now, None when it ended; `previous` what it was; `user` who changed
    it (None: nobody known) through the door `via`."""
    payload = {
        "alias": alias,
        "version": version,
        "previous": previous,
        "by": user.get_username() if user is not None else None,
        "via": via,
        **extra,
    }
    emit(event, model, payload)


def send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A "test" event to one endpoint (active or not), queued after commit."""
    content = body(
        "test",
        endpoint.model,
        {"message": "A test event from ML Serving.", "endpoint": endpoint.pk},
    )
    delivery = _record(endpoint, "test", content)
    _queue_after_commit([delivery.pk])
    return delivery
