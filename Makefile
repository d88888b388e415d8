# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv and install what they need (idempotent: re-runs skip the install).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench setup clean dist package-check

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vecae demo

# The whole suite (what CI runs).
test: $(STAMP)
	$(PY) -m pytest -q

# Everything but the tests marked slow: the quick loop while developing.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# A wheel and an sdist in dist/ (the version comes from src/vecae/_version.py).
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist

# The wheel installed into a fresh venv (with its dependencies, pinned by constraints.txt)
# works as a user gets it: `vecae --version` prints the package version, `vecae demo --help` runs.
package-check: dist
	rm -rf build/wheel-venv
	$(PYTHON) -m venv build/wheel-venv
	build/wheel-venv/bin/pip install --quiet -c constraints.txt "$$(ls dist/vecae-*.whl)[cli]"
	test "$$(cd build && wheel-venv/bin/vecae --version)" = "vecae $$($(PY) -c 'from vecae._version import __version__; print(__version__)')"
	cd build && wheel-venv/bin/vecae demo --help >/dev/null
	@echo "package-check: the wheel installs and runs"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info
