"""registry/selectors.py: the reads pages and the API share (lookups, the ownership rule)."""

import pytest

from registry import selectors, services
from registry.errors import Forbidden, NotFound
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db


def test_it_lets_only_the_owner_or_a_superuser_change(make_model, owner, other, admin_user):
    model = make_model("churn", versions=0)
    assert selectors.can_change(owner, model)
    assert selectors.can_change(admin_user, model)
    assert not selectors.can_change(other, model)
    with pytest.raises(Forbidden):
        services.ensure_owner(model, other)  # the services' check is the same rule
    services.ensure_owner(model, admin_user)


def test_it_names_what_is_missing(make_model, owner):
    make_model("churn", versions=1)
    assert selectors.version(owner, "churn", 1).model.owner.get_username()
    for read, args, message in (
        (selectors.version, (owner, "ghost", 1), "There is no model named 'ghost'."),
        (selectors.version, (owner, "churn", 2), "churn has no version 2."),
        (selectors.model_with_versions, (owner, "ghost"), "There is no model named 'ghost'."),
    ):
        with pytest.raises(NotFound) as caught:
            read(*args)
        assert caught.value.message == message


def test_it_hides_another_users_dataset_but_not_from_a_superuser(
    make_dataset, owner, other, admin_user
):
    dataset = make_dataset("churn.csv")
    assert selectors.dataset(owner, dataset.pk) == dataset
    assert selectors.dataset(admin_user, dataset.pk) == dataset
    with pytest.raises(NotFound) as caught:
        selectors.dataset(other, dataset.pk)
    assert caught.value.message == f"There is no dataset {dataset.pk} that you can read."
    assert list(selectors.datasets(other)) == []


def test_it_reads_the_first_rows_through_the_csv_reader(make_dataset):
    data = b'name,note,n\n"Smith, J","said ""hi""",1\nLee,plain,2\n'
    header, rows = selectors.first_rows(make_dataset(data=data, dataset_name="quoted"))
    assert header == ["name", "note", "n"]
    assert rows == [["Smith, J", 'said "hi"', "1"], ["Lee", "plain", "2"]]


def test_it_shows_no_rows_when_the_head_ends_inside_a_quoted_field(make_dataset, owner_client):
    # The strict reader refuses an unterminated quote: rather than half a field, no rows.
    row = ('"' + "line\n" * 20 + '",1\n').encode()
    data = b"note,n\n" + row * (selectors.HEAD_BYTES // len(row) + 2)
    dataset = make_dataset(data=data, dataset_name="long")
    assert selectors.first_rows(dataset) == ([], [])
    assert owner_client.get(f"/datasets/{dataset.pk}/").status_code == 200


def test_its_listings_load_no_bytes(make_model, owner):
    model = make_model("churn", versions=3)
    make_version(model, 4, status="running")
    [listed] = selectors.recent_models(owner)
    assert listed.latest.version == 4
    assert listed.n_versions == 4
    running = list(selectors.running_versions(owner))
    assert [v.version for v in running] == [4]
    assert "artifact" in running[0].get_deferred_fields()
