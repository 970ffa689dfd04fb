"""Background batch scoring benchmark: rows per second of a batch job (registry/batchjobs/)
against the synchronous batch route's rate, measured in the same run.

One gunicorn (2 sync workers, as bench_serving.py starts it) and one `manage.py db_worker`
serve the model bench_serving.py trains (logistic regression, 4 numeric features). The same
N-row CSV (default 1,000,000, `--rows`) is scored twice:

- synchronously: POST text/csv to /api/v1/models/bench/predict in requests of at most
  MLSERVE_MAX_PREDICT_ROWS rows, one after another (what a client of the synchronous route
  must do with a file this size);
- in the background: one multipart upload to /api/v1/models/bench/batch-jobs, polled until
  done; its rate is given end to end (upload, queue, scoring) and for the scoring alone
  (the job's started_at to finished_at).

The result is downloaded and its rows counted. Printed: both rates and their ratio.

    uv run python benchmarks/bench_batch_jobs.py [--rows 1000000]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python benchmarks/bench_batch_jobs.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_serving import (
    PYTHON,
    ROOT,
    app_env,
    create_database,
    free_port,
    post,
    start_server,
    stop,
    synthetic_csv,
    trained_model_token,
)

MAX_PREDICT_ROWS = 100_000  # app_env's MLSERVE_MAX_PREDICT_ROWS


def sync_rate(base: str, headers: dict[str, str], data: bytes) -> tuple[float, int]:
    """Rows per second of the synchronous route over the file, in requests of at most
    MAX_PREDICT_ROWS rows; and how many requests that took."""
    header, *lines = data.rstrip(b"\n").split(b"\n")
    started = time.perf_counter()
    requests = 0
    for start in range(0, len(lines), MAX_PREDICT_ROWS):
        body = b"\n".join([header, *lines[start : start + MAX_PREDICT_ROWS]]) + b"\n"
        answer = json.loads(
            post(
                f"{base}/api/v1/models/bench/predict",
                body,
                {**headers, "Content-Type": "text/csv"},
            )
        )
        assert len(answer["predictions"]) == min(MAX_PREDICT_ROWS, len(lines) - start)
        requests += 1
    return len(lines) / (time.perf_counter() - started), requests


def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def get_json(url: str, headers: dict[str, str]) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        return json.loads(r.read())


def job_rate(base: str, headers: dict[str, str], data: bytes, n_rows: int) -> dict:
    body, boundary = multipart(data, "bench.csv")
    started = time.perf_counter()
    created = json.loads(
        post(
            f"{base}/api/v1/models/bench/batch-jobs",
            body,
            {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    )
    accepted = time.perf_counter() - started
    job = created
    while job["status"] in ("queued", "running"):
        time.sleep(0.2)
        job = get_json(f"{base}/api/v1/batch-jobs/{created['id']}", headers)
    total = time.perf_counter() - started
    if job["status"] != "done":
        raise SystemExit(f"the batch job ended {job['status']}: {job['error']}")
    scoring = (
        datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
    ).total_seconds()
    request = urllib.request.Request(f"{base}{job['result_url']}", headers=headers)
    with urllib.request.urlopen(request, timeout=300) as response:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: response.read(1 << 20), b""))
    assert lines - 1 == n_rows, (lines, n_rows)
    return {
        "end_to_end": n_rows / total,
        "scoring": n_rows / scoring,
        "upload_s": accepted,
        "chunks": job["chunks_total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    database_url, database, drop = create_database(workdir, "bench_batch")
    env = app_env(workdir, database_url)
    server = worker = None
    try:
        token = trained_model_token(env, workdir)
        headers = {"Authorization": f"Bearer {token}"}
        data = synthetic_csv(args.rows)
        port = free_port()
        server = start_server(env, port, "mlsite.settings")
        worker = subprocess.Popen(
            [PYTHON, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        sync, requests = sync_rate(base, headers, data)
        job = job_rate(base, headers, data, args.rows)
    finally:
        for proc in (worker, server):
            if proc is not None:
                stop(proc)
        drop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nbench_batch_jobs: {args.rows:,} rows ({len(data) / 1e6:.1f} MB), {database}, "
        "gunicorn 2 sync workers + 1 db_worker\n"
    )
    print("| route | rows/s | ratio to sync |")
    print("|---|---|---|")
    print(
        f"| synchronous, {requests} requests of <= {MAX_PREDICT_ROWS:,} rows | {sync:,.0f} | 1.00 |"
    )
    print(
        f"| batch job, end to end (upload {job['upload_s']:.1f} s, {job['chunks']} chunks) | "
        f"{job['end_to_end']:,.0f} | {job['end_to_end'] / sync:.2f} |"
    )
    print(f"| batch job, scoring alone | {job['scoring']:,.0f} | {job['scoring'] / sync:.2f} |")


if __name__ == "__main__":
    main()
