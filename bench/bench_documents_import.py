"""Import from Word: a 20-page 教案 (.docx) read, mapped and stored as a draft.

    .venv/bin/python bench/bench_documents_import.py [--runs 5] [--no-write]

The document is built here with python-docx, page by page (a hard page break
after each of 20 pages, each about a page of text): a header table, objectives,
key points, a procedure table of 40 rows, board design, reflection and a
lesson transcript. One run is ``parse_docx`` (open, walk, map, check that
nothing is dropped) plus ``save_draft`` into a real store (one transaction).
Writes its section of docs/benchmarks.md (bench/doc.py). Target: under 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docx
from docx.enum.text import WD_BREAK

from app.documents.importer import parse_docx, save_draft
from app.models.store import Store
from bench.bench_client import machine
from bench.doc import write_section

PAGES = 20
TARGET_S = 2.0
_SENTENCE = "学生在小组中交流自己的想法，教师巡视并记录典型错误，随后请两位同学到黑板前讲解思路。"


def _page_break(document: Any) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _paragraphs(document: Any, label: str, count: int) -> None:
    for i in range(count):
        document.add_paragraph(f"{label}{i + 1}：{_SENTENCE * 2}")


def build_document(path: Path) -> int:
    """A 20-page lesson plan; returns its number of characters."""
    d = docx.Document()
    d.add_heading("《分数的初步认识》教学设计（第一课时）", 0)
    table = d.add_table(rows=3, cols=4)
    for r, row in enumerate([["课题", "分数的初步认识", "学科", "数学"],
                             ["年级", "三年级", "班级", "三（2）班"],
                             ["授课教师", "王芳", "时长", "40分钟"]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    d.add_heading("教学目标", 1)
    _paragraphs(d, "目标", 14)
    _page_break(d)
    d.add_heading("教学重难点", 1)
    _paragraphs(d, "重点", 14)
    _page_break(d)
    d.add_heading("教学过程", 1)
    steps = d.add_table(rows=41, cols=4)
    for c, text in enumerate(["教学环节", "时间", "教师活动", "学生活动"]):
        steps.cell(0, c).text = text
    for r in range(1, 41):
        for c, text in enumerate([f"环节{r}", "1分钟", _SENTENCE * 4, _SENTENCE * 2]):
            steps.cell(r, c).text = text
        if r % 5 == 0:
            steps.cell(r, 3).add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _page_break(d)
    d.add_heading("板书设计", 1)
    _paragraphs(d, "板书", 6)
    d.add_heading("教学反思", 1)
    _paragraphs(d, "反思", 12)
    for page in range(PAGES - 12):
        _page_break(d)
        d.add_heading(f"附录{page + 1}：课堂实录", 2)
        _paragraphs(d, "实录", 12)
    d.save(str(path))
    body = d.element.body
    return sum(len(t.text or "") for t in body.iter(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"))


def page_breaks(path: Path) -> int:
    document = docx.Document(str(path))
    return len(document.element.body.xpath(".//w:br[@w:type='page']"))


def one_run(path: Path, store: Store) -> float:
    start = time.perf_counter()
    result = parse_docx(path)
    save_draft(store, result, author="王芳")
    elapsed = time.perf_counter() - start
    if result.unplaced or not result.storable:
        raise SystemExit(f"the benchmark document lost text: {result.unplaced[:3]}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = work / "二十页教案.docx"
        characters = build_document(path)
        breaks, size = page_breaks(path), path.stat().st_size
        store = Store.open(work / "fieldbook.db")
        try:
            times = [one_run(path, store) for _ in range(args.runs)]
        finally:
            store.close()
    load = os.getloadavg()
    best, median = min(times), statistics.median(times)
    verdict = "meets" if median < TARGET_S else "misses"
    facts = machine()
    section = "\n".join([
        "## Import from Word (a 20-page 教案)", "",
        f"A .docx of {breaks + 1} pages ({breaks} hard page breaks), {characters:,} characters, "
        f"{size / 1024:.0f} KiB: header table, objectives, key points, a 40-row procedure table, "
        "board design, reflection, transcript appendix. One run: `parse_docx` (open, walk, map, "
        "the nothing-dropped check) + `save_draft` into a real store.", "",
        "| runs | best | median | target |", "|---|---|---|---|",
        f"| {args.runs} | {best:.3f} s | {median:.3f} s | < {TARGET_S:.0f} s ({verdict}) |", "",
        f"Machine: {facts['cpu']}, {facts['memory']}, {facts['os']}, Python {facts['python']}; "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} while measuring (a shared "
        "machine: figures are upper bounds).", "",
        "Reproduce:", "", "```sh", ".venv/bin/python bench/bench_documents_import.py", "```", "",
    ])
    print(section)
    if not args.no_write:
        write_section("documents_import", section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
