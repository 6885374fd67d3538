"""The unified agreement's wording and layout per template version: the one source of the .docx and the page."""
# Texts are Jinja templates over the context of services.agreements.context; values are never evaluated as
# templates themselves. A signed agreement keeps the version it was drafted with, so a version's wording never
# changes once it is in use: a new wording is a new version.
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Paragraph:
    """A paragraph: its text, its style (title, number, party, heading, body, clause, sign) and a condition."""

    text: str
    style: str = "body"
    when: str | None = None


@dataclass(frozen=True)
class Column:
    """A table column: its header, the cell's text (over the row variable), its width in cm and alignment."""

    title: str
    cell: str
    width: float
    align: str = "left"


@dataclass(frozen=True)
class Table:
    """A table with one row per item of a list in the context, a row for an empty list and footer cells."""

    name: str
    columns: tuple[Column, ...]
    var: str
    items: str
    empty: str | None = None
    footer: tuple[str, ...] = ()


Block = Paragraph | Table


@dataclass(frozen=True)
class Layout:
    """One version of the unified template: document title, page footer and the blocks in order."""

    version: str
    title: str
    footer: str
    blocks: tuple[Block, ...]


_TOTAL = Paragraph("补偿总额为人民币{{ total_figures }}元（大写：人民币{{ total_capitals }}）。", when="not is_swap")
_OFFICE_PAYS = Paragraph("甲方在本协议生效、乙方按期腾空交房并经甲方验收合格后十五个工作日内，将{{ payable_kind }}"
                         "人民币{{ payable_figures }}元（大写：人民币{{ payable_capitals }}）一次性支付至乙方账户"
                         "（{{ bank_account or '开户行及账号由乙方另行书面提供' }}）。",
                         when="payment_case == 'office_pays'")
_HOUSEHOLD_PAYS = Paragraph("乙方应在交付产权调换房屋前，将差价款人民币{{ payable_figures }}元（大写：人民币"
                            "{{ payable_capitals }}）一次性支付至甲方指定账户。",
                            when="payment_case == 'household_pays'")
_NONE_PAYS = Paragraph("本协议双方无需相互支付款项。", when="payment_case == 'none'")
_SETTLEMENT = ("{% if payment_case == 'office_pays' %}由甲方支付给乙方{% elif payment_case == 'household_pays' %}"
               "由乙方支付给甲方{% else %}双方互不找补{% endif %}")

_SWAP_TOTAL = Paragraph("经结算，产权调换差价为人民币{{ payable_figures }}元（大写：人民币{{ payable_capitals }}），"
                        + _SETTLEMENT + "。", when="is_swap")

LAYOUT_2026_1 = Layout(
    version="2026.1",
    title="征收补偿协议 {{ number }}",
    footer="协议编号：{{ number }}",
    blocks=(
        Paragraph("征收补偿协议", "title"),
        Paragraph("协议编号：{{ number }}", "number"),
        Paragraph("（第{{ revision }}版　模板版本：{{ template_version }}）", "number"),
        Paragraph("甲方（征收实施单位）：{{ office }}", "party"),
        Paragraph("乙方（被征收人）：{{ head_name }}", "party"),
        Paragraph("乙方身份证号码：{{ head_id or blank }}", "party"),
        Paragraph("被征收房屋地址：{{ address }}", "party"),
        Paragraph("项目名称：{{ project_name }}　　户号：{{ household_code }}", "party"),
        Paragraph("为保障{{ project_title }}顺利实施，根据国家和地方有关征收补偿的法律、法规及本项目征收补偿方案"
                  "（政策版本：{{ policy_version }}），甲乙双方本着平等、自愿、公平的原则，经协商一致，订立本协议。"),
        Paragraph("第一条　被征收房屋情况", "heading"),
        Paragraph("乙方被征收房屋（{{ kind_label }}）位于{{ address }}，共{{ buildings|length }}处，"
                  "实测建筑面积合计{{ measured_total }}平方米，明细如下："),
        Table("buildings", (
            Column("序号", "{{ b.n }}", 1.1, "center"),
            Column("房屋", "{{ b.label }}", 2.6),
            Column("结构", "{{ b.structure }}", 1.6, "center"),
            Column("层数", "{{ b.floors }}", 1.1, "center"),
            Column("用途", "{{ b.use }}", 1.5, "center"),
            Column("权属状况", "{{ b.legal_status }}", 2.2, "center"),
            Column("证载面积（㎡）", "{{ b.certified_area }}", 2.4, "right"),
            Column("实测面积（㎡）", "{{ b.measured_area }}", 2.4, "right"),
        ), "b", "buildings", empty="无登记房屋"),
        Paragraph("第二条　补偿方式", "heading"),
        Paragraph("乙方自愿选择{{ option_label }}方式。"),
        Paragraph("产权调换房屋的面积、位置按本项目安置方案及选房结果确定，差价按本协议第三条结算。",
                  when="is_swap"),
        Paragraph("第三条　补偿项目及金额", "heading"),
        Paragraph("经核算（政策版本：{{ policy_version }}），乙方被征收房屋的补偿项目如下："),
        Table("items", (
            Column("序号", "{{ i.n }}", 1.1, "center"),
            Column("补偿项目", "{{ i.label }}", 4.2),
            Column("计算依据", "{{ i.basis }}", 6.6),
            Column("金额（元）", "{{ i.amount }}", 3.0, "right"),
        ), "i", "items", empty="无补偿项目",
            footer=("", "{{ total_label }}", "", "{{ total_figures }}")),
        _TOTAL,
        _SWAP_TOTAL,
        Paragraph("第四条　搬迁期限", "heading"),
        Paragraph("乙方应于{{ move_deadline }}前完成搬迁，将被征收房屋腾空并交付甲方验收。"
                  "房屋交付后由甲方负责拆除，乙方不得再行占用。"),
        Paragraph("第五条　付款方式", "heading"),
        _OFFICE_PAYS,
        _HOUSEHOLD_PAYS,
        _NONE_PAYS,
        Paragraph("依规定需经跟踪审计的款项，付款期限自审计完成之日起计算。"),
        Paragraph("第六条　其他约定", "heading"),
        # the signers listed: 工作组负责人、村干部、经办人、审核人员 (no 村干部 on state land)
        Paragraph("一、本协议经甲方{{ signer_titles }}签字，并经乙方签字后生效。", "clause"),
        Paragraph("二、乙方保证所提供的房屋权属、家庭人口等资料真实有效；如有隐瞒或虚报，甲方有权依法追回多付款项。",
                  "clause"),
        Paragraph("三、本协议未尽事宜，双方可另行协商签订补充协议，补充协议与本协议具有同等效力。", "clause"),
        Paragraph("四、本协议一式四份，甲方执三份，乙方执一份，具有同等法律效力。", "clause"),
        Paragraph("五、备注：{{ notes or '无' }}", "clause"),
        Paragraph("甲方签字", "heading"),
        Table("signatures", (
            Column("签字栏", "{{ s.role }}", 3.0),
            Column("签字人", "{{ s.name or blank }}", 3.4),
            Column("意见", "{{ s.opinion }}", 5.2),
            Column("签字日期", "{{ s.date or blank_date }}", 3.3, "center"),
        ), "s", "signatures"),
        Paragraph("甲方（盖章）：{{ office }}", "sign"),
        Paragraph("乙方（签字并按手印）：{{ blank }}", "sign"),
        Paragraph("签订日期：{{ household_signed_on or blank_date }}", "sign"),
    ),
)

# 2026.2: a business's compensation split between the owner (乙方) and the tenant (承租人) — each one's part, the
# tenant's items, and each part paid to its own account; without a tenant's part it reads as 2026.1
_TENANT_PARTS = Paragraph(
    "上述款项中，属乙方（产权人）的部分为人民币{{ owner_figures }}元（大写：人民币{{ owner_capitals }}）；"
    "属承租人{{ tenant_name or blank }}的部分为人民币{{ tenant_figures }}元（大写：人民币{{ tenant_capitals }}），"
    "即上表第{{ tenant_numbers }}项（{{ tenant_labels }}）。", when="has_tenant")
_TENANT_PAYMENTS = (
    Paragraph("甲方在本协议生效、乙方按期腾空交房并经甲方验收合格后十五个工作日内，将属乙方的补偿款人民币"
              "{{ owner_figures }}元（大写：人民币{{ owner_capitals }}）一次性支付至乙方账户"
              "（{{ bank_account or '开户行及账号由乙方另行书面提供' }}）。",
              when="has_tenant and owner_case == 'office_pays'"),
    Paragraph("乙方应在交付产权调换房屋前，将差价款人民币{{ owner_figures }}元（大写：人民币{{ owner_capitals }}）"
              "一次性支付至甲方指定账户。", when="has_tenant and owner_case == 'household_pays'"),
    Paragraph("甲方在本协议生效、被征收房屋腾空交付并经甲方验收合格后十五个工作日内，将属承租人的补偿款人民币"
              "{{ tenant_figures }}元（大写：人民币{{ tenant_capitals }}）一次性支付至承租人{{ tenant_name }}账户"
              "（{{ tenant_bank_account or '开户行及账号由承租人另行书面提供' }}）。", when="has_tenant"),
)


def _only_without_tenant(block: Paragraph) -> Paragraph:
    return replace(block, when=f"not has_tenant and ({block.when})")


def _with_tenant(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """2026.1's blocks with the tenant's part after the total and the payments to each payee."""
    out: list[Block] = []
    for block in blocks:
        if block in (_OFFICE_PAYS, _HOUSEHOLD_PAYS, _NONE_PAYS):
            out.append(_only_without_tenant(block))  # type: ignore[arg-type]
            if block is _NONE_PAYS:
                out.extend(_TENANT_PAYMENTS)
        else:
            out.append(block)
        if block is _SWAP_TOTAL:
            out.append(_TENANT_PARTS)
    return tuple(out)


LAYOUT_2026_2 = replace(LAYOUT_2026_1, version="2026.2", blocks=_with_tenant(LAYOUT_2026_1.blocks))

LAYOUTS: dict[str, Layout] = {layout.version: layout for layout in (LAYOUT_2026_1, LAYOUT_2026_2)}
CURRENT = LAYOUT_2026_2.version
