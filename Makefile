# make demo: install, run the default scenario, write results/ and figures.
# make test: install, then every CI gate in order (lint, unit, slow, kernel-nojit, wheel-check); it runs them all,
# prints each one's duration and fails if any failed. .ci/run runs it on a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo lint unit slow kernel-nojit wheel-check test bench reference levers clean

$(STAMP): pyproject.toml setup.py sim/__init__.py
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

# the default suite: every test not marked slow (under two minutes on two cores, the kernel's cold compile included)
unit: install
	$(BIN)/python -m pytest

# figure, benchmark and end-to-end tests
slow: install
	$(BIN)/python -m pytest -m slow

# the kernel tests with numba's JIT off, so coverage sees the kernel's lines
kernel-nojit: install
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -m kernel -p no:cacheprovider \
		--cov=sim/kernel --cov-report=term-missing --cov-fail-under=90

# build the wheel, install it in a fresh venv outside the checkout, run `sim --version` and a small example there
wheel-check: install
	PYTHON=$(BIN)/python bash .ci/wheel_check.sh

TEST_STEPS := lint unit slow kernel-nojit wheel-check
test: install
	@failed=; for t in $(TEST_STEPS); do \
		s=$$(date +%s); echo "== make $$t"; \
		$(MAKE) --no-print-directory $$t || failed="$$failed $$t"; \
		echo "== make $$t: $$(( $$(date +%s) - s )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "== failed:$$failed"; exit 1; fi; echo "== all passed"

bench: install
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.sweeps

# regenerate the reference run of every shipped scenario, the comparison and the back-test. Git keeps their CSV
# and markdown tables, manifests and PNG figures; the parquet files and PDF figures stay local (.gitignore).
COMPARED := diffusion_2025 controls_2022 controls_2023 rescission_2025 gulf_deals_2025 gulf_deals_uae_framework \
	china_h200_2026 chip_security_act remote_access_security_act history no_controls
reference: install
	for s in scenarios/*.toml; do $(BIN)/sim run $$s --run-id reference --replace --no-progress || exit 1; done
	$(BIN)/sim compare $(COMPARED:%=scenarios/%.toml) --run-id reference --replace --no-progress
	$(BIN)/sim backtest --out docs/backtest.md
	$(BIN)/sim levers --out docs/levers.md --no-progress

# the effect of switching off each rule of each regime file (docs/levers.md and .csv; ~6 minutes)
levers: install
	$(BIN)/sim levers --out docs/levers.md

clean:
	rm -rf $(VENV) build *.egg-info
