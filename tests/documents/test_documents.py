"""Records as Word and PDF documents: every field there, in Chinese."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pytest

from app.documents.builder import build_document, field_text
from app.documents.docx_writer import write_docx
from app.documents.export import write_combined, write_zip
from app.documents.model import ExportOptions, Translate
from app.documents.source import load_document, load_documents, parse_where, query_ids
from app.models import reviews
from app.models.fields import LISTED_KINDS, STEP_KEYS, FieldType, Kind, kind_spec
from app.models.store import RecordData, Store
from tests.documents.readback import docx_header_xml, docx_text, pdf_text
from tests.documents.samples import AUTHOR, LESSON


def _expected_texts(record: RecordData, zh: Translate) -> list[str]:
    """What the document must show: each field's value as printed."""
    texts = [AUTHOR]
    for spec in kind_spec(record.kind).fields:
        value = record.values[spec.name]
        if spec.type is FieldType.STEPS:
            texts.extend(str(step[k]) for step in value for k in STEP_KEYS)
        elif spec.type is FieldType.LONGTEXT:
            texts.extend(value.split("\n"))
        elif spec.type is not FieldType.ATTACHMENTS:
            texts.append(field_text(spec, value, zh))
    return [t for t in texts if t]


@pytest.mark.parametrize("kind", LISTED_KINDS)  # (templates are not documents)
def test_docx_holds_every_field_value(
    kind: Kind, records: dict[Kind, RecordData], store: Store, zh: Translate, tmp_path: Path
) -> None:
    record = records[kind]
    target = tmp_path / "out.docx"
    write_docx([load_document(store, record.id, zh, ExportOptions(school="红旗小学"))], target)
    text = docx_text(target)
    for expected in _expected_texts(record, zh):
        assert expected in text, expected
    assert "红旗小学" in docx_header_xml(target)


def test_lesson_plan_follows_the_table_form(records: dict[Kind, RecordData], store: Store,
                                            zh: Translate, tmp_path: Path) -> None:
    from docx import Document

    target = tmp_path / "plan.docx"
    write_docx([load_document(store, records[Kind.LESSON_PLAN].id, zh, ExportOptions())], target)
    doc = Document(str(target))
    header, steps = doc.tables
    labels = [header.cell(r, c).text for r in range(len(header.rows)) for c in (0, 2)]
    assert labels[:8] == ["课题", "学科", "年级", "班级", "时长", "计划日期", "执教者", "学校"]
    assert [c.text for c in steps.rows[0].cells] == ["环节", "分钟", "教师活动", "学生活动"]
    assert [c.text for c in steps.rows[-1].cells][:2] == ["合计", "40"]
    assert len(steps.rows) == len(LESSON["procedure"]) + 2
    assert "教学目标" in [p.text for p in doc.paragraphs]


def test_watermark_on_drafts_only(records: dict[Kind, RecordData], store: Store, zh: Translate,
                                  tmp_path: Path) -> None:
    draft = records[Kind.LESSON_PLAN]
    approved = store.create(Kind.LESSON_PLAN.value, LESSON, author=AUTHOR)
    approved = store.set_meta_field(approved.id, "status", "approved")
    target = tmp_path / "both.docx"
    write_docx(load_documents(store, [draft.id, approved.id], zh, ExportOptions()), target)
    from docx import Document

    first, second = Document(str(target)).sections
    assert "草稿" in first.header._element.xml
    assert "PowerPlusWaterMarkObject" in first.header._element.xml
    assert "草稿" not in second.header._element.xml
    off = tmp_path / "off.docx"
    write_docx([load_document(store, draft.id, zh, ExportOptions(watermark_drafts=False))], off)
    assert "草稿" not in docx_header_xml(off)


def test_review_thread_only_when_asked(records: dict[Kind, RecordData], store: Store,
                                       zh: Translate, tmp_path: Path) -> None:
    record = records[Kind.LESSON_PLAN]
    reviews.add_comment(store, record.id, "导入环节可以再短一些", author="王培训师")
    with_thread = tmp_path / "thread.docx"
    without = tmp_path / "plain.docx"
    write_docx([load_document(store, record.id, zh, ExportOptions(include_thread=True))], with_thread)
    write_docx([load_document(store, record.id, zh, ExportOptions())], without)
    text = docx_text(with_thread)
    assert "审阅记录" in text and "导入环节可以再短一些" in text and "王培训师" in text
    assert "状态：草稿" in text
    assert "导入环节可以再短一些" not in docx_text(without)


def test_pdf_holds_chinese_title_and_steps(records: dict[Kind, RecordData], store: Store,
                                           zh: Translate, gui: object, tmp_path: Path) -> None:
    from app.ui.documents_pdf import write_pdf

    target = tmp_path / "plan.pdf"
    write_pdf([load_document(store, records[Kind.LESSON_PLAN].id, zh, ExportOptions())], target)
    assert target.read_bytes().startswith(b"%PDF")
    text = pdf_text(target).replace(" ", "")
    assert "认识分数" in text
    for step in LESSON["procedure"]:
        assert step["teacher"] in text and step["students"].replace(" ", "") in text
    assert "草稿" in text  # the watermark of a draft


def test_pdf_embeds_its_fonts(records: dict[Kind, RecordData], store: Store, zh: Translate,
                              gui: object, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from app.ui.documents_pdf import write_pdf

    target = tmp_path / "plan.pdf"
    write_pdf([load_document(store, records[Kind.TRAINING].id, zh, ExportOptions())], target)
    page = PdfReader(str(target)).pages[0]
    fonts: Any = page["/Resources"]["/Font"]  # type: ignore[index]
    for ref in fonts.values():
        descendant = ref.get_object()["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_zip_has_one_file_per_record_named_by_title_and_date(
    records: dict[Kind, RecordData], store: Store, zh: Translate, tmp_path: Path
) -> None:
    ids = [r.id for r in records.values()]
    target = tmp_path / "term.zip"
    count = write_zip(load_documents(store, ids, zh, ExportOptions()), target, write_docx, "docx")
    assert count == 3
    names = zipfile.ZipFile(target).namelist()
    assert "认识分数_2026-09-01.docx" in names
    assert "山阳镇中心小学_2026-10-15.docx" in names


def test_a_failed_export_leaves_no_file(records: dict[Kind, RecordData], store: Store,
                                        zh: Translate, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "term.docx"
    target.write_bytes(b"the earlier export")

    def broken() -> object:
        yield load_document(store, records[Kind.LESSON_PLAN].id, zh, ExportOptions())
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_combined(broken(), target, write_docx)  # type: ignore[arg-type]
    assert target.read_bytes() == b"the earlier export"
    assert sorted(p.name for p in out.iterdir()) == ["term.docx"]


def test_where_filters(records: dict[Kind, RecordData], store: Store) -> None:
    lesson = records[Kind.LESSON_PLAN]
    assert query_ids(store, parse_where(["kind=lesson_plan status=draft"])) == [lesson.id]
    assert query_ids(store, parse_where(["date>=2026-09-01", "date<=2026-09-30"])) == [lesson.id]
    assert query_ids(store, parse_where(["subject=math grade=3"])) == [lesson.id]
    assert len(query_ids(store, parse_where(["status=draft"]))) == 3
    assert query_ids(store, parse_where(["status=approved"])) == []


@pytest.mark.parametrize("term", ["colour=red", "date>=tomorrow", "grade=13", "status>=draft",
                                  "kind=poem"])
def test_where_refuses_what_it_cannot_read(term: str) -> None:
    with pytest.raises(ValueError, match="'"):
        parse_where([term])


def test_english_labels_without_translation(records: dict[Kind, RecordData]) -> None:
    from app.documents.model import no_translation

    doc = build_document(records[Kind.LESSON_PLAN], no_translation)
    assert [h.label for h in doc.header][:3] == ["Lesson topic", "Subject", "Grade"]
    assert doc.watermark == "Draft"
    assert doc.file_stem == "认识分数_2026-09-01"


def test_file_stem_drops_characters_no_file_system_takes() -> None:
    from app.documents.builder import file_stem

    assert file_stem('a/b:c*?"<>|', dt.date(2026, 1, 2), "x") == "a b c_2026-01-02"
    assert file_stem("...", None, "fallback") == "fallback"


def _png(gui: object) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("#3a7"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide takes str
    return bytes(data.data())


def test_attached_images_placed_when_asked(records: dict[Kind, RecordData], store: Store,
                                           zh: Translate, gui: object, tmp_path: Path) -> None:
    from docx import Document

    from app.models import attachments
    from app.ui.documents_pdf import write_pdf

    record = records[Kind.LESSON_PLAN]
    attachments.attach_bytes(store, record.id, _png(gui), name="板书.png", media_type="image/png")
    with_images = tmp_path / "images.docx"
    without = tmp_path / "plain.docx"
    write_docx([load_document(store, record.id, zh, ExportOptions(include_images=True))], with_images)
    write_docx([load_document(store, record.id, zh, ExportOptions())], without)
    assert len(Document(str(with_images)).inline_shapes) == 1
    assert len(Document(str(without)).inline_shapes) == 0
    assert "板书.png" in docx_text(without)  # the name is listed either way
    pdf = tmp_path / "images.pdf"
    write_pdf([load_document(store, record.id, zh, ExportOptions(include_images=True))], pdf)
    from pypdf import PdfReader

    assert sum(len(page.images) for page in PdfReader(str(pdf)).pages) == 1
