# Two commands set up a fresh machine: `make run` and `make test`.
# Everything else here is what those two need.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Shared libraries Qt's xcb/offscreen platforms load on a fresh Debian/Ubuntu.
QT_DEBIAN_LIBS := libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 \
	libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
	libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 \
	fonts-noto-cjk

.PHONY: run test lint typecheck bench translations clean system-deps server demo server

run: $(VENV)/.installed system-deps
	$(PY) -m app $(ARGS)

# The sync server (no Qt needed): SQLite and a generated secret in its data
# folder unless FIELDBOOK_SERVER_* say otherwise; `fieldbook-server demo` makes logins.
server: $(VENV)/.installed-server
	$(VENV)/bin/fieldbook-server serve $(ARGS)

# A demo cohort (a trainer, two fellows; logins printed), then the server.
demo: $(VENV)/.installed-server
	$(VENV)/bin/fieldbook-server demo
	$(VENV)/bin/fieldbook-server serve $(ARGS)

test: $(VENV)/.installed-dev system-deps lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(VENV)/.installed-dev system-deps
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.run_all

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

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-server: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[server]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-server

# Qt needs a handful of system libraries. Install them where we may (root on
# Debian/Ubuntu); otherwise name them so the user can.
system-deps: $(VENV)/.installed
	@QT_QPA_PLATFORM=offscreen $(PY) -c 'from PySide6.QtWidgets import QApplication' 2>/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing the system libraries Qt needs..."; \
			apt-get update -qq && apt-get install -y -qq $(QT_DEBIAN_LIBS); \
		else echo "Qt cannot load. Please run: sudo apt-get install $(QT_DEBIAN_LIBS)"; exit 1; fi; }
	@# Chinese first: without a CJK font Qt draws every Chinese character as a box.
	@if command -v fc-list >/dev/null && [ -z "$$(fc-list :lang=zh family)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing a Chinese font..."; apt-get update -qq && apt-get install -y -qq fonts-noto-cjk; \
		else echo "No Chinese font found; Chinese text will show as boxes. Please run: sudo apt-get install fonts-noto-cjk"; fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
