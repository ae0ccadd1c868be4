# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test bench lint setup clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh "$(VENV)"
	touch "$(STAMP)"

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/edigw serve

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway parsers mappings tests benchmarks
	$(VENV)/bin/mypy

test: $(STAMP)
	bash scripts/setup.sh --system-test-packages
	$(MAKE) --no-print-directory lint
	bash scripts/with-postgres.sh $(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.inbox
	$(PY) -m benchmarks.matching
	$(PY) -m benchmarks.matching_store
	$(PY) -m benchmarks.pdf_accuracy

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
