"""Datasets, models, versions and aliases through the service functions, on the real database."""

import hashlib
import threading

import pytest
from django.db import connection

from registry import services
from registry.models import Alias, Dataset, ImmutableVersionError, ModelVersion, RegisteredModel
from tests.conftest import demo_bytes

pytestmark = pytest.mark.django_db


def test_it_stores_a_dataset_with_its_schema_and_sha256(owner):
    data = demo_bytes("churn.csv")
    dataset = services.dataset_create(owner=owner, data=data, filename="churn.csv")
    stored = Dataset.objects.get(pk=dataset.pk)
    assert stored.name == "churn"
    assert stored.n_rows == 600
    assert stored.n_columns == 6
    assert bytes(stored.csv) == data
    assert stored.size_bytes == len(data)
    contract = stored.column("contract")
    assert contract["type"] == "category"
    assert contract["values"] == ["month-to-month", "one-year", "two-year"]
    assert stored.column("monthly_charges")["missing"] > 0


def test_it_stores_an_uploads_bytes_exactly_as_sent(owner):
    # Every byte a Latin-1 cell may hold, backslashes and quotes included: PostgreSQL gets
    # them as a binary parameter (models.create_with_bytes), SQLite as Django writes them.
    cell = bytes(range(0x80, 0x100)) + b"\\x00 \\\\ ' \\'"
    data = b"label,n\n" + b"".join(cell + b"%d,%d\n" % (i, i) for i in range(3))
    dataset = services.dataset_create(
        owner=owner, data=data, name="bytes", options={"encoding": "latin-1"}
    )
    assert bytes(dataset.csv) == data
    stored = Dataset.objects.defer(None).get(pk=dataset.pk)
    assert bytes(stored.csv) == data
    assert (stored.size_bytes, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert stored.n_rows == 3


def test_it_saves_nothing_when_the_csv_is_bad(owner):
    with pytest.raises(services.InvalidInput, match="Line 3 has 1 field"):
        services.dataset_create(owner=owner, data=b"a,b\n1,2\n3\n4,5\n", name="bad")
    assert not Dataset.objects.exists()


def test_it_numbers_unnamed_uploads_and_refuses_a_taken_name(owner):
    first = services.dataset_create(owner=owner, data=demo_bytes("houses.csv"), filename="h.csv")
    second = services.dataset_create(owner=owner, data=demo_bytes("houses.csv"), filename="h.csv")
    assert (first.name, second.name) == ("h", "h (2)")
    with pytest.raises(services.Conflict, match="already have a dataset named 'h'"):
        services.dataset_create(owner=owner, data=demo_bytes("houses.csv"), name="h")


def test_listings_never_load_dataset_or_artifact_bytes(
    owner, make_dataset, django_assert_num_queries
):
    make_dataset("houses.csv")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        list(Dataset.objects.all())
        list(ModelVersion.objects.all())
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert '"csv"' not in sql
    assert '"artifact"' not in sql
    assert '"plots"' not in sql


def test_it_validates_training_requests_against_the_algorithms_table(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    model = services.model_create(owner=owner, name="prices")
    cases = [
        (dict(algorithm="nope"), "algorithm"),
        (dict(algorithm="linear_regression"), "target"),
        (dict(algorithm="linear_regression", target="area"), "target"),  # categories
        (dict(algorithm="linear_regression", target="missing"), "target"),
        (dict(algorithm="kmeans", target="price"), "target"),
        (dict(algorithm="linear_regression", target="price", features=["price"]), "features"),
        (dict(algorithm="linear_regression", target="price", features=["nope"]), "features"),
        (dict(algorithm="linear_regression", target="price", test_size=0.9), "test_size"),
        (dict(algorithm="linear_regression", target="price", params={"alpha": -1}), "params.alpha"),
        (dict(algorithm="linear_regression", target="price", params={"bogus": 1}), "params.bogus"),
        (
            dict(algorithm="knn_regressor", target="price", params={"n_neighbors": 2.5}),
            "params.n_neighbors",
        ),
        (dict(algorithm="svm", target="area", params={"kernel": "poly"}), "params.kernel"),
    ]
    for request, field in cases:
        with pytest.raises(services.InvalidInput) as caught:
            services.version_create(model=model, user=owner, dataset=dataset, **request)
        assert field in caught.value.errors, (request, caught.value.errors)
    assert not ModelVersion.objects.exists()


def test_it_refuses_huge_or_repeated_training_lists_with_short_messages(owner, make_dataset):
    # A list lookup per item and every bad item echoed back: ["zz"] * N took a worker
    # 30 s for a 24 MB body and answered with a message as long as the body.
    dataset = make_dataset("houses.csv")  # 5 columns
    model = services.model_create(owner=owner, name="prices")
    base = dict(algorithm="linear_regression", target="price")
    cases = [
        (dict(base, features=["zz"] * 200_000), "features", "houses has 5 columns"),
        (dict(base, features=["area", "area"]), "features", "'area' is listed twice"),
        (dict(base, features=[f"nope{i}" for i in range(4)]), "features", "and 1 more"),
        (dict(base, target="t" * 100_000), "target", "is not a column"),
        (dict(algorithm="a" * 100_000), "algorithm", "Unknown algorithm"),
        (dict(base, params={f"k{i}": 1 for i in range(100_000)}), "params", "100000 unknown"),
    ]
    for request, field, says in cases:
        with pytest.raises(services.InvalidInput) as caught:
            services.version_create(model=model, user=owner, dataset=dataset, **request)
        message = str(caught.value)
        assert says in message, message[:1000]
        assert len(message) < 500, message[:1000]
        assert sum(len(k) + len(v) for k, v in caught.value.errors.items()) < 500
        assert any(key.startswith(field) for key in caught.value.errors), caught.value.errors
    assert not ModelVersion.objects.exists()


def test_a_bad_first_training_creates_no_model(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    with pytest.raises(services.InvalidInput):
        services.model_create_with_version(
            owner=owner, name="prices", dataset=dataset, algorithm="linear_regression"
        )
    assert not RegisteredModel.objects.exists()


def test_it_refuses_invalid_and_taken_model_names(owner):
    services.model_create(owner=owner, name="prices")
    with pytest.raises(services.Conflict, match="already exists"):
        services.model_create(owner=owner, name="prices")
    for bad in ("", "Has Caps", "-dash", "a" * 101, "sp ace", "x/y"):
        with pytest.raises(services.InvalidInput):
            services.model_create(owner=owner, name=bad)


def test_only_the_owner_changes_a_model(owner, other, make_dataset):
    dataset = make_dataset("houses.csv")
    version = services.model_create_with_version(
        owner=owner, name="prices", dataset=dataset, algorithm="linear_regression", target="price"
    )
    with pytest.raises(services.Forbidden):
        services.version_create(
            model=version.model,
            user=other,
            dataset=dataset,
            algorithm="linear_regression",
            target="price",
        )
    with pytest.raises(services.Forbidden):
        services.model_delete(model=version.model, user=other)
    with pytest.raises(services.Forbidden):
        services.alias_move(
            model=version.model, name="production", version_number=1, user=other, via="api"
        )
    assert RegisteredModel.objects.filter(name="prices").exists()


def test_an_alias_needs_a_ready_version_of_its_model(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    version = services.model_create_with_version(
        owner=owner, name="prices", dataset=dataset, algorithm="linear_regression", target="price"
    )
    with pytest.raises(services.Conflict, match="only a ready version"):
        services.alias_move(
            model=version.model, name="production", version_number=1, user=owner, via="api"
        )
    with pytest.raises(services.NotFound):
        services.alias_move(
            model=version.model, name="production", version_number=7, user=owner, via="api"
        )
    with pytest.raises(services.InvalidInput):
        services.alias_move(
            model=version.model, name="Bad Name", version_number=1, user=owner, via="api"
        )
    assert not Alias.objects.exists()


def test_a_ready_version_never_changes(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    version = services.model_create_with_version(
        owner=owner, name="prices", dataset=dataset, algorithm="linear_regression", target="price"
    )
    ModelVersion.objects.filter(pk=version.pk).update(status="ready")
    ready = ModelVersion.objects.get(pk=version.pk)
    ready.params = {"alpha": 5.0}
    with pytest.raises(ImmutableVersionError):
        ready.save()
    assert ModelVersion.objects.get(pk=version.pk).params == {"alpha": 0.0, "fit_intercept": True}


def test_deleting_a_dataset_keeps_what_versions_were_trained_on(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    version = services.model_create_with_version(
        owner=owner, name="prices", dataset=dataset, algorithm="linear_regression", target="price"
    )
    sha = dataset.sha256
    services.dataset_delete(dataset=dataset, user=owner)
    version.refresh_from_db()
    assert version.dataset is None
    assert (version.dataset_name, version.dataset_sha256) == ("houses", sha)


@pytest.mark.django_db(transaction=True)
def test_two_trainings_started_at_once_get_distinct_version_numbers(owner, make_dataset):
    dataset = make_dataset("houses.csv")
    model = services.model_create(owner=owner, name="prices")
    barrier = threading.Barrier(4)
    made, errors = [], []

    def start() -> None:
        try:
            barrier.wait()
            made.append(
                services.version_create(
                    model=model,
                    user=owner,
                    dataset=dataset,
                    algorithm="linear_regression",
                    target="price",
                ).version
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(made) == [1, 2, 3, 4]
    assert sorted(model.versions.values_list("version", flat=True)) == [1, 2, 3, 4]
