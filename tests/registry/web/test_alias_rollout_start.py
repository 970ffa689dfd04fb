"""The model page's rollout form: the owner starts or changes an alias's canary (version and
share) and shadow there, through services.alias_rollout with via="page". Errors are shown in
the form, its values kept; other users and anonymous callers never see it and are refused."""

from __future__ import annotations

import pytest
from django.test import Client

from registry import selectors, services
from registry.models import AuditEntry
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db

PAGE = "/models/churn/"
URL = "/models/churn/aliases/production/rollout/"
P = "rollout-production-"  # the form's prefix: one form per alias on the model page


@pytest.fixture
def model(make_model):
    """churn v1 (production), v2 and v3 ready, v4 still training."""
    model = make_model("churn", versions=3)
    make_version(model, 4, status="running")
    model.aliases.create(name="production", version=model.versions.get(version=1))
    return model


def posted(*, version=1, canary="", percent="", shadow="") -> dict[str, object]:
    return {
        f"{P}alias_version": version,
        f"{P}canary_version": canary,
        f"{P}canary_percent": percent,
        f"{P}shadow_version": shadow,
    }


def state(model) -> dict:
    return selectors.rollout_state(model)["production"]


def rollout_entries(model) -> list[tuple]:
    return list(
        AuditEntry.objects.filter(model=model, action__in=("alias.canary", "alias.shadow"))
        .order_by("id")
        .values_list("action", "via", "before", "after")
    )


def set_rollout(model, owner, *, canary=None, shadow=None) -> None:
    services.alias_rollout(
        model=model, name="production", version_number=1, canary=canary, shadow=shadow,
        user=owner, via="api",
    )  # fmt: skip


def test_the_model_page_offers_the_owner_a_rollout_form_per_alias(owner_client, model):
    html = owner_client.get(PAGE).content.decode()
    assert f'method="post" action="{URL}"' in html
    assert 'data-rollout-form="production"' in html
    assert 'data-rollout-form="staging"' not in html  # staging points at nothing
    form = html.split('data-rollout-form="production"')[1].split("</form>")[0]
    assert "csrfmiddlewaretoken" in form
    assert f'<input type="hidden" name="{P}alias_version" value="1"' in form
    # Only ready versions other than the alias's own are offered, for the canary and the
    # shadow.
    for number in (2, 3):
        assert form.count(f'<option value="{number}">') == 2, number
    assert '<option value="1">' not in form
    assert '<option value="4">' not in form
    assert f'name="{P}canary_percent"' in form


def test_the_owner_starts_a_canary(owner_client, owner, model):
    response = owner_client.post(URL, posted(canary=2, percent=10))
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert state(model) == {
        "champion": 1,
        "canary": {"version": 2, "percent": 10.0},
        "shadow": None,
    }
    assert rollout_entries(model) == [
        (
            "alias.canary",
            "page",
            {"alias": "production", "canary": None},
            {"alias": "production", "canary": {"version": 2, "percent": 10.0}},
        )
    ]
    assert AuditEntry.objects.get(action="alias.canary").actor == owner
    page = owner_client.get(PAGE).content.decode()
    assert "production now sends 10% of its calls to v2 (canary); no shadow." in page
    assert 'data-rollout="production"' in page
    assert "v2</a> at 10%" in page


def test_the_owner_starts_a_shadow(owner_client, model):
    response = owner_client.post(URL, posted(shadow=3))
    assert response.status_code == 302
    assert state(model) == {"champion": 1, "canary": None, "shadow": 3}
    assert rollout_entries(model) == [
        (
            "alias.shadow",
            "page",
            {"alias": "production", "shadow": None},
            {"alias": "production", "shadow": 3},
        )
    ]
    page = owner_client.get(PAGE).content.decode()
    assert "production now has no canary; v3 shadows it." in page


def test_the_form_shows_the_running_rollout_and_changes_its_percent(owner_client, owner, model):
    set_rollout(model, owner, canary=(2, 10), shadow=3)
    form = owner_client.get(PAGE).content.decode().split('data-rollout-form="production"')[1]
    form = form.split("</form>")[0]
    assert f'name="{P}canary_percent" value="10"' in form
    canary, shadow = form.split(f'name="{P}shadow_version"')
    assert '<option value="2" selected>' in canary
    assert '<option value="3" selected>' in shadow
    before = len(rollout_entries(model))

    response = owner_client.post(URL, posted(canary=2, percent=25, shadow=3))
    assert response.status_code == 302
    assert state(model) == {"champion": 1, "canary": {"version": 2, "percent": 25.0}, "shadow": 3}
    # Only the canary changed: one entry, the shadow's untouched.
    assert rollout_entries(model)[before:] == [
        (
            "alias.canary",
            "page",
            {"alias": "production", "canary": {"version": 2, "percent": 10.0}},
            {"alias": "production", "canary": {"version": 2, "percent": 25.0}},
        )
    ]


def test_left_empty_both_end(owner_client, owner, model):
    set_rollout(model, owner, canary=(2, 10), shadow=3)
    response = owner_client.post(URL, posted())
    assert response.status_code == 302
    assert state(model) == {"champion": 1, "canary": None, "shadow": None}
    assert [(a, v) for a, v, _, _ in rollout_entries(model)][-2:] == [
        ("alias.canary", "page"),
        ("alias.shadow", "page"),
    ]
    page = owner_client.get(PAGE).content.decode()
    assert "production now has no canary and no shadow." in page


@pytest.mark.parametrize(
    ("data", "status", "field", "message"),
    [
        (
            posted(canary=2, percent=0),
            422,
            "canary_percent",
            "The canary&#x27;s percent must be a number between 0 and 100 (exclusive)",
        ),
        (
            posted(canary=2, percent=100),
            422,
            "canary_percent",
            "The canary&#x27;s percent must be a number between 0 and 100 (exclusive)",
        ),
        (posted(canary=2, percent="ten"), 400, "canary_percent", "Enter a number."),
        (posted(canary=2), 400, "canary_percent", "Give the canary&#x27;s share of the calls"),
        (posted(percent=10), 400, "canary_version", "Choose the canary version"),
        (
            posted(canary=1, percent=10),
            422,
            "canary_version",
            "Choose another version than the alias&#x27;s own.",
        ),
        (
            posted(canary=2, percent=10, shadow=2),
            422,
            "shadow_version",
            "Choose a version that neither the alias nor its canary has.",
        ),
        (posted(canary=4, percent=10), 409, "canary_version", "This version is not ready."),
        (posted(shadow=4), 409, "shadow_version", "This version is not ready."),
        (posted(canary=9, percent=10), 404, "canary_version", "No such version."),
    ],
    ids=[
        "percent-0",
        "percent-100",
        "percent-not-a-number",
        "percent-missing",
        "percent-without-canary",
        "canary-is-the-alias",
        "shadow-is-the-canary",
        "canary-not-ready",
        "shadow-not-ready",
        "no-such-version",
    ],
)
def test_it_shows_the_error_in_the_form_and_keeps_it(
    owner_client, model, data, status, field, message
):
    response = owner_client.post(URL, data)
    assert response.status_code == status
    html = response.content.decode()
    form = html.split('data-rollout-form="production"')[1].split("</form>")[0]
    assert message in form
    assert 'class="alert alert-error"' in form  # the error summary, in this form
    assert f'id="id_{P}{field}_error"' in form  # and beside its field
    # The values sent are kept.
    if data[f"{P}canary_percent"] != "":
        assert f'name="{P}canary_percent" value="{data[f"{P}canary_percent"]}"' in form
    if data[f"{P}canary_version"] in (2, 3):
        canary = form.split(f'name="{P}shadow_version"')[0]
        assert f'<option value="{data[f"{P}canary_version"]}" selected>' in canary
    # The rest of the model page is there, and nothing changed.
    assert "<h1>churn</h1>" in html
    assert state(model) == {"champion": 1, "canary": None, "shadow": None}
    assert rollout_entries(model) == []


@pytest.mark.parametrize(
    "sent",
    [{"canary": 3, "percent": 10}, {"shadow": 3}, {}],
    ids=["canary", "shadow", "nothing-to-roll-out"],  # the last: the service's plain move
)
def test_a_lost_race_is_the_409_message_and_changes_nothing(owner_client, owner, model, sent):
    page = owner_client.get(PAGE).content.decode()
    assert f'name="{P}alias_version" value="1"' in page
    # Meanwhile production moves (another tab, a deploy script through the API).
    services.alias_move(model=model, name="production", version_number=2, user=owner, via="api")
    response = owner_client.post(URL, posted(version=1, **sent))
    assert response.status_code == 409
    html = response.content.decode()
    form = html.split('data-rollout-form="production"')[1].split("</form>")[0]
    assert "The production alias of churn was moved meanwhile (it points at v2 now)" in form
    assert f'name="{P}alias_version" value="2"' in form  # the form now says where it points
    assert state(model) == {"champion": 2, "canary": None, "shadow": None}
    assert rollout_entries(model) == []


def test_it_404s_for_an_alias_or_a_model_that_does_not_exist(owner_client, model):
    for url in ("/models/churn/aliases/staging/rollout/", "/models/ghost/aliases/x/rollout/"):
        assert owner_client.post(url, posted(canary=2, percent=10)).status_code == 404
    assert state(model) == {"champion": 1, "canary": None, "shadow": None}
    assert not model.aliases.filter(name="staging").exists()


def test_a_get_is_not_allowed(owner_client, model):
    assert owner_client.get(URL).status_code == 405


def test_another_user_sees_no_form_and_is_refused(other_client, model):
    page = other_client.get(PAGE).content.decode()
    assert "data-rollout-form" not in page
    assert URL not in page
    response = other_client.post(URL, posted(canary=2, percent=10))
    assert response.status_code == 403
    assert b"belongs to olivia" in response.content
    assert state(model) == {"champion": 1, "canary": None, "shadow": None}
    assert rollout_entries(model) == []


def test_an_anonymous_caller_is_sent_to_sign_in(client, model):
    response = client.post(URL, posted(canary=2, percent=10))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert state(model) == {"champion": 1, "canary": None, "shadow": None}


def test_a_post_without_the_csrf_token_is_refused(owner, model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(URL, posted(canary=2, percent=10)).status_code == 403
    assert state(model) == {"champion": 1, "canary": None, "shadow": None}
    assert rollout_entries(model) == []
