# Two commands a newcomer needs:  `make demo` (the main job) and `make test` (lint + the test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.glai-ssl-installed

# Data root: --data-root > GLAI_SSL_DATA > ./data. Point it at the shared read-only copy when it exists.
ifneq ($(wildcard ../shared/data),)
export GLAI_SSL_DATA ?= $(abspath ../shared/data)
endif

.PHONY: setup test lint pytest demo device-bundle clean

setup: $(STAMP)

# Idempotent: the stamp is rebuilt only when the dependency files change, so a second run takes seconds.
$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt torch torchvision
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	# learn2learn 0.2.0 ships only an sdist whose C files predate Python 3.11: build it with Cython >= 3
	# regenerating them. Its declared gsutil and qpth are not needed (qpth would downgrade numpy).
	$(BIN)/python -m pip install -q -c constraints.txt 'cython>=3' gym requests scipy tqdm
	$(BIN)/python -c "import learn2learn" 2>/dev/null || CYTHON_FORCE_REGEN=1 $(BIN)/python -m pip install -q \
		-c constraints.txt --no-deps --no-build-isolation --use-pep517 \
		--config-settings=--build-option=build_ext learn2learn==0.2.0
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check glai_ssl recipes tests
	$(BIN)/ruff format --check glai_ssl recipes tests

pytest: $(STAMP)
	$(BIN)/python -m pytest tests

test: lint pytest

demo: $(STAMP)
	$(BIN)/glai-ssl bench --quick --out results/demo

# What scripts/device_check.sh needs on a lent GPU machine (wheels, links to the data and cache): see README.
device-bundle: $(STAMP)
	PYTHON=$(BIN)/python scripts/device_bundle.sh

clean:
	rm -rf $(VENV) build *.egg-info
