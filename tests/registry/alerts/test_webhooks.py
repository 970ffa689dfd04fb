"""Webhook delivery: signed as Standard Webhooks says (checked by a real receiver with the
secret), retried after a failure and never after a 2xx, bounded, and never sent to a
private address unless the setting allows it."""

import base64
import hashlib
import hmac
import json

import pytest

from registry import alerts, services
from registry.alerts import webhooks
from registry.models import WebhookDelivery, WebhookEndpoint
from registry.services import InvalidInput

pytestmark = pytest.mark.django_db(transaction=True)  # the worker closes connections


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver's side of Standard Webhooks, written from the spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split()
        if sig.startswith("v1,")
    )


def send_test(endpoint, owner, django_capture_on_commit_callbacks, worker):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.webhook_send_test(endpoint=endpoint, user=owner)
    worker()
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_it_signs_a_delivery_the_receiver_verifies(
    receiver, owner, worker, django_capture_on_commit_callbacks
):
    endpoint, secret = services.webhook_create(owner=owner, url=receiver.url)
    assert secret.startswith("whsec_")
    delivery = send_test(endpoint, owner, django_capture_on_commit_callbacks, worker)
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got["path"] == "/hooks/mlserve?team=ml"
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == delivery.message_id
    assert verify(secret, headers, got["body"])
    assert not verify(secret, headers, got["body"] + b" ")  # the body is what is signed
    assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, got["body"])
    body = json.loads(got["body"])
    assert body["type"] == "test"
    assert body["data"]["endpoint"] == endpoint.pk
    assert delivery.status == "delivered"
    assert delivery.attempts == 1
    assert delivery.response_status == 200
    assert delivery.response_excerpt == "answered 200"


def test_it_retries_after_a_500_and_not_after_the_200(
    receiver, owner, worker, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 200]
    endpoint, secret = services.webhook_create(owner=owner, url=receiver.url)
    delivery = send_test(endpoint, owner, django_capture_on_commit_callbacks, worker)
    assert len(receiver.requests) == 2
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert ids == {delivery.message_id}  # the same message: a receiver can drop a repeat
    for request in receiver.requests:
        assert verify(
            secret, {k.lower(): v for k, v in request["headers"].items()}, request["body"]
        )
    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    assert delivery.response_status == 200
    worker()  # nothing is left to send
    assert len(receiver.requests) == 2


def test_it_does_not_retry_after_a_200(receiver, owner, worker, django_capture_on_commit_callbacks):
    receiver.statuses = [204]
    endpoint, _ = services.webhook_create(owner=owner, url=receiver.url)
    delivery = send_test(endpoint, owner, django_capture_on_commit_callbacks, worker)
    worker()
    assert len(receiver.requests) == 1
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 204)


def test_it_gives_up_after_the_last_attempt(
    receiver, owner, worker, settings, django_capture_on_commit_callbacks
):
    settings.MLSERVE_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [503]
    endpoint, _ = services.webhook_create(owner=owner, url=receiver.url)
    delivery = send_test(endpoint, owner, django_capture_on_commit_callbacks, worker)
    assert len(receiver.requests) == 3
    assert delivery.status == "failed"
    assert delivery.attempts == 3
    assert delivery.response_status == 503
    assert "503" in delivery.error


def test_a_connection_error_is_retried(
    receiver, owner, worker, settings, django_capture_on_commit_callbacks
):
    settings.MLSERVE_WEBHOOK_MAX_ATTEMPTS = 2
    port = receiver.server.server_address[1]
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens there now
    endpoint, _ = services.webhook_create(owner=owner, url=f"http://127.0.0.1:{port}/")
    delivery = send_test(endpoint, owner, django_capture_on_commit_callbacks, worker)
    assert delivery.status == "failed"
    assert delivery.attempts == 2
    assert delivery.response_status is None
    assert "Connection" in delivery.error


def test_the_backoff_doubles(settings):
    settings.MLSERVE_WEBHOOK_RETRY_BASE_S = 30.0
    assert [webhooks.backoff_s(n) for n in (1, 2, 3, 4)] == [30.0, 60.0, 120.0, 240.0]


def test_a_retry_waits_its_backoff(receiver, owner, settings, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    settings.MLSERVE_WEBHOOK_RETRY_BASE_S = 600.0
    receiver.statuses = [500]
    endpoint, _ = services.webhook_create(owner=owner, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.webhook_send_test(endpoint=endpoint, user=owner)
    DBTaskResult.objects.all().delete()
    assert webhooks.attempt(delivery.pk) == "pending"
    delivery.refresh_from_db()
    queued = DBTaskResult.objects.get()
    assert (queued.run_after - delivery.updated_at).total_seconds() == pytest.approx(600, abs=5)
    assert abs((delivery.next_attempt_at - queued.run_after).total_seconds()) < 5
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/hook",  # private
        "http://127.0.0.1:8000/hook",  # loopback
        "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",  # an IPv4 private address in IPv6 clothes
        "http://0.0.0.0/hook",
        "http://localhost/hook",  # a name that resolves to 127.0.0.1
    ],
)
def test_it_refuses_private_addresses_by_default(owner, url):
    with pytest.raises(InvalidInput, match="private, loopback"):
        services.webhook_create(owner=owner, url=url)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "file:///etc/passwd", "gopher://example.com/", "example.com"]
)
def test_it_takes_http_and_https_only(owner, settings, url):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(InvalidInput, match="http"):
        services.webhook_create(owner=owner, url=url)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url", ["http://a..b/hook", "http://\udbce\udc89.example/", "http://[::1/"]
)
def test_a_host_that_is_no_name_is_refused_in_words(owner, settings, url):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(InvalidInput, match="valid"):
        services.webhook_create(owner=owner, url=url)
    assert not WebhookEndpoint.objects.exists()


def test_it_checks_the_address_again_when_it_delivers(
    receiver, owner, worker, settings, django_capture_on_commit_callbacks
):
    """A host that turns private after the endpoint was saved (DNS rebinding) gets nothing."""
    endpoint, _ = services.webhook_create(owner=owner, url=receiver.url)
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = False
    delivery = send_test(endpoint, owner, django_capture_on_commit_callbacks, worker)
    assert receiver.requests == []
    assert delivery.status == "failed"
    assert delivery.attempts == 1  # no retry: it would be refused again
    assert "private" in delivery.error


def test_a_redirect_is_not_followed(
    receiver, owner, worker, settings, django_capture_on_commit_callbacks
):
    settings.MLSERVE_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.statuses = [302]
    endpoint, _ = services.webhook_create(owner=owner, url=receiver.url)
    delivery = send_test(endpoint, owner, django_capture_on_commit_callbacks, worker)
    assert len(receiver.requests) == 1
    assert (delivery.status, delivery.response_status) == ("failed", 302)


def test_the_secret_is_not_stored_in_plain_text(owner, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    endpoint, secret = services.webhook_create(owner=owner, url="http://127.0.0.1/hook")
    key = secret.removeprefix("whsec_")
    row = WebhookEndpoint.objects.filter(pk=endpoint.pk).values().get()
    stored = json.dumps(row, default=str)
    assert key not in stored
    assert base64.b64decode(key).hex() not in stored
    assert alerts.secrets.decrypt(row["secret_encrypted"]) == secret
    assert secret not in json.dumps(endpoint.to_dict())
    # Another key reads nothing.
    settings.MLSERVE_WEBHOOK_KEY = "another-key-" + "x" * 32
    with pytest.raises(alerts.secrets.SecretUnreadable):
        alerts.secrets.decrypt(row["secret_encrypted"])


def test_two_endpoints_get_two_secrets(owner, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    _, one = services.webhook_create(owner=owner, url="http://127.0.0.1/a")
    _, two = services.webhook_create(owner=owner, url="http://127.0.0.1/b")
    assert one != two
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32


def test_unknown_events_are_refused(owner, settings):
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(InvalidInput, match="not an event"):
        services.webhook_create(owner=owner, url="http://127.0.0.1/a", events=["version.exploded"])
