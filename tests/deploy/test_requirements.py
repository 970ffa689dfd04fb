"""requirements.txt (what Elastic Beanstalk's pip installs) is exactly uv.lock's export."""

import subprocess

import pytest

from tests.deploy.support import clean_env, find_uv
from tests.helpers import ROOT

# The command in the Makefile's `requirements` target (uv records it in the file's header).
EXPORT = ["export", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements.txt"]


def test_it_keeps_requirements_txt_in_step_with_uv_lock():
    uv = find_uv()
    if uv is None:
        pytest.skip("uv not found (not on PATH nor .tools/bin/uv): cannot export uv.lock")
    exported = subprocess.run(
        [uv, *EXPORT], cwd=ROOT, capture_output=True, text=True, env=clean_env(), timeout=120
    )
    assert exported.returncode == 0, exported.stderr
    committed = (ROOT / "requirements.txt").read_text()
    assert committed == exported.stdout, (
        "requirements.txt differs from uv.lock: run `make requirements` and commit it"
    )


def test_it_pins_every_requirement_with_hashes():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    requirements = [line for line in lines if line and not line.startswith((" ", "#"))]
    assert requirements, "requirements.txt lists nothing"
    for line in requirements:
        assert "==" in line, f"not pinned: {line}"
    assert "gunicorn==" in "\n".join(requirements)
    # pip installs in hash-checking mode when every requirement carries a hash.
    assert sum("--hash=sha256:" in line for line in lines) >= len(requirements)
    # Development tools stay out of production.
    for dev_only in ("pytest", "ruff", "scikit-learn", "python-hcl2", "playwright"):
        assert not any(line.startswith(f"{dev_only}==") for line in requirements), dev_only
