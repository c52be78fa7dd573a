"""``fieldbook --check`` and ``make system-deps`` (app/doctor.py): what the
window would really miss, named with its Debian package.

Most tests feed the checks a fake ``ldd``/``dpkg-query``/``fc-list``; one runs
the real check on this machine, where ``make system-deps`` has run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import keyring.backend
import keyring.backends.fail
import pytest

from app import doctor
from app.__main__ import main as fieldbook_main
from app.cli import main as cli_main
from app.doctor import Finding, Status

ROOT = Path(__file__).resolve().parents[1]

# What ldd printed on a Debian 12 machine with libxcb-cursor0 installed and
# libxcb-icccm4, libxcb-keysyms1 missing — where `make run` used to abort
# with "xcb-cursor0 is needed" (issue 11).
LDD_QXCB = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f72)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007efd)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-xinerama.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f72)
"""
LDD_WIDGETS = "\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007efd)\n"


def fake_runner(answers: Mapping[str, tuple[int, str] | None],
                calls: list[list[str]] | None = None) -> doctor.Runner:
    """Answers by program name, or by ``"program last-argument"`` when given."""

    def run(command: Sequence[str]) -> tuple[int, str] | None:
        if calls is not None:
            calls.append(list(command))
        specific = f"{command[0]} {Path(command[-1]).name}"
        if specific in answers:
            return answers[specific]
        return answers.get(command[0])

    return run


@pytest.fixture
def qt_dir(tmp_path: Path) -> Path:
    """A PySide6 ``Qt`` folder with the two files the check reads."""
    folder = tmp_path / "Qt"
    for name in doctor.QT_BINARIES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"\x7fELF")
    return folder


def test_ldd_finds_the_libraries_the_window_would_miss(qt_dir: Path) -> None:
    calls: list[list[str]] = []
    run = fake_runner({"ldd libqxcb.so": (0, LDD_QXCB), "ldd libQt6Widgets.so.6": (0, LDD_WIDGETS)}, calls)
    findings = doctor.check_qt_libraries(qt_dir, run)
    assert [f.what for f in findings] == [
        "Qt library libxcb-icccm.so.4", "Qt library libxcb-keysyms.so.1", "Qt library libxcb-xinerama.so.0"]
    assert all(f.status is Status.MISSING and f.blocking for f in findings)
    assert doctor.packages_to_install(findings) == ["libxcb-icccm4", "libxcb-keysyms1", "libxcb-xinerama0"]
    # It read the X11 plugin itself, which the old offscreen import never loaded.
    assert ["ldd", str(qt_dir / "plugins/platforms/libqxcb.so")] in calls


def test_nothing_missing_is_one_ok_finding(qt_dir: Path) -> None:
    run = fake_runner({"ldd": (0, LDD_WIDGETS)})
    assert doctor.check_qt_libraries(qt_dir, run) == [
        Finding("Qt libraries", Status.OK, "every system library the window needs is installed")]


@pytest.mark.parametrize(("soname", "package"), [
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libglib-2.0.so.0", "libglib2.0-0"),
    ("libEGL.so.1", "libegl1"),
    # Not in the table: Debian's naming rule.
    ("libxcb-xinput.so.0", "libxcb-xinput0"),
    ("libwayland-client.so.0", "libwayland-client0"),
    ("libfoo2.so.1.4", "libfoo2-1"),
    ("weird", "weird"),
])
def test_package_names(soname: str, package: str) -> None:
    assert doctor.package_for(soname) == package


def test_without_ldd_each_package_is_asked_of_dpkg(qt_dir: Path) -> None:
    installed = set(doctor.QT_LIBRARY_PACKAGES.values()) - {"libxcb-icccm4", "libxcb-keysyms1"}
    answers: dict[str, tuple[int, str] | None] = {"ldd": None}
    for package in doctor.QT_LIBRARY_PACKAGES.values():
        answers[f"dpkg-query {package}"] = (0, "ii ") if package in installed else (1, "")
    findings = doctor.check_qt_libraries(qt_dir, fake_runner(answers))
    assert doctor.packages_to_install(findings) == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert all(f.blocking for f in findings)


def test_a_removed_package_dpkg_remembers_counts_as_missing(qt_dir: Path) -> None:
    answers: dict[str, tuple[int, str] | None] = {"ldd": None, "dpkg-query": (0, "ii ")}
    answers["dpkg-query libxcb-icccm4"] = (0, "rc ")  # removed, its configuration kept
    findings = doctor.check_qt_libraries(qt_dir, fake_runner(answers))
    assert doctor.packages_to_install(findings) == ["libxcb-icccm4"]


def test_neither_ldd_nor_dpkg_says_it_cannot_tell(qt_dir: Path) -> None:
    findings = doctor.check_qt_libraries(qt_dir, fake_runner({}))
    assert [f.status for f in findings] == [Status.UNKNOWN]
    assert doctor.exit_code(findings) == doctor.EXIT_OK


def test_unreadable_binaries_are_not_taken_for_all_present(qt_dir: Path) -> None:
    run = fake_runner({"ldd": (1, "\tnot a dynamic executable\n"), "dpkg-query": (0, "ii ")})
    findings = doctor.check_qt_libraries(qt_dir, run)
    assert findings == [Finding("Qt libraries", Status.OK, "every package Qt needs is installed")]


def test_document_font() -> None:
    found = doctor.check_document_font(fake_runner({"fc-list": (0, "AR PL UMing CN\n")}))
    assert found.status is Status.OK
    none = doctor.check_document_font(fake_runner({"fc-list": (0, "")}))
    assert none.status is Status.MISSING and none.packages == ("fonts-arphic-uming",)
    assert not none.blocking  # exports fall back to another font
    assert doctor.check_document_font(fake_runner({})).status is Status.UNKNOWN


def test_no_pyside_is_blocking(tmp_path: Path) -> None:
    [finding] = doctor.check_qt_libraries(tmp_path / "nowhere", fake_runner({}))
    assert finding.status is Status.MISSING and finding.blocking
    assert "pip install" in finding.fix


def test_chinese_font() -> None:
    found = doctor.check_chinese_font(fake_runner(
        {"fc-list": (0, "Noto Sans CJK SC,Noto Sans CJK SC Regular\nAR PL UMing CN\n")}))
    assert (found.status, found.detail) == (Status.OK, "AR PL UMing CN")
    none = doctor.check_chinese_font(fake_runner({"fc-list": (0, "")}))
    assert none.status is Status.MISSING and none.packages == ("fonts-noto-cjk",)
    assert not none.blocking  # boxes for Chinese, but the window opens
    no_fc_list = doctor.check_chinese_font(fake_runner({}))
    assert no_fc_list.status is Status.UNKNOWN and no_fc_list.packages == ("fontconfig",)


class _MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        pass

    def delete_password(self, service: str, username: str) -> None:
        pass


def test_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite's own setting (tests/conftest.py) is named as the cause.
    missing = doctor.check_keyring(os.environ, "linux")
    assert missing.status is Status.MISSING
    assert "no keyring is available" in missing.detail
    assert "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring" in missing.fix
    # Without that variable on Linux: a Secret Service to install.
    monkeypatch.setattr(keyring, "get_keyring", keyring.backends.fail.Keyring)
    assert "gnome-keyring" in doctor.check_keyring({}, "linux").fix
    monkeypatch.setattr(keyring, "get_keyring", _MemoryKeyring)
    assert doctor.check_keyring({}, "linux").status is Status.OK


def test_data_folder(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "Fieldbook"
    finding = doctor.check_data_folder(fresh)
    assert (finding.status, finding.detail) == (Status.OK, f"{fresh} can be created")
    assert not (tmp_path / "new").exists()  # checking made nothing
    fresh.mkdir(parents=True)
    assert doctor.check_data_folder(fresh).detail == f"{fresh} is writable"
    assert list(fresh.iterdir()) == []
    (tmp_path / "a-file").write_text("x")
    under_a_file = doctor.check_data_folder(tmp_path / "a-file" / "Fieldbook")
    assert under_a_file.status is Status.MISSING and "is a file" in under_a_file.detail
    assert "--data-dir" in under_a_file.fix


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, where nobody may write")
def test_unwritable_data_folder() -> None:
    finding = doctor.check_data_folder(Path("/proc/fieldbook"))
    assert finding.status is Status.MISSING and "not writable" in finding.detail


def test_display() -> None:
    assert doctor.check_display({}).status is Status.MISSING
    assert doctor.check_display({"DISPLAY": ":0"}).ok
    assert doctor.check_display({"WAYLAND_DISPLAY": "wayland-0"}).ok


def test_report_ends_with_one_apt_line_for_everything() -> None:
    findings = [
        Finding("Qt library libxcb-icccm.so.4", Status.MISSING, "the window cannot open without it",
                packages=("libxcb-icccm4",), blocking=True),
        Finding("Chinese font", Status.MISSING, "boxes", packages=("fonts-noto-cjk",)),
        Finding("Data folder", Status.OK, "/x is writable"),
        Finding("Password keyring", Status.MISSING, "none", "install one"),
    ]
    report = doctor.format_report(findings)
    assert report.splitlines()[0] == (
        "MISSING  Qt library libxcb-icccm.so.4: the window cannot open without it (libxcb-icccm4)")
    assert "ok       Data folder: /x is writable" in report
    assert "fix: install one" in report
    assert report.endswith("apt-get install libxcb-icccm4 fonts-noto-cjk")
    assert "Data folder" not in doctor.format_report(findings, only_problems=True)
    assert doctor.exit_code(findings) == doctor.EXIT_MISSING
    assert doctor.exit_code(findings[1:], blocking_only=True) == doctor.EXIT_OK
    assert doctor.exit_code(findings, blocking_only=True) == doctor.EXIT_MISSING


def test_fieldbook_check_and_cli_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "data"
    runs: list[Callable[[], int]] = [
        lambda: fieldbook_main(["--check", "--data-dir", str(folder)]),
        lambda: fieldbook_main(["check", "--data-dir", str(folder)]),
        lambda: cli_main(["check", "--data-dir", str(folder)]),
    ]
    for run in runs:
        code = run()
        out = capsys.readouterr().out
        assert out.startswith("Fieldbook check\n")
        assert f"ok       Data folder: {folder} can be created" in out
        assert "MISSING  Password keyring" in out  # the suite has no keyring
        assert code == doctor.EXIT_MISSING
    assert not folder.exists()


def _fake_bin(folder: Path, programs: Mapping[str, str]) -> str:
    """Scripts standing in for system programs; returns a PATH with them first."""
    folder.mkdir()
    for name, output in programs.items():
        script = folder / name
        script.write_text(f"#!/bin/sh\nprintf '%b' '{output}'\n")
        script.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def _doctor(*args: str, path: str | None = None, code: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if path:
        env["PATH"] = path
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "app.doctor", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          check=False)


@pytest.mark.slow
def test_make_system_deps_commands(tmp_path: Path) -> None:
    """What the Makefile runs: the package names on one line, then the short report."""
    path = _fake_bin(tmp_path / "bin", {
        "ldd": r"\tlibxcb-keysyms.so.1 => not found\n\tlibxcb-icccm.so.4 => not found\n",
        "fc-list": "",
    })
    names = _doctor("--missing-packages", path=path)
    expected = "libxcb-icccm4 libxcb-keysyms1 fonts-noto-cjk fonts-arphic-uming\n"
    assert (names.returncode, names.stdout) == (0, expected)
    system = _doctor("--system", path=path)
    assert system.returncode == 1
    assert system.stdout.rstrip().endswith(
        "apt-get install libxcb-icccm4 libxcb-keysyms1 fonts-noto-cjk fonts-arphic-uming")
    # Only a font missing: said, but the window can open, so `make run` goes on.
    font_only = _fake_bin(tmp_path / "bin2", {"ldd": "", "fc-list": ""})
    assert _doctor("--missing-packages", path=font_only).stdout == "fonts-noto-cjk fonts-arphic-uming\n"
    assert _doctor("--system", path=font_only).returncode == 0
    # All present: silent.
    fine = _fake_bin(tmp_path / "bin3", {"ldd": "", "fc-list": r"Noto Sans CJK SC\n"})
    assert _doctor("--missing-packages", path=fine).stdout == ""
    assert _doctor("--system", path=fine).stdout == ""


@pytest.mark.slow
def test_the_check_loads_no_qt(tmp_path: Path) -> None:
    code = ("import sys; from app.__main__ import main; rc = main(sys.argv[1:]); "
            "print('qt loaded' if [m for m in sys.modules if m.startswith('PySide6')] else 'no qt')")
    done = _doctor("--check", "--data-dir", str(tmp_path), code=code)
    assert done.stdout.startswith("Fieldbook check\n")
    assert done.stdout.rstrip().endswith("no qt")


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("ldd") is None,
                    reason="the Qt library check runs on Linux with ldd")
def test_this_machine_has_every_qt_library() -> None:
    """The real check, on the real PySide6 of this venv (`make system-deps` has run)."""
    findings = doctor.check_qt_libraries(doctor.qt_folder(), doctor.run_command)
    assert [f.what for f in findings if not f.ok] == []
    assert findings[0].detail == "every system library the window needs is installed"
