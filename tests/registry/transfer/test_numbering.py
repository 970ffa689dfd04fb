"""Imports started at once into one model get distinct, consecutive version numbers."""

import threading

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_imports_take_the_next_numbers_one_each(exports, owner):
    from registry import services
    from registry.models import ModelVersion

    services.version_import(user=owner, data=exports["churn"], name="churn")
    barrier = threading.Barrier(4)
    made, failures = [], []

    def import_one() -> None:
        try:
            barrier.wait(timeout=30)
            version = services.version_import(user=owner, data=exports["churn"], name="churn")
            made.append(version.version)
        except Exception as exc:  # reported below, with the thread's error
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=import_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sorted(made) == [2, 3, 4, 5]
    numbers = ModelVersion.objects.filter(model__name="churn").values_list("version", flat=True)
    assert sorted(numbers) == [1, 2, 3, 4, 5]
