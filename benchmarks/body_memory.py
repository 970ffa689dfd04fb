"""Peak memory of a web worker per request body format, as a multiple of the body's size.

Starts gunicorn (1 sync worker) on a fresh SQLite database with the demo churn model
(3 number and 2 category features), then for each body format sends a body of
MLSERVE_MAX_PREDICT_ROWS rows (the largest accepted) and bodies over the limits, and reads
the worker's peak resident memory (VmHWM in /proc/<pid>/status, reset before each request by
writing 5 to /proc/<pid>/clear_refs). Prints a markdown table: body size, answer, seconds,
peak extra memory and its ratio to the body. tests/system/test_body_memory.py asserts the
same figures against their targets (accepted: <= 10x; over the limit: 413, <= 2x).

    uv run python benchmarks/body_memory.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAMES = ["tenure_months", "monthly_charges", "contract", "internet", "support_calls"]
ROW = [23, 73.32, "month-to-month", "fiber", 1]
MB = 1024 * 1024


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def accepted_bodies(rows: int) -> dict[str, tuple[str, bytes]]:
    """Every predict body format holding `rows` rows: name -> (content type, body)."""
    record = dict(zip(NAMES, ROW, strict=True))
    csv = ",".join(NAMES) + "\n" + (",".join(map(str, ROW)) + "\n") * rows
    return {
        "instances (lists)": ("application/json", _json({"instances": [ROW] * rows})),
        "instances (objects)": ("application/json", _json({"instances": [record] * rows})),
        "inputs (columnar)": (
            "application/json",
            _json({"inputs": {n: [v] * rows for n, v in zip(NAMES, ROW, strict=True)}}),
        ),
        "dataframe_split": (
            "application/json",
            _json({"dataframe_split": {"columns": NAMES, "data": [ROW] * rows}}),
        ),
        "dataframe_records": ("application/json", _json({"dataframe_records": [record] * rows})),
        "text/csv": ("text/csv", csv.encode()),
    }


def dataset_body(rows: int) -> bytes:
    """A CSV upload of `rows` rows of the churn columns."""
    line = ",".join(map(str, ROW)) + ",yes\n"
    return (",".join([*NAMES, "churned"]) + "\n" + line * rows).encode()


def over_limit_bodies(max_bytes: int) -> dict[str, tuple[str, bytes]]:
    """Bodies just under the byte limit whose rows are far over the row limit."""
    zeros = (max_bytes - 64) // 2
    lines = (max_bytes - 64) // 12
    return {
        "inputs (columnar) of zeros": (
            "application/json",
            b'{"inputs":{"tenure_months":[' + b"0," * (zeros - 1) + b"0]}}",
        ),
        "instances of [0]": (
            "application/json",
            b'{"instances":[' + b"[0]," * (zeros // 2 - 1) + b"[0]]}",
        ),
        "text/csv of short lines": (
            "text/csv",
            b"tenure_months\n" + b"1\n" * lines * 6,
        ),
    }


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def worker_pids(master: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


_warm_uploads = iter(range(1, 10**9))


def fresh_worker(master: int, port: int, token: str, path: str) -> int:
    """Replace the server's one worker by a new one, warmed by a small prediction (`path`)
    and a small dataset upload (pyarrow is imported at the first): memory a previous request
    left in the worker's heap would hide the next one's cost."""
    (old,) = worker_pids(master)
    os.kill(old, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = [p for p in worker_pids(master) if p != old]
        if pids and not Path(f"/proc/{old}").exists():
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("gunicorn did not replace its worker")
    (worker,) = pids
    small = accepted_bodies(10)["instances (lists)"]
    while True:  # the new worker loads the app and the model
        try:
            if measure(port, worker, path, token, *small).status == 200:
                upload = f"/api/v1/datasets?name=warm-{next(_warm_uploads)}"
                measure(port, worker, upload, token, "text/csv", dataset_body(10))
                return worker
        except OSError:
            time.sleep(0.2)
        if time.monotonic() > deadline:
            raise RuntimeError("the new worker does not answer")


@dataclass(frozen=True)
class Measured:
    status: int
    content_type: str
    seconds: float
    body_bytes: int
    extra_bytes: int  # the worker's peak resident memory above its resident memory before

    @property
    def ratio(self) -> float:
        return self.extra_bytes / self.body_bytes


def measure(
    port: int, worker: int, path: str, token: str, content_type: str, body: bytes
) -> Measured:
    """One request, with the worker's peak memory reset before it and read after it."""
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = _status(worker)["VmRSS"]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.monotonic()
    connection.request(
        "POST",
        path,
        body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    response = connection.getresponse()
    response.read()
    seconds = time.monotonic() - started
    connection.close()
    peak = _status(worker)["VmHWM"]
    return Measured(
        response.status,
        response.headers.get("Content-Type", ""),
        seconds,
        len(body),
        peak - before,
    )


SETUP = """
import json, django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from registry import services
from registry.tokens import token_create
user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
dataset = services.dataset_create(owner=user, data=open({csv!r}, "rb").read(), name="churn")
services.model_create_with_version(owner=user, name="churn", dataset=dataset,
    algorithm="logistic_regression", target="churned")
call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0, reload=False)
print(json.dumps({{"token": token_create(user=user, name="bench")[1]}}))
"""


def main() -> None:
    from tests.helpers import free_port, start_gunicorn, stop_group, wait_for_http

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="MLSERVE_MAX_PREDICT_ROWS")
    parser.add_argument("--upload-mb", type=int, default=50, help="MLSERVE_MAX_UPLOAD_MB")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-body-memory-"))
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mlsite.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MLSERVE_VAR_DIR": str(workdir),
        "MLSERVE_MAX_PREDICT_ROWS": str(args.rows),
        "MLSERVE_MAX_UPLOAD_MB": str(args.upload_mb),
        "MLSERVE_PREDICTION_LOG_RATE": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    proc = None
    try:
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        setup = SETUP.format(csv=str(ROOT / "registry" / "demo" / "churn.csv"))
        out = subprocess.run(
            [python, "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        token = json.loads(out.stdout.strip().splitlines()[-1])["token"]
        proc = start_gunicorn(env, workdir / "gunicorn.log")
        wait_for_http(f"http://127.0.0.1:{port}/healthz", deadline_s=60, proc=proc)
        path = "/api/v1/models/churn/predict"
        upload_rows = min(2_000_000, (args.upload_mb * MB - 100) // 37)
        print(f"{time.strftime('%Y-%m-%d')}, {args.rows:,} rows, upload limit {args.upload_mb} MB")
        print("\n| body | MB | answer | seconds | peak extra MB | x body |")
        print("|---|---|---|---|---|---|")
        over = over_limit_bodies(args.upload_mb * MB)
        cases = [
            *((path, *case) for case in accepted_bodies(args.rows).items()),
            *((path, *case) for case in over.items()),
            # The largest upload under the byte limit (within MLSERVE_MAX_ROWS), and one over it.
            (
                "/api/v1/datasets?name=big",
                "dataset upload",
                ("text/csv", dataset_body(upload_rows)),
            ),
            ("/api/v1/datasets", "dataset of short lines", over["text/csv of short lines"]),
        ]
        for target, name, (content_type, body) in cases:
            worker = fresh_worker(proc.pid, port, token, path)
            m = measure(port, worker, target, token, content_type, body)
            print(
                f"| {name} | {m.body_bytes / MB:.1f} | {m.status} | {m.seconds:.2f} | "
                f"{m.extra_bytes / MB:.0f} | {m.ratio:.1f} |"
            )
    finally:
        if proc is not None:
            stop_group(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
