# rlv developer tasks. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := bash

PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
# Extra `pip install` flags, e.g. PIP_FLAGS=--user
PIP_FLAGS ?=

.PHONY: help
help: ## Show this help
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: install
install: ## Editable install with test + dev extras (dev-profile extension: fast to build)
	$(PIP) install $(PIP_FLAGS) -e ".[test,dev]" --config-settings=build-args='--profile dev'

.PHONY: build-dev
build-dev: ## Rebuild the extension in place, unoptimised (like `maturin develop`)
	$(PIP) install $(PIP_FLAGS) --no-deps --no-build-isolation -e . --config-settings=build-args='--profile dev'

.PHONY: build-prod
build-prod: ## Install the optimised build (fat LTO; what users get from the wheel)
	$(PIP) install $(PIP_FLAGS) --no-deps --no-build-isolation -e .

.PHONY: build-profiling
build-profiling: ## Rebuild in place with the `profiling` profile (release + debug info)
	$(PIP) install $(PIP_FLAGS) --no-deps --no-build-isolation -e . --config-settings=build-args='--profile profiling'

.PHONY: wheel
wheel: ## Build the release wheel into dist/
	$(PYTHON) -m maturin build --release --out dist

.PHONY: format
format: ## Format Rust and Python sources
	cargo fmt --all
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

.PHONY: lint-rust
lint-rust: ## cargo fmt --check + clippy (deny warnings)
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

.PHONY: lint-python
lint-python: ## ruff, mypy (strict, python/rlv) and stubtest of rlv._core
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -m mypy.stubtest rlv._core

.PHONY: lint
lint: lint-rust lint-python ## All linters

.PHONY: test-rust
test-rust: ## cargo test (pure-Rust core; needs no Python)
	cargo test

.PHONY: test-python
test-python: ## pytest (against the installed extension: run build-dev first)
	$(PYTHON) -m pytest

.PHONY: test
test: test-rust test-python ## Rust and Python tests

.PHONY: conformance
conformance: ## Run the embedded grading conformance corpus
	$(PYTHON) -m rlv conformance

.PHONY: bench
bench: ## Python benchmarks (grading vs math-verify, advantages vs torch; needs `make build-prod`, the bench and train extras), then criterion
	@$(PYTHON) -c "import rlv._core as c; c.build_profile == 'release' or print('WARNING: rlv._core is a', c.build_profile, 'build; run make build-prod first')"
	$(PYTHON) benches/bench_grade.py
	$(PYTHON) benches/bench_advantages.py
	cargo bench -p rlv-core

.PHONY: ci
ci: ## Run the full CI script (.ci/run)
	bash .ci/run

.PHONY: clean
clean: ## Remove build artefacts
	cargo clean
	rm -rf dist build .pytest_cache .ruff_cache .mypy_cache .hypothesis python/rlv/*.so
