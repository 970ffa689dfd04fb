"""scripts/eb_deploy.sh against a fake aws CLI and a local /readyz: it deploys in order
and fails the job unless the environment runs the new version, Green, answering 200."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.helpers import ROOT

LABEL = "abc123-42-1"
FAKE_AWS = f"""#!{sys.executable}
import json, os, sys
state_path = os.environ["FAKE_AWS_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
service, command = args[0], args[1]
def arg(name):
    return args[args.index(name) + 1]
if service == "s3":
    pass
elif command == "create-application-version":
    print("UNPROCESSED")
elif command == "describe-application-versions":
    print(state["version_status"])
elif command == "update-environment":
    if not state["rollback"]:
        state["label"] = arg("--version-label")
    json.dump(state, open(state_path, "w"))
    print("Updating")
elif command == "describe-environments":
    print("\\t".join(["Ready", state["health"], state["label"], state["cname"]]))
elif command == "describe-events":
    print("2026-01-01T00:00:00Z\\tWARN\\tsomething happened")
else:
    sys.exit("fake aws: unexpected " + " ".join(args))
"""


@pytest.fixture
def readyz():
    """A local stand-in for the environment's load balancer; set .status to answer with."""

    class Handler(BaseHTTPRequestHandler):
        status = 200

        def do_GET(self):  # http.server's method name
            self.send_response(Handler.status if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Handler, f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def deploy(tmp_path, readyz):
    handler, cname = readyz
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(b"PK fake zip")
    state = tmp_path / "state.json"
    log = tmp_path / "aws.log"

    def run(*steps, health="Green", rollback=False, version_status="PROCESSED", status=200):
        handler.status = status
        state.write_text(
            json.dumps(
                {
                    "health": health,
                    "rollback": rollback,
                    "version_status": version_status,
                    "label": "previous-version",
                    "cname": cname,
                }
            )
        )
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "FAKE_AWS_STATE": str(state),
            "FAKE_AWS_LOG": str(log),
            "BUNDLE": str(bundle),
            "VERSION_LABEL": LABEL,
            "EB_APPLICATION": "mlserving-dev",
            "EB_ENVIRONMENT": "mlserving-dev",
            "EB_VERSIONS_BUCKET": "versions-bucket",
            "POLL_S": "0",
            "DEPLOY_TIMEOUT_S": "0",
            "HEALTH_TIMEOUT_S": "0",
        }
        result = subprocess.run(
            [str(ROOT / "scripts" / "eb_deploy.sh"), *steps],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return result, calls

    return run


def commands(calls):
    return [call[1] for call in calls if call[0] == "elasticbeanstalk" or call[0] == "s3"]


def test_it_uploads_processes_deploys_and_confirms_a_green_ready_version(deploy):
    result, calls = deploy("upload", "create-version", "update", "wait", "confirm")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"deployed {LABEL} to mlserving-dev: Green, /readyz 200" in result.stdout
    upload = calls[0]
    assert upload[:2] == ["s3", "cp"]
    assert upload[-1] == f"s3://versions-bucket/bundles/{LABEL}.zip"
    create = next(c for c in calls if c[1] == "create-application-version")
    assert "--process" in create
    assert f"S3Bucket=versions-bucket,S3Key=bundles/{LABEL}.zip" in create
    update = next(c for c in calls if c[1] == "update-environment")
    assert update[update.index("--version-label") + 1] == LABEL
    order = commands(calls)
    assert order.index("cp") < order.index("create-application-version")
    assert order.index("describe-application-versions") < order.index("update-environment")


def test_it_runs_every_step_with_all(deploy):
    result, calls = deploy("all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "update-environment" in commands(calls)


def test_it_fails_when_the_environment_is_not_green(deploy):
    result, _ = deploy("all", health="Red")
    assert result.returncode != 0
    assert "Ready/Red" in result.stderr
    assert "something happened" in result.stderr  # the recent events, to see why


def test_it_fails_when_the_environment_rolled_back_to_another_version(deploy):
    result, _ = deploy("all", rollback=True)
    assert result.returncode != 0
    assert f"runs version 'previous-version', not '{LABEL}'" in result.stderr


def test_it_fails_when_readyz_does_not_answer_200(deploy):
    result, _ = deploy("all", status=503)
    assert result.returncode != 0
    assert "answers 503" in result.stderr


def test_it_stops_before_updating_when_the_version_cannot_be_processed(deploy):
    result, calls = deploy("all", version_status="FAILED")
    assert result.returncode != 0
    assert f"could not process version {LABEL}" in result.stderr
    assert "update-environment" not in commands(calls)


def test_it_refuses_an_unknown_step(deploy):
    result, calls = deploy("deploy-everything")
    assert result.returncode == 2
    assert calls == []
