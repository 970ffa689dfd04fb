"""What the single-row plan saves: in-process CPU per one-row call, planned and unplanned,
per algorithm, in the same run.

Trains every algorithm of the table (and the linear SVM) on a throwaway SQLite database:
the classifiers on iris (four numbers) and on the demo churn data (numbers, categories,
missing values), the regressors on the demo houses data, clustering and PCA on the demo
shoppers data. Then, per model, alternating in rounds, the same one-row JSON body through
the one serving entry (`serving.predict`: body -> table -> predict -> answer, observed;
the prediction log off, the same for both) with the version's plan and with it taken out
of the cache entry (the pipeline's path, as before the plan), and the model step alone
(`prep.transform` + the estimator against `plan.features` + the estimator). Prints CPU
microseconds per call (process time, median of the rounds) and the ratios planned /
unplanned.

    uv run python benchmarks/bench_plan.py [--calls 400] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.profile_predict import ROW as IRIS_ROW
from benchmarks.profile_predict import configure, iris_csv

ROOT = Path(__file__).resolve().parent.parent
CHURN_ROW = {
    "tenure_months": 3,
    "monthly_charges": None,
    "contract": "month-to-month",
    "internet": "fiber",
    "support_calls": 4,
}
HOUSES_ROW = {"size_m2": 80, "bedrooms": 3, "age_years": 20, "area": "suburb"}
SHOPPERS_ROW = {"age": 30, "monthly_spend": 40.0, "visits_per_month": 3.5}
# (dataset, target, one row by name) per data set; algorithms by kind below.
DATA = {
    "iris": (None, "species", IRIS_ROW),
    "churn": ("churn.csv", "churned", CHURN_ROW),
    "houses": ("houses.csv", "price", HOUSES_ROW),
    "shoppers": ("shoppers.csv", None, SHOPPERS_ROW),
}
MODELS = [
    # (algorithm, params, data set)
    *(
        (algorithm, params, data)
        for data in ("iris", "churn")
        for algorithm, params in [
            ("logistic_regression", {}),
            ("perceptron", {}),
            ("svm", {"kernel": "linear"}),
            ("svm", {}),
            ("gaussian_nb", {}),
            ("multinomial_nb", {}),
            ("knn_classifier", {}),
            ("decision_tree_classifier", {}),
        ]
        # churn has a negative column: multinomial naive Bayes refuses it
        if not (algorithm == "multinomial_nb" and data == "churn")
    ),
    ("linear_regression", {}, "houses"),
    ("knn_regressor", {}, "houses"),
    ("decision_tree_regressor", {}, "houses"),
    ("kmeans", {}, "shoppers"),
    ("gmm", {}, "shoppers"),
    ("pca", {}, "shoppers"),
]


def label(algorithm: str, params: dict) -> str:
    return algorithm + (f" ({params['kernel']})" if "kernel" in params else "")


def train_all() -> list[tuple[str, str, bytes]]:
    """(row label, model name, one-row body) per model, each trained to ready."""
    import orjson
    from django.contrib.auth import get_user_model

    from registry import services, training

    user = get_user_model().objects.create_user("bench-plan")
    datasets = {}
    out = []
    for i, (algorithm, params, data) in enumerate(MODELS):
        filename, target, row = DATA[data]
        if data not in datasets:
            raw = (
                iris_csv() if filename is None else (ROOT / "registry/demo" / filename).read_bytes()
            )
            datasets[data] = services.dataset_create(owner=user, data=raw, name=data)
        name = f"m{i}"
        version = services.model_create_with_version(
            owner=user,
            name=name,
            dataset=datasets[data],
            algorithm=algorithm,
            target=target,
            params=params,
        )
        assert training.train(version.pk) == "ready", (algorithm, data)
        out.append(
            (f"{label(algorithm, params)} / {data}", name, orjson.dumps({"instances": [row]}))
        )
    return out


def _set_plan(served, plan) -> None:
    """Put `plan` (None: the pipeline's path) in the version's cache entry."""
    from registry import serving

    cache = serving.pipeline_cache()
    key = (served.id, served.artifact_sha256)
    pipeline, _, size = cache._items[key]
    cache._items[key] = (pipeline, plan, size)


def per_call_us(fn, calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - started) / calls * 1e6


def measure(name: str, body: bytes, calls: int, rounds: int) -> dict[str, float]:
    from registry import serving
    from registry.algorithms import CLASSIFIER, DECOMPOSITION
    from registry.pipeline import estimator_of, preprocessing_of
    from registry.serving import bodies

    served = serving.resolve(name, version=1)
    pipeline, plan = serving.pipeline_cache().loaded(served)
    assert plan is not None, name
    table = bodies.request_table(served, body)
    prep, model = preprocessing_of(pipeline), estimator_of(pipeline)
    if served.kind == DECOMPOSITION:
        method = "transform"
    elif hasattr(model, "predict_proba") and served.kind == CLASSIFIER:
        method = "predict_with_proba"
    else:
        method = "predict"

    def entry() -> None:
        serving.predict(served, body, user=None, source="bench")

    def step_unplanned() -> None:
        getattr(model, method)(prep.transform(table))

    def step_planned() -> None:
        getattr(model, method)(plan.features(table))

    times: dict[str, list[float]] = {k: [] for k in ("entry0", "entry1", "step0", "step1")}
    for _ in range(20):  # warm both ways
        step_unplanned(), step_planned(), entry()
    for _ in range(rounds):
        _set_plan(served, None)
        times["entry0"].append(per_call_us(entry, calls))
        _set_plan(served, plan)
        times["entry1"].append(per_call_us(entry, calls))
        times["step0"].append(per_call_us(step_unplanned, calls))
        times["step1"].append(per_call_us(step_planned, calls))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per timed batch")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median)")
    args = parser.parse_args()
    import os
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="bench-plan-")
    try:
        os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
        configure(tmp, log=False)
        models = train_all()
        load = os.getloadavg()
        print(
            f"One-row predict in process, CPU us per call (process time), {args.calls} calls "
            f"x {args.rounds} alternating rounds, medians; load average at start "
            f"{load[0]:.2f}\n"
        )
        print(
            "| model / data | entry unplanned | entry planned | ratio "
            "| model step unplanned | model step planned | ratio |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for title, name, body in models:
            m = measure(name, body, args.calls, args.rounds)
            print(
                f"| {title} | {m['entry0']:.0f} | {m['entry1']:.0f} | {m['entry1'] / m['entry0']:.2f} "
                f"| {m['step0']:.1f} | {m['step1']:.1f} | {m['step1'] / m['step0']:.2f} |"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
