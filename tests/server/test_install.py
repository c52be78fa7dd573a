"""Installs match the layers (pyproject.toml): the server installs without Qt.

A server is a machine without a display: ``pip install ".[server]"`` must not
download PySide6 (~200 MB) nor the desktop's keyring. Every third-party module
the code imports is declared in the install that runs that code, and
constraints.txt, the versions ``make`` installs, agrees with pyproject.toml.

The slow test builds the wheel and resolves and installs it in a fresh venv
from the package index, the one test of the suite that leaves loopback.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "fieldbook"
OUR_PACKAGES = frozenset({"app", "fieldbook_resources"})
QT_DISTRIBUTIONS = frozenset({"pyside6", "pyside6-essentials", "pyside6-addons", "shiboken6"})
DESKTOP_ONLY = QT_DISTRIBUTIONS | {"keyring"}
DESKTOP_NEEDS = frozenset({"pyside6-essentials", "keyring", "requests", "urllib3", "pypinyin"})
# The code each install runs: the server's, and the desktop's entry points.
SERVER_ROOTS = ("app.server",)
DESKTOP_ROOTS = ("app.__main__", "app.cli", "app.doctor", "app.ui")
INSTALL_TIMEOUT = 300


# --- pyproject.toml ------------------------------------------------------------


def _project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project


def _requirements(*extras: str) -> list[Requirement]:
    """The base requirements plus those of ``extras``, self-references followed."""
    project = _project()
    found = [Requirement(line) for line in project["dependencies"]]
    todo, done = list(extras), set[str]()
    while todo:
        extra = todo.pop()
        if extra in done:
            continue
        done.add(extra)
        for requirement in map(Requirement, project["optional-dependencies"][extra]):
            if canonicalize_name(requirement.name) == PROJECT:
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def _declared(*extras: str) -> set[str]:
    return {canonicalize_name(requirement.name) for requirement in _requirements(*extras)}


# --- what the code imports -------------------------------------------------------


def _module_files() -> dict[str, Path]:
    files = {}
    for path in (ROOT / "app").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _imported_names(path: Path) -> set[str]:
    """Every module named by an import in the file, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _third_party_imports(roots: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level third-party modules imported by ``roots`` and every app module they
    import (parent packages included: importing a module runs its ``__init__``)."""
    files = _module_files()
    todo = [name for name in files if name.startswith(roots)]
    seen: set[str] = set()
    external: dict[str, set[str]] = {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in _imported_names(files[module]):
            top = name.partition(".")[0]
            if top in OUR_PACKAGES:
                parts = name.split(".")
                todo.extend(p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if p in files)
            elif top not in sys.stdlib_module_names:
                external.setdefault(top, set()).add(module)
    return external


def _undeclared(imports: dict[str, set[str]], declared: set[str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    problems = []
    for top, modules in sorted(imports.items()):
        names = {canonicalize_name(name) for name in distributions.get(top, [])}
        if not names & declared:
            problems.append(f"{top} (from {', '.join(sorted(modules))}; distribution {sorted(names)})")
    return problems


def test_the_server_code_imports_only_what_the_server_install_declares() -> None:
    imports = _third_party_imports(SERVER_ROOTS)
    assert "fastapi" in imports  # the walk found the server
    assert _undeclared(imports, _declared("server")) == []


def test_the_desktop_code_imports_only_what_the_desktop_install_declares() -> None:
    imports = _third_party_imports(DESKTOP_ROOTS)
    assert "PySide6" in imports
    assert _undeclared(imports, _declared("desktop")) == []


def test_the_server_install_declares_nothing_of_the_desktop() -> None:
    assert _declared("server") & DESKTOP_ONLY == set()
    assert DESKTOP_NEEDS - _declared("desktop") == set()


def test_the_app_names_the_install_for_every_module_of_the_desktop_extra() -> None:
    """app/__main__.py turns a missing desktop module into the line to install it."""
    from app.__main__ import DESKTOP_MODULES

    desktop_only = _declared("desktop") - _declared()
    distributions = importlib.metadata.packages_distributions()
    imported = {
        top for top in _third_party_imports(DESKTOP_ROOTS)
        if {canonicalize_name(name) for name in distributions.get(top, [])} & desktop_only
    }
    assert "PySide6" in imported
    assert sorted(imported - DESKTOP_MODULES) == []


# --- constraints.txt -------------------------------------------------------------


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.partition("#")[0].strip()
        if line:
            name, separator, version = line.partition("==")
            assert separator, f"constraints.txt pins exact versions: {line!r}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_constraints_pin_every_requirement_within_what_pyproject_allows() -> None:
    pins = _pins()
    requirements = _requirements(*_project()["optional-dependencies"])
    unpinned = sorted(r.name for r in requirements if canonicalize_name(r.name) not in pins)
    assert unpinned == [], "run `make lock`"
    outside = [
        f"{r} but constraints.txt has {pins[canonicalize_name(r.name)]}"
        for r in requirements
        if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    ]
    assert outside == []
    assert PROJECT not in pins  # the checkout itself is never pinned


# --- a fresh venv ----------------------------------------------------------------


def _run(command: Sequence[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A subprocess that sees neither this checkout nor this venv."""
    hidden = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV")
    environ = {key: value for key, value in os.environ.items() if key not in hidden}
    environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=environ, capture_output=True, text=True,
        timeout=INSTALL_TIMEOUT, check=False,
    )


def _checked(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _copy_source(target: Path) -> Path:
    """What the wheel is built from, copied: building never writes into the checkout."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("app", "resources"):
        shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    return target


def _resolved(pip: Sequence[str | Path], requirement: str, cwd: Path) -> set[str]:
    """The distributions ``pip install requirement`` would install (nothing is)."""
    command = [*pip, "install", "-q", "--dry-run", "--report", "-", requirement]
    report = json.loads(_checked(_run(command, cwd)))
    return {canonicalize_name(item["metadata"]["name"]) for item in report["install"]}


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def _names(items: Iterable[str]) -> list[str]:
    return sorted(items)


@pytest.mark.slow
@pytest.mark.network
def test_a_fresh_server_install_brings_no_qt_and_the_app_says_what_to_install(tmp_path: Path) -> None:
    source = _copy_source(tmp_path / "source")
    venv = tmp_path / "venv"
    _checked(_run([sys.executable, "-m", "venv", venv], tmp_path))
    pip: list[str | Path] = [_bin(venv, "python"), "-m", "pip"]
    _checked(_run([*pip, "wheel", "-q", "--no-deps", "-w", tmp_path / "wheels", source], tmp_path))
    (wheel,) = (tmp_path / "wheels").glob(f"{PROJECT}-*.whl")

    server = _resolved(pip, f"{wheel}[server]", tmp_path)
    assert _names({"fastapi", "uvicorn", "sqlalchemy"} - server) == []
    assert _names(server & DESKTOP_ONLY) == []
    assert _names(DESKTOP_NEEDS - _resolved(pip, f"{wheel}[desktop]", tmp_path)) == []

    # A real install, as `make server` does it: at the versions CI tested.
    _checked(_run([*pip, "install", "-q", "-c", ROOT / "constraints.txt", f"{wheel}[server]"], tmp_path))
    installed = {canonicalize_name(line.partition("==")[0]) for line in
                 _checked(_run([*pip, "freeze"], tmp_path)).splitlines()}
    assert _names(installed & DESKTOP_ONLY) == []
    assert "usage" in _checked(_run([_bin(venv, "fieldbook-server"), "--help"], tmp_path)).lower()
    for command in (["fieldbook"], ["fieldbook", "status"], ["fieldbook-cli", "export"]):
        result = _run([_bin(venv, command[0]), *command[1:]], tmp_path)
        assert result.returncode == 2, result.stderr
        assert 'pip install "fieldbook[desktop]"' in result.stderr
        assert "Traceback" not in result.stderr
