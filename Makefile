# stancemap: `make report` installs everything and writes the demo stance map; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# the demo report's run date (reproducible builds): `make report` on any clone then writes the very
# bytes dvc.lock records; tests/conftest.py uses the same date. Set it in the environment to override.
export SOURCE_DATE_EPOCH ?= 1771941791

.PHONY: install report test test-fast fuzz bench lint clean browser

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build on disk; an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# every package at the version constraints.txt names: a new release of one (polars, say) writes
	# other bytes, and the demo's outputs must be the ones dvc.lock records on every clone
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the report's browser tests (Playwright's own browser download is not available)
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

report: $(STAMP)
	$(BIN)/dvc repro
	@echo "$(CURDIR)/reports/stance_map.html"

test: $(STAMP) browser
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# at least 10,000 inputs per reader and per kind of damage (random bytes, mutated files, random JSON values)
fuzz: $(STAMP)
	STANCEMAP_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/ingest/test_fuzz.py -q -p no:cacheprovider --hypothesis-show-statistics

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/segment.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/argkp_bertopic.py
	$(BIN)/python bench/embed.py
	$(BIN)/python bench/stance.py
	$(BIN)/python bench/scale.py

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench

clean:
	rm -rf data/interim data/processed reports/stance_map.html reports/metrics.json
