"""Filling the unified template: the .docx with docxtpl (autoescaped), and the same blocks for the printable page."""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from docx.shared import RGBColor
from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined

from services.agreements import context as agreement_context
from services.agreements.layout import LAYOUTS, Layout, Paragraph, Table
from services.agreements.template import template_bytes
from services.errors import Conflict
from services.problems import N_, problem
from services.problems import register as register_problems
from services.text import clean_deep

register_problems({
    "template_unknown": N_("the agreement's template version %(version)s is unknown"),
})

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SheetBlock:
    """A block of the printable page, its texts filled in as plain text (the page escapes them)."""

    kind: str
    style: str = ""
    text: str = ""
    name: str = ""
    header: tuple[str, ...] = ()
    aligns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    empty: str = ""
    footer: tuple[str, ...] = ()


def layout_of(context: dict[str, Any]) -> Layout:
    """The layout of the version the agreement was drafted with; an unknown version is a Conflict, never replaced."""
    version = context["template_version"]
    layout = LAYOUTS.get(version)
    if layout is None:
        raise Conflict(problem("template_unknown", version=version), code="unknown_template")
    return layout


def _environment(*, escape_xml: bool) -> Environment:
    """Jinja for the layout's own texts: an unknown name is an error; values are data, never templates."""
    # the .docx escapes every value for XML; the page gets plain text, which its own template escapes for HTML
    return Environment(undefined=StrictUndefined, autoescape=escape_xml)  # noqa: S701 (plain text when False)


def _normalised(content: bytes) -> bytes:
    """The .docx with fixed member times, so the same agreement gives the same bytes."""
    source = zipfile.ZipFile(BytesIO(content))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(member.filename))
    return out.getvalue()


def render_context(context: dict[str, Any]) -> bytes:
    """The .docx of an agreement context; every value is XML-escaped, so no text can change the document."""
    layout = layout_of(context)
    document = DocxTemplate(BytesIO(template_bytes(layout.version)))
    document.render(clean_deep(context), jinja_env=_environment(escape_xml=True), autoescape=True)
    if context.get("draft"):
        _mark_draft(document.docx)
    out = BytesIO()
    document.save(out)
    return _normalised(out.getvalue())


DRAFT_MARK = "草　稿　（未生效：须经被征收户签字、上传签字扫描件并办结后编号生效）"


def _mark_draft(document: Any) -> None:
    """A draft's .docx says so at its top, in red, and in its title."""
    first = document.paragraphs[0] if document.paragraphs else document.add_paragraph()
    mark = first.insert_paragraph_before()
    run = mark.add_run(DRAFT_MARK)
    run.bold = True
    run.font.color.rgb = RGBColor(0xC6, 0x28, 0x28)
    document.core_properties.title = f"{DRAFT_MARK[:3]} {document.core_properties.title or ''}".strip()


def render(household_id: int, *, office: str = agreement_context.DEFAULT_OFFICE,
           timezone: str = "Asia/Shanghai") -> bytes:
    """The .docx of the household's current agreement; NotFound while it has none."""
    return render_context(agreement_context.build(household_id, office=office, timezone=timezone))


def filename(number: str) -> str:
    """The download name of an agreement: its number (characters a file name cannot hold replaced)."""
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", number).strip("._") or "agreement"
    return f"{safe}.docx"


def _fill(env: Environment, text: str, values: dict[str, Any]) -> str:
    """A layout text filled in as plain text."""
    return env.from_string(text).render(values)


def sheet(context: dict[str, Any]) -> list[SheetBlock]:
    """The agreement's blocks for the printable page, filled from the same layout as the .docx."""
    env = _environment(escape_xml=False)
    blocks: list[SheetBlock] = []
    for block in layout_of(context).blocks:
        if isinstance(block, Table):
            rows = tuple(tuple(_fill(env, column.cell, {**context, block.var: item}) for column in block.columns)
                         for item in context[block.items])
            blocks.append(SheetBlock("table", name=block.name, header=tuple(c.title for c in block.columns),
                                     aligns=tuple(c.align for c in block.columns), rows=rows, empty=block.empty or "",
                                     footer=tuple(_fill(env, text, context) for text in block.footer)))
        elif isinstance(block, Paragraph):
            if block.when and not env.compile_expression(block.when, undefined_to_none=False)(**context):
                continue
            blocks.append(SheetBlock("paragraph", style=block.style, text=_fill(env, block.text, context)))
    return blocks
