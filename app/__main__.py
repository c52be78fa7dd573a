"""``python -m app`` and the ``fieldbook`` command."""

from __future__ import annotations

import sys
import time

_STARTED = time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    from app.ui.application import start

    return start(sys.argv[1:] if argv is None else argv, started=_STARTED)


if __name__ == "__main__":
    sys.exit(main())
