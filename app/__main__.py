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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if CHECK_OPTION in args:
        from app.doctor import main as doctor_main

        return doctor_main([arg for arg in args if arg != CHECK_OPTION])
    if args and args[0] in CLI_COMMANDS:
        from app.cli import main as cli_main

        return cli_main(args)

    from app.ui.application import start

    return start(args, started=_STARTED)


if __name__ == "__main__":
    sys.exit(main())
