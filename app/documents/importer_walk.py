"""The body of a .docx in document order: paragraphs and table rows, as text.

python-docx's own iterators skip content controls (w:sdt), text boxes and
tracked insertions, and repeat a merged cell once per grid column; the
importer promises that nothing is dropped or doubled, so the body is walked
here element by element: every w:tc is visited once (a merged cell is one
element), deleted text (w:del) is left out, a text box's paragraphs follow
the paragraph that anchors them, and a nested table's rows follow the row
that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from docx.oxml.ns import qn

_P, _TBL, _TR, _TC, _R = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:r")
_T, _TAB, _BR, _CR = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
_TXBX = qn("w:txbxContent")
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Wrappers whose children are read as if they stood in their place.
_CONTAINERS = {qn(t) for t in ("w:sdt", "w:sdtContent", "w:customXml", "w:hyperlink", "w:ins",
                               "w:smartTag", "w:fldSimple", "w:moveTo", "w:dir", "w:bdo")}
_SKIPPED = {qn(t) for t in ("w:del", "w:moveFrom", "w:pPr", "w:rPr", "w:sdtPr", "w:sdtEndPr",
                            "w:tblPr", "w:tblGrid", "w:trPr", "w:tcPr")}
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


@dataclass(frozen=True)
class Paragraph:
    text: str
    level: int | None  # 0 for the Title style, 1-9 for Heading n, None for body text
    bold: bool  # every run with text is bold: a heading typed by hand


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]  # each cell's text once, in order (merged cells once)
    table: int  # which table (nested tables have their own number)


Block = Paragraph | Row


class _Walker:
    def __init__(self, styles: dict[str, str]) -> None:
        self._styles = styles  # style id -> style name
        self._tables = 0

    def blocks(self, parent: Any) -> Iterator[Block]:
        for child in parent.iterchildren():
            if child.tag == _P:
                yield from self._paragraph(child)
            elif child.tag == _TBL:
                yield from self._table(child)
            elif child.tag in _CONTAINERS:
                yield from self.blocks(child)

    def _paragraph(self, p: Any) -> Iterator[Block]:
        parts: list[str] = []
        boxes: list[Any] = []
        bold = self._read_runs(p, parts, boxes)
        text = "".join(parts).strip()
        if text:
            yield Paragraph(text, self._level(p), bold)
        for box in boxes:
            yield from self.blocks(box)

    def _read_runs(self, parent: Any, parts: list[str], boxes: list[Any]) -> bool:
        """Append the text of ``parent``'s runs; True when all of it is bold."""
        bold = True
        for child in parent.iterchildren():
            if child.tag == _R:
                text = self._run_text(child, boxes)
                parts.append(text)
                bold = bold and (not text.strip() or _is_bold(child))
            elif child.tag in _CONTAINERS:
                bold = self._read_runs(child, parts, boxes) and bold
        return bold

    @staticmethod
    def _run_text(run: Any, boxes: list[Any]) -> str:
        text: list[str] = []
        for child in run.iterchildren():
            if child.tag == _T:
                text.append(child.text or "")
            elif child.tag == _TAB:
                text.append("\t")
            elif child.tag in (_BR, _CR):
                text.append("\n")
            else:  # drawings and VML shapes may hold text boxes
                boxes.extend(
                    box for box in child.iter(_TXBX)
                    if not any(a.tag == _FALLBACK for a in box.iterancestors())
                )
        return "".join(text)

    def _level(self, p: Any) -> int | None:
        style_id = p.xpath("string(./w:pPr/w:pStyle/@w:val)")
        name = self._styles.get(style_id, style_id)
        if name.lower() in ("title", "标题"):
            return 0
        match = _HEADING_STYLE.match(name)
        return int(match.group(1)) if match else None

    def _table(self, tbl: Any) -> Iterator[Block]:
        self._tables += 1
        number = self._tables
        for tr in tbl.iterchildren(_TR):
            cells: list[str] = []
            nested: list[Any] = []
            for tc in tr.iterchildren(_TC):
                cells.append(self._cell_text(tc, nested))
            yield Row(tuple(cells), number)
            for table in nested:
                yield from self._table(table)

    def _cell_text(self, tc: Any, nested: list[Any]) -> str:
        lines: list[str] = []
        for block in self._cell_blocks(tc, nested):
            lines.append(block)
        return "\n".join(lines).strip()

    def _cell_blocks(self, parent: Any, nested: list[Any]) -> Iterator[str]:
        for child in parent.iterchildren():
            if child.tag == _P:
                parts: list[str] = []
                boxes: list[Any] = []
                self._read_runs(child, parts, boxes)
                text = "".join(parts).strip()
                if text:
                    yield text
                for box in boxes:
                    yield from self._cell_blocks(box, nested)
            elif child.tag == _TBL:
                nested.append(child)
            elif child.tag in _CONTAINERS:
                yield from self._cell_blocks(child, nested)


def _is_bold(run: Any) -> bool:
    node = run.find(qn("w:rPr") + "/" + qn("w:b"))
    if node is None:
        return False
    value = node.get(qn("w:val"))
    return value is None or value.lower() not in ("0", "false", "off")


def body_blocks(document: Any) -> list[Block]:
    """Every paragraph and table row of a python-docx ``Document``'s body."""
    styles = {s.style_id: s.name or "" for s in document.styles}
    return list(_Walker(styles).blocks(document.element.body))
