"""`make bundle`: the Elastic Beanstalk source bundle holds what the instances run, only."""

import re
import stat
import subprocess
import zipfile

import pytest

from tests.deploy.support import load_yaml, sync_iac_env
from tests.helpers import ROOT

MUST_HAVE = [
    "Procfile",
    "requirements.txt",
    "manage.py",
    ".ebextensions/01_django.config",
    ".platform/hooks/prebuild/01_secrets.sh",
    ".platform/confighooks/prebuild/01_secrets.sh",
    ".platform/hooks/postdeploy/01_secrets_timer.sh",
    ".platform/bin/mlserve-secrets",
    ".platform/bin/eb-manage",
    "mlsite/settings.py",
    "mlsite/gunicorn.conf.py",
    "mlsite/wsgi.py",
]
MUST_HAVE_DIRS = ["mlsite/", "registry/", "numpyml/", "templates/", "static/"]
NEVER = ["var/", ".git/", "tests/", ".venv/", ".tools/", "terraform/", "tools/", ".github/"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "app.zip"
    result = subprocess.run(
        [str(ROOT / "scripts" / "bundle.sh"), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    with zipfile.ZipFile(out) as archive:
        yield archive


def test_it_bundles_the_app_and_the_platform_files(bundle):
    names = bundle.namelist()
    for name in MUST_HAVE:
        assert name in names, f"{name} missing from the bundle"
    for folder in MUST_HAVE_DIRS:
        assert any(name.startswith(folder) for name in names), f"{folder} missing"


def test_it_leaves_out_local_data_tests_tools_and_caches(bundle):
    for name in bundle.namelist():
        assert not any(name.startswith(prefix) for prefix in NEVER), name
        assert "__pycache__" not in name, name
        assert not name.endswith(".pyc"), name
        assert not name.endswith((".sqlite3", ".tfstate", ".tfvars")), name
    # Every top-level entry is one we chose.
    top = {name.split("/", 1)[0] for name in bundle.namelist()}
    assert top <= {
        "Procfile",
        "requirements.txt",
        "manage.py",
        ".ebextensions",
        ".platform",
        "mlsite",
        "registry",
        "numpyml",
        "templates",
        "static",
    }


def test_it_keeps_platform_hooks_executable(bundle):
    for info in bundle.infolist():
        if info.filename.startswith(
            (".platform/hooks/", ".platform/confighooks/", ".platform/bin/")
        ):
            mode = info.external_attr >> 16
            assert mode & stat.S_IXUSR, f"{info.filename} is not executable in the bundle"


def test_it_builds_the_same_zip_from_the_same_files(tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    for out in (first, second):
        subprocess.run([str(ROOT / "scripts" / "bundle.sh"), str(out)], check=True, timeout=120)
    assert first.read_bytes() == second.read_bytes()


def test_it_runs_gunicorn_and_the_task_worker_from_the_procfile():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert list(processes) == ["web", "worker"]  # Elastic Beanstalk wants `web` first
    assert re.fullmatch(r"\s*gunicorn -c mlsite/gunicorn\.conf\.py\s*", processes["web"])
    assert processes["worker"].split()[:3] == ["python", "manage.py", "db_worker"]


def test_it_migrates_on_the_leader_only_and_collects_static_everywhere():
    sync_iac_env()
    config = load_yaml(ROOT / ".ebextensions" / "01_django.config")
    commands = config["container_commands"]
    migrate = [c for c in commands.values() if " migrate" in c["command"]]
    collect = [c for c in commands.values() if " collectstatic" in c["command"]]
    assert len(migrate) == 1
    assert migrate[0].get("leader_only") is True
    assert len(collect) == 1
    assert not collect[0].get("leader_only", False)
    assert "--noinput" in migrate[0]["command"]
    assert "--noinput" in collect[0]["command"]
    # Commands run in name order: the schema is in place before anything else.
    names = sorted(commands)
    assert commands[names[0]] is migrate[0]
