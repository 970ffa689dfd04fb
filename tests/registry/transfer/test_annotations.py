"""Tags, descriptions and notes travel with an export: the card's `annotations` (the model's
tags, the version's description, note and tags), checked by the strict card schema with the
API's bounds, and restored by the import. A hostile card (too many tags, too long, a control
character or a NUL, a wrong type) is refused whole with a 422 problem naming the field."""

import json

import pytest

from registry import services, transfer
from registry.models import MAX_TAGS, ModelTag, ModelVersion, RegisteredModel, VersionTag
from tests.conftest import assert_problem
from tests.registry.transfer.zips import edit_json, fix_up, pack, unpack

pytestmark = pytest.mark.django_db

MODEL_TAGS = {"team": "growth", "cost-centre/eu": "42", "empty": ""}
VERSION_TAGS = {"stage": "candidate", "data.cut": "2026-11"}
NOTE = "Trained on the November cut.\nRecall first: churners cost more than a call."


@pytest.fixture
def annotated(churn, owner):
    services.model_edit(
        model=churn.model, user=owner, via="api", description="Churn, monthly.", tags=MODEL_TAGS
    )
    services.version_edit(
        version=churn,
        user=owner,
        via="api",
        description="C=0.5 baseline",
        note=NOTE,
        tags=VERSION_TAGS,
    )
    return churn


def export(api, name="churn", version=1) -> bytes:
    response = api.get(f"/models/{name}/versions/{version}/export")
    assert response.status_code == 200, response.content
    return response.content


def test_the_card_carries_the_tags_and_notes(owner_api, annotated):
    card = transfer.read_export(export(owner_api)).card
    assert card["model"]["description"] == "Churn, monthly."
    assert card["annotations"] == {
        "model_tags": dict(sorted(MODEL_TAGS.items())),
        "version_description": "C=0.5 baseline",
        "version_note": NOTE,
        "version_tags": dict(sorted(VERSION_TAGS.items())),
    }


def test_an_import_as_a_new_model_restores_them(owner_api, annotated):
    data = export(owner_api)
    response = owner_api.post("/models/churn-copy/import", data, content_type="application/zip")
    assert response.status_code == 201, response.content
    version = response.json()
    assert version["description"] == "C=0.5 baseline"
    assert version["note"] == NOTE
    assert version["tags"] == VERSION_TAGS
    model = owner_api.get("/models/churn-copy").json()
    assert model["description"] == "Churn, monthly."
    assert model["tags"] == MODEL_TAGS
    stored = ModelVersion.objects.get(model__name="churn-copy", version=1)
    assert dict(stored.tags.values_list("key", "value")) == VERSION_TAGS
    assert (stored.description, stored.note) == ("C=0.5 baseline", NOTE)
    # Searchable like any tag.
    found = owner_api.get("/models?tag=team:growth").json()["items"]
    assert {m["name"] for m in found} == {"churn", "churn-copy"}


def test_an_import_into_an_existing_model_keeps_that_model_s_own_tags(owner_api, owner, annotated):
    """The version's description, note and tags come with it; the model's description and
    tags are the owner's here, as they were before the import (an import into an existing
    model never took the card's description either)."""
    data = export(owner_api)
    services.model_edit(model=annotated.model, user=owner, via="api", tags={"team": "risk"})
    response = owner_api.post("/models/churn/import", data, content_type="application/zip")
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 2
    assert response.json()["tags"] == VERSION_TAGS
    assert response.json()["note"] == NOTE
    model = owner_api.get("/models/churn").json()
    assert model["tags"] == {**MODEL_TAGS, "team": "risk"}
    assert model["description"] == "Churn, monthly."


def test_a_card_without_annotations_imports_without_tags(owner, exports):
    """Exports made before the cards carried them (or by an older instance) still import."""
    members = edit_json(unpack(exports["churn"]), transfer.CARD, lambda c: c.pop("annotations"))
    version = services.version_import(user=owner, data=pack(fix_up(members)), name="plain")
    assert (version.description, version.note) == ("", "")
    assert not VersionTag.objects.filter(version=version).exists()
    assert not ModelTag.objects.filter(model__name="plain").exists()


def _set(path: str, value):
    def change(card):
        card.setdefault("annotations", {})[path] = value

    return change


TOO_MANY = {f"k{i}": "v" for i in range(MAX_TAGS + 1)}


@pytest.mark.parametrize(
    ("change", "field", "detail"),
    [
        (_set("model_tags", TOO_MANY), "annotations.model_tags", f"at most {MAX_TAGS} tags"),
        (_set("version_tags", TOO_MANY), "annotations.version_tags", f"at most {MAX_TAGS}"),
        (_set("version_tags", {"k" * 65: "v"}), "annotations.version_tags", "not valid"),
        (_set("version_tags", {"a:b": "v"}), "annotations.version_tags", "not valid"),
        (_set("version_tags", {"-x": "v"}), "annotations.version_tags", "not valid"),
        (_set("version_tags", {"k": "v" * 257}), "annotations.version_tags", "256"),
        (_set("version_tags", {"k": "two\nlines"}), "annotations.version_tags", "one line"),
        (_set("version_tags", {"k": 3}), "annotations.version_tags", "one line of text"),
        (_set("version_tags", {"k": None}), "annotations.version_tags", "one line of text"),
        (_set("model_tags", [["k", "v"]]), "annotations.model_tags", "object"),
        (_set("version_note", "n" * 10_001), "annotations.version_note", "10000"),
        (_set("version_note", 7), "annotations.version_note", "string"),
        (_set("version_description", "d" * 5001), "annotations.version_description", "5000"),
        (_set("owner", "mallory"), "annotations.owner", "not a field it may hold"),
        (lambda card: card.update(annotations=[]), "annotations", "dictionary"),
    ],
    ids=[
        "too-many-model-tags",
        "too-many-version-tags",
        "key-too-long",
        "key-with-colon",
        "key-start",
        "value-too-long",
        "value-control-character",
        "value-number",
        "value-null",
        "tags-list",
        "note-too-long",
        "note-number",
        "description-too-long",
        "unknown-field",
        "annotations-list",
    ],
)
def test_hostile_annotations_are_refused_with_a_problem(owner_api, exports, change, field, detail):
    data = pack(fix_up(edit_json(unpack(exports["churn"]), transfer.CARD, change)))
    before = (
        RegisteredModel.objects.count(),
        ModelVersion.objects.count(),
        VersionTag.objects.count(),
    )
    response = owner_api.post("/models/hostile/import", data, content_type="application/zip")
    problem = assert_problem(response, 422, f"the model card's {field}")
    assert detail in problem["detail"], problem["detail"]
    after = (
        RegisteredModel.objects.count(),
        ModelVersion.objects.count(),
        VersionTag.objects.count(),
    )
    assert after == before


def test_a_nul_in_a_tag_is_refused(owner_api, exports):
    members = unpack(exports["churn"])
    card = json.loads(members[transfer.CARD])
    card["annotations"] = {"version_tags": {"k": "a\x00b"}}
    members[transfer.CARD] = json.dumps(card).encode()
    response = owner_api.post(
        "/models/hostile/import", pack(fix_up(members)), content_type="application/zip"
    )
    assert_problem(response, 422, "NUL")
    assert not RegisteredModel.objects.filter(name="hostile").exists()
