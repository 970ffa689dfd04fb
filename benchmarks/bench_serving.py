"""Serving benchmark: this app's predict endpoint against the framework floor, same run.

Starts on loopback (1) gunicorn with 2 sync workers serving this app and (2) the same
Django settings and middleware serving one bare view that parses the same JSON and
answers a body of the same size (benchmarks/floor_urls.py). Both are driven by wrk
(Debian package `wrk`) at concurrency 8 and 32, interleaved over several rounds, and the
medians are printed as a markdown table with the ratios the issue sets as targets.

A third server runs the app with the prediction log off (MLSERVE_PREDICTION_LOG_RATE=0):
single-row predict with the log on at its default rate (the "app" server) must keep at
least 90% of that throughput, measured in the same rounds (it is sent the same batches
too, so that both servers have the same history); a second table prints both, the ratio,
and how many requests the log wrote and dropped.

    uv run python benchmarks/bench_serving.py [--seconds 8] [--rounds 3]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python benchmarks/bench_serving.py

With BENCH_DATABASE_URL the app runs on a fresh PostgreSQL database (created and dropped);
otherwise on SQLite in a temporary directory. The database is only touched when a cached
token or resolution expires (every second), so the two behave alike here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FEATURES = ["f1", "f2", "f3", "f4"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def synthetic_csv(n: int = 2000) -> bytes:
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = np.where(X @ np.array([1.0, -2.0, 0.5, 1.5]) + rng.normal(0, 0.5, n) > 0, "yes", "no")
    lines = [",".join([*FEATURES, "label"])]
    lines += [
        ",".join([*(f"{v:.4f}" for v in row), label]) for row, label in zip(X, y, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


SETUP = """
import json, django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from registry import services
from registry.tokens import token_create
user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
dataset = services.dataset_create(owner=user, data=open({csv!r}, "rb").read(), name={name!r})
services.model_create_with_version(owner=user, name={name!r}, dataset=dataset,
    algorithm="logistic_regression", target={target!r})
call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0, reload=False)
print(json.dumps({{"token": token_create(user=user, name="bench")[1]}}))
"""


COUNT_LOG = """
import django
django.setup()
from registry.models import PredictionLog
print(PredictionLog.objects.count())
"""


def log_counts(port: int) -> tuple[float, float]:
    """Requests the server's prediction log wrote and dropped (its /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()

    def total(name: str) -> float:
        return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

    return total("mlserve_prediction_log_written_total"), total(
        "mlserve_prediction_log_dropped_total"
    )


def run(cmd: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True, **kwargs
    )


# The single-row predict body, for the model trained_model_token() prepares.
SINGLE_ROW = {"instances": [[0.5, -1.2, 0.3, 2.0]]}


def create_database(workdir: Path, prefix: str) -> tuple[str, str, Callable[[], None]]:
    """(DATABASE_URL, its label, how to drop it): a fresh PostgreSQL database beside
    BENCH_DATABASE_URL's when it is set, otherwise SQLite in `workdir`."""
    pg_url = os.environ.get("BENCH_DATABASE_URL")
    if not pg_url:
        return f"sqlite:///{workdir / 'bench.sqlite3'}", "SQLite", lambda: None
    pg_name = f"{prefix}_{os.getpid()}"
    subprocess.run(["psql", pg_url, "-qc", f"CREATE DATABASE {pg_name}"], check=True)

    def drop() -> None:
        subprocess.run(["psql", pg_url, "-qc", f"DROP DATABASE IF EXISTS {pg_name}"])

    return f"{pg_url.rsplit('/', 1)[0]}/{pg_name}", "PostgreSQL", drop


def cpu_model() -> str:
    """The processor's name, as benchmark tables head their runs."""
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )


def app_env(workdir: Path, database_url: str) -> dict[str, str]:
    """The environment of the app's processes: this one's without its DJANGO_ and MLSERVE_
    settings, a fresh secret key, the database and `workdir` as the var folder."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLSERVE_"))},
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": database_url,
        "MLSERVE_VAR_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "mlsite.settings",
        "MLSERVE_MANIFEST_STATIC": "0",
        "MLSERVE_MAX_PREDICT_ROWS": "100000",
    }


def trained_model_token(
    env: dict[str, str],
    workdir: Path,
    csv: bytes | None = None,
    *,
    name: str = "bench",
    target: str = "label",
) -> str:
    """Migrate, create the user `bench` with a logistic regression `name` trained on `csv`
    (default synthetic_csv()) to predict `target`, and return an API token of that user."""
    csv_path = workdir / f"{name}.csv"
    csv_path.write_bytes(synthetic_csv() if csv is None else csv)
    run([PYTHON, "manage.py", "migrate", "-v", "0"], env)
    setup = SETUP.format(csv=str(csv_path), name=name, target=target)
    output = run([PYTHON, "-c", setup], env).stdout
    return json.loads(output.strip().splitlines()[-1])["token"]


def start_server(env: dict[str, str], port: int, settings_module: str) -> subprocess.Popen:
    server_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "-c",
            "mlsite/gunicorn.conf.py",
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except urllib.error.HTTPError:  # the floor has no /healthz, but it answers
            return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise SystemExit(f"server on port {port} did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def rss_mb(proc: subprocess.Popen) -> float:
    """Resident memory of a gunicorn master and its workers."""
    pids = [proc.pid]
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def wrk(
    url: str,
    body_file: Path,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    workdir: Path,
) -> dict[str, float]:
    script = workdir / "post.lua"
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    script.write_text(
        f'wrk.method = "POST"\nlocal f = io.open("{body_file}", "rb")\n'
        f'wrk.body = f:read("*all")\nf:close()\n{header_lines}'
    )
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if errors or socket_errors:
        print(
            f"  warning: {url} c={connections}: {errors.group(0) if errors else ''} "
            f"{socket_errors.group(0) if socket_errors else ''}",
            file=sys.stderr,
        )

    def pct(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": pct("50"), "p99": pct("99")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    database_url, database, drop_database = create_database(workdir, "bench_serving")
    env = app_env(workdir, database_url)
    servers: list[subprocess.Popen] = []
    try:
        token = trained_model_token(env, workdir)

        import numpy as np

        rng = np.random.default_rng(1)
        batch = rng.normal(size=(10_000, 4)).round(4).tolist()
        bodies = {
            "single": SINGLE_ROW,
            "batch_positional": {"instances": batch},
            "batch_named": {"instances": [dict(zip(FEATURES, row, strict=True)) for row in batch]},
        }
        files = {}
        for kind, body in bodies.items():
            files[kind] = workdir / f"{kind}.json"
            files[kind].write_text(json.dumps(body))

        app_port, floor_port = free_port(), free_port()
        servers.append(start_server(env, app_port, "mlsite.settings"))
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        app_url = f"http://127.0.0.1:{app_port}/api/v1/models/bench/predict"
        sizes = {kind: len(post(app_url, files[kind].read_bytes(), auth)) for kind in files}
        servers.append(
            start_server(
                {**env, "FLOOR_RESPONSE_SIZES": json.dumps(sizes)},
                floor_port,
                "benchmarks.floor_settings",
            )
        )
        floor_url = f"http://127.0.0.1:{floor_port}/floor/"
        plain = {"Content-Type": "application/json"}
        nolog_port = free_port()
        servers.append(
            start_server({**env, "MLSERVE_PREDICTION_LOG_RATE": "0"}, nolog_port, "mlsite.settings")
        )
        nolog_url = f"http://127.0.0.1:{nolog_port}/api/v1/models/bench/predict"

        cases = [("single", 8), ("single", 32), ("batch_positional", 8), ("batch_named", 8)]
        results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
        for round_no in range(args.rounds):
            for kind, connections in cases:
                # The prediction log's cost: the app with it off. It serves the batches too
                # (not reported), so that both servers' workers have the same history (a
                # heap that held 10,000-row requests serves single rows more slowly).
                targets = [
                    ("app", app_url, auth),
                    ("floor", floor_url + kind, plain),
                    ("nolog", nolog_url, auth),
                ]
                # Each round starts with another server: none always runs first, or right
                # after the app (whose log writer may still be flushing).
                shift = round_no % len(targets)
                for target, url, headers in targets[shift:] + targets[:shift]:
                    seconds = args.seconds if kind == "single" else args.seconds * 1.5
                    stats = wrk(url, files[kind], headers, connections, seconds, workdir)
                    results.setdefault((target, kind, connections), []).append(stats)
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
        memory = {"app": rss_mb(servers[0]), "floor": rss_mb(servers[1])}
        time.sleep(1.5)  # the log's last flush
        log_written, log_dropped = log_counts(app_port)
        log_rows = int(run([PYTHON, "-c", COUNT_LOG], env).stdout.strip().splitlines()[-1])
    finally:
        for proc in servers:
            stop(proc)
        drop_database()
        shutil.rmtree(workdir, ignore_errors=True)

    def med(target: str, kind: str, c: int, key: str) -> float:
        return statistics.median(r[key] for r in results[(target, kind, c)])

    cpu = cpu_model()
    print(
        f"\nbench_serving: {cpu}, {os.cpu_count()} cores, gunicorn 2 sync workers, {database}, "
        f"wrk {args.seconds:g} s x {args.rounds} rounds interleaved, medians\n"
    )
    print(
        "| case | conc. | app req/s | floor req/s | ratio | app p50 / p99 ms | "
        "floor p50 / p99 ms | p99 ratio | target | result |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for kind, c in cases:
        app_rps, floor_rps = med("app", kind, c, "rps"), med("floor", kind, c, "rps")
        ratio = app_rps / floor_rps
        p99_ratio = med("app", kind, c, "p99") / med("floor", kind, c, "p99")
        if kind == "single":
            target, ok = "rps >= 0.70, p99 <= 2x", ratio >= 0.70 and p99_ratio <= 2.0
            label, scale = "1-row predict", 1
        else:
            need = 0.50 if kind == "batch_positional" else 0.25
            target, ok = f"rows/s >= {need:.2f}", ratio >= need
            label, scale = f"10k-row batch ({kind.split('_')[1]}), rows/s", 10_000
        verdicts.append(ok)
        print(
            f"| {label} | {c} | {app_rps * scale:,.0f} | {floor_rps * scale:,.0f} | {ratio:.2f} | "
            f"{med('app', kind, c, 'p50'):.2f} / {med('app', kind, c, 'p99'):.2f} | "
            f"{med('floor', kind, c, 'p50'):.2f} / {med('floor', kind, c, 'p99'):.2f} | "
            f"{p99_ratio:.2f} | {target} | {'PASS' if ok else 'FAIL'} |"
        )
    print(
        f"\nresident memory after the run: app {memory['app']:.0f} MB, "
        f"floor {memory['floor']:.0f} MB (gunicorn master + 2 workers)"
    )
    print(
        "\nprediction log on (MLSERVE_PREDICTION_LOG_RATE=1, up to 100 rows per request) vs "
        "off, same run, interleaved, medians\n"
    )
    print(
        "| case | conc. | log on req/s | log off req/s | ratio | log on p50 / p99 ms | "
        "log off p50 / p99 ms | target | result |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, c in cases:
        if kind != "single":
            continue
        on, off = med("app", kind, c, "rps"), med("nolog", kind, c, "rps")
        ok = on / off >= 0.90
        verdicts.append(ok)
        print(
            f"| 1-row predict | {c} | {on:,.0f} | {off:,.0f} | {on / off:.2f} | "
            f"{med('app', kind, c, 'p50'):.2f} / {med('app', kind, c, 'p99'):.2f} | "
            f"{med('nolog', kind, c, 'p50'):.2f} / {med('nolog', kind, c, 'p99'):.2f} | "
            f"ratio >= 0.90 | {'PASS' if ok else 'FAIL'} |"
        )
    print(
        f"\nprediction log of the app server: {log_written:,.0f} requests written "
        f"({log_rows:,} rows in the table), {log_dropped:,.0f} dropped"
    )
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
