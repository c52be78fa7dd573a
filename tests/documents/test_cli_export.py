"""``fieldbook export --format docx|pdf``: records by id or filter, one file or a zip."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app import cli
from app.models.fields import Kind
from app.models.store import Store
from app.paths import store_path
from tests.documents.readback import docx_text, pdf_text
from tests.documents.samples import AUTHOR, SAMPLES


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, dict[Kind, str]]:
    folder = tmp_path / "data"
    folder.mkdir()
    store = Store.open(store_path(folder))
    ids = {kind: store.create(kind.value, values, author=AUTHOR).id for kind, values in SAMPLES.items()}
    store.close()
    return folder, ids


def test_one_plan_to_docx(data: tuple[Path, dict[Kind, str]], tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    folder, ids = data
    target = tmp_path / "plan.docx"
    code = cli.main(["export", "--format", "docx", "--id", ids[Kind.LESSON_PLAN], "-o", str(target),
                     "--school", "红旗小学", "--data-dir", str(folder)])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    assert "Exported 1 record(s)" in capsys.readouterr().out
    text = docx_text(target)
    assert "认识分数" in text and "课题" in text and "折纸认识二分之一" in text


def test_where_batch_to_a_zip(data: tuple[Path, dict[Kind, str]], tmp_path: Path) -> None:
    folder, _ids = data
    target = tmp_path / "drafts.zip"
    code = cli.main(["export", "--format", "docx", "--where", "status=draft", "--zip", "-o", str(target),
                     "--data-dir", str(folder)])
    assert code == cli.EXIT_OK
    assert len(zipfile.ZipFile(target).namelist()) == 3


def test_english_labels(data: tuple[Path, dict[Kind, str]], tmp_path: Path) -> None:
    folder, ids = data
    target = tmp_path / "plan.docx"
    assert cli.main(["export", "--format", "docx", "--id", ids[Kind.TRAINING], "-o", str(target),
                     "--language", "en", "--data-dir", str(folder)]) == cli.EXIT_OK
    assert "Provider or trainer" in docx_text(target)


@pytest.mark.parametrize(("args", "message"), [
    (["--where", "colour=red"], "is not a filter"),
    (["--where", "date>=soon"], "YYYY-MM-DD"),
    ([], "--id ID or --where"),
    (["--id", "00000000-0000-0000-0000-000000000000"], "no record"),
    (["--where", "status=approved"], "no record matches"),
])
def test_bad_requests_write_nothing(data: tuple[Path, dict[Kind, str]], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str], args: list[str],
                                    message: str) -> None:
    folder, _ids = data
    target = tmp_path / "out.docx"
    code = cli.main(["export", "--format", "docx", *args, "-o", str(target), "--data-dir", str(folder)])
    assert code in (cli.EXIT_USAGE, cli.EXIT_FAILED)
    assert message in capsys.readouterr().err
    assert not target.exists()


def test_pdf_from_a_separate_process(data: tuple[Path, dict[Kind, str]], tmp_path: Path) -> None:
    """The real command, in a process of its own: Qt offscreen, fonts embedded."""
    folder, ids = data
    target = tmp_path / "plan.pdf"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "app", "export", "--format", "pdf",
         "--id", ids[Kind.LESSON_PLAN], "-o", str(target), "--data-dir", str(folder)],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2], timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = pdf_text(target).replace(" ", "")
    assert "认识分数" in text and "分月饼的故事" in text
