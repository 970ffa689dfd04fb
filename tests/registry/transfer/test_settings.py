"""MLSERVE_INSTANCE_NAME and MLSERVE_SIGNING_KEY (or its _FILE) from the environment."""

import os
import socket
import subprocess

import pytest

from tests.helpers import PYTHON, ROOT, stop_group
from tests.registry.transfer.zips import SIGNING_KEY

pytestmark = [pytest.mark.system, pytest.mark.system_parallel]  # each starts a Python process

SHOW = (
    "from django.conf import settings;"
    "print('SETTINGS', settings.MLSERVE_INSTANCE_NAME, settings.MLSERVE_SIGNING_KEY or '-')"
)


def shown(tmp_path, **env: str) -> list[str]:
    """[instance name, signing key or '-'] as the settings read them."""
    result = shell(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("SETTINGS "))
    return line.split()[1:]


def shell(tmp_path, code: str = SHOW, **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SECRET_KEY": "test-only-not-a-secret",
        "MLSERVE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **env,
    }
    proc = subprocess.Popen(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        stop_group(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_it_names_the_instance_after_the_host_unless_told(tmp_path):
    assert shown(tmp_path) == [socket.gethostname(), "-"]
    assert shown(tmp_path, MLSERVE_INSTANCE_NAME="prod-eu-1") == ["prod-eu-1", "-"]


def test_it_reads_the_signing_key_from_the_environment_or_a_file(tmp_path):
    assert shown(tmp_path, MLSERVE_SIGNING_KEY=SIGNING_KEY)[1] == SIGNING_KEY
    key_file = tmp_path / "signing-key"
    key_file.write_text(SIGNING_KEY + "\n")
    assert shown(tmp_path, MLSERVE_SIGNING_KEY_FILE=str(key_file))[1] == SIGNING_KEY


def test_it_refuses_a_short_signing_key(tmp_path):
    result = shell(tmp_path, MLSERVE_SIGNING_KEY="too-short")
    assert result.returncode != 0
    assert "MLSERVE_SIGNING_KEY is too short: use at least 32 random characters" in result.stderr
