"""The delivery log's retention: the worker's periodic alert step deletes an endpoint's
finished deliveries older than MLSERVE_WEBHOOK_DELIVERY_DAYS and those beyond its newest
MLSERVE_WEBHOOK_DELIVERIES_KEPT, oldest first; a pending delivery (due for a retry, or not
sent yet) stays whatever its age, and other endpoints' logs are left as they are."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry import services
from registry.alerts import webhooks
from registry.models import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoints(owner, other, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    mine = services.webhook_create(owner=owner, url="http://127.0.0.1:9/mine")[0]
    theirs = services.webhook_create(owner=other, url="http://127.0.0.1:9/theirs")[0]
    return mine, theirs


_count = iter(range(1_000_000))


def delivery(endpoint, *, days_ago: float, status=DeliveryStatus.DELIVERED, **fields):
    """A delivery of `endpoint` made `days_ago` days ago."""
    row = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=f"msg_{next(_count)}",
        event="test",
        payload={"type": "test", "data": {}},
        **{"status": status, "attempts": 1, **fields},
    )
    created = timezone.now() - timedelta(days=days_ago)
    WebhookDelivery.objects.filter(pk=row.pk).update(created_at=created)  # auto_now_add
    return row.pk


def kept(endpoint) -> set[int]:
    return set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)  # the worker command closes its connections
def test_the_worker_prunes_deliveries_older_than_the_days(endpoints, settings, worker):
    settings.MLSERVE_WEBHOOK_DELIVERY_DAYS = 30
    mine, theirs = endpoints
    old_delivered = delivery(mine, days_ago=31)
    old_failed = delivery(mine, days_ago=45, status=DeliveryStatus.FAILED, error="answered 500")
    old_pending = delivery(
        mine,
        days_ago=31,
        status=DeliveryStatus.PENDING,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    never_sent = delivery(mine, days_ago=40, status=DeliveryStatus.PENDING, attempts=0)
    recent = delivery(mine, days_ago=29)
    their_old = delivery(theirs, days_ago=31)
    their_recent = delivery(theirs, days_ago=1)

    worker()  # the real worker command: its periodic alert step prunes

    assert kept(mine) == {old_pending, never_sent, recent}
    assert not kept(mine) & {old_delivered, old_failed}
    assert kept(theirs) == {their_recent}
    assert their_old not in kept(theirs)


def test_beyond_the_count_the_oldest_finished_ones_go_first(endpoints, settings):
    settings.MLSERVE_WEBHOOK_DELIVERIES_KEPT = 3
    mine, theirs = endpoints
    oldest = [delivery(mine, days_ago=d) for d in (9, 8, 7)]
    pending = delivery(
        mine,
        days_ago=6.5,
        status=DeliveryStatus.PENDING,
        next_attempt_at=timezone.now(),
        error="The endpoint answered 500; retrying.",
    )
    newest = [delivery(mine, days_ago=d) for d in (6, 5, 4)]
    theirs_all = {delivery(theirs, days_ago=d) for d in (9, 8, 7)}

    assert webhooks.prune_deliveries() == 3

    assert kept(mine) == {pending, *newest}
    assert not kept(mine) & set(oldest)
    assert kept(theirs) == theirs_all
    assert webhooks.prune_deliveries() == 0  # nothing more to do


def test_ties_in_time_go_by_id_and_the_newest_are_kept(endpoints, settings):
    settings.MLSERVE_WEBHOOK_DELIVERIES_KEPT = 2
    mine, _ = endpoints
    same_moment = timezone.now() - timedelta(hours=1)
    made = [delivery(mine, days_ago=0) for _ in range(4)]
    WebhookDelivery.objects.filter(pk__in=made).update(created_at=same_moment)
    assert webhooks.prune_deliveries() == 2
    assert kept(mine) == set(made[2:])


def test_a_pruning_that_fails_does_not_stop_the_rules(endpoints, monkeypatch, caplog):
    from registry.management.commands import db_worker

    checked = []
    monkeypatch.setattr(db_worker, "evaluate_rules", lambda: checked.append(1))

    def broken() -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(db_worker, "prune_deliveries", broken)
    db_worker.evaluate_rules_safely()
    assert checked == [1]
    assert "pruning the webhook delivery log failed" in caplog.text


def test_the_settings_are_read_from_the_environment(monkeypatch, tmp_path):
    import runpy

    from django.core.exceptions import ImproperlyConfigured

    from mlsite import settings as settings_module

    def read(**environment: str) -> dict:
        monkeypatch.setenv("DJANGO_DEBUG", "1")
        monkeypatch.setenv("MLSERVE_VAR_DIR", str(tmp_path))
        for name in ("MLSERVE_WEBHOOK_DELIVERIES_KEPT", "MLSERVE_WEBHOOK_DELIVERY_DAYS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(settings_module.__file__)

    defaults = read()
    assert defaults["MLSERVE_WEBHOOK_DELIVERIES_KEPT"] == 1000
    assert defaults["MLSERVE_WEBHOOK_DELIVERY_DAYS"] == 30
    chosen = read(MLSERVE_WEBHOOK_DELIVERIES_KEPT="50", MLSERVE_WEBHOOK_DELIVERY_DAYS="7")
    assert chosen["MLSERVE_WEBHOOK_DELIVERIES_KEPT"] == 50
    assert chosen["MLSERVE_WEBHOOK_DELIVERY_DAYS"] == 7
    with pytest.raises(ImproperlyConfigured, match="MLSERVE_WEBHOOK_DELIVERIES_KEPT=0"):
        read(MLSERVE_WEBHOOK_DELIVERIES_KEPT="0")
    with pytest.raises(ImproperlyConfigured, match="MLSERVE_WEBHOOK_DELIVERY_DAYS='soon'"):
        read(MLSERVE_WEBHOOK_DELIVERY_DAYS="soon")
