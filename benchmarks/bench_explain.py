"""What an explanation costs: one-row predictions in process, plain and with explain=True.

Trains, on a throwaway SQLite database, a linear regression and a decision tree regressor
on the demo houses data and a logistic regression and a decision tree classifier on the
demo churn data, then calls the one serving entry (`serving.predict`, the path the API,
the pages and the admin take, without HTTP) with one row, plain and explained, alternating,
and prints per model the median and p99 of each, the overhead (explained - plain) in ms
and the ratio. Issue 18's target: explaining a linear or tree model costs at most 5 ms
more than a plain prediction.

    .venv/bin/python benchmarks/bench_explain.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = [
    # (model name, demo file, algorithm, target, one row by name)
    (
        "linear",
        "houses.csv",
        "linear_regression",
        "price",
        {"size_m2": 80, "bedrooms": 3, "age_years": 20, "area": "suburb"},
    ),
    (
        "logistic",
        "churn.csv",
        "logistic_regression",
        "churned",
        {
            "tenure_months": 3,
            "monthly_charges": 95.0,
            "contract": "month-to-month",
            "internet": "fiber",
            "support_calls": 4,
        },
    ),
    (
        "tree-classifier",
        "churn.csv",
        "decision_tree_classifier",
        "churned",
        {
            "tenure_months": 3,
            "monthly_charges": 95.0,
            "contract": "month-to-month",
            "internet": "fiber",
            "support_calls": 4,
        },
    ),
    (
        "tree-regressor",
        "houses.csv",
        "decision_tree_regressor",
        "price",
        {"size_m2": 80, "bedrooms": 3, "age_years": 20, "area": "suburb"},
    ),
]


def configure(tmp: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mlsite.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),  # a throwaway database, a throwaway key
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        MLSERVE_VAR_DIR=tmp,
        MLSERVE_MANIFEST_STATIC="0",
        MLSERVE_PREDICTION_LOG_RATE="0",  # the log is the same for both: leave it out
        DJANGO_LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def train_all() -> None:
    from django.contrib.auth import get_user_model

    from registry import services, training

    user = get_user_model().objects.create_user("bench")
    datasets = {}
    for name, filename, algorithm, target, _ in MODELS:
        if filename not in datasets:
            data = (ROOT / "registry" / "demo" / filename).read_bytes()
            datasets[filename] = services.dataset_create(owner=user, data=data, name=filename)
        version = services.model_create_with_version(
            owner=user, name=name, dataset=datasets[filename], algorithm=algorithm, target=target
        )
        assert training.train(version.pk) == "ready", name


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(name: str, row: dict, calls: int) -> dict[str, float]:
    from registry import serving

    served = serving.resolve(name, version=1)
    timings: dict[bool, list[float]] = {False: [], True: []}
    for explain in (False, True) * 50:  # warm: the cache, numpy's first calls
        serving.predict(served, [row], user=None, source="bench", explain=explain)
    for _ in range(calls):
        for explain in (False, True):  # alternating: both see the same machine
            start = time.perf_counter()
            serving.predict(served, [row], user=None, source="bench", explain=explain)
            timings[explain].append((time.perf_counter() - start) * 1000)
    plain, explained = timings[False], timings[True]
    return {
        "plain_p50": statistics.median(plain),
        "plain_p99": percentile(plain, 0.99),
        "explain_p50": statistics.median(explained),
        "explain_p99": percentile(explained, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls of each kind per model")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-explain-")
    try:
        configure(tmp)
        train_all()
        print(f"One-row predict in process, {args.calls} calls of each, alternating (ms)\n")
        print(
            "| model | plain p50 | plain p99 | explain p50 | explain p99 "
            "| overhead p50 | overhead p99 | ratio p50 |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, _, algorithm, _, row in MODELS:
            m = measure(name, row, args.calls)
            print(
                f"| {name} ({algorithm}) | {m['plain_p50']:.3f} | {m['plain_p99']:.3f} "
                f"| {m['explain_p50']:.3f} | {m['explain_p99']:.3f} "
                f"| {m['explain_p50'] - m['plain_p50']:.3f} "
                f"| {m['explain_p99'] - m['plain_p99']:.3f} "
                f"| {m['explain_p50'] / m['plain_p50']:.2f} |"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
