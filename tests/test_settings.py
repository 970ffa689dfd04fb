import os
import secrets
import subprocess

import pytest
from django.core.exceptions import ImproperlyConfigured

from mlsite import env
from tests.helpers import PYTHON, ROOT

PRODUCTION_ENV = {
    "DJANGO_ALLOWED_HOSTS": "ml.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://ml.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_PRELOAD": "1",
    "DJANGO_BEHIND_PROXY": "1",
}


def manage(*args: str, extra_env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ["PATH"],
        "MLSERVE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **extra_env,
    }
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = manage("check", extra_env={}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_starts_without_a_secret_key_in_debug(tmp_path):
    result = manage("check", extra_env={"DJANGO_DEBUG": "1"}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_refuses_a_request_deadline_not_shorter_than_gunicorns_timeout(tmp_path):
    extra = {"DJANGO_DEBUG": "1", "GUNICORN_TIMEOUT": "30", "MLSERVE_REQUEST_DEADLINE_S": "30"}
    result = manage("check", extra_env=extra, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "must be shorter than GUNICORN_TIMEOUT=30" in result.stderr


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(secrets.token_urlsafe(50))
    result = manage("check", extra_env={"DJANGO_SECRET_KEY_FILE": str(key_file)}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_passes_check_deploy_with_the_documented_production_values(tmp_path):
    extra = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", extra_env=extra, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_it_warns_in_check_deploy_with_development_values(tmp_path):
    extra = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", extra_env=extra, tmp_path=tmp_path
    )
    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT off


def test_it_rejects_a_bad_boolean_with_its_name(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG='maybe' is not a boolean"):
        env.env_bool("DJANGO_DEBUG")


def test_it_rejects_a_bad_integer_with_its_name(monkeypatch):
    monkeypatch.setenv("MLSERVE_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ImproperlyConfigured, match="MLSERVE_MAX_UPLOAD_MB='lots'"):
        env.env_int("MLSERVE_MAX_UPLOAD_MB", 50)
    monkeypatch.setenv("MLSERVE_MAX_UPLOAD_MB", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int("MLSERVE_MAX_UPLOAD_MB", 50, minimum=1)


def test_it_splits_lists_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", " a.example.com, ,b.example.com ")
    assert env.env_list("DJANGO_ALLOWED_HOSTS") == ["a.example.com", "b.example.com"]


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_numpyml_imports_without_django():
    code = (
        "import sys, numpyml;"
        "assert 'django' not in sys.modules, 'django';"
        "assert 'sklearn' not in sys.modules, 'sklearn'"
    )
    result = subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
