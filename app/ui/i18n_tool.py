"""Keeps the translations in step with the code: ``python -m app.ui.i18n_tool``.

``update`` re-extracts every ``tr()``/``translate()``/``QT_TRANSLATE_NOOP``
string from ``app/`` into the ``.ts`` sources (keeping existing translations);
``compile`` turns them into the ``.qm`` files the app loads at run time.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from app.resources import translations_dir

log = logging.getLogger("fieldbook.i18n")
LANGUAGES = ("zh_CN",)
APP_DIR = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(f"pyside6-{name}", path=str(Path(sys.executable).parent)) or shutil.which(
        f"pyside6-{name}"
    )
    if not found:
        raise SystemExit(f"pyside6-{name} not found; install PySide6-Essentials")
    return found


def sources() -> list[Path]:
    return sorted(p for p in APP_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def ts_path(language: str, folder: Path | None = None) -> Path:
    return (folder or translations_dir()) / f"fieldbook_{language}.ts"


def qm_path(language: str, folder: Path | None = None) -> Path:
    return (folder or translations_dir()) / f"fieldbook_{language}.qm"


def update(ts: Path) -> None:
    cmd = [_tool("lupdate"), "-no-obsolete", "-locations", "none", *map(str, sources()), "-ts", str(ts)]
    subprocess.run(cmd, check=True, capture_output=True)


def compile_ts(ts: Path, qm: Path) -> None:
    subprocess.run([_tool("lrelease"), str(ts), "-qm", str(qm)], check=True, capture_output=True)


def unfinished(ts: Path) -> list[str]:
    """Source texts that have no finished translation."""
    missing = []
    for message in ET.parse(ts).getroot().iter("message"):
        translation = message.find("translation")
        source = message.findtext("source") or ""
        if (
            translation is None
            or translation.get("type") in ("unfinished", "obsolete", "vanished")
            or not (translation.text or "").strip()
        ):
            missing.append(source)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.ui.i18n_tool")
    parser.add_argument("action", choices=["update", "compile", "check"])
    args = parser.parse_args(argv)
    status = 0
    for language in LANGUAGES:
        if args.action == "update":
            update(ts_path(language))
        elif args.action == "compile":
            compile_ts(ts_path(language), qm_path(language))
        else:
            missing = unfinished(ts_path(language))
            for source in missing:
                sys.stderr.write(f"{language}: untranslated: {source}\n")
            status = 1 if missing else status
    return status


if __name__ == "__main__":
    sys.exit(main())
