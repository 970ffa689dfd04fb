"""The "Who can see it" card of the model and dataset pages (docs/access.md): the owner's
form sets the visibility (refusals in words), a reader sees the card without the form, and
a dataset shared with a team is read-only on its page for the team's members."""

import pytest
from django.test import Client

from registry.models import AuditEntry, Dataset, RegisteredModel, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(django_user_model, owner):
    mia = django_user_model.objects.create_user("mia")
    Team.objects.create(name="analysts").members.add(owner, mia)
    Team.objects.create(name="sales")  # the owner is not in it
    client = Client()
    client.force_login(mia)
    return client


def test_the_owner_shares_a_model_with_their_team_from_its_page(owner_client, member, make_model):
    make_model("churn")
    page = owner_client.get("/models/churn/").content.decode()
    assert "data-visibility-form" in page
    assert '<option value="analysts">' in page
    assert '<option value="sales">' not in page  # only the owner's teams are offered
    answer = owner_client.post(
        "/models/churn/visibility/", {"visibility": "team", "team": "analysts"}, follow=True
    )
    assert "churn is team now with the team analysts." in answer.content.decode()
    assert RegisteredModel.objects.get(name="churn").team.name == "analysts"
    assert AuditEntry.objects.get(action="visibility.set").via == "page"
    shown = member.get("/models/churn/").content.decode()
    assert 'data-visibility="team"' in shown
    assert "data-visibility-form" not in shown
    refused = owner_client.post(
        "/models/churn/visibility/", {"visibility": "team", "team": "sales"}, follow=True
    )
    assert "You are in no team named" in refused.content.decode()
    assert RegisteredModel.objects.get(name="churn").team.name == "analysts"


def test_a_team_member_reads_a_shared_dataset_but_changes_nothing(
    owner_client, member, make_dataset
):
    dataset = make_dataset("churn.csv")
    assert member.get(f"/datasets/{dataset.pk}/").status_code == 404
    owner_client.post(
        f"/datasets/{dataset.pk}/visibility/", {"visibility": "team", "team": "analysts"}
    )
    page = member.get(f"/datasets/{dataset.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/datasets/{dataset.pk}/csv/" in html
    for owners_only in ("/delete/", "/types/", "/leaderboard/", "/visibility/"):
        assert f"/datasets/{dataset.pk}{owners_only}" not in html, owners_only
    assert member.get(f"/datasets/{dataset.pk}/csv/").status_code == 200
    assert "churn" in member.get("/datasets/").content.decode()
    assert member.post(f"/datasets/{dataset.pk}/delete/").status_code == 403
    assert member.post(f"/datasets/{dataset.pk}/types/", {"type-0": "category"}).status_code == 403
    assert Dataset.objects.filter(pk=dataset.pk).exists()
