# Syncline: every target installs what it needs; nothing relies on what happens
# to be installed already (beyond Python 3.11+, Go and apt-get on the machine).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
K8S_BUILD := tools/k8s/build.sh
TOXIPROXY_BUILD := tools/toxiproxy/build.sh

.PHONY: help venv system-deps k8s-binaries toxiproxy oauth-server odata-server image lint typecheck imports generated-check unit test up down clean crds docs

help:
	@echo "make up     build the image, start a local cluster with a real node, install"
	@echo "            Syncline from manifests/ and run the quickstart project once"
	@echo "make test   install everything and run every check and test"
	@echo "make down   stop what make up started"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@tools/install-system-deps.sh

k8s-binaries:
	@$(K8S_BUILD) >/dev/null

# The TCP proxy the engine's network-fault tests put between it and its databases.
toxiproxy:
	@$(TOXIPROXY_BUILD) >/dev/null

# The OAuth2 authorization server (oidc-provider) the HTTP auth tests start on loopback;
# npm ci only when the lock file changed since the last install.
oauth-server: tools/oauth-server/node_modules/.installed

tools/oauth-server/node_modules/.installed: tools/oauth-server/package-lock.json
	@npm ci --prefix tools/oauth-server --no-audit --no-fund --silent >/dev/null
	@touch $@

# The OData v4 server (SAP CAP) the OData tests and bench/odata.py start on loopback;
# npm ci only when the lock file changed since the last install.
odata-server: tools/odata-server/node_modules/.installed

tools/odata-server/node_modules/.installed: tools/odata-server/package-lock.json
	@npm ci --prefix tools/odata-server --no-audit --no-fund --silent >/dev/null
	@touch $@

# The operator/engine image and the pause image as OCI archives (no registry
# needed), cached by content; reports the image and its size. Needs no venv.
image: system-deps
	@tools/image/build.sh >/dev/null

crds: venv
	$(BIN)/python -m syncline.api.crdgen

docs: venv
	$(BIN)/syncline errors --markdown > docs/errors.md

generated-check: venv
	$(BIN)/python -m syncline.api.crdgen --check
	$(BIN)/syncline errors --check docs/errors.md

lint: venv
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench

typecheck: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest tests/unit

test: venv system-deps k8s-binaries toxiproxy oauth-server odata-server image generated-check lint typecheck imports
	$(BIN)/pytest tests

# With KUBECONFIG set, make up uses that cluster instead of starting the embedded one.
up: venv system-deps k8s-binaries image
	SYNCLINE_USE_KUBECONFIG=$(KUBECONFIG) $(BIN)/syncline dev up --quickstart

down: venv
	$(BIN)/syncline dev down

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
