"""The model and version pages show the description, note and tags, and let the owner edit
them (one form each: the tags as "key=value" lines, replaced whole), recorded like the API's."""

import pytest
from django.urls import reverse

from registry.models import AuditEntry, ModelTag, ModelVersion, RegisteredModel, VersionTag

pytestmark = pytest.mark.django_db


@pytest.fixture
def churn(make_model):
    model = make_model("churn")
    ModelTag.objects.create(model=model, key="team", value="growth")
    return model


def test_the_owner_sees_the_tags_and_the_edit_form(owner_client, churn):
    html = owner_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert 'data-tag="team:growth"' in html
    assert 'href="/models/?tag=team:growth"' in html
    assert 'action="/models/churn/edit/"' in html
    assert "team=growth</textarea>" in html


def test_another_user_sees_the_tags_but_no_form(other_client, churn):
    html = other_client.get(reverse("model_detail", args=["churn"])).content.decode()
    assert 'data-tag="team:growth"' in html
    assert "data-edit-form" not in html
    html = other_client.get(reverse("version_detail", args=["churn", 1])).content.decode()
    assert "data-edit-form" not in html


def test_the_owner_saves_a_description_and_replaces_the_tags(owner_client, churn, owner):
    response = owner_client.post(
        reverse("model_edit", args=["churn"]),
        {"description": "Who leaves", "tags": "stage = prod\n\nurl=https://x.example/a=b\n"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/models/churn/#about"
    model = RegisteredModel.objects.get(pk=churn.pk)
    assert model.description == "Who leaves"
    assert dict(model.tags.values_list("key", "value")) == {
        "stage": "prod",
        "url": "https://x.example/a=b",
    }
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.via) == ("model.edit", owner, "page")
    assert entry.before["tags"] == {"team": "growth"}
    html = owner_client.get(response["Location"]).content.decode()
    assert "are saved" in html
    assert 'data-tag="stage:prod"' in html


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ("no equals sign", "Line 1: write key=value"),
        ("ok=1\nbad key=2", "Line 2"),
        ("a=1\na=2", "twice"),
        ("\n".join(f"k{i}=v" for i in range(51)), "At most 50"),
        ("k=" + "v" * 257, "at most 256"),
    ],
)
def test_bad_tags_are_refused_next_to_the_field(owner_client, churn, tags, message):
    response = owner_client.post(
        reverse("model_edit", args=["churn"]), {"description": "new", "tags": tags}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert "data-error-summary" in html
    assert '<details class="edit-about" open>' in html
    assert RegisteredModel.objects.get(pk=churn.pk).description == ""
    assert dict(churn.tags.values_list("key", "value")) == {"team": "growth"}
    assert not AuditEntry.objects.exists()


def test_another_user_may_not_edit(other_client, churn):
    response = other_client.post(reverse("model_edit", args=["churn"]), {"description": "x"})
    assert response.status_code == 403
    response = other_client.post(reverse("version_edit", args=["churn", 1]), {"note": "x"})
    assert response.status_code == 403
    assert RegisteredModel.objects.get(pk=churn.pk).description == ""
    assert ModelVersion.objects.get(model=churn).note == ""
    assert not AuditEntry.objects.exists()


def test_signing_in_is_needed_and_get_is_not_allowed(owner_client, churn):
    from django.test import Client

    response = Client().post(reverse("model_edit", args=["churn"]), {"description": "x"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert owner_client.get(reverse("model_edit", args=["churn"])).status_code == 405
    assert owner_client.post(reverse("model_edit", args=["nope"]), {}).status_code == 404


def test_the_owner_describes_a_ready_version(owner_client, churn, owner):
    url = reverse("version_detail", args=["churn", 1])
    assert "No description, note or tags yet." in owner_client.get(url).content.decode()
    response = owner_client.post(
        reverse("version_edit", args=["churn", 1]),
        {"description": "Baseline", "note": "Trained on Q3.\nWatch <drift>.", "tags": "q=3"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/models/churn/versions/1/#about"
    version = ModelVersion.objects.get(model=churn, version=1)
    assert (version.status, version.description, version.note) == (
        "ready",
        "Baseline",
        "Trained on Q3.\nWatch <drift>.",
    )
    assert dict(VersionTag.objects.values_list("key", "value")) == {"q": "3"}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.version_id, entry.actor, entry.via) == (
        "version.edit",
        version.pk,
        owner,
        "page",
    )
    html = owner_client.get(url).content.decode()
    assert "Trained on Q3.<br>Watch &lt;drift&gt;." in html
    assert 'data-tag="q:3"' in html
    assert ">Baseline</p>" in html


def test_a_too_long_note_is_refused(owner_client, churn):
    response = owner_client.post(
        reverse("version_edit", args=["churn", 1]), {"note": "n" * 10_001, "tags": ""}
    )
    assert response.status_code == 422
    assert "at most 10000 characters" in response.content.decode()
    assert ModelVersion.objects.get(model=churn).note == ""
