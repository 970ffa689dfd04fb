import subprocess

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from mlsite import health
from tests.helpers import PYTHON, ROOT


def test_it_answers_healthz_without_a_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_answers_readyz_when_the_database_is_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == connection.vendor


@pytest.mark.django_db
def test_it_answers_503_with_the_reason_when_a_migration_is_unapplied(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    MigrationRecorder.Migration.objects.filter(app="sessions", name="0001_initial").delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "unapplied migration" in body["reason"]
    assert "sessions.0001_initial" in body["migrations"]


@pytest.mark.system  # starts a Python process
def test_it_answers_503_when_the_database_is_unreachable(tmp_path):
    # A separate process pointed at a PostgreSQL port where nothing listens.
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='127.0.0.1').get('/readyz');"
        "print(r.status_code); print(r.content.decode())"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "mlsite.settings",
        "DJANGO_SECRET_KEY": "test-only-not-a-secret",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:9/nothing",
        "MLSERVE_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [PYTHON, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    status, body = out.stdout.splitlines()[-2:]
    assert status == "503"
    assert "database unreachable" in body


def test_it_refuses_other_methods_on_probes(client):
    assert client.post("/healthz").status_code == 405
