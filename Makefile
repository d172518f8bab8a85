# Two commands on a fresh machine: `make serve` and `make test`. Each installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test fuzz lint typecheck unit bench bench-scale emulator clean install lock image image-test

# The browser tests drive Debian's Chromium (never a downloaded one): installed once, if missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Installs exactly the versions in uv.lock (the ones CI tested); `make lock` refreshes the lock
# after a change to pyproject.toml's dependencies. uv itself is pinned and installed by pip.
UV_VERSION := 0.13.9
UV := $(BIN)/uv

$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(UV) sync --locked --extra dev --inexact --quiet
	touch $(STAMP)

lock: $(STAMP)
	$(UV) lock

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/vidgate serve

emulator: $(STAMP)
	$(BIN)/vidgate emulator

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# worksteal: a worker that runs out of tests takes some of the other's, so a few long acceptance
# tests at the end no longer leave one core idle (13 min 12 s with the default, 9 min with it).
test: lint typecheck $(CHROMIUM)
	$(BIN)/pytest -q -n 2 --dist worksteal

# The fuzzers with 10 times the budget of `make test`, plus schemathesis' 1,000-request run
# (a few minutes); prints each pass's case count and longest input.
fuzz: $(STAMP)
	VIDGATE_FUZZ_SCALE=10 $(BIN)/pytest -q -s -n 0 -p no:cacheprovider tests/api/test_openapi_fuzz.py

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

# The API benchmark's load generator (C, so it leaves the server its CPU): installed once.
WRK := /usr/bin/wrk
$(WRK):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk

# Every benchmark in one run (about 40 minutes; the top of docs/benchmarks.md says how long the
# last runs took), written to docs/benchmarks.md; BENCH_ARGS=--only=firsthour runs some sections,
# BENCH_ARGS=--no-postgresql leaves out the in-flight PostgreSQL case (the scale-out needs it).
bench: $(STAMP) $(WRK)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# 2,000 jobs through 2 API + 4 worker processes on PostgreSQL, workers killed (a few minutes).
bench-scale: $(STAMP)
	$(BIN)/python -m bench.run --only scale

# The container image (Containerfile; docs/deploy.md). `make image` builds it with podman (or
# docker) from the usual public Python image; IMAGE_ARGS adds build options.
IMAGE ?= localhost/vidgate:latest
ENGINE := $(shell command -v podman || command -v docker)
image:
	$(ENGINE) build $(if $(findstring podman,$(ENGINE)),--format docker) $(IMAGE_ARGS) -t $(IMAGE) -f Containerfile .

# Builds the image here and makes a job through it (deploy/image-test.sh says how; a few minutes,
# the first run also builds a Debian base). podman, buildah and mmdebstrap come from Debian.
IMAGE_TOOLS := /usr/bin/podman /usr/bin/buildah /usr/bin/mmdebstrap
$(IMAGE_TOOLS):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y podman buildah mmdebstrap uidmap

image-test: $(IMAGE_TOOLS)
	bash deploy/image-test.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
