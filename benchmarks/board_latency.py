"""Single-row predict latency while a leaderboard runs on the same machine, against idle.

Starts on loopback gunicorn with 2 sync workers serving this app (bench_serving's server
and trained model) and one real `manage.py db_worker` (leaderboard's), both on the same
fresh database: SQLite in a temporary folder, or a PostgreSQL database created beside
BENCH_DATABASE_URL's (and dropped). wrk drives single-row predict at concurrency 8, idle
and while a board of every classifier runs, interleaved over --rounds (each round starts
with the other case). For each board phase a new board is created through the services,
the measurement starts once its first trial's child runs, and the board is cancelled
after it; the next idle phase waits until the worker has no child left. A sampler notes
whether the worker had a training child all along, and the board must still be running
at the end of its phase (otherwise the board was too small: raise --rows or --n-iter),
else the exit status is 1. Prints a markdown table of the medians and the p99 ratio.

Training children run niced (registry/tasks.py CHILD_NICENESS); this measures what that
buys the web servers.

    uv run python benchmarks/board_latency.py [--seconds 8] [--rounds 3] [--rows 20000] [--n-iter 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_serving import (  # noqa: E402
    SINGLE_ROW,
    app_env,
    create_database,
    free_port,
    post,
    start_server,
    stop,
    trained_model_token,
    wrk,
)
from benchmarks.leaderboard import make_csv, start_workers  # noqa: E402
from benchmarks.leaderboard import stop as stop_workers  # noqa: E402

CONNECTIONS = 8


def children(pid: int) -> list[int]:
    """The processes `pid` forked (its training children), from every thread of it."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def niceness(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[16])  # field 19 of stat: nice


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.1)


class Sampler(threading.Thread):
    """Samples, while wrk runs, whether the worker has a training child and its niceness."""

    def __init__(self, worker_pid: int) -> None:
        super().__init__(daemon=True)
        self.worker_pid = worker_pid
        self.samples = 0
        self.busy = 0
        self.nice: dict[int, int] = {}  # each child's last niceness (0 until it renices)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            kids = children(self.worker_pid)
            self.samples += 1
            self.busy += bool(kids)
            for kid in kids:
                if (value := niceness(kid)) is not None:
                    self.nice[kid] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument("--rows", type=int, default=20000, help="rows of the board's dataset")
    parser.add_argument("--n-iter", type=int, default=10, help="random configurations each")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="bench-board-latency-"))
    database_url, database, drop_database = create_database(workdir, "bench_board_latency")
    # No per-user cap: a cancelled board's trials may still be finishing as the next starts.
    env = {**app_env(workdir, database_url), "MLSERVE_USER_MAX_TRAININGS": "0"}
    server = None
    workers = []
    results: dict[str, list[dict[str, float]]] = {"idle": [], "board": []}
    busy: list[float] = []
    nice: set[int] = set()
    still_running: list[bool] = []
    trials_done = 0
    try:
        token = trained_model_token(env, workdir)
        os.environ.update(env)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.db import connections

        from registry import services
        from registry.models import Leaderboard, Trial

        user = get_user_model().objects.get(username="bench")
        dataset = services.dataset_create(owner=user, data=make_csv(args.rows), name="board")
        connections.close_all()

        port = free_port()
        server = start_server(env, port, "mlsite.settings")
        workers = start_workers(1, env, workdir)
        worker_pid = workers[0].pid
        url = f"http://127.0.0.1:{port}/api/v1/models/bench/predict"
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = workdir / "single.json"
        body.write_text(json.dumps(SINGLE_ROW))
        post(url, body.read_bytes(), auth)  # raises unless the model answers
        wrk(url, body, auth, CONNECTIONS, 1, workdir)  # warm-up, not kept

        def measure_idle() -> None:
            wait_for(lambda: not children(worker_pid), 60, "the worker's children to end")
            results["idle"].append(wrk(url, body, auth, CONNECTIONS, args.seconds, workdir))

        def measure_board() -> None:
            nonlocal trials_done
            board = services.leaderboard_create(
                user=user, dataset=dataset, target="label", folds=5, n_iter=args.n_iter, seed=1
            )
            wait_for(lambda: children(worker_pid), 120, "the board's first trial to start")
            sampler = Sampler(worker_pid)
            sampler.start()
            try:
                results["board"].append(wrk(url, body, auth, CONNECTIONS, args.seconds, workdir))
            finally:
                sampler.done.set()
                sampler.join()
            board.refresh_from_db()
            still_running.append(board.status == Leaderboard.Status.RUNNING)
            busy.append(sampler.busy / max(1, sampler.samples))
            nice.update(sampler.nice.values())
            trials_done += Trial.objects.filter(leaderboard=board, status=Trial.Status.DONE).count()
            if board.status in (Leaderboard.Status.QUEUED, Leaderboard.Status.RUNNING):
                services.leaderboard_cancel(board=board, user=user)
            connections.close_all()

        for round_no in range(args.rounds):
            phases = [measure_idle, measure_board]
            for phase in phases if round_no % 2 == 0 else phases[::-1]:
                phase()
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        stop_workers(workers)
        if server is not None:
            stop(server)
        drop_database()
        shutil.rmtree(workdir, ignore_errors=True)

    def med(case: str, key: str) -> float:
        return statistics.median(r[key] for r in results[case])

    print(
        f"\nboard_latency: {os.cpu_count()} cores, gunicorn 2 sync workers + 1 db_worker, "
        f"{database}, single-row predict at concurrency {CONNECTIONS}, wrk {args.seconds:g} s "
        f"x {args.rounds} rounds interleaved, medians; board: every classifier, 5 folds, "
        f"{args.n_iter + 1} trials each, {args.rows} rows\n"
    )
    print("| case | req/s | p50 ms | p99 ms | p99 ratio |")
    print("|---|---|---|---|---|")
    idle_p99 = med("idle", "p99")
    for case, label in (("idle", "idle"), ("board", "during a board")):
        print(
            f"| {label} | {med(case, 'rps'):,.0f} | {med(case, 'p50'):.2f} | "
            f"{med(case, 'p99'):.2f} | {med(case, 'p99') / idle_p99:.2f} |"
        )
    nices = ", ".join(str(n) for n in sorted(nice)) or "none seen"
    print(
        f"\nduring the board phases: a training child ran in {min(busy):.0%}-{max(busy):.0%} "
        f"of the samples (niceness {nices}), {trials_done} trials finished; every board "
        f"still running at the end of its phase: {'yes' if all(still_running) else 'NO'}"
    )
    if not all(still_running):
        print("a board ended before its measurement did: raise --rows or --n-iter")
        sys.exit(1)


if __name__ == "__main__":
    main()
