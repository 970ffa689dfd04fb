"""The offline static checks: checkov over terraform/, zizmor over the workflows, and
(where Terraform and the AWS provider are on disk) terraform fmt + validate."""

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.deploy.support import TERRAFORM, clean_env, sync_iac_env
from tests.helpers import ROOT

IAC_CHECK = str(ROOT / "scripts" / "iac_check.sh")
PLUGIN_DIR = Path(os.environ.get("MLSERVE_TF_PLUGIN_DIR", "/opt/tf-plugins"))
TERRAFORM_ROOTS = ["bootstrap", "envs/dev", "envs/prod"]


def iac_check(check: str) -> subprocess.CompletedProcess:
    sync_iac_env()
    return subprocess.run(
        [IAC_CHECK, check], cwd=ROOT, capture_output=True, text=True, env=clean_env(), timeout=600
    )


@pytest.mark.slow
def test_it_passes_every_checkov_check_offline():
    result = iac_check("checkov")
    output = result.stdout + result.stderr
    summary = re.search(
        r"Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)", output
    )
    assert summary, f"checkov printed no summary:\n{output[-3000:]}"
    passed, failed, skipped = map(int, summary.groups())
    assert failed == 0, output[-8000:]
    assert result.returncode == 0, output[-3000:]
    assert passed > 100  # it really looked at the resources
    # Every skip is an inline one with its reason (test_terraform checks the comments).
    assert output.count("Suppress comment:") == skipped
    # checkov really read the Elastic Beanstalk settings (a dynamic "setting" block it
    # cannot evaluate hides all of them from it): managed updates must show as passed.
    assert re.search(
        r"CKV_AWS_340: .*\n\tPASSED for resource: module\.environment\.aws_elastic_beanstalk_env",
        output,
    ), "checkov did not see the Elastic Beanstalk settings"


def test_it_finds_nothing_wrong_in_the_workflows_with_zizmor():
    result = iac_check("zizmor")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "No findings to report" in output, output
    assert "ci.yml" in output
    assert "deploy.yml" in output


def _terraform(*, with_aws_provider: bool = True) -> str:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed: fmt/validate skipped (hcl2 and checkov still ran)")
    if with_aws_provider and not list(PLUGIN_DIR.glob("registry.terraform.io/hashicorp/aws/*/*")):
        pytest.skip(
            f"no hashicorp/aws provider under {PLUGIN_DIR} (MLSERVE_TF_PLUGIN_DIR): "
            "terraform validate needs it offline"
        )
    return terraform


def _tf_env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "terraformrc"
    config.write_text("")  # no credentials helpers, no network mirrors
    return clean_env(
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",  # no version check over the network
    )


def test_it_is_formatted_like_terraform_fmt(tmp_path):
    terraform = _terraform(with_aws_provider=False)
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        env=_tf_env(tmp_path),
        timeout=60,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


def _init_and_validate(terraform: str, workdir: Path, env: dict[str, str]) -> str:
    """'' (valid) or what terraform said was wrong."""
    for command in (
        ["init", "-backend=false", f"-plugin-dir={PLUGIN_DIR}", "-no-color"],
        ["validate", "-no-color"],
    ):
        result = subprocess.run(
            [terraform, *command],
            cwd=workdir,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        if result.returncode != 0:
            return f"{workdir.name}: terraform {command[0]}:\n{result.stdout}{result.stderr}"
    return ""


@pytest.mark.slow
def test_it_validates_every_root_with_terraform_offline(tmp_path):
    terraform = _terraform()
    # A copy, so init leaves no .terraform/ or lock file in the work tree.
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    env = _tf_env(tmp_path)
    # Each validate loads the AWS provider's schema (~10 s): run the roots side by side.
    # The environment module is validated through the two roots that call it.
    with ThreadPoolExecutor(max_workers=len(TERRAFORM_ROOTS)) as pool:
        errors = list(
            pool.map(lambda root: _init_and_validate(terraform, copy / root, env), TERRAFORM_ROOTS)
        )
    assert not any(errors), "\n".join(errors)
