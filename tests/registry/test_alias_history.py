"""Every alias change is recorded, append-only, whichever door it came through (page, API,
admin, import, a training), and the history answers "what did this alias point at, then?"
and "where does a rollback go?"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from registry import selectors, services, training, transfer
from registry.models import Alias, AuditEntry, ImmutableVersionError, ModelVersion
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def history(model, name=None) -> list[tuple]:
    """(action, via, actor, before, after) of each alias change, oldest first."""
    entries = selectors.alias_entries(model, name).order_by("created_at", "id")
    return [
        (
            e.action,
            e.via,
            e.actor.username if e.actor else None,
            e.before["version"],
            e.after["version"],
        )
        for e in entries.select_related("actor")
    ]


def pointing(model, name="production"):
    return model.aliases.filter(name=name).values_list("version__version", flat=True).first()


def test_it_records_every_change_through_page_api_and_admin(
    owner, admin_user, make_model, client, owner_client, owner_api
):
    model = make_model("churn", versions=3)
    # The page: move (confirmed), then remove.
    owner_client.post(reverse("alias_move", args=["churn"]), {"alias": "production", "version": 1})
    owner_client.post(reverse("alias_move", args=["churn"]), {"alias": "staging", "version": 2})
    # The API: move, then delete.
    assert owner_api.put("/models/churn/aliases/production", {"version": 2}).status_code == 200
    assert owner_api.delete("/models/churn/aliases/staging").status_code == 204
    # The admin: move, then delete.
    client.force_login(admin_user)
    production = Alias.objects.get(model=model, name="production")
    moved = client.post(
        reverse("admin:registry_alias_change", args=[production.pk]),
        {"model": model.pk, "name": "production", "version": model.versions.get(version=3).pk},
    )
    assert moved.status_code == 302
    deleted = client.post(
        reverse("admin:registry_alias_delete", args=[production.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302

    assert history(model) == [
        ("alias.move", "page", "olivia", None, 1),
        ("alias.move", "page", "olivia", None, 2),
        ("alias.move", "api", "olivia", 1, 2),
        ("alias.delete", "api", "olivia", 2, None),
        ("alias.move", "admin", "ada", 2, 3),
        ("alias.delete", "admin", "ada", 3, None),
    ]
    assert [e["after"]["alias"] for e in AuditEntry.objects.order_by("id").values("after")] == [
        "production",
        "staging",
        "production",
        "staging",
        "production",
        "production",
    ]
    # The entry names the version moved to (or, for a delete, the one left).
    entries = list(AuditEntry.objects.order_by("id").select_related("version"))
    assert [e.version.version for e in entries] == [1, 2, 2, 2, 3, 3]
    assert not model.aliases.exists()


def test_a_move_to_where_it_points_already_records_nothing(owner, make_model):
    model = make_model("churn", versions=2)
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="page")
    assert history(model) == [("alias.move", "api", "olivia", None, 1)]


def test_a_refused_move_records_nothing(owner, other, make_model):
    model = make_model("churn", versions=1)
    make_version(model, 2, status="running")
    with pytest.raises(services.Conflict):
        services.alias_move(model=model, name="production", version_number=2, user=owner, via="api")
    with pytest.raises(services.Forbidden):
        services.alias_move(model=model, name="production", version_number=1, user=other, via="api")
    assert not AuditEntry.objects.exists()


def test_an_unknown_door_is_a_programming_error(owner, make_model):
    model = make_model("churn", versions=1)
    with pytest.raises(ValueError, match="via must be one of"):
        services.alias_move(model=model, name="production", version_number=1, user=owner, via="x")
    assert not model.aliases.exists()


def test_an_import_records_its_production(owner, churn):
    data = transfer.version_export(churn, user=owner)
    imported = services.version_import(user=owner, data=data, name="churn-copy")
    assert pointing(imported.model) == 1
    assert history(imported.model) == [("alias.move", "import", "olivia", None, 1)]
    # A second import is version 2 and takes nothing.
    services.version_import(user=owner, data=data, name="churn-copy")
    assert len(history(imported.model)) == 1


def test_a_training_records_the_production_it_takes(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    version = services.model_create_with_version(
        owner=owner, name="prices", dataset=dataset, algorithm="linear_regression", target="price"
    )
    assert training.train(version.pk) == ModelVersion.Status.READY
    assert history(version.model) == [("alias.move", "system", "olivia", None, 1)]


def test_the_log_is_append_only(owner, make_model, owner_api, client, admin_user):
    model = make_model("churn", versions=2)
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    entry = AuditEntry.objects.get()
    entry.after = {"alias": "production", "version": 2}
    with pytest.raises(ImmutableVersionError):
        entry.save()
    # No API operation and no admin page changes or deletes an entry.
    document = owner_api.get("/openapi.json").json()
    assert not [p for p in document["paths"] if "audit" in p or "history" in p]
    client.force_login(admin_user)
    for url in (
        f"/admin/registry/auditentry/{entry.pk}/change/",
        f"/admin/registry/auditentry/{entry.pk}/delete/",
    ):
        client.post(url, {"post": "yes", "after": "{}"})
    assert AuditEntry.objects.get().after == {"alias": "production", "version": 1}


def test_it_answers_what_an_alias_pointed_at_at_a_time(owner, make_model):
    model = make_model("churn", versions=3)
    moments = []
    for number in (1, 2, 3):
        services.alias_move(
            model=model, name="production", version_number=number, user=owner, via="api"
        )
        moments.append(AuditEntry.objects.latest("id").created_at)
    services.alias_delete(model=model, name="production", user=owner, via="api")
    deleted_at = AuditEntry.objects.latest("id").created_at

    for moment, number in zip(moments, (1, 2, 3), strict=True):
        assert selectors.alias_at(model, "production", moment)["version"] == number
        between = moment + (deleted_at - moment) / 1000
        assert selectors.alias_at(model, "production", between) == {
            "version": number,
            "since": moment,
        }
    with pytest.raises(services.NotFound, match="had no production alias at"):
        selectors.alias_at(model, "production", moments[0] - timedelta(seconds=1))
    with pytest.raises(services.NotFound):
        selectors.alias_at(model, "production", deleted_at)
    with pytest.raises(services.NotFound):
        selectors.alias_at(model, "staging", timezone.now())


def test_an_alias_set_before_history_answers_from_its_row(make_model):
    model = make_model("churn", versions=1)
    alias = model.aliases.create(name="production", version=model.versions.get())
    assert selectors.alias_at(model, "production", timezone.now()) == {
        "version": 1,
        "since": alias.updated_at,
    }
    with pytest.raises(services.NotFound):
        selectors.alias_at(model, "production", alias.updated_at - timedelta(seconds=1))


def test_a_rollback_goes_back_to_the_version_before_the_last_change(owner, make_model):
    model = make_model("churn", versions=3)
    for number in (1, 2, 3):
        services.alias_move(
            model=model, name="production", version_number=number, user=owner, via="api"
        )
    services.alias_rollback(model=model, name="production", user=owner, via="page")
    assert pointing(model) == 2
    assert history(model)[-1] == ("alias.rollback", "page", "olivia", 3, 2)
    # Undoing the undo: back where it was.
    services.alias_rollback(model=model, name="production", user=owner, via="api")
    assert pointing(model) == 3


def test_a_rollback_skips_versions_deleted_since(owner, make_model):
    model = make_model("churn", versions=3)
    for number in (1, 2, 3):
        services.alias_move(
            model=model, name="production", version_number=number, user=owner, via="api"
        )
    services.version_delete(version=model.versions.get(version=2), user=owner)
    services.alias_rollback(model=model, name="production", user=owner, via="api")
    assert pointing(model) == 1


def test_a_rollback_with_nowhere_to_go_says_so_and_changes_nothing(owner, other, make_model):
    model = make_model("churn", versions=2)
    with pytest.raises(services.NotFound, match="no alias 'production'"):
        services.alias_rollback(model=model, name="production", user=owner, via="api")
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    with pytest.raises(services.Conflict, match="no earlier version to go back to"):
        services.alias_rollback(model=model, name="production", user=owner, via="api")
    services.alias_move(model=model, name="production", version_number=2, user=owner, via="api")
    with pytest.raises(services.Forbidden):
        services.alias_rollback(model=model, name="production", user=other, via="api")
    assert pointing(model) == 2
    assert len(history(model)) == 2


def test_the_history_for_the_page_names_both_versions_with_their_metric(owner, make_model):
    model = make_model("churn", versions=2)
    services.alias_move(model=model, name="production", version_number=1, user=owner, via="api")
    services.alias_move(model=model, name="production", version_number=2, user=owner, via="api")
    rows = selectors.alias_history(model)
    assert [(r["before"]["number"], r["after"]["number"]) for r in rows] == [(1, 2), (None, 1)]
    newest = rows[0]
    assert newest["alias"] == "production"
    assert newest["entry"].actor == owner
    assert newest["after"]["version"].headline_value == pytest.approx(0.85)
    assert rows[1]["before"]["version"] is None
