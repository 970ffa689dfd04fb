"""The status machine of a version (ModelVersion.objects: claim, beat, mark_ready,
mark_failed, requeue, cancel): each move starts only from its own states."""

import pytest

from registry.models import ModelVersion
from tests.registry.conftest import make_version

pytestmark = pytest.mark.django_db

Status = ModelVersion.Status


def moved(version, move: str, *args, **fields) -> int:
    return getattr(ModelVersion.objects.filter(pk=version.pk), move)(*args, **fields)


def status_of(version) -> str:
    return ModelVersion.objects.values_list("status", flat=True).get(pk=version.pk)


def test_it_claims_a_queued_or_running_version_only(make_model):
    model = make_model(versions=0)
    queued = make_version(model, 1, status=Status.QUEUED)
    running = make_version(model, 2, status=Status.RUNNING)
    ready = make_version(model, 3)
    assert moved(queued, "claim", progress=1) == 1
    assert moved(running, "claim") == 1
    assert moved(ready, "claim") == 0
    queued.refresh_from_db()
    assert (queued.status, queued.progress) == (Status.RUNNING, 1)
    assert queued.heartbeat_at is not None
    assert status_of(ready) == Status.READY


def test_it_beats_and_marks_ready_a_running_version_only(make_model):
    model = make_model(versions=0)
    running = make_version(model, 1, status=Status.RUNNING)
    queued = make_version(model, 2, status=Status.QUEUED)
    assert moved(running, "beat", progress=40) == 1
    assert moved(queued, "beat", progress=40) == 0
    assert moved(queued, "mark_ready") == 0
    assert moved(running, "mark_ready", training_seconds=1.5) == 1
    running.refresh_from_db()
    assert (running.status, running.progress, running.training_seconds) == (Status.READY, 100, 1.5)
    assert running.finished_at is not None
    assert status_of(queued) == Status.QUEUED


def test_it_fails_or_cancels_an_active_version_only(make_model):
    model = make_model(versions=0)
    queued = make_version(model, 1, status=Status.QUEUED)
    running = make_version(model, 2, status=Status.RUNNING)
    ready = make_version(model, 3)
    assert moved(queued, "mark_failed", "x" * 6000) == 1
    assert moved(running, "cancel", "Cancelled by ann.") == 1
    assert moved(ready, "mark_failed", "no") == 0
    assert moved(ready, "cancel", "no") == 0
    queued.refresh_from_db()
    running.refresh_from_db()
    assert (queued.status, len(queued.error)) == (Status.FAILED, 5000)
    assert (running.status, running.error) == (Status.CANCELLED, "Cancelled by ann.")
    assert queued.finished_at
    assert running.finished_at
    assert status_of(ready) == Status.READY


def test_it_requeues_a_running_version_only(make_model):
    model = make_model(versions=0)
    running = make_version(model, 1, status=Status.RUNNING, progress=70)
    failed = make_version(model, 2, status=Status.FAILED)
    assert moved(running, "requeue", "retrying") == 1
    assert moved(failed, "requeue", "retrying") == 0
    running.refresh_from_db()
    assert (running.status, running.progress, running.error) == (Status.QUEUED, 0, "retrying")
    assert status_of(failed) == Status.FAILED
