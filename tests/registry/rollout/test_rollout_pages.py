"""The model page shows each alias's canary and shadow (with the shadow's agreement rate),
and its owner promotes or ends a canary there, after a confirmation page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from registry import selectors
from registry.models import AuditEntry, PredictionLog
from tests.registry.rollout.conftest import set_rollout

pytestmark = pytest.mark.django_db


def test_the_model_page_shows_the_canary_the_shadow_and_its_agreement(owner_client, owner, rollout):
    assert b'data-rollout="production"' not in owner_client.get("/models/churn/").content
    set_rollout(rollout, owner, canary=(2, 10), shadow=3)
    v3 = rollout.versions.get(version=3)
    # Two shadowed requests of 2 rows each: 3 of the 4 rows agree.
    for predictions, answered in ((["yes", "no"], ["yes", "no"]), (["yes", "yes"], ["no", "yes"])):
        PredictionLog.objects.create(
            version=v3,
            created_at=timezone.now(),
            source="api",
            status=200,
            latency_ms=1.0,
            n_rows=2,
            inputs=[{}, {}],
            outputs={"predictions": predictions, "answered": answered},
            role="shadow",
        )
    page = owner_client.get("/models/churn/").content.decode()
    assert "data-rollouts" in page
    assert "v2</a> at 10%" in page
    assert "data-agreement>75% of 4 rows" in page
    assert 'data-canary-promote="production"' in page
    assert 'data-canary-end="production"' in page


def test_a_reader_sees_the_rollout_but_not_its_buttons(other_client, owner, rollout):
    set_rollout(rollout, owner, canary=(2, 10))
    page = other_client.get("/models/churn/").content.decode()
    assert "v2</a> at 10%" in page
    assert "data-canary-promote" not in page


def test_the_owner_promotes_the_canary_after_confirming(owner_client, owner, rollout):
    set_rollout(rollout, owner, canary=(2, 10))
    url = "/models/churn/aliases/production/canary/promote/"
    confirm = owner_client.get(url)
    assert confirm.status_code == 200
    assert "Promote v2 to production?" in confirm.content.decode()
    assert selectors.rollout_state(rollout)["production"]["champion"] == 1  # GET changes nothing
    response = owner_client.post(url)
    assert response.status_code == 302
    assert selectors.rollout_state(rollout)["production"] == {
        "champion": 2,
        "canary": None,
        "shadow": None,
    }
    entry = AuditEntry.objects.filter(model=rollout).order_by("id").last()
    assert (entry.action, entry.via) == ("alias.canary.promote", "page")
    # Nothing left to promote: the page says so, and changes nothing.
    again = owner_client.post(url)
    assert again.status_code == 200
    assert "has no canary to promote" in again.content.decode()


def test_the_owner_ends_the_canary_after_confirming(owner_client, owner, rollout):
    set_rollout(rollout, owner, canary=(2, 10), shadow=3)
    url = "/models/churn/aliases/production/canary/end/"
    assert "End the production canary?" in owner_client.get(url).content.decode()
    assert owner_client.post(url).status_code == 302
    assert selectors.rollout_state(rollout)["production"] == {
        "champion": 1,
        "canary": None,
        "shadow": 3,
    }
    entry = AuditEntry.objects.filter(model=rollout).order_by("id").last()
    assert (entry.action, entry.via) == ("alias.canary.end", "page")
    assert owner_client.get("/models/churn/aliases/production/canary/other/").status_code == 404
    assert owner_client.get("/models/churn/aliases/staging/canary/end/").status_code == 404
