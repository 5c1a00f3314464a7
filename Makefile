# make demo: install, run the default scenario, write results/ and figures.  make test: install, run the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo lint test bench reference clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/sim run scenarios/default.toml

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m benchmarks

# regenerate the committed reference run of every shipped scenario, the comparison and the back-test
COMPARED := diffusion_2025 controls_2022 controls_2023 rescission_2025 gulf_deals_2025 gulf_deals_uae_framework \
	china_h200_2026 chip_security_act history no_controls
reference: install
	for s in scenarios/*.toml; do $(BIN)/sim run $$s --run-id reference --no-progress || exit 1; done
	$(BIN)/sim compare $(COMPARED:%=scenarios/%.toml) --run-id reference --no-progress
	$(BIN)/sim backtest --out docs/backtest.md

clean:
	rm -rf $(VENV) build *.egg-info
