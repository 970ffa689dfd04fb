"""Single-row serving side by side: this app against bare WSGI, bare Django, MLflow and BentoML.

Issue 21's comparison, in one interleaved run on this machine. Every stack serves the same
iris logistic regression (trained on the same rows) and gets the same body,
`{"instances": [[5.1, 3.5, 1.4, 0.2]]}`, from wrk at concurrency 8 and 32:

- bare WSGI: a plain WSGI function under gunicorn (2 sync workers) that parses the JSON and
  answers a body of the app's size (benchmarks/peers_wsgi.py);
- bare Django: Django with no middleware and no apps, one view doing the same
  (benchmarks/bare_settings.py + benchmarks/floor_urls.py), gunicorn 2 sync workers;
- this app: `mlsite/gunicorn.conf.py` (2 workers), token auth, prediction log, metrics on;
- MLflow: `mlflow models serve -w 2 --env-manager local` of the same model fitted by
  scikit-learn, measured as shipped and with `Connection: close` (the better one counts);
- BentoML: a service with `workers=2` wrapping the same scikit-learn model.

MLflow and BentoML are installed by this script with uv, from the package registry, into
environments cached outside the repository (MLSERVE_PEERS_CACHE, by default
~/.cache/mlserve-peers); the first run downloads them. Per stack it prints requests per
second (median over the rounds), p99 at c=32, server CPU per request (user + system time of
the server's processes over the run, from /proc) and peak resident memory per worker, then
the issue's targets with PASS/FAIL, and the 1000-row batch against bare Django parsing the
same body.

    uv run python benchmarks/bench_peers.py [--seconds 8] [--rounds 3]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python benchmarks/bench_peers.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_serving import (
    ROOT,
    app_env,
    cpu_model,
    create_database,
    free_port,
    post,
    stop,
    trained_model_token,
)

PYTHON = sys.executable
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SINGLE = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
BATCH_ROWS = 1000
_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]
BODIES = {"single": SINGLE, "batch": {"instances": (_ROWS * BATCH_ROWS)[:BATCH_ROWS]}}
SKLEARN = "scikit-learn==1.7.2"
PEERS = {
    "mlflow": ["mlflow==3.17.2", SKLEARN],
    "bentoml": ["bentoml==1.4.40", SKLEARN],
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

IRIS = """
import sys
from sklearn.datasets import load_iris
data = load_iris()
names = {names!r}
with open(sys.argv[1], "w") as out:
    out.write(",".join([*names, "species"]) + "\\n")
    for row, label in zip(data.data, data.target):
        out.write(",".join(f"{{v:g}}" for v in row) + "," + data.target_names[label] + "\\n")
"""

MLFLOW_MODEL = """
import sys
import mlflow.sklearn
import pandas as pd
from sklearn.linear_model import LogisticRegression
frame = pd.read_csv(sys.argv[1])
model = LogisticRegression(max_iter=1000).fit(frame.iloc[:, :4].to_numpy(), frame["species"])
mlflow.sklearn.save_model(model, sys.argv[2])
"""

BENTO_SERVICE = """
import csv
import os

import bentoml
import numpy as np
from sklearn.linear_model import LogisticRegression


@bentoml.service(workers=2)
class Iris:
    def __init__(self) -> None:
        with open(os.environ["PEERS_IRIS_CSV"]) as f:
            rows = list(csv.reader(f))[1:]
        X = np.array([[float(v) for v in row[:4]] for row in rows])
        self.model = LogisticRegression(max_iter=1000).fit(X, [row[4] for row in rows])

    @bentoml.api
    def predict(self, instances: list[list[float]]) -> list[str]:
        return self.model.predict(np.asarray(instances)).tolist()
"""


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        raise SystemExit("uv is needed to build the peers' environments: run `make env` first")
    return found


def peer_python(name: str, cache: Path) -> Path:
    """The interpreter of the peer's environment, built once per pinned set."""
    pins = PEERS[name]
    env_dir = cache / f"{name}-{'-'.join(p.split('==')[1] for p in pins)}"
    ready = env_dir / ".ready"
    if not ready.exists():
        print(f"building the {name} environment in {env_dir} ...", file=sys.stderr)
        shutil.rmtree(env_dir, ignore_errors=True)
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        subprocess.run([uv(), "venv", "-q", "--python", PYTHON, str(env_dir)], check=True, env=env)
        subprocess.run(
            [uv(), "pip", "install", "-q", "--python", str(env_dir / "bin" / "python"), *pins],
            check=True,
            env=env,
        )
        ready.write_text(" ".join(pins))
    return env_dir / "bin" / "python"


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def cpu_seconds(pid: int) -> float:
    """User + system time of the process tree under `pid` (including reaped children)."""
    total = 0
    for each in descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / CLOCK_TICKS


def peak_rss_per_worker_mb(pid: int) -> float:
    """The largest peak resident memory (VmHWM) among the leaves of the tree: the workers."""
    peaks = []
    for each in descendants(pid):
        task = Path(f"/proc/{each}/task/{each}/children")
        try:
            if task.read_text().split():
                continue
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+)", status, re.M)
        if match:
            peaks.append(int(match.group(1)) / 1024)
    return max(peaks, default=0.0)


def wait_until_up(url: str, body: bytes, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {proc.returncode}")
        try:
            post(url, body, {"Content-Type": "application/json"})
            return
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):  # the app, asked without its token: it is up
                return
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def spawn(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        start_new_session=True,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A plain gunicorn (2 sync workers, no access log) for the floors."""
    cmd = [str(Path(PYTHON).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}"]
    cmd += ["--access-logfile", "/dev/null", "--log-level", "warning", app]
    return spawn(cmd, env, ROOT, log)


def wrk(url: str, body: Path, headers: dict[str, str], conns: int, seconds: float, workdir: Path):
    script = workdir / f"post-{abs(hash((url, tuple(headers.items()))))}.lua"
    lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    script.write_text(
        f'wrk.method = "POST"\nlocal f = io.open("{body}", "rb")\n'
        f'wrk.body = f:read("*all")\nf:close()\n{lines}'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(2, conns)),
            "-c",
            str(conns),
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
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        print(f"  warning: {url} c={conns}: {bad.group(0)}", file=sys.stderr)

    def pct(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p99": pct("99"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    cache = Path(
        os.environ.get("MLSERVE_PEERS_CACHE", Path.home() / ".cache" / "mlserve-peers")
    ).expanduser()
    pythons = {name: peer_python(name, cache) for name in PEERS}

    workdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    database_url, database, drop_database = create_database(workdir, "bench_peers")
    env = app_env(workdir, database_url)
    servers: dict[str, subprocess.Popen] = {}
    try:
        iris = workdir / "iris.csv"
        subprocess.run(
            [str(pythons["mlflow"]), "-c", IRIS.format(names=FEATURES), str(iris)], check=True
        )
        token = trained_model_token(env, workdir, iris.read_bytes(), name="iris", target="species")

        files = {}
        for kind, body in BODIES.items():
            files[kind] = workdir / f"{kind}.json"
            files[kind].write_text(json.dumps(body))
        json_headers = {"Content-Type": "application/json"}
        auth = {**json_headers, "Authorization": f"Bearer {token}"}

        ports = {name: free_port() for name in ("app", "wsgi", "django", "mlflow", "bentoml")}
        app_env_ = {
            **env,
            "WEB_CONCURRENCY": "2",
            "GUNICORN_BIND": f"127.0.0.1:{ports['app']}",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        servers["app"] = spawn(
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "mlsite/gunicorn.conf.py"],
            app_env_,
            ROOT,
            workdir / "app.log",
        )
        urls = {
            "app": f"http://127.0.0.1:{ports['app']}/api/v1/models/iris/predict",
            "wsgi": f"http://127.0.0.1:{ports['wsgi']}/",
            "django": f"http://127.0.0.1:{ports['django']}/floor/",
            "mlflow": f"http://127.0.0.1:{ports['mlflow']}/invocations",
            "bentoml": f"http://127.0.0.1:{ports['bentoml']}/predict",
        }
        wait_until_up(urls["app"], files["single"].read_bytes(), servers["app"])
        sizes = {k: len(post(urls["app"], files[k].read_bytes(), auth)) for k in files}
        floor_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLSERVE_"))},
            "FLOOR_RESPONSE_SIZES": json.dumps(sizes),
            "PYTHONPATH": str(ROOT),
        }
        servers["wsgi"] = gunicorn(
            "benchmarks.peers_wsgi:application", ports["wsgi"], floor_env, workdir / "wsgi.log"
        )
        servers["django"] = gunicorn(
            "django.core.wsgi:get_wsgi_application()",
            ports["django"],
            {**floor_env, "DJANGO_SETTINGS_MODULE": "benchmarks.bare_settings"},
            workdir / "django.log",
        )
        model_dir = workdir / "mlflow-model"
        subprocess.run(
            [str(pythons["mlflow"]), "-c", MLFLOW_MODEL, str(iris), str(model_dir)],
            check=True,
            cwd=workdir,
            env={**os.environ, "MLFLOW_TRACKING_URI": f"file://{workdir / 'mlruns'}"},
        )
        peer_env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": f"file://{workdir / 'mlruns'}",
            "BENTOML_DO_NOT_TRACK": "true",
            "BENTOML_HOME": str(workdir / "bentoml"),
            "PEERS_IRIS_CSV": str(iris),
        }
        servers["mlflow"] = spawn(
            [
                str(pythons["mlflow"].parent / "mlflow"),
                "models",
                "serve",
                "-m",
                str(model_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(ports["mlflow"]),
                "-w",
                "2",
                "--env-manager",
                "local",
            ],
            {**peer_env, "PATH": f"{pythons['mlflow'].parent}:{os.environ['PATH']}"},
            workdir,
            workdir / "mlflow.log",
        )
        (workdir / "service.py").write_text(BENTO_SERVICE)
        servers["bentoml"] = spawn(
            [
                str(pythons["bentoml"].parent / "bentoml"),
                "serve",
                "service:Iris",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["bentoml"]),
            ],
            {**peer_env, "PATH": f"{pythons['bentoml'].parent}:{os.environ['PATH']}"},
            workdir,
            workdir / "bentoml.log",
        )
        for name in ("wsgi", "django", "mlflow", "bentoml"):
            wait_until_up(urls[name] + ("single" if name == "django" else ""),
                          files["single"].read_bytes(), servers[name])  # fmt: skip

        stacks = [
            ("bare WSGI", "wsgi", urls["wsgi"], json_headers),
            ("bare Django", "django", urls["django"] + "single", json_headers),
            ("this app", "app", urls["app"], auth),
            ("MLflow", "mlflow", urls["mlflow"], json_headers),
            ("MLflow, Connection: close", "mlflow", urls["mlflow"],
             {**json_headers, "Connection": "close"}),
            ("BentoML", "bentoml", urls["bentoml"], json_headers),
        ]  # fmt: skip
        batch_stacks = [
            ("bare Django", "django", urls["django"] + "batch", json_headers),
            ("this app", "app", urls["app"], auth),
        ]
        results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
        for round_no in range(args.rounds):
            cases = [("single", c, stacks) for c in (8, 32)] + [("batch", 8, batch_stacks)]
            for kind, conns, targets in cases:
                shift = round_no % len(targets)
                for label, server, url, headers in targets[shift:] + targets[:shift]:
                    before = cpu_seconds(servers[server].pid)
                    stats = wrk(url, files[kind], headers, conns, args.seconds, workdir)
                    stats["cpu_us"] = (
                        (cpu_seconds(servers[server].pid) - before) / stats["requests"] * 1e6
                    )
                    results.setdefault((label, kind, conns), []).append(stats)
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
        rss = {label: peak_rss_per_worker_mb(servers[s].pid) for label, s, _, _ in stacks}
    finally:
        for proc in servers.values():
            stop(proc)
        drop_database()
        shutil.rmtree(workdir, ignore_errors=True)

    def med(label: str, key: str, conns: int, kind: str = "single") -> float:
        return statistics.median(r[key] for r in results[(label, kind, conns)])

    cpu = cpu_model()
    print(
        f"\nbench_peers: {cpu}, {os.cpu_count()} cores, this app on {database}, 2 workers each, "
        f"wrk {args.seconds:g} s x {args.rounds} rounds interleaved, medians; "
        f"{', '.join(PEERS['mlflow'][:1] + PEERS['bentoml'])}\n"
    )
    print(
        "| stack | 1-row req/s c=8 / c=32 | p99 ms c=32 | server CPU µs/req c=8 / c=32 "
        "| peak RSS per worker MB |"
    )
    print("|---|---|---|---|---|")
    for label, _, _, _ in stacks:
        print(
            f"| {label} | {med(label, 'rps', 8):,.0f} / {med(label, 'rps', 32):,.0f} | "
            f"{med(label, 'p99', 32):.1f} | {med(label, 'cpu_us', 8):,.0f} / "
            f"{med(label, 'cpu_us', 32):,.0f} | {rss[label]:.0f} |"
        )
    app, django = "this app", "bare Django"
    mlflow = {c: max(med("MLflow", "rps", c), med("MLflow, Connection: close", "rps", c))
              for c in (8, 32)}  # fmt: skip
    mlflow_rss = max(rss["MLflow"], rss["MLflow, Connection: close"])
    batch_ratio = med(app, "rps", 8, "batch") / med(django, "rps", 8, "batch")
    targets = [
        *(
            (f"1-row req/s vs bare Django, c={c}", med(app, "rps", c) / med(django, "rps", c),
             ">= 0.80", lambda r: r >= 0.80)
            for c in (8, 32)
        ),
        *(
            (f"1-row req/s vs MLflow (better of the two), c={c}", med(app, "rps", c) / mlflow[c],
             ">= 2.5", lambda r: r >= 2.5)
            for c in (8, 32)
        ),
        ("p99 vs bare Django, c=32", med(app, "p99", 32) / med(django, "p99", 32), "<= 2.0",
         lambda r: r <= 2.0),
        *(
            (f"server CPU per request vs bare Django, c={c}",
             med(app, "cpu_us", c) / med(django, "cpu_us", c), "<= 1.4", lambda r: r <= 1.4)
            for c in (8, 32)
        ),
        ("peak RSS per worker vs MLflow's", rss[app] / mlflow_rss, "<= 0.5", lambda r: r <= 0.5),
        (f"{BATCH_ROWS}-row batch rows/s vs bare Django parsing it, c=8", batch_ratio, ">= 0.80",
         lambda r: r >= 0.80),
    ]  # fmt: skip
    print(
        f"\n{BATCH_ROWS}-row batch, rows/s c=8: this app "
        f"{med(app, 'rps', 8, 'batch') * BATCH_ROWS:,.0f}, bare Django parsing the same body "
        f"{med(django, 'rps', 8, 'batch') * BATCH_ROWS:,.0f}\n"
    )
    print("| target | ratio | needed | result |")
    print("|---|---|---|---|")
    verdicts = []
    for name, ratio, needed, ok in targets:
        verdicts.append(ok(ratio))
        print(f"| {name} | {ratio:.2f} | {needed} | {'PASS' if ok(ratio) else 'FAIL'} |")
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
