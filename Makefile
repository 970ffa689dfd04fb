# The one door to every chore. `make run` and `make test` work on a fresh clone
# with only Python >= 3.11, git and make: uv is bootstrapped into .tools/ if missing.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
# Some machines set PYTHONDONTWRITEBYTECODE: then every test session, server and worker the
# tests start compiles Django, numpy and the app from source again (benchmarks/README.md).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast lint format migrations-check env clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.5"

env: $(UV)
	$(UV) sync --frozen

# `make run` needs only the runtime dependencies, so on a fresh clone `env` leaves out the dev
# group (pytest, playwright, scikit-learn, ...). A checkout that already has it (after `make
# test`) keeps it: a runtime-only sync would uninstall the dev tools, even from under a test
# session that runs `make run` itself (tests/system/test_make_run.py). `make test` adds it back.
ifeq ($(wildcard .venv/bin/pytest),)
run: export UV_NO_DEV := 1
endif
run: env
	./scripts/run.sh

test: env
	./scripts/test.sh

# The edit loop: no lint, no browser, no real gunicorn or worker processes, no deploy checks
# (markers in pyproject.toml). `make test` stays the gate and runs everything.
test-fast: env
	$(UV) run --frozen pytest -q -n auto --hypothesis-profile=fast -m "not browser and not system and not deploy" $(ARGS)

lint: env
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: env
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

migrations-check: env
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-migrations-check-only} $(UV) run --frozen python manage.py makemigrations --check --dry-run

clean:
	rm -rf .venv .tools staticfiles

# Deployment (issue 8): the Elastic Beanstalk bundle and the offline infrastructure checks.
.PHONY: requirements bundle iac-check

requirements: $(UV)
	$(UV) export --frozen --no-dev --no-emit-project --format requirements.txt > requirements.txt

bundle:
	./scripts/bundle.sh

iac-check: $(UV)
	./scripts/iac_check.sh
