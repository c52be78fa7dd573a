# Two commands set up a fresh machine: `make run` and `make test`.
# Everything else here is what those two need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck bench translations clean system-deps server demo server screenshots lock

run: $(VENV)/.installed system-deps
	$(PY) -m app $(ARGS)

# The sync server (no Qt needed): SQLite and a generated secret in its data
# folder unless FIELDBOOK_SERVER_* say otherwise; `fieldbook-server demo` makes logins.
server: $(VENV)/.installed-server
	$(VENV)/bin/fieldbook-server serve $(ARGS)

# A demo cohort (a trainer, two fellows; logins and the address printed), then
# the server on that very address (ARGS="--port 9000" moves both).
demo: $(VENV)/.installed-server
	$(VENV)/bin/fieldbook-server demo --serve $(ARGS)

# What this computer still lacks: Qt libraries, a Chinese font, a keyring, a
# writable data folder (the same as `fieldbook --check`).
.PHONY: doctor
doctor: $(VENV)/.installed
	$(PY) -m app.doctor $(ARGS)

test: $(VENV)/.installed-dev system-deps lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(VENV)/.installed-dev system-deps
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.run_all

# docs/screenshots/<lang>/*.png: the real window on demo stores under Xvfb, 1366x768, zh_CN and en.
screenshots: $(VENV)/.installed-dev system-deps
	@command -v Xvfb >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq xvfb pngquant optipng; \
		else echo "Please run: sudo apt-get install xvfb pngquant optipng"; exit 1; fi; }
	$(PY) -m tools.screenshots

# Regenerate the .ts sources from the code, then compile them to .qm.
translations: $(VENV)/.installed-dev
	$(PY) -m app.ui.i18n_tool update
	$(PY) -m app.ui.i18n_tool compile

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Fieldbook needs Python 3.11 or newer (found: $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
		else echo "Please install the venv module: sudo apt-get install python3-venv"; exit 1; fi; }
	$(PY) -m pip install -q --upgrade pip

# Each install takes only its layer (pyproject.toml): the app `.[desktop]`, the
# server `.[server]` (no Qt), the tools `.[dev]` (both); all at the versions
# CI tested, constraints.txt.
PIP_INSTALL := $(PY) -m pip install -q -c constraints.txt

$(VENV)/.installed: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[desktop]'
	touch $@

$(VENV)/.installed-server: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[server]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-server

# Renew constraints.txt: the newest releases pyproject.toml allows, resolved in
# a throwaway venv (never .venv, which may hold anything); then `make test`.
# Its header comment is kept; build/ (the venv, the wheel's build) goes.
LOCK_VENV := build/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q '.[dev]'
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --exclude fieldbook; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf build

# Qt needs a handful of system libraries and, Chinese first, a Chinese font.
# app/doctor.py finds what the window would really miss (ldd of Qt's X11
# plugin) and names its Debian packages; install them where we may (root on
# Debian/Ubuntu), then check again: what is still missing is named with the
# one apt-get line, and only what stops the window stops `make run`.
system-deps: $(VENV)/.installed
	@pkgs="$$($(PY) -m app.doctor --missing-packages)" || exit 1; \
	if [ -n "$$pkgs" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing the system packages Fieldbook needs: $$pkgs"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$pkgs; \
	fi; \
	$(PY) -m app.doctor --system

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
