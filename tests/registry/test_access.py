"""registry/access.py: who may read a model or a dataset, and the owner's audited choice of
it (services.set_visibility). The routes that follow the rule: tests/security/test_visibility.py."""

import pytest
from django.contrib.auth.models import AnonymousUser

from registry import access, selectors, services, serving
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.models import AuditEntry, RegisteredModel, Team
from tests.conftest import install_trained

pytestmark = pytest.mark.django_db

VISIBILITIES = ("private", "team", "public")
# Who reads a record of each visibility (private, team, public), the owner's "analysts" team.
RULE = {
    "owner": (True, True, True),
    "member": (False, True, True),
    "other team": (False, False, True),
    "outsider": (False, False, True),
    "staff": (False, False, True),
    "superuser": (True, True, True),
    "anonymous": (False, False, False),
}


@pytest.fixture
def people(django_user_model, owner, other, admin_user):
    member = django_user_model.objects.create_user("mia")
    elsewhere = django_user_model.objects.create_user("eli")
    staff = django_user_model.objects.create_user("sam", is_staff=True)
    Team.objects.create(name="analysts").members.add(owner, member)
    Team.objects.create(name="sales").members.add(elsewhere)
    return {
        "owner": owner,
        "member": member,
        "other team": elsewhere,
        "outsider": other,
        "staff": staff,
        "superuser": admin_user,
        "anonymous": AnonymousUser(),
    }


def _share(obj, owner, visibility):
    team = "analysts" if visibility == "team" else None
    return services.set_visibility(obj, user=owner, visibility=visibility, team=team, via="api")


@pytest.fixture
def records(people, owner, make_model, make_dataset):
    models, datasets = {}, {}
    for visibility in VISIBILITIES:
        models[visibility] = _share(make_model(f"m-{visibility}"), owner, visibility)
        datasets[visibility] = _share(
            make_dataset("churn.csv", dataset_name=f"d-{visibility}"), owner, visibility
        )
    return models, datasets


@pytest.mark.parametrize("persona", list(RULE))
def test_each_persona_reads_what_the_rule_says(people, records, persona):
    user = people[persona]
    models, datasets = records
    expected_models = {
        f"m-{v}" for v, sees in zip(VISIBILITIES, RULE[persona], strict=True) if sees
    }
    expected_datasets = {
        f"d-{v}" for v, sees in zip(VISIBILITIES, RULE[persona], strict=True) if sees
    }
    assert set(access.visible_models(user).values_list("name", flat=True)) == expected_models
    assert set(access.visible_datasets(user).values_list("name", flat=True)) == expected_datasets
    for visibility, sees in zip(VISIBILITIES, RULE[persona], strict=True):
        assert access.can_read(user, models[visibility]) is sees, (persona, visibility)
        assert access.can_read(user, datasets[visibility]) is sees, (persona, visibility)


def test_existing_records_keep_what_they_were_models_public_datasets_private(
    make_model, make_dataset, other
):
    model, dataset = make_model("churn"), make_dataset("churn.csv")
    assert (model.visibility, dataset.visibility) == ("public", "private")
    assert access.can_read(other, model)
    assert not access.can_read(other, dataset)


def test_a_team_visible_record_whose_team_is_deleted_is_its_owners_only(people, records):
    models, datasets = records
    Team.objects.filter(name="analysts").delete()
    for obj in (models["team"], datasets["team"]):
        obj.refresh_from_db()
        assert obj.visibility == "team"
        assert obj.team_id is None
        assert access.can_read(people["owner"], obj)
        assert not access.can_read(people["member"], obj)


def test_a_member_in_several_teams_lists_each_record_once(people, records, owner):
    Team.objects.create(name="more").members.add(people["member"], owner)
    names = list(access.visible_models(people["member"]).values_list("name", flat=True))
    assert sorted(names) == ["m-public", "m-team"]


def test_the_selectors_lookups_answer_an_unreadable_record_as_missing(people, records):
    models, datasets = records
    member, outsider = people["member"], people["outsider"]
    assert selectors.model(member, "m-team") == models["team"]
    for read, args in (
        (selectors.model, (outsider, "m-team")),
        (selectors.model, (member, "m-private")),
        (selectors.model_with_versions, (outsider, "m-team")),
        (selectors.version, (outsider, "m-team", 1)),
        (selectors.version_progress, (outsider, "m-team", 1)),
        (selectors.dataset, (outsider, datasets["team"].pk)),
    ):
        with pytest.raises(NotFound) as caught:
            read(*args)
        assert "m-team" not in caught.value.message or "There is no model" in caught.value.message
    # The same words as for a name never used.
    with pytest.raises(NotFound) as never:
        selectors.version(outsider, "m-never", 1)
    with pytest.raises(NotFound) as hidden:
        selectors.version(outsider, "m-private", 1)
    assert hidden.value.message == never.value.message.replace("m-never", "m-private")
    assert selectors.plot_svg(outsider, "m-private", 1, "confusion_matrix") == (None, None)


def test_only_the_owner_chooses_and_only_a_team_they_are_in(people, records, owner):
    models, _ = records
    model = models["public"]
    with pytest.raises(Forbidden):
        services.set_visibility(model, user=people["member"], visibility="private", via="api")
    for visibility, team, field in (
        ("secret", None, "visibility"),
        ("team", None, "team"),
        ("team", "sales", "team"),  # a team the owner is not in
        ("team", "nobody", "team"),  # answered like one that exists
    ):
        with pytest.raises(InvalidInput) as caught:
            services.set_visibility(model, user=owner, visibility=visibility, team=team, via="api")
        assert field in caught.value.errors, (visibility, team)
    with pytest.raises(InvalidInput) as sales:
        services.set_visibility(model, user=owner, visibility="team", team="sales", via="api")
    with pytest.raises(InvalidInput) as nobody:
        services.set_visibility(model, user=owner, visibility="team", team="nobody", via="api")
    assert sales.value.message.replace("sales", "X") == nobody.value.message.replace("nobody", "X")
    # A team is read only with "team": the other choices have none.
    services.set_visibility(model, user=owner, visibility="public", team="analysts", via="api")
    assert RegisteredModel.objects.get(pk=model.pk).team is None
    # A superuser shares with any team.
    services.set_visibility(
        model, user=people["superuser"], visibility="team", team="sales", via="admin"
    )
    assert access.can_read(people["other team"], RegisteredModel.objects.get(pk=model.pk))


def test_each_change_is_audited_with_who_how_and_from_what_to_what(people, records, owner):
    models, datasets = records
    before = AuditEntry.objects.count()
    services.set_visibility(models["public"], user=owner, visibility="public", via="page")
    assert AuditEntry.objects.count() == before  # nothing changed, nothing recorded
    services.set_visibility(
        models["public"], user=owner, visibility="team", team="analysts", via="page"
    )
    services.set_visibility(datasets["team"], user=owner, visibility="private", via="api")
    model_entry, dataset_entry = AuditEntry.objects.order_by("-id")[:2][::-1]
    assert (model_entry.action, model_entry.via, model_entry.actor) == (
        "visibility.set",
        "page",
        owner,
    )
    assert model_entry.model == models["public"]
    assert model_entry.dataset is None
    assert model_entry.before == {"visibility": "public", "team": None}
    assert model_entry.after == {"visibility": "team", "team": "analysts"}
    assert dataset_entry.dataset == datasets["team"]
    assert dataset_entry.model is None
    assert dataset_entry.before == {"visibility": "team", "team": "analysts"}
    assert dataset_entry.after == {"visibility": "private", "team": None}


def test_serving_refuses_a_reader_who_may_not_before_any_other_answer(
    people, owner, make_dataset, trained_churn
):
    version = install_trained(trained_churn, owner=owner, dataset=make_dataset("churn.csv"))
    row = [[5, 70.5, "month-to-month", "fiber", 1]]
    outsider, member = people["outsider"], people["member"]
    served = serving.resolve("churn", user=outsider)  # public: served
    assert serving.predict(served, row, user=outsider, source="api")["predictions"]
    _share(version.model, owner, "team")
    # Forgotten at once in this process: the next resolution reads the new visibility.
    with pytest.raises(NotFound):
        serving.resolve("churn", user=outsider)
    served = serving.resolve("churn", user=member)
    assert served.version == 1
    with pytest.raises(NotFound):  # the one predict entry checks its caller again
        serving.predict(served, row, user=outsider, source="api")
    # A version or alias that is not there says nothing more than "no such model".
    for kwargs in ({"version": 9}, {"alias": "staging"}):
        with pytest.raises(NotFound) as caught:
            serving.resolve("churn", user=outsider, **kwargs)
        assert caught.value.message == "There is no model named 'churn'."
    # The system (an evaluation run) resolves without a user.
    assert serving.resolve("churn").version == 1
