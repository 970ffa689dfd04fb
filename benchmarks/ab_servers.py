"""Variants of the app side by side, with bare Django as the floor: the A/B behind a serving change.

Each variant is a gunicorn server of the app (2 sync workers, as `mlsite/gunicorn.conf.py`)
with its own environment, its own code (a checkout of another commit: `git worktree add`) or
its own copy of the database altered by SQL; every server serves the same iris logistic
regression from the same PostgreSQL database (or its copy), and wrk sends each in turn the
same body at c=8, the order shifted every round. Per variant it prints the medians of
requests per second and its ratio to the floor, the CPU per request of its gunicorn
processes, of PostgreSQL's processes (backends that ended included) and of the whole machine.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    uv run python benchmarks/ab_servers.py --rounds 6 --kinds batch --variants '{
        "now": {},
        "before": {"root": "/tmp/before", "sql": "ALTER TABLE ..."},
        "log off": {"env": {"MLSERVE_PREDICTION_LOG_RATE": "0"}}}'

A variant's `root` must have the same migrations as this checkout (the database is migrated
once, by this one); `sql` runs on a copy of the database made after the model is trained.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_peers import (
    BODIES,
    CLOCK_TICKS,
    FEATURES,
    PYTHON,
    cpu_seconds,
    gunicorn,
    spawn,
    wait_until_up,
    wrk,
)
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

# Four features of a flower and its species: enough rows for a model, no scikit-learn needed.
IRIS = [
    ([5.1, 3.5, 1.4, 0.2], "setosa"),
    ([4.9, 3.0, 1.4, 0.2], "setosa"),
    ([5.4, 3.9, 1.7, 0.4], "setosa"),
    ([7.0, 3.2, 4.7, 1.4], "versicolor"),
    ([6.4, 3.2, 4.5, 1.5], "versicolor"),
    ([5.7, 2.8, 4.1, 1.3], "versicolor"),
    ([6.3, 3.3, 6.0, 2.5], "virginica"),
    ([7.1, 3.0, 5.9, 2.1], "virginica"),
    ([6.5, 3.0, 5.8, 2.2], "virginica"),
] * 10


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent working (not idle, not waiting for I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server's main process (its CPU tree holds the ended backends' too), or
    None on SQLite."""
    if not database_url.startswith("postgres"):
        return None
    data = subprocess.run(
        ["psql", database_url, "-Atc", "SHOW data_directory"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return int((Path(data) / "postmaster.pid").read_text().split()[0])


def clone_database(url: str, name: str, sql: str) -> str:
    """A copy of the database at `url` named after it and `name`, altered by `sql`."""
    base, source = url.rsplit("/", 1)
    target = f"{source}_{name}"
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {target} TEMPLATE {source}"], check=True)
    subprocess.run(["psql", f"{base}/{target}", "-qc", sql], check=True)
    return f"{base}/{target}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default='{"this checkout": {}}', help="JSON, see above")
    parser.add_argument("--kinds", default="single,batch", help="bodies: single, batch")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians)")
    args = parser.parse_args()
    variants: dict[str, dict] = json.loads(args.variants)
    kinds = args.kinds.split(",")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    if not os.environ.get("BENCH_DATABASE_URL") and any(v.get("sql") for v in variants.values()):
        raise SystemExit("a variant with `sql` needs BENCH_DATABASE_URL (PostgreSQL)")

    workdir = Path(tempfile.mkdtemp(prefix="ab-servers-"))
    database_url, database, drop_database = create_database(workdir, "ab_servers")
    env = app_env(workdir, database_url)
    servers: dict[str, subprocess.Popen] = {}
    clones: list[str] = []
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    postmaster = postmaster_pid(database_url)

    def postgres_seconds() -> float:
        return cpu_seconds(postmaster) if postmaster else 0.0

    try:
        csv = ",".join([*FEATURES, "species"]) + "\n"
        csv += "".join(",".join(map(str, row)) + f",{label}\n" for row, label in IRIS)
        token = trained_model_token(env, workdir, csv.encode(), name="iris", target="species")
        files = {}
        for kind in kinds:
            files[kind] = workdir / f"{kind}.json"
            files[kind].write_text(json.dumps(BODIES[kind]))
        auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        urls: dict[str, tuple[str, dict[str, str]]] = {}
        for name, spec in variants.items():
            port = free_port()
            variant_env = {**env, **spec.get("env", {})}
            if spec.get("sql"):
                clones.append(clone_database(database_url, f"v{len(clones)}", spec["sql"]))
                variant_env["DATABASE_URL"] = clones[-1]
            variant_env |= {
                "WEB_CONCURRENCY": "2",
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "DJANGO_LOG_LEVEL": "WARNING",
            }
            servers[name] = spawn(
                [str(Path(PYTHON).parent / "gunicorn"), "-c", "mlsite/gunicorn.conf.py"],
                variant_env,
                Path(spec.get("root", ROOT)),
                workdir / f"variant{len(servers)}.log",
            )
            urls[name] = (f"http://127.0.0.1:{port}/api/v1/models/iris/predict", auth)
        for name in variants:
            wait_until_up(urls[name][0], files[kinds[0]].read_bytes(), servers[name])
        first = urls[next(iter(variants))][0]
        sizes = {kind: len(post(first, files[kind].read_bytes(), auth)) for kind in kinds}
        floor_port = free_port()
        floor_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLSERVE_"))},
            "FLOOR_RESPONSE_SIZES": json.dumps(sizes),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "benchmarks.bare_settings",
        }
        servers["floor"] = gunicorn(
            "django.core.wsgi:get_wsgi_application()", floor_port, floor_env, workdir / "floor.log"
        )
        floor_url = f"http://127.0.0.1:{floor_port}/floor/"
        wait_until_up(floor_url + kinds[0], files[kinds[0]].read_bytes(), servers["floor"])
        names = [*variants, "floor"]
        for round_no in range(args.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for kind in kinds:
                for name in order:
                    url, headers = urls.get(name, (floor_url + kind, auth))
                    before = (cpu_seconds(servers[name].pid), postgres_seconds())
                    busy = machine_busy_seconds()
                    stats = wrk(url, files[kind], headers, 8, args.seconds, workdir)
                    n = stats["requests"]
                    stats["cpu_us"] = (cpu_seconds(servers[name].pid) - before[0]) / n * 1e6
                    stats["pg_us"] = (postgres_seconds() - before[1]) / n * 1e6
                    stats["machine_us"] = (machine_busy_seconds() - busy) / n * 1e6
                    results.setdefault((name, kind), []).append(stats)
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        for proc in servers.values():
            stop(proc)
        for clone in clones:
            subprocess.run(
                ["psql", database_url, "-qc", f"DROP DATABASE IF EXISTS {clone.rsplit('/', 1)[1]}"]
            )
        drop_database()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"\nab_servers: {cpu_model()}, {os.cpu_count()} cores, {database}, 2 sync workers each, "
        f"wrk c=8 {args.seconds:g} s x {args.rounds} rounds interleaved, medians, "
        f"{time.strftime('%Y-%m-%d')}\n"
    )
    print(
        "| body | server | req/s (each round) | req/s | vs floor | CPU µs/req: server / PostgreSQL / machine |"
    )
    print("|---|---|---|---|---|---|")
    for kind in kinds:
        floor = statistics.median(r["rps"] for r in results[("floor", kind)])
        for name in names:
            runs = results[(name, kind)]
            rps = statistics.median(r["rps"] for r in runs)
            each = " ".join(f"{r['rps']:.0f}" for r in runs)
            cpu = " / ".join(
                f"{statistics.median(r[key] for r in runs):,.0f}"
                for key in ("cpu_us", "pg_us", "machine_us")
            )
            print(f"| {kind} | {name} | {each} | {rps:,.0f} | {rps / floor:.2f} | {cpu} |")


if __name__ == "__main__":
    main()
