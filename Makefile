# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv and install what they need (idempotent: re-runs skip the install).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench setup clean dist package-check browser

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vecae demo

# Debian's Chromium and its driver for the report's browser test (nothing downloads a browser).
# Needs root apt-get; elsewhere the browser test skips and says why.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	    if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	        (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
	            || echo "make: chromium could not be installed; the browser test will skip" >&2; \
	    else \
	        echo "make: no chromium and no root apt-get; the browser test will skip" >&2; \
	    fi; \
	fi

# The whole suite (what CI runs).
test: $(STAMP) browser
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
