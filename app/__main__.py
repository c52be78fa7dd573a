"""``python -m app`` and the ``fieldbook`` command."""

from __future__ import annotations

import sys
import time

_STARTED = time.perf_counter()


# Commands that run without a window (app/cli.py; no Qt is imported for them).
CLI_COMMANDS = frozenset({"sync", "status", "export", "import", "check"})
# `fieldbook --check`: what this computer lacks (app/doctor.py), with no Qt
# loaded — it must answer exactly when Qt cannot.
CHECK_OPTION = "--check"
# What only the desktop install brings (pyproject.toml's `desktop` extra): a
# server-only or bare install lacks them, and saying what to install beats a
# traceback. No Qt here, so no tr(): both languages, Chinese first.
DESKTOP_MODULES = frozenset({"PySide6", "shiboken6", "requests", "urllib3", "keyring", "pypinyin", "docx",
                             "zeroconf", "ifaddr"})
DESKTOP_MISSING = (
    "Fieldbook 的桌面部分尚未安装（缺少 {module}）。请安装：\n"
    "Fieldbook's desktop part is not installed ({module} is missing). Install it with:\n"
    '    pip install "fieldbook[desktop]"\n'
    '(in a source checkout: pip install ".[desktop]", or make run)\n'
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if CHECK_OPTION in args:
        from app.doctor import main as doctor_main

        try:
            return doctor_main([arg for arg in args if arg != CHECK_OPTION])
        except ModuleNotFoundError as exc:  # its keyring check needs the desktop part
            return _desktop_missing(exc)
    if args and args[0] in CLI_COMMANDS:
        return cli(args)
    try:
        from app.ui.application import start
    except ModuleNotFoundError as exc:
        return _desktop_missing(exc)
    return start(args, started=_STARTED)


def cli(argv: list[str] | None = None) -> int:
    """``fieldbook-cli`` and ``fieldbook sync|status|…``: app/cli.py, or what to install for it."""
    try:
        from app.cli import main as cli_main
    except ModuleNotFoundError as exc:
        return _desktop_missing(exc)
    return cli_main(argv)


def _desktop_missing(exc: ModuleNotFoundError) -> int:
    """Name the install when a desktop dependency is absent; anything else is a real bug."""
    module = (exc.name or "").partition(".")[0]
    if module not in DESKTOP_MODULES:
        raise exc
    _tell(DESKTOP_MISSING.format(module=module))
    return 2


def _tell(text: str) -> None:
    """stderr, or on Windows a message box: the ``fieldbook`` gui-script has no console there."""
    if sys.stderr is not None:
        sys.stderr.write(text)
    elif sys.platform == "win32":
        import ctypes

        ctypes.windll.user32.MessageBoxW(None, text, "Fieldbook", 0x10)  # MB_ICONERROR


if __name__ == "__main__":
    sys.exit(main())
