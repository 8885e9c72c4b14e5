# The two commands of the README: `make run` and `make test`. Both create .venv when missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8050

.PHONY: run test lint format bench bench-anchors system-deps clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	# tensorflow-cpu first, then tf-keras without its deps (it would pull the full tensorflow wheel).
	$(PIP) install -q tensorflow-cpu==2.21.0
	$(PIP) install -q --no-deps tf-keras==2.21.0
	$(PIP) install -q -e '.[test]'
	touch $(STAMP)

# Debian packages the tests and benchmarks use: a browser for the UI tests, redis for the Celery path,
# Graphviz `dot` for the Structure page's layered layout, Fashion-MNIST for the 28x28 experiments.
# Installed only when missing (CI machines may be new).
system-deps:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -x /usr/bin/chromedriver || missing="$$missing chromium-driver"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	test -d /usr/share/datasets/fashion-mnist || missing="$$missing dataset-fashion-mnist"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

run: $(STAMP)
	$(VENV)/bin/rnnviz serve --host $(HOST) --port $(PORT)

test: $(STAMP) system-deps
	$(VENV)/bin/ruff check rnnviz app tests bench
	$(VENV)/bin/ruff format --check rnnviz app tests bench
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check rnnviz app tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format rnnviz app tests bench
	$(VENV)/bin/ruff check --fix rnnviz app tests bench

# bench/anchors.py needs the `anchors` extra: it has its own target below.
bench: $(STAMP) system-deps
	for b in bench/*.py; do [ $$b = bench/anchors.py ] || $(PY) $$b || exit 1; done

# rnnviz beside Netron, TensorBoard and Model Explorer on the same graphs, in headless Chromium.
bench-anchors: $(STAMP) system-deps
	$(PIP) install -q -e '.[anchors]'
	$(PY) bench/anchors.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
