"""Documents: one lesson plan to DOCX and to PDF; 200 plans to one document.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_documents.py

Writes its section of docs/benchmarks.md (bench/doc.py) and the first page
of each kind's PDF as a PNG into docs/screenshots/documents/ (pdftoppm).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.documents.docx_writer import write_docx
from app.documents.model import ExportOptions
from app.documents.source import load_documents
from app.models.store import Store
from app.ui.documents_pdf import ensure_gui, write_pdf
from app.ui.documents_translation import load_translate
from bench.doc import write_section
from tests.documents.samples import AUTHOR, SAMPLES

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "documents"


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    ensure_gui()
    tr = load_translate("zh_CN")
    options = ExportOptions(school="红旗小学", include_thread=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        store = Store.open(work / "fieldbook.db")
        ids = {kind: store.create(kind.value, values, author=AUTHOR).id for kind, values in SAMPLES.items()}
        plans = store.create_many([("lesson_plan", SAMPLES[next(iter(SAMPLES))])] * 200, author=AUTHOR)
        one = list(ids.values())[:1]
        docx_one = min(_timed(lambda: write_docx(load_documents(store, one, tr, options), work / "1.docx"))
                       for _ in range(3))
        pdf_one = min(_timed(lambda: write_pdf(load_documents(store, one, tr, options), work / "1.pdf"))
                      for _ in range(3))
        docx_200 = _timed(lambda: write_docx(load_documents(store, plans, tr, options), work / "200.docx"))
        pdf_200 = _timed(lambda: write_pdf(load_documents(store, plans, tr, options), work / "200.pdf"))
        SHOTS.mkdir(parents=True, exist_ok=True)
        for kind, record_id in ids.items():
            pdf = work / f"{kind.value}.pdf"
            write_pdf(load_documents(store, [record_id], tr, options), pdf)
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", "-singlefile",
                                str(pdf), str(SHOTS / kind.value)], check=True)
        store.close()
    load = os.getloadavg()[0]
    rows = [
        ("one lesson plan → DOCX", f"{docx_one:.3f} s", "< 1 s"),
        ("one lesson plan → PDF", f"{pdf_one:.3f} s", "< 1 s"),
        ("200 lesson plans → one DOCX", f"{docx_200:.2f} s", "< 20 s"),
        ("200 lesson plans → one PDF", f"{pdf_200:.2f} s", "< 20 s"),
    ]
    cpu = platform.processor() or platform.machine()
    lines = [
        "## Documents (Word and PDF export)", "",
        f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}; Qt platform `offscreen`; load average {load:.1f} "
        "(the machine is shared, so the figures are upper bounds).", "",
        "Reproduce:", "", "```sh", "QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_documents.py",
        "```", "",
        "One figure is the best of 3 runs; the 200-plan figures one run. Each plan is the full sample "
        "of tests/documents/samples.py with the review thread and the school header.", "",
        "| Case | Figure | Target |", "|---|---|---|",
        *(f"| {case} | {figure} | {target} |" for case, figure, target in rows), "",
    ]
    write_section("documents", "\n".join(lines))


if __name__ == "__main__":
    main()
