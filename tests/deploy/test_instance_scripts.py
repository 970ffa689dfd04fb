"""The scripts the instances run (.platform/bin), against fake platform tools: secrets
become files the app reads through *_FILE, and manage.py sees the environment."""

import grp
import json
import os
import stat
import subprocess
import sys

import dj_database_url
import pytest

from tests.helpers import ROOT

SECRETS = ROOT / ".platform" / "bin" / "mlserve-secrets"
EB_MANAGE = ROOT / ".platform" / "bin" / "eb-manage"
PASSWORD = "p@ss:w/rd%?#&x y"  # RDS passwords hold characters that mean something in URLs

FAKE_AWS = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
secrets = json.load(open(os.environ["FAKE_SECRETS"]))
if "get-secret-value" in args:
    assert args[args.index("--secret-id") + 1] == "arn:aws:secretsmanager:eu-west-1:1:secret:db"
    print(json.dumps({{"username": "mlserving", "password": secrets["password"]}}))
elif "get-parameter" in args:
    assert args[args.index("--name") + 1] == "/mlserving-dev/django-secret-key"
    assert "--with-decryption" in args
    print(secrets["key"])
else:
    sys.exit("fake aws: unexpected " + " ".join(args))
"""
FAKE_GET_CONFIG = f"""#!{sys.executable}
import os, sys
assert sys.argv[1:] == ["environment"], sys.argv
print(open(os.environ["FAKE_PROPERTIES"]).read())
"""
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$@" >> "$FAKE_SYSTEMCTL_LOG"
"""
PROPERTIES = {
    "MLSERVE_AWS_REGION": "eu-west-1",
    "MLSERVE_DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:db",
    "MLSERVE_DB_HOST": "db.internal",
    "MLSERVE_DB_PORT": "5432",
    "MLSERVE_DB_NAME": "mlserving",
    "MLSERVE_SECRET_KEY_PARAMETER": "/mlserving-dev/django-secret-key",
}


@pytest.fixture
def platform(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {
        "aws": FAKE_AWS,
        "get-config": FAKE_GET_CONFIG,
        "systemctl": FAKE_SYSTEMCTL,
    }.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    procfile = tmp_path / "Procfile"
    procfile.write_text((ROOT / "Procfile").read_text())

    class Platform:
        secrets_dir = tmp_path / "etc" / "mlserving"
        systemctl_log = tmp_path / "systemctl.log"

        def __init__(self):
            self.set(password=PASSWORD, key="k" * 64, properties=PROPERTIES)

        def set(self, **values):
            if "properties" in values:
                (tmp_path / "properties.json").write_text(json.dumps(values.pop("properties")))
            if values:
                (tmp_path / "secrets.json").write_text(json.dumps(values))

        def env(self):
            return {
                "PATH": f"{bin_dir}:{os.environ['PATH']}",
                "FAKE_SECRETS": str(tmp_path / "secrets.json"),
                "FAKE_PROPERTIES": str(tmp_path / "properties.json"),
                "FAKE_SYSTEMCTL_LOG": str(self.systemctl_log),
                "MLSERVE_GET_CONFIG": str(bin_dir / "get-config"),
                "MLSERVE_SECRETS_DIR": str(self.secrets_dir),
                "MLSERVE_SECRETS_GROUP": grp.getgrgid(os.getgid()).gr_name,
                "MLSERVE_PROCFILE": str(procfile),
            }

        def secrets(self, *args):
            return subprocess.run(
                [sys.executable, str(SECRETS), *args],
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=60,
            )

        def restarts(self):
            if not self.systemctl_log.exists():
                return []
            return self.systemctl_log.read_text().splitlines()

    return Platform()


def test_it_writes_the_database_url_and_secret_key_for_the_app_to_read(platform):
    result = platform.secrets()
    assert result.returncode == 0, result.stderr
    url = (platform.secrets_dir / "database_url").read_text()
    parsed = dj_database_url.parse(url)
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert (parsed["USER"], parsed["PASSWORD"]) == ("mlserving", PASSWORD)
    assert (parsed["HOST"], parsed["PORT"], parsed["NAME"]) == ("db.internal", 5432, "mlserving")
    assert parsed["OPTIONS"] == {"sslmode": "require"}
    assert (platform.secrets_dir / "secret_key").read_text() == "k" * 64
    for name in ("database_url", "secret_key"):
        mode = stat.S_IMODE((platform.secrets_dir / name).stat().st_mode)
        assert mode == 0o640, f"{name} is {oct(mode)}"
    assert PASSWORD not in result.stdout + result.stderr


def test_it_restarts_the_procfile_processes_only_when_a_secret_changed(platform):
    assert platform.secrets("--restart-on-change").returncode == 0
    assert platform.restarts() == ["try-restart web.service worker.service"]
    assert platform.secrets("--restart-on-change").returncode == 0
    assert len(platform.restarts()) == 1  # nothing changed: nothing restarted
    platform.set(password="rotated-by-rds", key="k" * 64)
    assert platform.secrets("--restart-on-change").returncode == 0
    assert len(platform.restarts()) == 2
    assert "rotated-by-rds" in (platform.secrets_dir / "database_url").read_text()
    # The deploy hooks never restart anything: the platform starts the processes.
    platform.set(password="again", key="k" * 64)
    assert platform.secrets().returncode == 0
    assert len(platform.restarts()) == 2


def test_it_names_a_missing_environment_property(platform):
    platform.set(properties={k: v for k, v in PROPERTIES.items() if k != "MLSERVE_DB_HOST"})
    result = platform.secrets()
    assert result.returncode != 0
    assert "MLSERVE_DB_HOST is not set" in result.stderr
    assert not (platform.secrets_dir / "database_url").exists()


def test_it_runs_manage_py_with_the_environment_properties(platform, tmp_path):
    properties = {
        "DJANGO_SECRET_KEY": "from-the-environment-properties",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MLSERVE_VAR_DIR": str(tmp_path / "var"),
        "MLSERVE_MARKER": "seen",
    }
    platform.set(properties=properties)
    env = platform.env()
    env["MLSERVE_VENV_GLOB"] = str(ROOT / ".venv" / "bin" / "python")
    code = (
        "import os; from django.conf import settings;"
        "print(os.getcwd(), settings.SECRET_KEY, os.environ['MLSERVE_MARKER'])"
    )
    result = subprocess.run(
        [sys.executable, str(EB_MANAGE), "shell", "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line.split() == [str(ROOT), "from-the-environment-properties", "seen"]
