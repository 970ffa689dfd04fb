"""The model page's alias timeline, its "which version served <alias> at <time>" form, and
the one-click rollback with its confirmation page."""

from datetime import datetime

import pytest
from django.urls import reverse

from registry import services
from registry.models import AuditEntry
from tests.registry.conftest import classifier_metrics, loads_no_bytes, make_version, page_queries

pytestmark = pytest.mark.django_db

ROLLBACK = reverse("alias_rollback", args=["churn", "production"])


def pointing(model, name="production"):
    return model.aliases.filter(name=name).values_list("version__version", flat=True).first()


@pytest.fixture
def churn_moved(owner, make_model):
    """churn v1 (accuracy 0.80) and v2 (0.90); production moved v1 -> v2 through the API."""
    model = make_model("churn", versions=0)
    make_version(model, 1, metrics=classifier_metrics(0.80))
    make_version(model, 2, metrics=classifier_metrics(0.90))
    for number in (1, 2):
        services.alias_move(
            model=model, name="production", version_number=number, user=owner, via="api"
        )
    return model


def test_the_model_page_shows_the_timeline_with_each_versions_metric(owner_client, churn_moved):
    html = owner_client.get(reverse("model_detail", args=["churn"])).content.decode()
    section = html.split('id="alias-history"')[1].split("</section>")[0]
    rows = section.split('data-alias-change="')[1:]
    assert len(rows) == 2
    newest, first = rows
    assert newest.startswith("alias.move")
    assert "v1</a>" in newest.split("data-from>")[1].split("</td>")[0]
    assert "0.800" in newest.split("data-from>")[1].split("</td>")[0]
    assert "0.900" in newest.split("data-to>")[1].split("</td>")[0]
    assert "<td>olivia</td>" in newest
    assert "<td>api</td>" in newest
    assert "not set" in first.split("data-from>")[1].split("</td>")[0]
    entry = AuditEntry.objects.order_by("id").last()
    assert f'datetime="{entry.created_at.isoformat()}"' in newest


def test_the_page_answers_which_version_served_an_alias_at_a_time(owner_client, churn_moved):
    first, second = AuditEntry.objects.order_by("id")
    between = first.created_at + (second.created_at - first.created_at) / 2
    url = reverse("model_detail", args=["churn"])
    asked = between.replace(tzinfo=None).isoformat(timespec="microseconds")
    html = owner_client.get(url, {"alias": "production", "at": asked}).content.decode()
    answer = html.split("data-alias-at-answer>")[1].split("</p>")[0]
    assert "<strong>production</strong> served" in answer
    assert ">v1</a>" in answer
    assert "0.800" in answer

    now = owner_client.get(url, {"alias": "production", "at": "2999-01-01T00:00:00"})
    assert ">v2</a>" in now.content.decode().split("data-alias-at-answer>")[1]
    before = owner_client.get(url, {"alias": "production", "at": "2000-01-01T00:00"})
    text = before.content.decode().split("data-alias-at-answer>")[1].split("</p>")[0]
    assert "churn had no production alias at 2000-01-01T00:00:00Z" in text
    bad = owner_client.get(url, {"alias": "production", "at": "soon"})
    assert bad.status_code == 200
    assert "Enter a valid date/time." in bad.content.decode()


def test_a_reader_sees_the_timeline_but_no_rollback(other_client, churn_moved):
    html = other_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert 'data-alias-change="alias.move"' in html
    assert "data-rollback" not in html


def test_rollback_asks_for_confirmation_then_rolls_back(owner_client, owner, churn_moved):
    page = owner_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert f'href="{ROLLBACK}" data-rollback="production"' in page

    confirm = owner_client.get(ROLLBACK)
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Roll production back to v1?" in html
    assert "points at <strong>v2</strong> now" in html
    assert f'method="post" action="{ROLLBACK}"' in html
    assert pointing(churn_moved) == 2  # nothing changed yet

    response = owner_client.post(ROLLBACK)
    assert response.status_code == 302
    assert response["Location"] == "/models/churn/"
    assert pointing(churn_moved) == 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.via, entry.actor, entry.after["version"]) == (
        "alias.rollback",
        "page",
        owner,
        1,
    )
    follow = owner_client.get(response["Location"]).content.decode()
    assert "The production alias is back on v1 (it pointed at v2)." in follow
    assert 'data-alias-change="alias.rollback"' in follow


def test_rollback_with_nowhere_to_go_explains_and_offers_no_button(owner_client, owner, make_model):
    model = make_model("churn", versions=1)
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    page = owner_client.get(ROLLBACK).content.decode()
    assert "no earlier version to go back to" in page
    assert 'method="post"' not in page.split("<main")[1]
    posted = owner_client.post(ROLLBACK)
    assert posted.status_code == 200
    assert "no earlier version to go back to" in posted.content.decode()
    assert AuditEntry.objects.count() == 1


def test_another_user_cannot_roll_back(other_client, churn_moved):
    assert other_client.get(ROLLBACK).status_code == 403
    assert other_client.post(ROLLBACK).status_code == 403
    assert pointing(churn_moved) == 2


def test_the_timeline_survives_a_deleted_version(owner_client, owner, churn_moved):
    make_version(churn_moved, 3)
    services.alias_move(
        model=churn_moved, name="production", version_number=3, user=owner, via="api"
    )
    services.version_delete(version=churn_moved.versions.get(version=2), user=owner)
    html = owner_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert 'v2 <span class="muted">(deleted)</span>' in html
    assert isinstance(AuditEntry.objects.latest("id").created_at, datetime)


def test_the_timeline_costs_two_queries_whatever_its_length(owner_client, owner, churn_moved):
    url = reverse("model_detail", args=["churn"])
    few = page_queries(owner_client, url)
    for number in range(3, 40):
        make_version(churn_moved, number)
        services.alias_move(
            model=churn_moved, name="staging", version_number=number, user=owner, via="page"
        )
    many = page_queries(owner_client, url)
    assert len(many) == len(few)
    loads_no_bytes(many)
    html = owner_client.get(url).content.decode()
    assert html.count('data-alias-change="') == 39
