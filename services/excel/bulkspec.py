"""The sheets and columns of the bulk-import workbooks (survey, appraisal), taken from the step forms: each
column's field, Chinese title, what it holds and, for a choice, its allowed values in Chinese."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import force_locale

from services.excel.sheets import KIND_LABELS, NATURE_LABELS
from services.forms.fields import (
    CHOICE_LABELS,
    LEGAL_STATUSES,
    RELATIONS,
    SPECIAL_GROUPS,
    STRUCTURES,
    USES,
)

# what a cell holds: text, a code (digits allowed), an ID number (text only), a phone (digits allowed), a choice,
# an amount or area, a whole number, yes/no, a date, a name of the project's village, batch or work group, an item
# of the catalogue of the project's policy (by its name or code)
TEXT, CODE, IDNO, PHONE, CHOICE, MONEY, INT, YESNO, DATE, NAME, ITEM = (
    "text", "code", "idno", "phone", "choice", "money", "int", "yesno", "date", "name", "item")
YES = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False, "1": True, "0": False}
EXAMPLE = "示例"


@dataclass(frozen=True)
class Column:
    """A column of a bulk sheet: the field it fills, its Chinese title, what it holds and an example value."""

    field: str
    header: str
    required: bool
    kind: str
    example: Any
    width: int = 14
    choices: tuple[str, ...] = ()
    hint: str = ""  # what the value means, after the rule

    @property
    def rule(self) -> str:
        """What goes in it, in Chinese (the header's comment)."""
        words = {TEXT: "文字", CODE: "本项目的户号", IDNO: "18 位身份证号，按文本填写",
                 PHONE: "11 位手机号或带区号的固定电话", MONEY: "数字，最多两位小数", INT: "整数",
                 YESNO: "是 或 否", DATE: "日期，如 2026-03-01", NAME: "本项目已有的名称",
                 ITEM: "从下拉列表选择本项目补偿政策所列的附属物或构筑物"}
        if self.kind == CHOICE:
            return "从下拉列表选择：" + "、".join(labels_of(self.choices).values())
        return words[self.kind] + (f"。{self.hint}" if self.hint else "")


@dataclass(frozen=True)
class SheetSpec:
    """A sheet of a bulk workbook."""

    title: str
    columns: tuple[Column, ...]
    required: bool = False  # the sheet must be there
    one_per_household: bool = False

    def header_of(self, field: str) -> str:
        """A field's Chinese column title."""
        return next((c.header for c in self.columns if c.field == field), field)


@cache
def _zh_labels(codes: tuple[str, ...]) -> dict[str, str]:
    with force_locale("zh"):
        return {code: str(CHOICE_LABELS[code]) for code in codes}


def labels_of(codes: tuple[str, ...]) -> dict[str, str]:
    """The Chinese labels of choice codes (the household kinds and land natures as the roster names them)."""
    own = {**KIND_LABELS, **NATURE_LABELS}
    if all(code in own for code in codes):
        return {code: own[code] for code in codes}
    return _zh_labels(codes)


KINDS = tuple(KIND_LABELS)
NATURES = tuple(NATURE_LABELS)

HOUSEHOLDS = SheetSpec("户", (
    Column("code", "户号", True, CODE, f"{EXAMPLE}-001"),
    Column("kind", "户别", True, CHOICE, KIND_LABELS["collective_house"], 20, KINDS),
    Column("head_name", "户主姓名", True, TEXT, "张建华"),
    Column("address", "地址", True, TEXT, "北区三村1组61号", 28),
    Column("village", "村/片区", False, NAME, "北区三村"),
    Column("batch", "批次", False, NAME, "第一批"),
    Column("work_group", "工作组", False, NAME, "第一工作组"),
    Column("phone", "联系电话", False, PHONE, "13800138000"),
    Column("land_nature", "土地性质", False, CHOICE, "集体", 10, NATURES),
    Column("homestead_area", "宅基地面积(㎡)", False, MONEY, "120.5"),
    Column("notes", "备注", False, TEXT, "", 24),
), required=True)
PERSONS = SheetSpec("家庭成员", (
    Column("code", "户号", True, CODE, f"{EXAMPLE}-001"),
    Column("name", "姓名", True, TEXT, "张建华"),
    Column("id_number", "身份证号", True, IDNO, "11010519491231002X", 22),
    Column("relation", "与户主关系", True, CHOICE, "户主", 12, RELATIONS),
    Column("hukou_here", "户籍在本地", False, YESNO, "是", 10, ("是", "否")),
    Column("special_group", "特殊群体", False, CHOICE, "", 14, SPECIAL_GROUPS),
    Column("unmarried_adult", "未婚成年子女", False, YESNO, "否", 12, ("是", "否"),
           "已成年未婚的子女填 是（按政策增加安置面积），空为 否"),
    Column("reserved", "预留人口", False, YESNO, "否", 10, ("是", "否"),
           "政策认定的预留人口填 是（按政策增加安置面积），空为 否"),
))
BUILDINGS = SheetSpec("房屋", (
    Column("code", "户号", True, CODE, f"{EXAMPLE}-001"),
    Column("label", "房屋名称", True, TEXT, "主房"),
    Column("certified_area", "证载面积(㎡)", False, MONEY, "110"),
    Column("measured_area", "实测面积(㎡)", True, MONEY, "118.4"),
    Column("structure", "结构", True, CHOICE, "砖混", 10, STRUCTURES),
    Column("floors", "层数", True, INT, 2, 8),
    Column("year_built", "建成年份", False, INT, 1998, 10),
    Column("use", "用途", True, CHOICE, "住宅", 10, USES),
    Column("legal_status", "合法性", True, CHOICE, "合法", 14, LEGAL_STATUSES),
    Column("run_as_business", "住改商", False, YESNO, "否", 8, ("是", "否"), "住宅用作经营的填 是，空为 否"),
))
ANCILLARY = SheetSpec("附属物", (
    Column("code", "户号", True, CODE, f"{EXAMPLE}-001"),
    Column("item", "项目", True, ITEM, "热水器", 18),
    Column("count", "数量", True, INT, 1, 8),
))
BUSINESS = SheetSpec("经营信息", (
    Column("code", "户号", True, CODE, f"{EXAMPLE}-001"),
    Column("licence_no", "营业执照号", False, TEXT, "91330100MA2XXXXX0X", 22),
    Column("business_area", "经营面积(㎡)", False, MONEY, "45"),
    Column("tenant", "承租人", False, TEXT, "李明"),
    Column("interruption_basis", "停产停业损失依据", False, TEXT, "近三年纳税证明", 30),
    Column("monthly_loss", "月均损失(元)", False, MONEY, "8000", 14, (),
           "月平均利润或损失，按月计算停产停业损失时使用"),
    Column("land_area", "用地面积(㎡)", False, MONEY, "300", 14, (), "企业用地面积，空着时按宅基地面积"),
), one_per_household=True)
APPRAISALS = SheetSpec("评估", (
    Column("code", "户号", True, CODE, f"{EXAMPLE}-001"),
    Column("firm", "评估机构", True, TEXT, "某某房地产估价有限公司", 24),
    Column("appraiser_name", "评估师", True, TEXT, "王评"),
    Column("no_conflict", "已签回避声明", True, YESNO, "是", 12, ("是", "否"),
           "是：评估师已签书面回避声明（与该户无利害关系）；否或空着：该户不能导入"),
    Column("report_no", "报告编号", True, TEXT, "PG-2026-001"),
    Column("report_date", "报告日期", True, DATE, "2026-03-01", 12),
    Column("ancillary_value", "附属物价值(元)", False, MONEY, "3200"),
    Column("equipment_value", "设备价值(元)", False, MONEY, ""),
    Column("notes", "备注", False, TEXT, "", 24),
), required=True, one_per_household=True)
PRICES = SheetSpec("房屋单价", (
    Column("code", "户号", True, CODE, f"{EXAMPLE}-001"),
    Column("label", "房屋名称", True, TEXT, "主房"),
    Column("unit_price", "单价(元/㎡)", True, MONEY, "6800"),
    Column("decoration_value", "装修价值(元)", False, MONEY, "15000"),
), required=True)

# the survey form's fields no column fills, and why (tests/test_bulk_import.py fails on a field of the form that is
# neither a column nor listed here: a new field the compensation reads belongs in the template)
NOT_IMPORTED = {
    "persons": {"id"},                    # a person's row id: given when the row is written
    "buildings": {"id"},                  # a building's row id: given when the row is written
    "ancillary": {"code", "name", "unit"},  # the 项目 column names the item; its name and unit come from the policy
    "business": {"equipment"},            # a list per business: the appraisal import's 设备价值 carries its value
    "survey": {"persons", "buildings", "ancillary", "business"},  # the sheets of their own
}

KINDS_OF_IMPORT = {"survey": (HOUSEHOLDS, PERSONS, BUILDINGS, ANCILLARY, BUSINESS), "appraisal": (APPRAISALS, PRICES)}
IMPORTER_ROLES = {"survey": ("surveyor", "admin"), "appraisal": ("appraiser", "admin")}
FILENAMES = {"survey": "调查建档批量导入模板", "appraisal": "评估批量导入模板"}
