"""PATCH /api/v1/models/{name} and /models/{name}/versions/{v}: descriptions, a version's
note, and tags (a JSON merge patch), by the owner only, recorded in the audit log."""

import pytest

from registry.models import AuditEntry, ModelTag, ModelVersion, RegisteredModel, VersionTag
from tests.conftest import assert_problem
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db
MODEL = "/models/churn"
VERSION = "/models/churn/versions/1"


@pytest.fixture
def churn_model(make_model):
    model = make_model("churn")  # v1 ready
    ModelTag.objects.create(model=model, key="team", value="growth")
    return model


def tags(model) -> dict:
    return dict(model.tags.values_list("key", "value"))


def test_the_owner_changes_the_description_and_tags_of_a_model(owner_api, churn_model, owner):
    before = RegisteredModel.objects.get(pk=churn_model.pk).updated_at
    response = owner_api.patch(
        MODEL,
        {"description": "Who leaves", "tags": {"stage": "prod", "team": None, "url": "a:b"}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["description"]) == ("churn", "Who leaves")
    assert body["tags"] == {"stage": "prod", "url": "a:b"}
    assert [v["version"] for v in body["versions"]] == [1]
    model = RegisteredModel.objects.get(pk=churn_model.pk)
    assert model.description == "Who leaves"
    assert model.updated_at > before
    assert tags(model) == {"stage": "prod", "url": "a:b"}
    assert owner_api.get(MODEL).json()["tags"] == {"stage": "prod", "url": "a:b"}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.via, entry.model_id, entry.version_id) == (
        "model.edit",
        owner,
        "api",
        churn_model.pk,
        None,
    )
    assert entry.before == {"description": "", "tags": {"team": "growth"}}
    assert entry.after == {"description": "Who leaves", "tags": {"stage": "prod", "url": "a:b"}}


def test_a_tag_not_named_stays_and_a_value_changes_in_place(owner_api, churn_model):
    response = owner_api.patch(MODEL, {"tags": {"team": "risk"}})
    assert response.json()["tags"] == {"team": "risk"}
    owner_api.patch(MODEL, {"tags": {"stage": "dev"}})
    assert tags(churn_model) == {"stage": "dev", "team": "risk"}
    assert ModelTag.objects.count() == 2
    assert AuditEntry.objects.count() == 2


def test_an_edit_that_changes_nothing_records_nothing(owner_api, churn_model):
    response = owner_api.patch(MODEL, {"description": "", "tags": {"team": "growth", "x": None}})
    assert response.status_code == 200
    assert not AuditEntry.objects.exists()
    assert tags(churn_model) == {"team": "growth"}


def test_the_owner_edits_a_ready_version(owner_api, churn_model, owner):
    response = owner_api.patch(
        VERSION,
        {"description": "Baseline", "note": "Trained on Q3.\nCheck drift.", "tags": {"a": "1"}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["status"]) == (1, "ready")
    assert (body["description"], body["note"], body["tags"]) == (
        "Baseline",
        "Trained on Q3.\nCheck drift.",
        {"a": "1"},
    )
    version = ModelVersion.objects.get(model=churn_model, version=1)
    assert (version.description, version.note) == ("Baseline", "Trained on Q3.\nCheck drift.")
    assert dict(version.tags.values_list("key", "value")) == {"a": "1"}
    assert owner_api.get(VERSION).json()["tags"] == {"a": "1"}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.via, entry.version_id) == (
        "version.edit",
        owner,
        "api",
        version.pk,
    )
    assert entry.before == {"description": "", "note": "", "tags": {}}
    assert entry.after == {
        "description": "Baseline",
        "note": "Trained on Q3.\nCheck drift.",
        "tags": {"a": "1"},
    }
    assert tags(churn_model) == {"team": "growth"}  # the model's own tags are apart


def test_a_queued_version_can_be_described_too(owner_api, churn_model):
    make_version(churn_model, 2, status="queued")
    response = owner_api.patch("/models/churn/versions/2", {"note": "waiting"})
    assert response.status_code == 200, response.content
    assert ModelVersion.objects.get(model=churn_model, version=2).note == "waiting"


def test_another_user_may_not_edit(other_api, churn_model):
    assert_problem(other_api.patch(MODEL, {"description": "mine"}), 403, "belongs to another")
    assert_problem(other_api.patch(VERSION, {"note": "mine"}), 403, "belongs to another")
    assert RegisteredModel.objects.get(pk=churn_model.pk).description == ""
    assert ModelVersion.objects.get(model=churn_model).note == ""
    assert not AuditEntry.objects.exists()


def test_a_superuser_may_edit(admin_user, client, churn_model):
    from registry.tokens import token_create
    from tests.conftest import ApiClient

    api = ApiClient(client, token_create(user=admin_user, name="t")[1])
    assert api.patch(MODEL, {"tags": {"audited": "yes"}}).status_code == 200
    assert AuditEntry.objects.get().actor == admin_user


def test_an_unknown_model_or_version_is_a_404(owner_api, churn_model):
    assert_problem(owner_api.patch("/models/nope", {"description": "x"}), 404)
    assert_problem(owner_api.patch("/models/churn/versions/9", {"note": "x"}), 404)
    assert_problem(owner_api.patch("/models/nope/versions/1", {"note": "x"}), 404)


def test_it_needs_a_token(anon_api, churn_model):
    assert_problem(anon_api.patch(MODEL, {"description": "x"}), 401)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (MODEL, {}, "description"),  # says what it may hold
        (MODEL, {"name": "other"}, "name"),
        (MODEL, {"description": "x", "colour": "red"}, "colour"),
        (MODEL, {"note": "models have no note"}, "note"),
        (MODEL, {"description": None}, "description"),
        (MODEL, {"description": "x" * 5001}, "description"),
        (MODEL, {"description": "a\x00b"}, "NUL"),  # refused by the API's JSON reader
        (MODEL, {"tags": None}, "tags"),
        (MODEL, {"tags": ["a", "b"]}, "tags"),
        (MODEL, {"tags": {"bad key": "x"}}, "tags"),
        (MODEL, {"tags": {"k:v": "x"}}, "tags"),
        (MODEL, {"tags": {"x" * 65: "x"}}, "tags"),
        (MODEL, {"tags": {"k": "v" * 257}}, "tags"),
        (MODEL, {"tags": {"k": 3}}, "tags"),
        (MODEL, {"tags": {"k": "two\nlines"}}, "tags"),
        (MODEL, {"tags": {f"k{i}": "v" for i in range(101)}}, "tags"),
        (VERSION, {}, "note"),
        (VERSION, {"threshold": 0.5}, "threshold"),
        (VERSION, {"note": "n" * 10_001}, "note"),
        (VERSION, {"note": None}, "note"),
    ],
)
def test_it_refuses_an_empty_or_bad_body(owner_api, churn_model, path, body, field):
    problem = assert_problem(owner_api.patch(path, body), 422)
    assert field in str(problem)
    assert RegisteredModel.objects.get(pk=churn_model.pk).description == ""
    assert tags(churn_model) == {"team": "growth"}
    assert not VersionTag.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(owner_api, churn_model):
    assert_problem(owner_api.patch(MODEL, [1, 2]), 422)
    assert_problem(owner_api.patch(MODEL, "not json", content_type="application/json"), 400)


def test_at_most_fifty_tags_are_kept(owner_api, churn_model):
    many = {f"k{i:02d}": "v" for i in range(49)}
    assert owner_api.patch(MODEL, {"tags": many}).status_code == 200  # 49 + team
    problem = assert_problem(owner_api.patch(MODEL, {"tags": {"one-more": "v"}}), 422, "at most 50")
    assert "tags" in str(problem["errors"])
    assert ModelTag.objects.filter(model=churn_model).count() == 50
    # Removing one and adding one in the same edit fits.
    response = owner_api.patch(MODEL, {"tags": {"k00": None, "one-more": "v"}})
    assert response.status_code == 200, response.content
    assert "one-more" in tags(churn_model)
    assert ModelTag.objects.filter(model=churn_model).count() == 50
