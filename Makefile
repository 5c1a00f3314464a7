# make demo: install, run the default scenario, write results/ and figures.  make test: install, run the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench reference clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/sim run scenarios/default.toml

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m benchmarks

# regenerate the committed reference run of every shipped scenario
reference: install
	for s in scenarios/*.toml; do $(BIN)/sim run $$s --run-id reference --no-progress || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
