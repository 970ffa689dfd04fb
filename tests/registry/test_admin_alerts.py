"""The admin's feedback, webhook endpoints, their deliveries and alert rules: a staff user
who is not a superuser lists and opens only their own (their models', their endpoints'),
the filters name nobody else's; an endpoint's secret is never on its pages; feedback and
deliveries are read only; an endpoint's "send test event" queues a test delivery."""

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from registry import alerts, services
from registry.alerts import secrets
from registry.models import AlertRule, Feedback, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

ADMINS = ("feedback", "webhookendpoint", "webhookdelivery", "alertrule")


@pytest.fixture
def rows(owner, other, make_model, settings):
    """For each of the two users: a model ("churn", "theirs"), an endpoint, a delivery, a
    rule and a label. Returns {"mine": {...}, "theirs": {...}} of the rows."""
    settings.MLSERVE_WEBHOOK_ALLOW_PRIVATE = True
    found = {}
    for key, user, name in (("mine", owner, "churn"), ("theirs", other, "theirs")):
        model = make_model(name, user=user)
        endpoint, _ = services.webhook_create(
            owner=user, url=f"http://127.0.0.1:9/hooks/{key}", model=model
        )
        delivery = alerts.send_test(endpoint)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="failed", attempts=6, response_status=502, response_excerpt=f"{key} gateway"
        )
        rule = services.alert_rule_create(
            model=model, user=user, kind="error_rate", params={"percent": 5}
        )
        label = Feedback.objects.create(
            request_id=uuid.uuid4(),
            row=0,
            version=model.versions.get(),
            label=f"{key}-label",
            predicted="no",
            predicted_at=timezone.now(),
            created_by=user,
        )
        found[key] = {
            "webhookendpoint": endpoint,
            "webhookdelivery": delivery,
            "alertrule": rule,
            "feedback": label,
        }
    return found


@pytest.fixture
def staff(owner):
    """olivia as staff (not a superuser) with the permissions the admin asks for."""
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    codenames = [f"view_{name}" for name in ADMINS] + [
        "change_webhookendpoint",
        "delete_webhookendpoint",
        "change_alertrule",
        "delete_alertrule",
        "change_feedback",
        "delete_feedback",
        "change_webhookdelivery",
        "delete_webhookdelivery",
        "add_feedback",
        "add_webhookdelivery",
        "add_webhookendpoint",
        "add_alertrule",
    ]
    owner.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def superuser(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def url(admin: str, page: str, *args) -> str:
    return reverse(f"admin:registry_{admin}_{page}", args=args)


@pytest.mark.parametrize("admin", ADMINS)
def test_a_staff_user_lists_only_their_own_rows(admin, staff, superuser, rows):
    listing = staff.get(url(admin, "changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    mine, theirs = rows["mine"][admin], rows["theirs"][admin]
    assert f"/{mine.pk}/change/" in html
    assert f"/{theirs.pk}/change/" not in html
    # Nothing of theirs anywhere, the filters' choices included.
    assert "theirs" not in html
    everything = superuser.get(url(admin, "changelist")).content.decode()
    assert "theirs" in everything


@pytest.mark.parametrize("admin", ADMINS)
def test_a_staff_user_cannot_open_another_users_row(admin, staff, rows):
    theirs = rows["theirs"][admin]
    for page in ("change", "delete", "history"):
        response = staff.get(url(admin, page, theirs.pk))
        # Not found (the admin's redirect); a read-only log's delete page is refused first.
        refused = (302, 404, 403) if page == "delete" else (302, 404)
        assert response.status_code in refused, (page, response.status_code)
        assert "theirs" not in response.content.decode()
    mine = rows["mine"][admin]
    assert staff.get(url(admin, "change", mine.pk)).status_code == 200


def test_an_endpoints_secret_is_on_none_of_its_pages(superuser, staff, rows):
    endpoint = rows["mine"]["webhookendpoint"]
    secret = secrets.decrypt(endpoint.secret_encrypted)
    key = secret.removeprefix(secrets.PREFIX)
    for client in (superuser, staff):
        for page in (
            url("webhookendpoint", "change", endpoint.pk),
            url("webhookendpoint", "changelist"),
            url("webhookdelivery", "change", rows["mine"]["webhookdelivery"].pk),
        ):
            html = client.get(page).content.decode()
            assert key not in html
            assert endpoint.secret_encrypted not in html
            assert 'name="secret' not in html
    change = superuser.get(url("webhookendpoint", "change", endpoint.pk)).content.decode()
    assert "kept encrypted" in change


def test_an_endpoint_is_not_added_here_and_only_its_switch_and_note_change(staff, rows):
    assert staff.get(url("webhookendpoint", "add")).status_code == 403
    endpoint = rows["mine"]["webhookendpoint"]
    before = endpoint.secret_encrypted
    response = staff.post(
        url("webhookendpoint", "change", endpoint.pk),
        {
            "description": "paused for the migration",
            "url": "http://10.0.0.1/elsewhere",
            "events": '["alert.fired"]',
        },
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.description) == (False, "paused for the migration")
    assert (endpoint.url, endpoint.events) == ("http://127.0.0.1:9/hooks/mine", [])
    assert endpoint.secret_encrypted == before


@pytest.mark.parametrize("admin", ["feedback", "webhookdelivery"])
def test_feedback_and_deliveries_are_read_only_even_for_a_superuser(admin, superuser, rows):
    row = rows["mine"][admin]
    model = type(row)
    assert superuser.get(url(admin, "add")).status_code == 403
    page = superuser.get(url(admin, "change", row.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert superuser.post(url(admin, "change", row.pk), {"label": '"x"'}).status_code == 403
    assert superuser.post(url(admin, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.count() == 2
    assert model.objects.get(pk=row.pk).updated_at == row.updated_at


def test_a_delivery_shows_its_answer(staff, rows):
    delivery = rows["mine"]["webhookdelivery"]
    html = staff.get(url("webhookdelivery", "change", delivery.pk)).content.decode()
    assert "mine gateway" in html
    assert "502" in html
    listing = staff.get(url("webhookdelivery", "changelist") + "?status__exact=failed")
    assert "502" in listing.content.decode()


def test_send_test_event_queues_one_for_each_of_your_chosen_endpoints(staff, superuser, rows):
    mine, theirs = rows["mine"]["webhookendpoint"], rows["theirs"]["webhookendpoint"]
    response = staff.post(
        url("webhookendpoint", "changelist"),
        {"action": "send_test_event", "_selected_action": [mine.pk, theirs.pk]},
    )
    assert response.status_code == 302
    assert WebhookDelivery.objects.filter(endpoint=mine, event="test").count() == 2
    assert WebhookDelivery.objects.filter(endpoint=theirs, event="test").count() == 1
    # A superuser sends one to anyone's.
    superuser.post(
        url("webhookendpoint", "changelist"),
        {"action": "send_test_event", "_selected_action": [theirs.pk]},
    )
    sent = WebhookDelivery.objects.filter(endpoint=theirs, event="test").order_by("-id").first()
    assert sent.payload["data"]["endpoint"] == theirs.pk
    assert WebhookDelivery.objects.filter(endpoint=theirs, event="test").count() == 2


def test_an_alert_rule_is_switched_off_and_deleted_but_not_added_here(staff, rows):
    assert staff.get(url("alertrule", "add")).status_code == 403
    rule = rows["mine"]["alertrule"]
    response = staff.post(url("alertrule", "change", rule.pk), {"params": '{"percent": 99}'})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.active is False
    assert rule.params["percent"] == 5
    assert staff.post(url("alertrule", "delete", rule.pk), {"post": "yes"}).status_code == 302
    assert not AlertRule.objects.filter(pk=rule.pk).exists()
    theirs = rows["theirs"]["alertrule"]
    assert staff.post(url("alertrule", "delete", theirs.pk), {"post": "yes"}).status_code in (
        302,
        404,
    )
    assert AlertRule.objects.filter(pk=theirs.pk).exists()


def test_a_staff_user_deletes_their_endpoint_and_not_anothers(staff, rows):
    mine, theirs = rows["mine"]["webhookendpoint"], rows["theirs"]["webhookendpoint"]
    assert staff.post(url("webhookendpoint", "delete", mine.pk), {"post": "yes"}).status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=mine.pk).exists()
    assert not WebhookDelivery.objects.filter(endpoint_id=mine.pk).exists()
    response = staff.post(url("webhookendpoint", "delete", theirs.pk), {"post": "yes"})
    assert response.status_code in (302, 404)
    assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()


def test_deleting_a_model_or_a_version_takes_its_logs_with_it(superuser, rows):
    """The read-only rows (audit entries, feedback, deliveries) ask no permission of their
    own when what they belong to is deleted."""
    from registry.models import AuditEntry, ModelVersion, RegisteredModel

    model = rows["mine"]["alertrule"].model
    services.alias_move(model=model, name="production", version_number=1, user=model.owner,
                        via="api")  # fmt: skip
    services.alias_delete(model=model, name="production", user=model.owner, via="api")
    assert AuditEntry.objects.filter(model=model).count() == 2
    version = model.versions.get()
    response = superuser.post(url("modelversion", "delete", version.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not ModelVersion.objects.filter(pk=version.pk).exists()
    assert not Feedback.objects.filter(pk=rows["mine"]["feedback"].pk).exists()
    response = superuser.post(url("registeredmodel", "delete", model.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not RegisteredModel.objects.filter(pk=model.pk).exists()
    assert not AuditEntry.objects.filter(model_id=model.pk).exists()
    assert not WebhookDelivery.objects.filter(pk=rows["mine"]["webhookdelivery"].pk).exists()
    assert RegisteredModel.objects.filter(name="theirs").exists()
    assert Feedback.objects.count() == WebhookDelivery.objects.count() == 1
