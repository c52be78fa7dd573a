"""``fieldbook --check``: what this computer still lacks to run Fieldbook well.

Each check returns :class:`Finding` values: what was looked at, whether it is
fine, and the fix in one line. ``make system-deps`` asks the same checks for
the Debian packages to install (``--missing-packages``), so there is one list.

No Qt is imported here, at the top or anywhere: the check must run exactly
when Qt cannot load. The Qt libraries are found with ``importlib`` (which
does not execute PySide6) and tested with ``ldd`` — what the dynamic loader
will really do when the window opens — rather than by importing QtWidgets
under the offscreen platform, which loads none of the xcb libraries.

    python -m app.doctor [--data-dir DIR]   # the report; exit 1 if something is missing
    python -m app.doctor --missing-packages # Debian packages to install, one line
    python -m app.doctor --system           # only the system packages, quiet when all is well
"""

from __future__ import annotations

import argparse
import enum
import importlib.util
import logging
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("fieldbook.doctor")

# Runs a command; returns (exit code, standard output), or None when the
# program is not installed. Tests pass a fake one.
Runner = Callable[[Sequence[str]], tuple[int, str] | None]

EXIT_OK = 0
EXIT_MISSING = 1

# What the window loads, relative to PySide6's ``Qt`` folder: the X11
# platform plugin (which every Linux desktop can fall back to, Wayland too)
# pulls in QtGui and the xcb libraries; QtWidgets adds the rest.
QT_BINARIES = ("plugins/platforms/libqxcb.so", "lib/libQt6Widgets.so.6")

# The Debian/Ubuntu package of each shared library Qt needs from the system.
# Libraries not listed are named by Debian's rule (see ``package_for``).
QT_LIBRARY_PACKAGES: Mapping[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libpng16.so.16": "libpng16-16",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libz.so.1": "zlib1g",
}
CJK_FONT_PACKAGE = "fonts-noto-cjk"
# The 宋体-like serif documents are printed in (app/ui/documents_pdf.py): with
# only Noto CJK, text copied out of a PDF turns some characters into
# look-alike radicals (⼀ for 一).
DOCUMENT_FONT = "AR PL UMing CN"
DOCUMENT_FONT_PACKAGE = "fonts-arphic-uming"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)
_SONAME = re.compile(r"^lib(?P<name>.+)\.so\.(?P<version>[0-9][0-9.]*)$")


class Status(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    UNKNOWN = "unknown"  # could not be checked here; said so, not counted as missing


@dataclass(frozen=True)
class Finding:
    """One thing looked at. ``packages`` are the Debian packages that fix it
    (what ``make system-deps`` installs); ``blocking`` means the window
    cannot open without it."""

    what: str
    status: Status
    detail: str = ""
    fix: str = ""
    packages: tuple[str, ...] = ()
    blocking: bool = False

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


def run_command(command: Sequence[str]) -> tuple[int, str] | None:
    """The real runner: a program's exit code and output, ``None`` if it is not installed."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        return None
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("%s failed: %s", command[0], exc)
        return (1, "")
    return done.returncode, done.stdout + done.stderr


# --- Qt's system libraries --------------------------------------------------------


def package_for(soname: str) -> str:
    """The Debian package of a shared library: the table, else Debian's naming
    rule (libfoo.so.4 is in libfoo4; libfoo2.so.1, ending in a digit, in libfoo2-1)."""
    known = QT_LIBRARY_PACKAGES.get(soname)
    if known:
        return known
    match = _SONAME.match(soname)
    if not match:
        return soname
    name, version = match["name"].lower(), match["version"].split(".")[0]
    return f"lib{name}-{version}" if name[-1].isdigit() else f"lib{name}{version}"


def qt_folder() -> Path | None:
    """PySide6's ``Qt`` folder, found without importing PySide6 (which might not load)."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "Qt"


def missing_libraries(binaries: Iterable[Path], run: Runner) -> set[str] | None:
    """The shared libraries the loader cannot find for these files (``ldd``);
    ``None`` when ``ldd`` is not there or cannot read them."""
    missing: set[str] = set()
    read_any = False
    for binary in binaries:
        result = run(["ldd", str(binary)])
        if result is None:
            return None
        code, output = result
        if code != 0:
            log.info("ldd %s: %s", binary, output.strip())
            continue
        read_any = True
        missing.update(_NOT_FOUND.findall(output))
    return missing if read_any else None


def uninstalled_packages(packages: Iterable[str], run: Runner) -> list[str] | None:
    """The packages of the list dpkg does not have installed; ``None`` without dpkg."""
    absent = []
    for package in packages:
        result = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package])
        if result is None:
            return None
        code, output = result
        if code != 0 or not output.startswith("ii"):
            absent.append(package)
    return absent


def check_qt_libraries(qt_dir: Path | None, run: Runner) -> list[Finding]:
    if qt_dir is None or not qt_dir.is_dir():
        return [Finding("Qt (PySide6)", Status.MISSING, "PySide6 is not installed in this Python",
                        "make run installs it (or: pip install -e .)", blocking=True)]
    binaries = [qt_dir / name for name in QT_BINARIES if (qt_dir / name).exists()]
    missing = missing_libraries(binaries, run)
    if missing is None:
        return _check_qt_packages(run)
    if not missing:
        return [Finding("Qt libraries", Status.OK, "every system library the window needs is installed")]
    return [
        Finding(f"Qt library {soname}", Status.MISSING, "the window cannot open without it",
                _apt_line([package_for(soname)]), (package_for(soname),), blocking=True)
        for soname in sorted(missing)
    ]


def _check_qt_packages(run: Runner) -> list[Finding]:
    """Without ``ldd``: every package of the table by ``dpkg-query`` instead."""
    absent = uninstalled_packages(sorted(set(QT_LIBRARY_PACKAGES.values())), run)
    if absent is None:
        return [Finding("Qt libraries", Status.UNKNOWN,
                        "neither ldd nor dpkg-query is available to check them")]
    if not absent:
        return [Finding("Qt libraries", Status.OK, "every package Qt needs is installed")]
    return [Finding(f"Qt package {package}", Status.MISSING, "the window may not open without it",
                    _apt_line([package]), (package,), blocking=True) for package in absent]


# --- the rest ------------------------------------------------------------------------


def check_chinese_font(run: Runner) -> Finding:
    result = run(["fc-list", ":lang=zh", "family"])
    if result is None:
        return Finding("Chinese font", Status.UNKNOWN, "fc-list is not installed, so fonts cannot be listed",
                       _apt_line(["fontconfig"]), ("fontconfig",))
    families = [line.split(",")[0].strip() for line in result[1].splitlines() if line.strip()]
    if result[0] == 0 and families:
        return Finding("Chinese font", Status.OK, sorted(families)[0])
    return Finding("Chinese font", Status.MISSING, "without one every Chinese character shows as a box",
                   _apt_line([CJK_FONT_PACKAGE]), (CJK_FONT_PACKAGE,))


def check_document_font(run: Runner) -> Finding:
    result = run(["fc-list", f":family={DOCUMENT_FONT}", "family"])
    if result is None:
        return Finding("Document font", Status.UNKNOWN, "fc-list is not installed, so fonts cannot be listed")
    if result[0] == 0 and result[1].strip():
        return Finding("Document font", Status.OK, DOCUMENT_FONT)
    return Finding("Document font", Status.MISSING,
                   "Word and PDF exports fall back to another font; text copied from a PDF may change",
                   _apt_line([DOCUMENT_FONT_PACKAGE]), (DOCUMENT_FONT_PACKAGE,))


def check_keyring(environ: Mapping[str, str], platform: str) -> Finding:
    """The sign-in token needs a keyring (app/sync/tokens.py decides which ones count)."""
    from app.sync.tokens import TokenStore

    tokens = TokenStore()
    if tokens.persistent:
        return Finding("Password keyring", Status.OK, "the sign-in is kept between sessions")
    if environ.get("PYTHON_KEYRING_BACKEND"):
        fix = f"PYTHON_KEYRING_BACKEND={environ['PYTHON_KEYRING_BACKEND']} chooses it: unset it"
    elif platform.startswith("linux"):
        fix = (f"{_apt_line(['gnome-keyring'])} (a Secret Service), then log in to the desktop again; "
               "until then Fieldbook asks for the password at each start")
    else:
        fix = "check the keyring settings (keyring --list-backends); until then sign in at each start"
    return Finding("Password keyring", Status.MISSING, tokens.reason, fix)


def check_data_folder(directory: Path) -> Finding:
    """Create and remove a file where the store will live — or, before the first
    start, in the nearest folder that exists, so that checking creates nothing."""
    existing = next((path for path in (directory, *directory.parents) if path.exists()), None)
    try:
        if existing is None:
            raise FileNotFoundError(f"no part of {directory} exists")
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is a file, not a folder")
        with tempfile.TemporaryFile(dir=existing, prefix=".fieldbook-check-"):
            pass
    except OSError as exc:
        return Finding("Data folder", Status.MISSING, f"{directory} is not writable ({exc.strerror or exc})",
                       "use another folder: --data-dir DIR or FIELDBOOK_DATA_DIR=DIR")
    made = "is writable" if existing == directory else "can be created"
    return Finding("Data folder", Status.OK, f"{directory} {made}")


def check_display(environ: Mapping[str, str]) -> Finding:
    if environ.get("QT_QPA_PLATFORM") or environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return Finding("Display", Status.OK, "a desktop session to open the window in")
    return Finding("Display", Status.MISSING, "no desktop session here (DISPLAY is not set)",
                   "start Fieldbook from the desktop, or over ssh -X")


def system_findings(run: Runner = run_command, platform: str = sys.platform,
                    qt_dir: Path | None = None) -> list[Finding]:
    """What Debian packages fix: Qt's libraries and the Chinese fonts (Linux only)."""
    if not platform.startswith("linux"):
        return []
    fonts = [check_chinese_font(run), check_document_font(run)]
    return [*check_qt_libraries(qt_dir or qt_folder(), run), *fonts]


def run_checks(data_dir: str | None = None, run: Runner = run_command,
               environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> list[Finding]:
    """Every check, in the order a person would fix them."""
    from app.paths import data_dir as resolve_data_dir

    env = os.environ if environ is None else environ
    findings = system_findings(run, platform)
    if platform.startswith("linux"):
        findings.append(check_display(env))
    findings.append(check_keyring(env, platform))
    findings.append(check_data_folder(resolve_data_dir(data_dir)))
    return findings


# --- output --------------------------------------------------------------------------


def packages_to_install(findings: Iterable[Finding]) -> list[str]:
    """The Debian packages of every finding that is not fine, once each, in order."""
    return list(dict.fromkeys(p for f in findings if not f.ok for p in f.packages))


def _apt_line(packages: Sequence[str]) -> str:
    sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get install {shlex.join(packages)}"


def format_report(findings: Sequence[Finding], *, only_problems: bool = False) -> str:
    lines = []
    for finding in findings:
        if only_problems and finding.ok:
            continue
        label = {Status.OK: "ok", Status.MISSING: "MISSING", Status.UNKNOWN: "?"}[finding.status]
        detail = f": {finding.detail}" if finding.detail else ""
        package = f" ({', '.join(finding.packages)})" if finding.packages and not finding.ok else ""
        lines.append(f"{label:<8} {finding.what}{detail}{package}")
        if finding.fix and not finding.ok and not finding.packages:
            lines.append(f"{'':<8} fix: {finding.fix}")
    packages = packages_to_install(findings)
    if packages:
        lines += ["", "Install the missing system packages with:", f"    {_apt_line(packages)}"]
    return "\n".join(lines)


def exit_code(findings: Iterable[Finding], *, blocking_only: bool = False) -> int:
    missing = [f for f in findings if f.status is Status.MISSING and (f.blocking or not blocking_only)]
    return EXIT_MISSING if missing else EXIT_OK


def check(data_dir: str | None = None) -> int:
    """``fieldbook --check`` / ``fieldbook check``: print the report, 1 if something is missing."""
    # The report says it all; the token store's own warning would say it twice.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    findings = run_checks(data_dir)
    if sys.stdout is not None:  # None in Windows' window-only `fieldbook`: use fieldbook-cli check
        sys.stdout.write("Fieldbook check\n" + format_report(findings) + "\n")
    return exit_code(findings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="the folder of the Fieldbook data (default: the usual one)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--missing-packages", action="store_true",
                      help="print the Debian packages still to install on one line (nothing if none)")
    mode.add_argument("--system", action="store_true",
                      help="report only missing system packages; exit 1 if the window cannot open")
    args = parser.parse_args(argv)
    if args.missing_packages:
        packages = packages_to_install(system_findings())
        sys.stdout.write(" ".join(packages) + "\n" if packages else "")
        return EXIT_OK
    if args.system:
        findings = system_findings()
        if any(not f.ok for f in findings):
            sys.stdout.write(format_report(findings, only_problems=True) + "\n")
        return exit_code(findings, blocking_only=True)
    return check(args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
