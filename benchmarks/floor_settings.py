"""The framework floor for bench_serving.py: this app's settings and middleware, one bare view."""

from mlsite.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.floor_urls"
