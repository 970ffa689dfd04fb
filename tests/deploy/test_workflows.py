"""The GitHub Actions workflows: CI on every push and pull request, then deployment through
OIDC (no stored keys), main to production only, every action pinned to a commit."""

import re

import pytest

from tests.deploy.support import load_yaml, sync_iac_env
from tests.helpers import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


@pytest.fixture(scope="module")
def ci():
    sync_iac_env()
    return load_yaml(WORKFLOWS / "ci.yml")


@pytest.fixture(scope="module")
def deploy():
    sync_iac_env()
    return load_yaml(WORKFLOWS / "deploy.yml")


def triggers(workflow: dict) -> dict:
    return workflow.get("on") or workflow["true"]  # YAML 1.1 reads a bare `on` as true


def test_it_tests_every_push_and_pull_request_against_postgresql(ci):
    assert set(triggers(ci)) == {"push", "pull_request"}
    assert ci["permissions"] == {}
    test = ci["jobs"]["test"]
    assert test["permissions"] == {"contents": "read"}
    assert test["services"]["postgres"]["image"].startswith("postgres:")
    assert test["env"]["DATABASE_URL"].startswith("postgres://")
    assert any(step.get("run") == "make test" for step in test["steps"])


def test_it_deploys_branches_to_dev_and_main_to_prod_after_the_tests(ci):
    jobs = ci["jobs"]
    dev, prod = jobs["deploy-dev"], jobs["deploy-prod"]
    for job in (dev, prod):
        assert job["needs"] == "test"
        assert job["uses"] == "./.github/workflows/deploy.yml"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        assert "secrets" not in job
        assert "github.event_name == 'push'" in job["if"]
    assert dev["with"] == {"environment": "development"}
    assert "github.ref != 'refs/heads/main'" in dev["if"]
    assert prod["with"] == {"environment": "production"}
    assert "github.ref == 'refs/heads/main'" in prod["if"]
    # Only these two jobs may ask for an OIDC token.
    for name, job in jobs.items():
        if name not in ("deploy-dev", "deploy-prod"):
            assert "id-token" not in job.get("permissions", {}), name


def test_it_deploys_through_the_environments_oidc_role_in_order(deploy):
    assert set(triggers(deploy)) == {"workflow_call"}
    assert deploy["permissions"] == {}
    job = deploy["jobs"]["deploy"]
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["concurrency"]["cancel-in-progress"] is False
    steps = job["steps"]
    credentials = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]
    assert len(credentials) == 1
    assert credentials[0]["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials[0]["with"])
    runs = [s["run"] for s in steps if "run" in s]
    assert runs == [
        'scripts/bundle.sh "$BUNDLE"',
        "scripts/eb_deploy.sh upload",
        "scripts/eb_deploy.sh create-version",
        "scripts/eb_deploy.sh update",
        "scripts/eb_deploy.sh wait",
        "scripts/eb_deploy.sh confirm",
    ]
    # The bundle is built before any credentials exist in the job.
    assert steps.index(credentials[0]) > next(
        i for i, s in enumerate(steps) if s.get("run", "").startswith("scripts/bundle.sh")
    )


def test_it_stores_no_aws_keys_and_pins_every_action_to_a_commit():
    for path in WORKFLOWS.glob("*.y*ml"):
        text = path.read_text()
        assert "secrets." not in text, f"{path.name} uses a stored secret"
        assert not re.search(r"AKIA[0-9A-Z]{16}", text)
        for ref in re.findall(r"uses:\s*([^\s#]+)", text):
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{path.name}: {ref}"
        # Checkouts keep no token on disk for later steps to leak.
        assert text.count("persist-credentials: false") == text.count("actions/checkout@")
