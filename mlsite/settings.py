"""Settings for every environment, read from the environment (12-factor).

Development defaults are safe: SQLite under var/, debug off unless asked for.
Production sets DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and friends.
"""

import socket
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from mlsite.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MLSERVE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=1 for local development. `make run` does this for you."
        )
    SECRET_KEY = "django-insecure-debug-only-key-never-used-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # registry first: its db_worker command (with the stale-training reaper) wins.
    "registry",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs' assets from our own static files (no CDN)
    "axes",  # login throttling (see "Sign-in throttling" below)
    "csp",
]

MIDDLEWARE = [
    "mlsite.middleware.RequestLogMiddleware",
    # Ahead of the body limit, so that its 400/413 pages carry the security headers too.
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mlsite.middleware.BodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "mlsite.middleware.DatabaseUnavailableMiddleware",
    "mlsite.middleware.DatabaseConflictMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: the lockout page
]

ROOT_URLCONF = "mlsite.urls"
WSGI_APPLICATION = "mlsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, else an SQLite file under var/. A short connect timeout makes
# requests fail fast (503) while the database is down instead of hanging.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'mlserving.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite is shared by the web server and the worker: wait for locks, write-ahead log.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file (not memory) so worker and server processes started by tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
MLSERVE_ALLOW_SIGNUP = env_bool("MLSERVE_ALLOW_SIGNUP", False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or not env_bool("MLSERVE_MANIFEST_STATIC", True)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Without collectstatic (make run, tests) whitenoise finds files through the finders.
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site's root (/favicon.ico), served as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# Security: production-grade by default; relaxed only for plain-HTTP local serving.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The load balancer's health checks speak plain HTTP to the instance.
SECURE_REDIRECT_EXEMPT = [r"^healthz\Z", r"^readyz\Z"]
if env_bool("DJANGO_BEHIND_PROXY", False):
    # The load balancer terminates TLS and says so in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
# How many proxies append to X-Forwarded-For (mlsite/login_throttle.py); 0 when not behind
# one, where the header is ignored. Elastic Beanstalk: the load balancer and nginx.
MLSERVE_PROXY_COUNT = (
    env_int("DJANGO_PROXY_COUNT", 2, minimum=1) if env_bool("DJANGO_BEHIND_PROXY", False) else 0
)

# Content-Security-Policy on every response (django-csp): the pages use no inline script,
# style or event handler, and load nothing from another origin (tests/security). A view
# may tighten it (the plot SVGs) with csp.decorators.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Sign-in throttling (django-axes). A username, or an address, with
# MLSERVE_LOGIN_FAILURE_LIMIT failed sign-ins within MLSERVE_LOGIN_COOLOFF_MINUTES is locked
# out for that long (each further failure restarts the wait), through the sign-in page and
# the admin's alike: per username stops guessing one password from many addresses, per
# address stops trying many usernames from one. The price is that someone who knows a
# username can keep it locked out of the pages; its API tokens keep working, and an admin
# unlocks it (admin "Access attempts", or `manage.py axes_reset_username NAME`). Attempts are
# stored in the database, so every server counts the same failures. A successful sign-in
# does not reset the count: that would let anyone with an account reset their address's.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out attempts
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("MLSERVE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("MLSERVE_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "mlsite.login_throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "mlsite.login_throttle.lockout_response"  # 429 + Retry-After
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429

# Limits that protect the server.
MLSERVE_MAX_UPLOAD_MB = env_int("MLSERVE_MAX_UPLOAD_MB", 50, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = MLSERVE_MAX_UPLOAD_MB * 1024 * 1024 + 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
MLSERVE_MAX_ROWS = env_int("MLSERVE_MAX_ROWS", 2_000_000, minimum=2)
# A category feature with more distinct values is refused at training request time: its
# one-hot width multiplies the model's size (a 15,000-value id column made a 1.1 GB k-NN).
MLSERVE_MAX_CATEGORIES = env_int("MLSERVE_MAX_CATEGORIES", 1000, minimum=1)
MLSERVE_TRAIN_TIMEOUT_S = env_float("MLSERVE_TRAIN_TIMEOUT_S", 1800.0, minimum=1.0)
MLSERVE_TRAIN_MAX_MEMORY_MB = env_int("MLSERVE_TRAIN_MAX_MEMORY_MB", 4096)  # 0: no limit
# A running training whose heartbeat is older than this lost its worker: retried once, then failed.
MLSERVE_STALE_TRAINING_S = env_float("MLSERVE_STALE_TRAINING_S", 30.0, minimum=1.0)
MLSERVE_REAP_INTERVAL_S = env_float("MLSERVE_REAP_INTERVAL_S", 10.0, minimum=0.1)
# A training child that sends no heartbeat from inside its work (progress steps, iteration
# reports) for this long is stuck (a lock inherited through fork, a hung call): the worker
# kills it and trains again, once, then fails the version; 0 turns the watchdog off.
MLSERVE_TRAIN_STALL_S = env_float("MLSERVE_TRAIN_STALL_S", 120.0)
MLSERVE_MODEL_CACHE_MB = env_int("MLSERVE_MODEL_CACHE_MB", 512, minimum=1)
MLSERVE_MAX_PREDICT_ROWS = env_int("MLSERVE_MAX_PREDICT_ROWS", 100_000, minimum=1)
# Most rows one evaluation scores, counted once per version evaluated (registry/evaluation/):
# a dataset of 400,000 rows can compare five versions under the default.
MLSERVE_MAX_EVALUATION_ROWS = env_int("MLSERVE_MAX_EVALUATION_ROWS", 2_000_000, minimum=1)
# Most estimated work in one prediction request (rows x the model's cost per row, about one
# multiply-add per unit; registry/algorithms.py): over it, 413 saying how many rows would fit.
# The default is a few seconds of one core for a k-NN model; 0 turns it off.
MLSERVE_MAX_PREDICT_COST = env_int("MLSERVE_MAX_PREDICT_COST", 20_000_000_000)
# Background batch scoring (registry/batchjobs/): a file larger than a request may carry is
# uploaded once, stored in the database in chunks, and scored by the task workers a chunk
# (one predict request's worth of rows) at a time.
MLSERVE_MAX_BATCH_UPLOAD_MB = env_int("MLSERVE_MAX_BATCH_UPLOAD_MB", 500, minimum=1)
MLSERVE_MAX_BATCH_ROWS = env_int("MLSERVE_MAX_BATCH_ROWS", 5_000_000, minimum=1)
MLSERVE_BATCH_CHUNK_ROWS = env_int("MLSERVE_BATCH_CHUNK_ROWS", 10_000, minimum=1)
# Queued or running batch jobs one user may have (0: no limit).
MLSERVE_USER_MAX_BATCH_JOBS = env_int("MLSERVE_USER_MAX_BATCH_JOBS", 2)
# Most rows one prediction request may have explained (?explain=true, the page's Explain,
# batch reasons): over it, 413 before any of it runs.
MLSERVE_MAX_EXPLAIN_ROWS = env_int("MLSERVE_MAX_EXPLAIN_ROWS", 1000, minimum=1)
# A request still running after this many seconds is answered 503 (mlsite/errors.py), a few
# seconds before gunicorn's timeout (GUNICORN_TIMEOUT, mlsite/gunicorn.conf.py) kills the
# worker; 0 turns it off.
GUNICORN_TIMEOUT = env_int("GUNICORN_TIMEOUT", 60)
MLSERVE_REQUEST_DEADLINE_S = env_float(
    "MLSERVE_REQUEST_DEADLINE_S", max(1.0, GUNICORN_TIMEOUT - 5.0) if GUNICORN_TIMEOUT else 0.0
)
if GUNICORN_TIMEOUT and MLSERVE_REQUEST_DEADLINE_S >= GUNICORN_TIMEOUT:
    raise ImproperlyConfigured(
        f"MLSERVE_REQUEST_DEADLINE_S={MLSERVE_REQUEST_DEADLINE_S:g} must be shorter than "
        f"GUNICORN_TIMEOUT={GUNICORN_TIMEOUT}, or the worker is killed before it answers."
    )

# Address-space cap of each gunicorn web worker (RLIMIT_AS, set at fork by
# mlsite/gunicorn.conf.py): a request that needs more fails alone, with a 503 problem
# (mlsite/errors.py), instead of taking the machine's memory from every worker. A warmed
# worker maps about 500 MB. On by default with debug off; 0: no cap.
MLSERVE_WEB_MAX_MEMORY_MB = env_int("MLSERVE_WEB_MAX_MEMORY_MB", 0 if DEBUG else 2048)
if 0 < MLSERVE_WEB_MAX_MEMORY_MB < 256:
    raise ImproperlyConfigured(
        f"MLSERVE_WEB_MAX_MEMORY_MB={MLSERVE_WEB_MAX_MEMORY_MB} is too small for a worker to "
        "start: use 0 (no cap) or at least 256."
    )

# What one user may store or queue (registry/services.py; superusers are exempt, 0 is no limit):
# the bytes of their datasets (413 over it) and their number of models (429).
MLSERVE_USER_MAX_DATASET_MB = env_int("MLSERVE_USER_MAX_DATASET_MB", 1024)
MLSERVE_USER_MAX_MODELS = env_int("MLSERVE_USER_MAX_MODELS", 100)
# Trainings one user may have queued or running at once (429 over it).
MLSERVE_USER_MAX_TRAININGS = env_int("MLSERVE_USER_MAX_TRAININGS", 4)

# API tokens (registry/tokens.py): the longest life a new token may have (a token made without
# an expiry gets this one; 0: tokens may live until revoked), and how often, at most, a
# token's last use (time and address) is written, so that serving does not write per request.
MLSERVE_TOKEN_MAX_DAYS = env_int("MLSERVE_TOKEN_MAX_DAYS", 365)
MLSERVE_TOKEN_LAST_USED_INTERVAL_S = env_float(
    "MLSERVE_TOKEN_LAST_USED_INTERVAL_S", 60.0, minimum=0.0
)

# Operations (registry/monitoring/, registry/monitoring/predlog.py). /metrics answers a request
# with `Authorization: Bearer <MLSERVE_METRICS_TOKEN>` when a token is set, else only
# clients whose address (see MLSERVE_PROXY_COUNT) is in MLSERVE_METRICS_ALLOW.
MLSERVE_METRICS_TOKEN = env_str("MLSERVE_METRICS_TOKEN")
if MLSERVE_METRICS_TOKEN and len(MLSERVE_METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("MLSERVE_METRICS_TOKEN is too short: use at least 16 characters.")
MLSERVE_METRICS_ALLOW = env_list("MLSERVE_METRICS_ALLOW", "127.0.0.1,::1")
for _network in MLSERVE_METRICS_ALLOW:
    try:
        ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"MLSERVE_METRICS_ALLOW: {_network!r} is not an address or network (10.0.0.0/8)."
        ) from None
# Share of prediction requests recorded in the prediction log (0 turns it off), and how
# many of a request's rows are kept.
MLSERVE_PREDICTION_LOG_RATE = env_float("MLSERVE_PREDICTION_LOG_RATE", 1.0, maximum=1.0)
MLSERVE_PREDICTION_LOG_MAX_ROWS = env_int("MLSERVE_PREDICTION_LOG_MAX_ROWS", 100, minimum=1)
# Bytes of JSON one request may leave in the log: its strings are clipped to 256 characters
# and its rows beyond the bound are left out (registry/monitoring/predlog.py).
MLSERVE_PREDICTION_LOG_MAX_BYTES = env_int("MLSERVE_PREDICTION_LOG_MAX_BYTES", 65_536, minimum=1024)
# Requests waiting in a server process to be written; beyond it new ones are dropped (counted).
MLSERVE_PREDICTION_LOG_BUFFER = env_int("MLSERVE_PREDICTION_LOG_BUFFER", 5000, minimum=1)
# Most values (rows x features) a drift report reads from the log: a wide model gets fewer
# rows than max_rows (registry/monitoring/drift.py).
MLSERVE_DRIFT_MAX_CELLS = env_int("MLSERVE_DRIFT_MAX_CELLS", 2_000_000, minimum=1000)

# Moving versions between instances (registry/transfer.py): an export names the instance it
# came from and, when a signing key is set, carries an HMAC.
MLSERVE_INSTANCE_NAME = env_str("MLSERVE_INSTANCE_NAME").strip() or socket.gethostname()
MLSERVE_SIGNING_KEY = env_str("MLSERVE_SIGNING_KEY")
if MLSERVE_SIGNING_KEY and len(MLSERVE_SIGNING_KEY) < 32:
    raise ImproperlyConfigured(
        "MLSERVE_SIGNING_KEY is too short: use at least 32 random characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(32))'), the same on every "
        "instance that exchanges models."
    )
# An unsigned import is trusted content: whoever may import (any signed-in user) chooses its
# card and artifact, checked for shape but not for honesty. When this is on, only exports
# carrying a valid signature under MLSERVE_SIGNING_KEY are imported. It is on by default when
# a key is set; off, a key still signs exports and still checks the signed files imported.
MLSERVE_REQUIRE_SIGNED_IMPORTS = env_bool(
    "MLSERVE_REQUIRE_SIGNED_IMPORTS", bool(MLSERVE_SIGNING_KEY)
)
if MLSERVE_REQUIRE_SIGNED_IMPORTS and not MLSERVE_SIGNING_KEY:
    raise ImproperlyConfigured(
        "MLSERVE_REQUIRE_SIGNED_IMPORTS is on but MLSERVE_SIGNING_KEY is not set: no import "
        "could be verified. Set the key shared by the instances that exchange models."
    )

# Alerts and webhooks (registry/alerts/). Endpoint secrets are kept encrypted with a key
# derived from MLSERVE_WEBHOOK_KEY, or from DJANGO_SECRET_KEY when it is not set (changing
# the key then makes the stored secrets unreadable: recreate the endpoints).
MLSERVE_WEBHOOK_KEY = env_str("MLSERVE_WEBHOOK_KEY")
if MLSERVE_WEBHOOK_KEY and len(MLSERVE_WEBHOOK_KEY) < 32:
    raise ImproperlyConfigured(
        "MLSERVE_WEBHOOK_KEY is too short: use at least 32 random characters."
    )
# Off: a webhook URL whose host is (or resolves to) a private, loopback, link-local or
# reserved address is refused, when it is saved and again at every delivery.
MLSERVE_WEBHOOK_ALLOW_PRIVATE = env_bool("MLSERVE_WEBHOOK_ALLOW_PRIVATE", False)
# A delivery is tried this many times at most, waiting RETRY_BASE_S, then twice as long
# after each failure; each attempt waits TIMEOUT_S at most for the receiver.
MLSERVE_WEBHOOK_MAX_ATTEMPTS = env_int("MLSERVE_WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
MLSERVE_WEBHOOK_RETRY_BASE_S = env_float("MLSERVE_WEBHOOK_RETRY_BASE_S", 30.0)
MLSERVE_WEBHOOK_TIMEOUT_S = env_float("MLSERVE_WEBHOOK_TIMEOUT_S", 10.0, minimum=0.1)
# How often the task worker checks the alert rules (and prunes the delivery log).
MLSERVE_ALERT_INTERVAL_S = env_float("MLSERVE_ALERT_INTERVAL_S", 60.0, minimum=1.0)
# The delivery log keeps, per endpoint, at most the newest DELIVERIES_KEPT deliveries and
# none older than DELIVERY_DAYS; a delivery still pending (a retry due) is always kept.
MLSERVE_WEBHOOK_DELIVERIES_KEPT = env_int("MLSERVE_WEBHOOK_DELIVERIES_KEPT", 1000, minimum=1)
MLSERVE_WEBHOOK_DELIVERY_DAYS = env_int("MLSERVE_WEBHOOK_DELIVERY_DAYS", 30, minimum=1)
# A pending delivery whose attempt is overdue by this long has lost its task (the worker died
# before queuing it, or during the attempt): queued again once, then failed. Longer than a
# training by default, since one worker runs a delivery's task only between trainings.
MLSERVE_WEBHOOK_STALE_S = env_float(
    "MLSERVE_WEBHOOK_STALE_S", max(3600.0, 2 * MLSERVE_TRAIN_TIMEOUT_S), minimum=60.0
)

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # The request middleware logs every request once; silence Django's duplicate lines.
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
    },
}

TASKS = {
    "default": {
        "BACKEND": env_str("MLSERVE_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
