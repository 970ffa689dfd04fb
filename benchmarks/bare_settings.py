"""Bare Django for bench_peers.py: no apps, no middleware, no database, one bare view."""

SECRET_KEY = "bench-peers-only"  # noqa: S105 (a throwaway server on loopback)
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "benchmarks.floor_urls"
DATABASES: dict = {}
USE_TZ = True
