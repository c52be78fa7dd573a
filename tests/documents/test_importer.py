"""Import from Word: varied .docx layouts built here with python-docx, each
mapped to the right fields with every piece of text landing somewhere, on a
real store; old, damaged and foreign files refused with nothing stored."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document
from docx.enum.text import WD_BREAK

from app.documents import importer
from app.documents.importer_rules import exact_minutes, grade_number, minutes_in
from app.models.fields import STEPS_MAX, Kind
from app.models.store import ListQuery, Store

Layout = Callable[[Path], list[str]]  # writes a .docx, returns every text it put in


def _table(document: Document, rows: list[list[str]]) -> Any:
    table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    return table


def _bold(document: Document, text: str) -> None:
    document.add_paragraph().add_run(text).bold = True


def table_style(path: Path) -> list[str]:
    d = docx.Document()
    d.add_heading("《认识分数》教学设计", 0)
    _table(d, [["课题", "认识分数", "学科", "数学"],
               ["年级", "三年级", "授课教师", "张老师"],
               ["教学目标", "1. 认识几分之一\n2. 会读、写几分之一"],
               ["教学重难点", "理解平均分是分数的基础"],
               ["教学准备", "课件、圆形纸片"]])
    _table(d, [["教学环节", "时间", "教师活动", "学生活动", "设计意图"],
               ["情境导入", "5分钟", "出示月饼图", "观察并说一说", "激发兴趣"],
               ["探究新知", "（20分）", "引导折纸", "动手折出二分之一", "动手操作"],
               ["巩固练习", "10'", "出示练习", "独立完成", "当堂反馈"]])
    _table(d, [["板书设计", "1/2 读作：二分之一"], ["作业", "练习册第5页"],
               ["教学反思", "学生兴趣浓厚"]])
    d.save(str(path))
    return ["认识分数", "张老师", "认识几分之一", "会读、写几分之一", "理解平均分是分数的基础",
            "课件、圆形纸片", "情境导入", "出示月饼图", "观察并说一说", "激发兴趣",
            "引导折纸", "动手折出二分之一", "独立完成", "当堂反馈", "1/2 读作：二分之一",
            "练习册第5页", "学生兴趣浓厚", "《认识分数》教学设计"]


def heading_style(path: Path) -> list[str]:
    d = docx.Document()
    d.add_heading("小数的初步认识", 0)
    d.add_paragraph("学科：数学")
    d.add_paragraph("年级：高一")
    d.add_heading("一、教学目标", 1)
    d.add_paragraph("知道小数的读法和写法。")
    d.add_paragraph("体会小数与生活的联系。")
    d.add_heading("二、学情分析", 1)
    d.add_paragraph("学生已学过分数。")
    d.add_heading("三、教学过程", 1)
    _bold(d, "（一）复习导入（5分钟）")
    d.add_paragraph("提问：一元是多少角？")
    _bold(d, "（二）新课讲授（二十分钟）")
    d.add_paragraph("出示商品价格牌。")
    run = d.add_paragraph().add_run("第一行")
    run.add_break(WD_BREAK.LINE)
    run.add_text("第二行")
    d.add_heading("四、板书设计", 1)
    d.add_paragraph("0.1 = 1/10")
    d.add_heading("五、教学反思", 1)
    d.add_paragraph("课堂节奏偏快。")
    d.save(str(path))
    return ["小数的初步认识", "知道小数的读法和写法。", "体会小数与生活的联系。", "学情分析",
            "学生已学过分数。", "复习导入", "提问：一元是多少角？", "新课讲授", "出示商品价格牌。",
            "第一行", "第二行", "0.1 = 1/10", "课堂节奏偏快。"]


def merged_cells(path: Path) -> list[str]:
    d = docx.Document()
    table = _table(d, [["课题", "长方形的面积", "", ""],
                       ["教学目标", "掌握面积公式", "", ""],
                       ["教学过程", "导入", "3分钟", "回顾周长"],
                       ["", "探究", "25分钟", "数方格"],
                       ["", "小结", "5 min", "说收获"]])
    table.cell(0, 1).merge(table.cell(0, 3))  # one value across three columns
    table.cell(1, 1).merge(table.cell(1, 3))
    table.cell(2, 0).merge(table.cell(4, 0))  # 教学过程 down three rows
    d.save(str(path))
    return ["长方形的面积", "掌握面积公式", "导入", "回顾周长", "探究", "数方格", "小结", "说收获"]


def english_headings(path: Path) -> list[str]:
    d = docx.Document()
    d.add_paragraph("Title: Telling the time")
    d.add_paragraph("Subject: Mathematics")
    d.add_paragraph("Grade: Grade 2")
    d.add_paragraph("Duration: 40 min")
    d.add_heading("Objectives", 1)
    d.add_paragraph("Read o'clock and half past on an analogue clock.")
    d.add_heading("Resources", 1)
    d.add_paragraph("A paper clock for every pair.")
    d.add_heading("Procedure", 1)
    _table(d, [["Phase", "Time", "Teacher activity", "Student activity"],
               ["Warm-up", "5 min", "Sing the clock song", "Sing along"],
               ["Practice", "30 min", "Call out times", "Set the clocks"],
               ["Wrap-up", "5'", "Ask what was hard", "Share"]])
    d.add_heading("Homework", 1)
    d.add_paragraph("Draw your morning routine with times.")
    d.add_heading("Reflection", 1)
    d.add_paragraph("Half past was harder than expected.")
    d.save(str(path))
    return ["Telling the time", "Read o'clock and half past on an analogue clock.",
            "A paper clock for every pair.", "Warm-up", "Sing the clock song", "Sing along",
            "Practice", "Call out times", "Set the clocks", "Wrap-up", "Ask what was hard",
            "Share", "Draw your morning routine with times.", "Half past was harder than expected."]


def empty_template(path: Path) -> list[str]:
    d = docx.Document()
    _table(d, [["课题", "", "学科", ""], ["年级", "", "课时", ""], ["教学目标", ""],
               ["教学过程", ""], ["作业", ""]])
    d.save(str(path))
    return []


def very_long(path: Path) -> list[str]:
    d = docx.Document()
    texts = ["二十页的长教案"]
    d.add_heading(texts[0], 0)
    d.add_heading("教学目标", 1)
    for i in range(40):
        texts.append(f"目标第{i}条：学生能够完成第{i}项任务并说明理由。")
        d.add_paragraph(texts[-1])
    rows = [["环节", "时间", "教师活动", "学生活动"]]
    for i in range(STEPS_MAX + 10):
        rows.append([f"环节{i}", "2分钟", f"教师活动{i}号", f"学生活动{i}号"])
        texts += [f"环节{i}", f"教师活动{i}号", f"学生活动{i}号"]
    d.add_heading("教学过程", 1)
    _table(d, rows)
    d.add_heading("附录：课堂实录", 1)
    for i in range(200):
        texts.append(f"实录第{i}段：师生围绕问题{i}展开讨论，记录要点。")
        d.add_paragraph(texts[-1])
    d.save(str(path))
    return texts


def mixed(path: Path) -> list[str]:
    d = docx.Document()
    _table(d, [["课题：春晓", "学科：语文"], ["年级：一年级", "班级：一（2）班"]])
    d.add_paragraph("执教：李老师")
    d.add_paragraph("教学目标：会背诵古诗。")
    d.add_paragraph("认识“晓”等生字。")
    _bold(d, "教学重点")
    d.add_paragraph("朗读节奏。")
    _bold(d, "教学难点")
    d.add_paragraph("体会诗人惜春之情。")
    outer = _table(d, [["教学过程", ""]])
    inner = outer.cell(0, 1).add_table(rows=2, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "朗读", "（10分）"
    inner.cell(1, 0).text, inner.cell(1, 1).text = "背诵", "十五分钟"
    d.add_paragraph("作业：背给家人听。")
    d.save(str(path))
    return ["春晓", "一（2）班", "会背诵古诗。", "认识“晓”等生字。", "朗读节奏。", "体会诗人惜春之情。",
            "朗读", "背诵", "背给家人听。", "执教：李老师"]


LAYOUTS: dict[str, Layout] = {
    "table": table_style, "headings": heading_style, "merged": merged_cells,
    "english": english_headings, "empty": empty_template, "long": very_long, "mixed": mixed,
}


def stored_text(values: dict[str, Any]) -> str:
    parts: list[str] = []
    for value in values.values():
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [str(v) for step in value if isinstance(step, dict) for v in step.values()]
    return "\n".join(parts)


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_text_lands_in_the_stored_draft(name: str, tmp_path: Path, store: Store) -> None:
    path = tmp_path / f"{name}.docx"
    texts = LAYOUTS[name](path)
    result = importer.parse_docx(path)
    assert result.unplaced == [] and result.problems == {} and result.storable
    record = importer.save_draft(store, result, author="王芳")
    kept = stored_text(store.get(record.id).values)
    assert [t for t in texts if t not in kept] == []
    assert record.kind == Kind.LESSON_PLAN and record.status == "draft"


def test_a_table_layout_maps_its_labels_and_steps(tmp_path: Path) -> None:
    table_style(tmp_path / "t.docx")
    values = importer.parse_docx(tmp_path / "t.docx").values
    assert (values["title"], values["subject"], values["grade"]) == ("认识分数", "math", 3)
    assert values["objectives"].startswith("1. 认识几分之一")
    assert values["key_points"] == "理解平均分是分数的基础"
    assert values["materials"] == "课件、圆形纸片"
    assert [(s["phase"], s["minutes"]) for s in values["procedure"]] == [
        ("情境导入", 5), ("探究新知", 20), ("巩固练习", 10)]
    assert values["procedure"][0]["students"] == "观察并说一说"
    assert "设计意图：激发兴趣" in values["procedure"][0]["teacher"]
    assert values["homework"] == "练习册第5页" and values["reflection"] == "学生兴趣浓厚"
    assert "板书设计" in values["notes"] and "授课教师：张老师" in values["notes"]


def test_a_heading_layout_splits_sections_and_steps(tmp_path: Path) -> None:
    heading_style(tmp_path / "h.docx")
    values = importer.parse_docx(tmp_path / "h.docx").values
    assert values["title"] == "小数的初步认识" and values["grade"] == 10
    assert values["objectives"] == "知道小数的读法和写法。\n体会小数与生活的联系。"
    assert [(s["phase"], s["minutes"]) for s in values["procedure"]] == [
        ("（一）复习导入（5分钟）", 5), ("（二）新课讲授（二十分钟）", 20)]
    assert "学生已学过分数。" in values["notes"] and "学生已学过分数。" not in values["objectives"]
    assert values["reflection"] == "课堂节奏偏快。"


def test_merged_cells_are_read_once(tmp_path: Path) -> None:
    merged_cells(tmp_path / "m.docx")
    values = importer.parse_docx(tmp_path / "m.docx").values
    assert values["title"] == "长方形的面积" and values["objectives"] == "掌握面积公式"
    assert [(s["phase"], s["minutes"], s["teacher"]) for s in values["procedure"]] == [
        ("导入", 3, "回顾周长"), ("探究", 25, "数方格"), ("小结", 5, "说收获")]
    assert stored_text(values).count("长方形的面积") == 1


def test_english_headings(tmp_path: Path) -> None:
    english_headings(tmp_path / "e.docx")
    values = importer.parse_docx(tmp_path / "e.docx").values
    assert (values["title"], values["subject"], values["grade"], values["duration_minutes"]) == (
        "Telling the time", "math", 2, 40)
    assert [s["minutes"] for s in values["procedure"]] == [5, 30, 5]
    assert values["materials"] == "A paper clock for every pair."


def test_an_empty_template_becomes_an_empty_draft_named_after_the_file(tmp_path: Path) -> None:
    empty_template(tmp_path / "空白模板.docx")
    result = importer.parse_docx(tmp_path / "空白模板.docx")
    assert result.values["title"] == "空白模板" and result.storable
    assert "No title found: the file name is used." in [w.message for w in result.warnings]


def test_a_long_plan_keeps_the_steps_beyond_the_limit_in_the_notes(tmp_path: Path) -> None:
    very_long(tmp_path / "long.docx")
    result = importer.parse_docx(tmp_path / "long.docx")
    assert len(result.values["procedure"]) == STEPS_MAX
    assert f"环节{STEPS_MAX + 9}" in result.values["notes"]
    assert any("steps" in w.message for w in result.warnings)


def test_mixed_layout_with_a_nested_table(tmp_path: Path) -> None:
    mixed(tmp_path / "x.docx")
    values = importer.parse_docx(tmp_path / "x.docx").values
    assert (values["title"], values["subject"], values["grade"], values["class_name"]) == (
        "春晓", "chinese", 1, "一（2）班")
    assert values["key_points"] == "教学重点：\n朗读节奏。\n教学难点：\n体会诗人惜春之情。"
    assert [(s["phase"], s["minutes"]) for s in values["procedure"]] == [("朗读", 10), ("背诵", 15)]
    assert "执教：李老师" in values["notes"]


def test_an_unknown_grade_is_kept_in_the_notes(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("课题：复习课")
    d.add_paragraph("年级：混合年级")
    d.save(str(tmp_path / "g.docx"))
    result = importer.parse_docx(tmp_path / "g.docx")
    assert "grade" not in result.values and "混合年级" in result.values["notes"]
    assert result.warnings and result.unplaced == []


@pytest.mark.parametrize(("text", "minutes"), [
    ("5分钟", 5), ("5'", 5), ("5 min", 5), ("（10分）", 10), ("十五分钟", 15), ("12", 12),
    ("5 minutes", 5), ("约5分钟左右", None)])
def test_exact_minutes(text: str, minutes: int | None) -> None:
    assert exact_minutes(text) == minutes


def test_minutes_inside_a_phase() -> None:
    assert minutes_in("导入新课（5分钟）") == 5 and minutes_in("导入新课") is None


@pytest.mark.parametrize(("text", "grade"), [
    ("三年级", 3), ("Grade 3", 3), ("高一", 10), ("初二", 8), ("学前", 0), ("Senior 2", 11),
    ("九年级", 9), ("十三年级", None), ("三班", None)])
def test_grades_follow_the_registry(text: str, grade: int | None) -> None:
    assert grade_number(text) == grade


# --- refusals ------------------------------------------------------------------


def _ole(extra: bytes) -> bytes:
    return bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504 + extra


def _corrupt_xml(path: Path) -> None:
    table_style(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["word/document.xml"] = b"<w:document><unclosed"
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def _write(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _truncated(path: Path) -> None:
    table_style(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _spreadsheet(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")


@pytest.mark.parametrize(("make", "error"), [
    (_write(_ole(b"WordDocument".decode().encode("utf-16-le"))), importer.OldWordFormatError),
    (_write(_ole("EncryptedPackage".encode("utf-16-le"))), importer.PasswordProtectedError),
    (_write(b""), importer.EmptyFileError),
    (_write("这不是文档".encode() * 20), importer.NotWordDocumentError),
    (_truncated, importer.DamagedDocumentError),
    (_corrupt_xml, importer.DamagedDocumentError),
    (_spreadsheet, importer.NotWordDocumentError),
], ids=["doc", "password", "empty", "garbage", "truncated-zip", "bad-xml", "xlsx"])
def test_unreadable_files_are_refused_and_nothing_is_stored(
    make: Callable[[Path], None], error: type[importer.DocumentImportError], tmp_path: Path,
    store: Store,
) -> None:
    path = tmp_path / "plan.docx"
    make(path)
    with pytest.raises(error) as caught:
        importer.parse_docx(path)
    assert caught.value.path == path and caught.value.message
    [parsed] = importer.parse_files([path])
    assert parsed.result is None and isinstance(parsed.error, error)
    assert store.count(ListQuery(kind=Kind.LESSON_PLAN.value)) == 0


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(importer.UnreadableFileError):
        importer.parse_docx(tmp_path / "gone.docx")


def test_a_batch_reports_each_file(tmp_path: Path) -> None:
    table_style(tmp_path / "good.docx")
    (tmp_path / "old.doc").write_bytes(_ole(b""))
    parsed = importer.parse_files([tmp_path / "good.docx", tmp_path / "old.doc"])
    assert parsed[0].result is not None and parsed[0].error is None
    assert parsed[1].result is None and isinstance(parsed[1].error, importer.OldWordFormatError)


# --- the guarantee on any layout ---------------------------------------------------

_WORDS = ["课题", "教学目标", "教学过程", "板书设计", "作业", "年级", "学科", "三年级", "数学",
          "教学环节", "时间", "教师活动", "学生活动", "5分钟", "（10分）", "：", "一、", "导入",
          "Title", "Procedure", "Grade 3", "5 min", "老师", "设计意图", "\n", " ", "1."]


def _texts() -> Any:
    from hypothesis import strategies as st

    return st.lists(st.sampled_from(_WORDS), min_size=0, max_size=4).map("".join)


def _blocks() -> Any:
    from hypothesis import strategies as st

    from app.documents.importer_walk import Paragraph, Row

    paragraph = st.builds(lambda t, level, bold: Paragraph(t.strip(), level, bold), _texts(),
                          st.sampled_from([None, None, 0, 1, 2]), st.booleans())
    row = st.builds(lambda cells, table: Row(tuple(c.strip() for c in cells), table),
                    st.lists(_texts(), min_size=1, max_size=5), st.integers(1, 3))
    return st.lists(st.one_of(paragraph, row), max_size=25).map(
        lambda blocks: [b for b in blocks if not isinstance(b, Paragraph) or b.text])


def test_no_layout_drops_text() -> None:
    from hypothesis import given, settings

    @settings(max_examples=400, deadline=None)
    @given(_blocks())
    def check(blocks: list[Any]) -> None:
        result = importer.parse_blocks(blocks, Path("plan.docx"))
        assert result.unplaced == []
        assert result.problems == {}

    check()
