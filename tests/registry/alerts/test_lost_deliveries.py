"""A pending delivery whose task was lost (its worker died before the task was queued, or
during an attempt) is found by the worker's periodic alert step once its attempt is overdue
by MLSERVE_WEBHOOK_STALE_S: queued again once, and failed if it is lost a second time; a
failed one is then pruned like any other. Real worker, real receiver, real database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry import services
from registry.alerts import webhooks
from registry.models import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)  # the worker command closes connections

STALE_S = 600

_count = iter(range(1_000_000))


@pytest.fixture
def endpoint(receiver, owner, settings):
    settings.MLSERVE_WEBHOOK_STALE_S = STALE_S
    return services.webhook_create(owner=owner, url=receiver.url)[0]


def lost(endpoint, *, idle_s: float, days_old: float = 0, **fields) -> int:
    """A pending delivery whose task never ran: nothing happened to it for `idle_s` seconds
    (its row last written then), made `days_old` days ago. No task is queued for it."""
    row = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=f"msg_lost_{next(_count)}",
        event="test",
        payload={"type": "test", "data": {}},
        **{"status": DeliveryStatus.PENDING, "attempts": 0, **fields},
    )
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=row.pk).update(
        updated_at=now - timedelta(seconds=idle_s),
        created_at=now - timedelta(days=days_old, seconds=idle_s),
    )
    return row.pk


def test_a_delivery_never_queued_is_queued_again_and_delivered(endpoint, receiver, worker):
    pk = lost(endpoint, idle_s=STALE_S + 60)

    worker()  # its periodic alert step finds it, queues it; then it runs the task

    delivery = WebhookDelivery.objects.get(pk=pk)
    assert delivery.status == DeliveryStatus.DELIVERED, delivery.error
    assert delivery.attempts == 1
    assert delivery.requeued_at is not None
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [delivery.message_id]


def test_a_delivery_whose_worker_died_mid_attempt_or_whose_retry_was_lost_is_retried(
    endpoint, receiver, worker
):
    # Attempt 2 claimed (counted, next_attempt_at cleared), then the worker died.
    mid_attempt = lost(endpoint, idle_s=STALE_S + 60, attempts=2)
    # A retry due long ago whose queued task is gone.
    overdue_retry = lost(
        endpoint,
        idle_s=STALE_S + 120,
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=STALE_S + 60),
        error="The endpoint answered 500; retrying.",
    )

    worker()

    for pk, attempts in ((mid_attempt, 3), (overdue_retry, 2)):
        delivery = WebhookDelivery.objects.get(pk=pk)
        assert delivery.status == DeliveryStatus.DELIVERED
        assert delivery.attempts == attempts
        assert delivery.requeued_at is not None
    assert len(receiver.requests) == 2


def test_a_delivery_lost_again_is_failed_and_then_pruned_with_the_log(
    endpoint, receiver, worker, settings
):
    settings.MLSERVE_WEBHOOK_DELIVERY_DAYS = 30
    once = timezone.now() - timedelta(days=1)
    recent = lost(endpoint, idle_s=STALE_S + 60, attempts=1, requeued_at=once)
    old = lost(endpoint, idle_s=STALE_S + 60, days_old=31, attempts=1, requeued_at=once)

    worker()

    delivery = WebhookDelivery.objects.get(pk=recent)
    assert delivery.status == DeliveryStatus.FAILED
    assert "lost twice" in delivery.error
    assert delivery.next_attempt_at is None
    assert delivery.attempts == 1  # nothing was sent
    assert not WebhookDelivery.objects.filter(pk=old).exists()  # failed, then past 30 days
    assert receiver.requests == []


def test_a_pending_delivery_still_on_time_is_left_alone(endpoint, receiver, worker):
    waiting_retry = lost(
        endpoint,
        idle_s=STALE_S * 10,
        days_old=40,  # old, but its retry is due in a minute: pending ones are kept
        attempts=3,
        next_attempt_at=timezone.now() + timedelta(minutes=1),
    )
    just_late = lost(endpoint, idle_s=STALE_S - 60)
    before = {
        d.pk: (d.status, d.attempts, d.requeued_at, d.updated_at)
        for d in WebhookDelivery.objects.all()
    }

    assert webhooks.recover_lost_deliveries() == (0, 0)
    worker()

    after = {
        d.pk: (d.status, d.attempts, d.requeued_at, d.updated_at)
        for d in WebhookDelivery.objects.all()
    }
    assert after == before
    assert set(after) == {waiting_retry, just_late}
    assert receiver.requests == []


def test_an_attempt_records_when_it_started(endpoint, monkeypatch):
    """The claim of an attempt writes updated_at before sending: an attempt in flight is
    never taken for a lost one, however long ago the delivery was last written."""
    pk = lost(endpoint, idle_s=STALE_S * 10)
    seen = []

    def post(url, headers, body):
        seen.append(WebhookDelivery.objects.get(pk=pk).updated_at)
        assert webhooks.recover_lost_deliveries() == (0, 0)  # in flight: not lost
        return 200, "ok"

    monkeypatch.setattr(webhooks, "post", post)
    started = timezone.now()
    assert webhooks.attempt(pk) == DeliveryStatus.DELIVERED
    assert seen[0] >= started


def test_the_stale_time_is_read_from_the_environment(monkeypatch, tmp_path):
    import runpy

    from django.core.exceptions import ImproperlyConfigured

    from mlsite import settings as settings_module

    def read(**environment: str) -> dict:
        monkeypatch.setenv("DJANGO_DEBUG", "1")
        monkeypatch.setenv("MLSERVE_VAR_DIR", str(tmp_path))
        for name in ("MLSERVE_WEBHOOK_STALE_S", "MLSERVE_TRAIN_TIMEOUT_S"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(settings_module.__file__)

    assert read()["MLSERVE_WEBHOOK_STALE_S"] == 3600.0
    # Longer than two trainings, which one worker may run before a delivery's task.
    assert read(MLSERVE_TRAIN_TIMEOUT_S="7200")["MLSERVE_WEBHOOK_STALE_S"] == 14400.0
    assert read(MLSERVE_WEBHOOK_STALE_S="900")["MLSERVE_WEBHOOK_STALE_S"] == 900.0
    with pytest.raises(ImproperlyConfigured, match="MLSERVE_WEBHOOK_STALE_S=5"):
        read(MLSERVE_WEBHOOK_STALE_S="5")
