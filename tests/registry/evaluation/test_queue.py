"""An evaluation is a task on the queue, run by the real worker in a child process."""

import pytest

from registry import services
from registry.models import Evaluation

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_runs_a_queued_evaluation_to_done(owner, churn_two, fresh, worker):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    assert Evaluation.objects.get(pk=created.pk).status == "queued"

    worker()

    done = Evaluation.objects.get(pk=created.pk)
    assert done.status == "done", done.error
    assert done.progress == 100
    assert done.started_at <= done.finished_at
    assert set(done.results) == {"1", "2"}
    assert done.results["1"]["n_scored"] == 150


def test_a_failure_in_the_worker_leaves_a_plain_words_error(owner, churn_two, fresh, worker):
    created = services.evaluation_create(user=owner, model=churn_two, dataset=fresh)
    churn_two.versions.filter(version=2).delete()

    worker()

    failed = Evaluation.objects.get(pk=created.pk)
    assert failed.status == "failed"
    assert failed.error == "churn has no version 2."
