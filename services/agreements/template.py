"""The unified agreement template as a .docx, built in code with python-docx: Jinja tags inside for docxtpl, A4."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache, partial
from io import BytesIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph

from services.agreements.layout import LAYOUTS, Layout, Paragraph, Table

BODY_FONT = "宋体"
TITLE_FONT = "黑体"
LATIN_FONT = "Times New Roman"
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}
# style name → (font, size in pt, bold, alignment, first-line indent in characters, space before in pt)
STYLES = {
    "title": (TITLE_FONT, 22, True, "center", 0, 0),
    "number": (BODY_FONT, 10.5, False, "right", 0, 0),
    "party": (BODY_FONT, 12, False, "left", 0, 4),
    "heading": (TITLE_FONT, 12, True, "left", 0, 10),
    "body": (BODY_FONT, 12, False, "left", 2, 4),
    "clause": (BODY_FONT, 12, False, "left", 2, 2),
    "sign": (BODY_FONT, 12, False, "left", 0, 14),
}
TABLE_FONT_SIZE = 10.5
RELEASED = datetime(2026, 1, 1)


def _fonts(run_properties: object, font: str) -> None:
    """Latin text in the Latin font, Chinese in the given one."""
    fonts = run_properties.find(qn("w:rFonts"))  # type: ignore[attr-defined]
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        run_properties.insert(0, fonts)  # type: ignore[attr-defined]
    for attribute, value in (("w:ascii", LATIN_FONT), ("w:hAnsi", LATIN_FONT), ("w:eastAsia", font),
                             ("w:cs", LATIN_FONT)):
        fonts.set(qn(attribute), value)


def _write(paragraph: DocxParagraph, text: str, style: str, *, size: float | None = None,
           align: str | None = None) -> None:
    """Fill a paragraph with one run of text (so docxtpl sees each tag whole) in a style of STYLES."""
    font, points, bold, default_align, indent, before = STYLES[style]
    paragraph.alignment = ALIGN[align or default_align]
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.3
    if indent:
        fmt.first_line_indent = Pt((size or points) * indent)
    run = paragraph.add_run(text)
    run.font.size = Pt(size or points)
    run.font.bold = bold
    _fonts(run._element.get_or_add_rPr(), font)


def _page(document: DocxDocument, layout: Layout) -> None:
    """A4 with the margins of an office document, the defaults in Chinese fonts and the page footer."""
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.54), Cm(2.54)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = document.styles["Normal"]
    normal.font.size = Pt(12)
    _fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    footer = section.footer.paragraphs[0]
    _write(footer, layout.footer + "　　第 ", "number", size=9, align="center")
    _field(footer, "PAGE")
    footer.add_run(" 页 共 ").font.size = Pt(9)
    _field(footer, "NUMPAGES")
    footer.add_run(" 页").font.size = Pt(9)


def _field(paragraph: DocxParagraph, instruction: str) -> None:
    """A simple field (page number, page count) that Word fills in."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _cell(cell: object, text: str, align: str, *, bold: bool = False, width: float | None = None) -> None:
    """One table cell with its text in the table's font size."""
    paragraph = cell.paragraphs[0]  # type: ignore[attr-defined]
    _write(paragraph, text, "party", size=TABLE_FONT_SIZE, align=align)
    paragraph.paragraph_format.space_before = Pt(1)
    paragraph.runs[0].font.bold = bold
    if width is not None:
        cell.width = Cm(width)  # type: ignore[attr-defined]


def _tag_row(table: DocxTable, tag: str) -> None:
    """A row that docxtpl replaces by a row-level tag ({%tr … %})."""
    row = table.add_row()
    _cell(row.cells[0], "{%tr " + tag + " %}", "left")


def _repeat_header(table: DocxTable) -> None:
    """The header row repeats on every page the table runs over."""
    properties = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _table(document: DocxDocument, block: Table) -> None:
    """A table: header, one row per item ({%tr for %}), a row for an empty list, footer."""
    table = document.add_table(rows=1, cols=len(block.columns))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, column in zip(table.rows[0].cells, block.columns, strict=True):
        _cell(cell, column.title, "center", bold=True, width=column.width)
    _repeat_header(table)
    _tag_row(table, f"for {block.var} in {block.items}")
    row = table.add_row()
    for cell, column in zip(row.cells, block.columns, strict=True):
        _cell(cell, column.cell, column.align, width=column.width)
    _tag_row(table, "endfor")
    if block.empty:
        _tag_row(table, f"if not {block.items}")
        row = table.add_row()
        merged = row.cells[0].merge(row.cells[-1])
        _cell(merged, block.empty, "center")
        _tag_row(table, "endif")
    if block.footer:
        row = table.add_row()
        for cell, text, column in zip(row.cells, block.footer, block.columns, strict=True):
            _cell(cell, text, column.align, bold=True, width=column.width)
    for grid, column in zip(table._tbl.tblGrid.gridCol_lst, block.columns, strict=True):
        grid.w = Cm(column.width)
    for row in table.rows:
        cells = row.cells
        if len({cell._tc for cell in cells}) == len(cells):  # merged rows span their columns already
            for cell, column in zip(cells, block.columns, strict=True):
                cell.width = Cm(column.width)


def _paragraph(document: DocxDocument, block: Paragraph) -> None:
    """A paragraph, inside {%p if %} … {%p endif %} when it has a condition."""
    if block.when:
        document.add_paragraph("{%p if " + block.when + " %}")
    _write(document.add_paragraph(), block.text, block.style)
    if block.when:
        document.add_paragraph("{%p endif %}")


def _properties(document: DocxDocument, layout: Layout) -> None:
    """Document properties: the title (a tag, filled in), the template version; no thumbnail of another page."""
    properties = document.core_properties
    properties.title = layout.title
    properties.subject = "征收补偿协议"
    properties.author = "征迁安置案件管理系统"
    properties.comments = f"统一模板 {layout.version}"
    properties.last_modified_by = ""
    properties.language = "zh-CN"
    properties.created = properties.modified = RELEASED
    package = document.part.package
    for key, relationship in list(package.rels.items()):
        if relationship.reltype == RT.THUMBNAIL:
            del package.rels[key]


def build(layout: Layout) -> bytes:
    """The template of one layout version as .docx bytes."""
    document = Document()
    _page(document, layout)
    _properties(document, layout)
    body = document.element.body
    for paragraph in list(body.iterchildren(qn("w:p"))):
        body.remove(paragraph)
    for block in layout.blocks:
        if isinstance(block, Table):
            _table(document, block)
        else:
            _paragraph(document, block)
    out = BytesIO()
    document.save(out)
    return out.getvalue()


TEMPLATES: dict[str, Callable[[], bytes]] = {version: partial(build, layout) for version, layout in LAYOUTS.items()}


@lru_cache(maxsize=8)
def template_bytes(version: str) -> bytes:
    """The built template of a version (built once per process; a version never changes)."""
    return TEMPLATES[version]()
