# Cartable: `make demo` runs the demo school, `make test` runs every test.
# Both install what they need first (re-runnable); `make install` does that alone.

# Debian's Python when present: pupils' servers run under their own accounts and
# must be able to execute the interpreter (a Python under /root is out of reach).
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
OIDC_STAMP := tests/oidc/node_modules/.installed
# « Mon cartable »: the JupyterLab extension (extensions/lab, TypeScript) built into the
# Python package (extensions/panel/labextension), its catalogues, and its place in the venv.
LAB_DIR := extensions/lab
LAB_OUT := extensions/panel/labextension
LAB_NODE_STAMP := $(LAB_DIR)/node_modules/.installed
LAB_STAMP := $(LAB_DIR)/node_modules/.built
LAB_SOURCES := $(wildcard $(LAB_DIR)/src/*.ts $(LAB_DIR)/style/*) $(LAB_DIR)/tsconfig.json \
	$(wildcard extensions/panel/locale/*/LC_MESSAGES/*.po)
LAB_LINK := $(VENV)/share/jupyter/labextensions/@cartable/lab
DEMO_CONFIG := deploy/demo/cartable.yaml
PYTEST_ARGS ?=

.PHONY: install system demo test bench clean-demo

install: system $(PY_STAMP) $(NODE_STAMP) $(OIDC_STAMP) $(LAB_STAMP) $(LAB_LINK)

system:
	@bash deploy/ensure_system.sh .

$(PY_STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e '.[test]'
	# jsonschema[format-nongpl] (from jupyter-events) brings rfc3987-syntax, which compiles a Lark
	# grammar when jsonschema is imported: 0.5 s of CPU and 24 MB in the hub, in every pupil's
	# server and in every `cartable` command, only to check the rarely used "iri" string format
	# (docs/performance.md). jsonschema skips that format without it.
	$(BIN)/python -m pip uninstall -y -q rfc3987-syntax
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The OpenID Connect provider the tests start on loopback (tests/oidc/provider.mjs).
$(OIDC_STAMP): tests/oidc/package.json tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

$(LAB_NODE_STAMP): $(LAB_DIR)/package.json $(LAB_DIR)/package-lock.json
	npm ci --prefix $(LAB_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# Built against the installed JupyterLab's own core package (no download of core metadata).
$(LAB_STAMP): $(LAB_NODE_STAMP) $(LAB_SOURCES) | $(PY_STAMP)
	cd $(LAB_DIR) && PATH="$(abspath $(BIN)):$$PATH" && export PATH && \
	  npx tsc --sourceMap && \
	  jupyter labextension build --core-path="$$(python -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')" .
	$(BIN)/python -m cartable.extensions.panel.catalogues
	touch $@

# What `jupyter labextension develop` does: the venv's JupyterLab loads the built extension.
$(LAB_LINK): | $(PY_STAMP)
	mkdir -p $(dir $@)
	ln -sfn $(abspath $(LAB_OUT)) $@

demo: install
	$(BIN)/cartable -c $(DEMO_CONFIG) demo setup courses/demo/roster.csv
	$(BIN)/cartable -c $(DEMO_CONFIG) hub start

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python tests/bench/class_rush.py

clean-demo:
	rm -rf .cartable
