"""Rollout benchmark: single-row predict through an alias with a canary split, and through
one with a shadow, against plain serving, in the same sitting.

One gunicorn (2 sync workers, as bench_serving.py starts it) serves three models trained
alike, each with two ready versions: `plain` (production only), `canary` (production v1,
a canary v2 at 10%, split at random) and `shadow` (production v1, shadow v2: the log
writer scores every logged request with v2). wrk drives each at concurrency 8 and 32,
interleaved over the rounds (each round starts with another model); the medians, their
ratios to plain and the targets (canary >= 0.95x, shadow >= 0.85x) are printed, with the
shadow rows the log wrote.

    uv run python benchmarks/bench_canary.py [--seconds 5] [--rounds 3]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python benchmarks/bench_canary.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench_serving import (
    PYTHON,
    SINGLE_ROW,
    app_env,
    create_database,
    free_port,
    post,
    run,
    start_server,
    stop,
    synthetic_csv,
    wrk,
)

MODELS = ("plain", "canary", "shadow")

SETUP = """
import json, django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from registry import services
from registry.models import RegisteredModel
from registry.tokens import token_create
user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
dataset = services.dataset_create(owner=user, data=open({csv!r}, "rb").read(), name="bench")
for name in {models!r}:
    first = services.model_create_with_version(owner=user, name=name, dataset=dataset,
        algorithm="logistic_regression", target="label")
    services.version_create(model=first.model, user=user, dataset=dataset,
        algorithm="logistic_regression", target="label", params={{"C": 0.1}})
call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0, reload=False)
for name in {models!r}:
    services.alias_rollout(model=RegisteredModel.objects.get(name=name), name="production",
        version_number=1, canary=(2, 10) if name == "canary" else None,
        shadow=2 if name == "shadow" else None, user=user, via="api")
print(json.dumps({{"token": token_create(user=user, name="bench")[1]}}))
"""

COUNT_SHADOW = """
import django
django.setup()
from registry.models import PredictionLog
print(PredictionLog.objects.filter(role="shadow").count(), PredictionLog.objects.count())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="bench-canary-"))
    database_url, database, drop_database = create_database(workdir, "bench_canary")
    env = app_env(workdir, database_url)
    server = None
    try:
        csv_path = workdir / "bench.csv"
        csv_path.write_bytes(synthetic_csv())
        run([PYTHON, "manage.py", "migrate", "-v", "0"], env)
        setup = SETUP.format(csv=str(csv_path), models=MODELS)
        setup_env = {**env, "MLSERVE_USER_MAX_TRAININGS": "10"}  # six queued at once
        token = json.loads(run([PYTHON, "-c", setup], setup_env).stdout.strip().splitlines()[-1])
        token = token["token"]
        body = workdir / "single.json"
        body.write_text(json.dumps(SINGLE_ROW))
        port = free_port()
        server = start_server(env, port, "mlsite.settings")
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        url = f"http://127.0.0.1:{port}/api/v1/models/{{}}/predict"
        for name in MODELS:  # each loaded once before it is timed
            for _ in range(20):
                post(url.format(name), body.read_bytes(), auth)
        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        for round_no in range(args.rounds):
            for connections in (8, 32):
                shift = round_no % len(MODELS)
                for name in MODELS[shift:] + MODELS[:shift]:
                    stats = wrk(url.format(name), body, auth, connections, args.seconds, workdir)
                    results.setdefault((name, connections), []).append(stats)
                    time.sleep(1.0)  # the log writer's flush (and the shadow's) lands here
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
        time.sleep(2.0)
        shadow_rows, log_rows = map(int, run([PYTHON, "-c", COUNT_SHADOW], env).stdout.split()[-2:])
    finally:
        if server is not None:
            stop(server)
        drop_database()
        shutil.rmtree(workdir, ignore_errors=True)

    def med(name: str, c: int, key: str) -> float:
        return statistics.median(r[key] for r in results[(name, c)])

    print(
        f"\nbench_canary: {os.cpu_count()} cores, gunicorn 2 sync workers, {database}, "
        f"wrk {args.seconds:g} s x {args.rounds} rounds interleaved, medians, 1-row predict, "
        "prediction log at rate 1\n"
    )
    print("| alias | conc. | req/s | vs plain | p50 / p99 ms | target | result |")
    print("|---|---|---|---|---|---|---|")
    targets = {"plain": None, "canary": 0.95, "shadow": 0.85}
    verdicts = []
    for c in (8, 32):
        for name in MODELS:
            ratio = med(name, c, "rps") / med("plain", c, "rps")
            need = targets[name]
            ok = need is None or ratio >= need
            verdicts.append(ok)
            print(
                f"| {name} | {c} | {med(name, c, 'rps'):,.0f} | {ratio:.2f} | "
                f"{med(name, c, 'p50'):.2f} / {med(name, c, 'p99'):.2f} | "
                f"{f'>= {need:.2f}x' if need else ''} | "
                f"{('PASS' if ok else 'FAIL') if need else ''} |"
            )
    print(f"\nprediction log rows: {log_rows:,}, of which shadow rows: {shadow_rows:,}")
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
