"""Only staff reach the admin: every admin URL (enumerated from the admin site's registry)
sends anonymous visitors and signed-in non-staff users to the admin sign-in, and changes
nothing; a staff user who is not a superuser sees and does only what their permissions
allow."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.security.conftest import snapshot

pytestmark = pytest.mark.django_db

VIEWS = ("changelist", "add", "change", "delete", "history", "predict")


def admin_urls() -> list[str]:
    """Every page of every model registered with the admin, for an existing object."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        obj = model._default_manager.order_by("pk").first()
        for view in VIEWS:
            name = f"admin:{meta.app_label}_{meta.model_name}_{view}"
            for args in ([], [obj.pk] if obj else []):
                try:
                    urls.append(reverse(name, args=args))
                except NoReverseMatch:
                    continue
        urls.append(reverse("admin:app_list", args=[meta.app_label]))
    return sorted(set(urls))


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "stan", "stan@example.com", "pw-stan-123", is_staff=True
    )


def test_only_staff_reach_the_admin(registry, owner, admin_user):
    urls = admin_urls()
    assert len(urls) > 30
    assert any(u.endswith("/predict/") for u in urls)
    signed_in = Client()
    signed_in.force_login(owner)
    before = snapshot()
    for client in (Client(), signed_in):
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert response.status_code == 302, (method, url, response.status_code)
                assert response["Location"].startswith(reverse("admin:login")), url
    assert snapshot() == before
    # The sign-in page itself does not let a non-staff user in.
    page = signed_in.get(reverse("admin:login"))
    assert b"not authorized to access this page" in page.content
    boss = Client()
    boss.force_login(admin_user)
    statuses = {u: boss.get(u).status_code for u in urls}
    # A superuser reaches every page (the add pages of records made only by the app,
    # such as versions and datasets, are turned off for everybody, and so is deleting an
    # entry of a read-only log (the audit log, the prediction log, feedback, webhook
    # deliveries, leaderboards) or a token (revoked instead).
    refused = {u: s for u, s in statuses.items() if s != 200}
    logs = (
        "/auditentry/",
        "/predictionlog/",
        "/feedback/",
        "/webhookdelivery/",
        "/leaderboard/",
        "/apitoken/",
    )
    turned_off = [
        u
        for u in refused
        if u.endswith("/add/") or (any(log in u for log in logs) and u.endswith("/delete/"))
    ]
    assert sorted(turned_off) == sorted(refused), refused
    assert set(refused.values()) <= {403}, refused
    print(f"\n{len(urls)} admin URLs: none reached without staff status")


def test_a_staff_user_without_permissions_sees_nothing(registry, staff):
    client = Client()
    client.force_login(staff)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert "permission to view or edit anything" in index.content.decode()
    before = snapshot()
    for url in admin_urls():
        if url == reverse("admin:index"):
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code == 302:
                # An object they may not read (docs/access.md) is answered as the admin
                # answers an id never used: "does not exist", back to its index.
                assert response["Location"] == reverse("admin:index"), (method, url)
                continue
            assert response.status_code in (403, 404), (method, url, response.status_code)
    assert snapshot() == before


def test_a_staff_user_does_only_what_their_permissions_allow(registry, staff):
    staff.user_permissions.add(Permission.objects.get(codename="view_registeredmodel"))
    client = Client()
    client.force_login(staff)
    model = registry["model"]
    listing = client.get(reverse("admin:registry_registeredmodel_changelist"))
    assert listing.status_code == 200
    assert b"churn" in listing.content
    change_url = reverse("admin:registry_registeredmodel_change", args=[model.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # read-only
    before = snapshot()
    saved = client.post(change_url, {"name": "hijacked", "owner": staff.pk, "description": ""})
    assert saved.status_code == 403
    delete_url = reverse("admin:registry_registeredmodel_delete", args=[model.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:registry_dataset_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
    version = model.versions.get(version=1)
    predict = reverse("admin:registry_modelversion_predict", args=[version.pk])
    assert client.get(predict).status_code == 403  # needs view permission on versions
    assert snapshot() == before
