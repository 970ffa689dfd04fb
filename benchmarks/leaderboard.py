"""Leaderboard wall time with 1 and 2 task workers: a 5-fold board of every classifier.

Real `manage.py db_worker` processes on a fresh SQLite database in a temporary folder (or a
PostgreSQL database with BENCH_DATABASE_URL=postgres://..., which is emptied first), each
ended by its process-group id. The same board (same data, seed and plan) is run once per
round with 1 worker, then with 2. The board's wall time runs from its first trial's start
to its `done` (the board's own started_at and finished_at); the time from the workers'
start (Django and the training stack imported) is shown beside it. Prints a markdown table
of the medians and the ratio (issue 17's target: 2 workers take at most 0.65x the time of
1).

    uv run python benchmarks/leaderboard.py [--rows 3000] [--n-iter 4] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TARGET = 0.65


def make_csv(rows: int) -> bytes:
    """Four non-negative numbers, one category with missing cells, a yes/no label."""
    rng = np.random.default_rng(0)
    X = rng.gamma(2.0, 2.0, size=(rows, 4))
    city = rng.choice(np.array(["north", "south", "east", "west", ""]), rows)
    logit = X[:, 0] - X[:, 1] + 0.5 * (city == "north") + rng.normal(size=rows)
    label = np.where(logit > 0, "yes", "no")
    lines = ["a,b,c,d,city,label"] + [
        ",".join(f"{v:.3f}" for v in row) + f",{c},{y}"
        for row, c, y in zip(X, city, label, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    workers = []
    for index in range(count):
        log = (logs / f"worker{index}.log").open("ab")
        command = [PYTHON, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.1"]
        workers.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        try:
            os.killpg(worker.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for worker in workers:
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(5)


def run_board(
    user, dataset, n_iter: int, count: int, env: dict[str, str], logs: Path
) -> tuple[float, float]:
    """(the board's wall time, the time from the workers' start to the board's end)."""
    from registry import services
    from registry.models import Leaderboard

    board = services.leaderboard_create(
        user=user, dataset=dataset, target="label", folds=5, n_iter=n_iter, seed=1
    )
    started = time.monotonic()
    workers = start_workers(count, env, logs)
    try:
        while Leaderboard.objects.get(pk=board.pk).status not in ("done", "failed", "cancelled"):
            time.sleep(0.2)
        took = time.monotonic() - started
    finally:
        stop(workers)
    board.refresh_from_db()
    assert board.status == "done", board.error
    return (board.finished_at - board.started_at).total_seconds(), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--n-iter", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-leaderboard-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'db.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": "benchmark-only",
        "MLSERVE_VAR_DIR": str(folder),
        "MLSERVE_USER_MAX_TRAININGS": "0",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsite.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from registry import services

    call_command("migrate", verbosity=0)
    if url.startswith("postgres"):
        call_command("flush", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user("bench")
    dataset = services.dataset_create(owner=user, data=make_csv(args.rows), name="bench")

    times: dict[int, list[float]] = {1: [], 2: []}
    totals: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.rounds):
        for count in (1, 2):
            board_s, total_s = run_board(user, dataset, args.n_iter, count, env, folder)
            times[count].append(board_s)
            totals[count].append(total_s)
            print(f"  {count} worker(s): board {board_s:.1f} s, {total_s:.1f} s", flush=True)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    total_one, total_two = statistics.median(totals[1]), statistics.median(totals[2])
    from registry.algorithms import ALGORITHMS

    classifiers = sum(a.kind == "classifier" for a in ALGORITHMS.values())
    trials = classifiers * (args.n_iter + 1)
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"\nleaderboard: {os.cpu_count()} cores, {database}, {args.rows} rows, "
        f"{classifiers} classifiers x {args.n_iter + 1} trials x 5 folds = {trials} trials, "
        f"{args.rounds} round(s), medians\n"
    )
    print("| workers | board wall s | ratio | from workers' start s | ratio | target | result |")
    print("|---|---|---|---|---|---|---|")
    print(f"| 1 | {one:.1f} | 1.00 | {total_one:.1f} | 1.00 | | |")
    result = "PASS" if two / one <= TARGET else "FAIL"
    print(
        f"| 2 | {two:.1f} | {two / one:.2f} | {total_two:.1f} | {total_two / total_one:.2f} "
        f"| <= {TARGET} | {result} |"
    )


if __name__ == "__main__":
    main()
