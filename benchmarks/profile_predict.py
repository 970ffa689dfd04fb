"""Where a single-row prediction's CPU goes: cProfile over the predict route, in one process.

Trains an iris logistic regression on a throwaway SQLite database, then calls the WSGI
application (`mlsite.wsgi.application`, the object gunicorn serves: the token middleware
stack, the ninja operation, the one serving entry) directly with a bearer token and a
one-row JSON body, N times, without gunicorn or a socket. Prints the CPU time per request,
then the functions with the most time of their own and the most time under them.

    uv run python benchmarks/profile_predict.py [--calls 5000] [--rows 1] [--top 30] [--log off]
        [--callers REGEX]

`--log on` (the default) keeps the prediction log at its default rate, as served; its
writer thread runs beside the profiled one (cProfile sees this thread only).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROW = {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1, "petal_width": 1.8}


def iris_csv() -> bytes:
    """The iris data as a CSV (scikit-learn's bundled copy: no download)."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    names = iris.target_names
    lines = [",".join([*IRIS_COLUMNS, "species"])]
    lines += [
        ",".join([*(f"{v:g}" for v in row), str(names[t])])
        for row, t in zip(iris.data, iris.target, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def configure(tmp: str, log: bool) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mlsite.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),  # a throwaway database, a throwaway key
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        MLSERVE_VAR_DIR=tmp,
        MLSERVE_MANIFEST_STATIC="0",
        MLSERVE_PREDICTION_LOG_RATE="1" if log else "0",
        DJANGO_LOG_LEVEL=os.environ.get("DJANGO_LOG_LEVEL", "INFO"),
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def train_iris(algorithm: str = "logistic_regression", name: str = "iris") -> str:
    """A ready version of `name` (v1) and a bearer token of its owner."""
    from django.contrib.auth import get_user_model

    from registry import services, training
    from registry.tokens import token_create

    user, _ = get_user_model().objects.get_or_create(username="bench")
    dataset = services.dataset_create(owner=user, data=iris_csv(), name=f"{name}-data")
    version = services.model_create_with_version(
        owner=user, name=name, dataset=dataset, algorithm=algorithm, target="species"
    )
    assert training.train(version.pk) == "ready", name
    return token_create(user=user, name="bench")[1]


def environ_for(token: str, body: bytes, path: str = "/api/v1/models/iris/versions/1/predict"):
    """A WSGI environ for one POST, as gunicorn hands it to the application."""

    def make() -> dict:
        return {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "localhost",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }

    return make


def call(application, make_environ) -> bytes:
    status: list[str] = []
    chunks = application(make_environ(), lambda s, headers, exc_info=None: status.append(s))
    body = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    if not status or not status[0].startswith("200"):
        raise SystemExit(f"predict answered {status[:1]}: {body[:300]!r}")
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--log", choices=("on", "off"), default="on", help="prediction log")
    parser.add_argument(
        "--callers", default="", help="also print who calls functions matching this regex"
    )
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="profile-predict-")
    try:
        configure(tmp, args.log == "on")
        import logging

        token = train_iris()
        from mlsite.wsgi import application

        # The request log line is written as served, to a file here (not the terminal).
        handler = logging.FileHandler(f"{tmp}/requests.log")
        logging.getLogger().handlers = [handler]
        import orjson

        rows = [list(ROW.values())] * args.rows
        make_environ = environ_for(token, orjson.dumps({"instances": rows}))
        for _ in range(200):  # warm: caches, the loaded pipeline, numpy's first calls
            call(application, make_environ)
        started = time.process_time()
        for _ in range(args.calls):
            call(application, make_environ)
        plain_us = (time.process_time() - started) / args.calls * 1e6
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.calls):
            call(application, make_environ)
        profile.disable()
        print(
            f"{args.rows}-row predict, iris logistic regression, {args.calls} calls, log {args.log}: "
            f"{plain_us:.0f} us CPU per request (process time, writer thread included, "
            "no profiler)\n"
        )
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.strip_dirs().sort_stats(order).print_stats(args.top)
            print(f"--- top {args.top} by {order} ---")
            print(out.getvalue().split("\n\n", 1)[-1].strip(), "\n")
        if args.callers:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_callers(args.callers)
            print(out.getvalue())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
