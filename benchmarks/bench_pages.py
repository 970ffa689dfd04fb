"""Render time of each listing page with 50 models x 10 versions: a benchmark, not a test.

Builds a throwaway SQLite database in a temporary directory (migrated, then filled in bulk
with realistic rows: 50 KB artifacts and 100 KB of plots per version, which listings must
never load), signs a user in with Django's test client, and prints for each page the
median and 90th-percentile render time over the repeats, its query count and its size.
Issue 7's target: every listing page under 200 ms.

    .venv/bin/python benchmarks/bench_pages.py [--models 50] [--versions 10] [--repeats 30]
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


def configure(tmp: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mlsite.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),  # a throwaway database, a throwaway key
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        MLSERVE_VAR_DIR=tmp,
        MLSERVE_MANIFEST_STATIC="0",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_ALLOWED_HOSTS="testserver",  # the test client's host name
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    # No setup_test_environment(): its template instrumentation would be measured too.
    call_command("migrate", verbosity=0)


def fill(n_models: int, n_versions: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from registry import services, tokens
    from registry.models import Alias, ModelVersion, RegisteredModel

    user = get_user_model().objects.create_user("bench")  # no password: force_login
    churn = (ROOT / "registry" / "demo" / "churn.csv").read_bytes()
    for i in range(n_models):
        services.dataset_create(owner=user, data=churn, name=f"churn-{i:03d}")
    features = [
        {"name": "tenure_months", "type": "number", "min": 1.0, "max": 72.0, "mean": 30.0},
        {"name": "contract", "type": "category", "categories": ["month-to-month", "one-year"]},
    ]
    svg = "<svg xmlns='http://www.w3.org/2000/svg'>" + "<path d='M0 0L1 1'/>" * 4000 + "</svg>"
    metrics = {
        "accuracy": 0.83,
        "f1_macro": 0.8,
        "confusion_matrix": {"labels": ["no", "yes"], "matrix": [[50, 10], [8, 52]]},
        "n_train": 480,
        "n_test": 120,
    }
    models = RegisteredModel.objects.bulk_create(
        RegisteredModel(name=f"model-{i:03d}", owner=user, description=f"Benchmark model {i}")
        for i in range(n_models)
    )
    now = timezone.now()
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(
            model=model,
            version=v,
            algorithm="logistic_regression",
            params={"C": 1.0, "max_iter": 100, "tol": 0.0001},
            dataset_name="churn",
            dataset_sha256="0" * 64,
            target="churned",
            features=features,
            classes=["no", "yes"],
            status="ready" if v < n_versions else "running",
            progress=100 if v < n_versions else 40,
            metrics=metrics if v < n_versions else {},
            loss_curve=[1.0 / (i + 1) for i in range(200)],
            plots={"confusion_matrix": svg, "loss_curve": svg} if v < n_versions else {},
            artifact=b"\0" * 50_000 if v < n_versions else None,
            artifact_sha256="1" * 64,
            created_by=user,
            heartbeat_at=now,
        )
        for model in models
        for v in range(1, n_versions + 1)
    )
    first = {v.model_id: v for v in versions if v.version == 1}
    Alias.objects.bulk_create(
        Alias(model=m, name="production", version=first[m.pk], updated_by=user) for m in models
    )
    for i in range(10):
        tokens.token_create(user=user, name=f"token {i}")
    return user, models[0]


def measure(client, url: str, repeats: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm up: templates compiled, caches filled
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return times, len(queries), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-pages-")
    try:
        configure(tmp)
        user, model = fill(args.models, args.versions)
        from django.test import Client

        client = Client()
        client.force_login(user)
        pages = [
            ("dashboard", "/"),
            ("model list (page 1)", "/models/"),
            (f"model detail ({args.versions} versions)", f"/models/{model.name}/"),
            ("dataset list", "/datasets/"),
            ("API tokens", "/tokens/"),
            ("version detail (for scale)", f"/models/{model.name}/versions/1/"),
        ]
        total = args.models * args.versions
        print(
            f"SQLite, {args.models} models x {args.versions} versions ({total} versions), "
            f"{args.models} datasets; {args.repeats} repeats after 3 warm-ups, Django test client"
        )
        print(f"{'page':<34} {'median ms':>10} {'p90 ms':>8} {'queries':>8} {'KB':>7}")
        for name, url in pages:
            times, queries, size = measure(client, url, args.repeats)
            p90 = statistics.quantiles(times, n=10)[-1]
            print(
                f"{name:<34} {statistics.median(times):>10.1f} {p90:>8.1f} {queries:>8} "
                f"{size / 1024:>7.1f}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
