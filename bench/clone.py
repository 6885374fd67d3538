"""Copying a template snapshot as one generated case: new ids, its own project, team, names and times.

A snapshot is compiled once into cells (a constant, a new id, a reference to another copied row, a user,
a time to shift, a text with markers …); each copy then only evaluates the cells. Ids inside JSON documents
(persons[].id, building_id, the instance a task belonged to …) and identifying strings (household code,
head of household, agreement number, usernames) become markers that each copy fills in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table

from bench.auditchain import dumps
from bench.templates import OWNED, Snapshot

TABLES = [name for name, _ in OWNED]
INDEX = {name: i for i, name in enumerate(TABLES)}
GROUP = 99  # the marker "table" of work-group ids
ID_KEYS = {"building_id": "buildings", "person_id": "persons", "attachment_id": "attachments",
           "payment_id": "payments", "household_id": "households", "task_id": "human_tasks",
           "record_id": "module_records", "agreement_id": "agreements", "instance": "process_instances",
           "instance_id": "process_instances"}
LIST_IDS = {"persons": "persons", "buildings": "buildings", "payments": "payments", "attachments": "attachments"}
TARGETS = {"household": "households", "attachment": "attachments", "module": "module_records",
           "human_task": "human_tasks", "process_instance": "process_instances", "person": "persons",
           "building": "buildings", "agreement": "agreements", "payment": "payments"}
MARK = re.compile('"\ue000(\\d+):(\\d+)\ue001"|\ue002(\\w+)\ue003')

# cell kinds
CONST, NEWID, REF, USER, PROJECT, GRP, TIME, TEXT, REFSTR = range(9)


@dataclass
class Context:
    """What makes one copy its own."""

    start: list[int]                      # per table: the first id of this copy's rows
    project: int
    groups: dict[int, int]                # template group -> this case's group
    users: dict[int, int]                 # template user -> this case's user
    tokens: dict[str, str]                # marker key -> value (code, head, names …)
    delta: timedelta                      # added to every timestamp


@dataclass
class CompiledTable:
    """One table of a compiled snapshot: its columns and, per row, the cells to evaluate."""

    name: str
    columns: list[str]
    rows: list[list[tuple]] = field(default_factory=list)

    def col(self, name: str) -> int:
        """The position of a column in the rows."""
        return self.columns.index(name)


@dataclass
class Compiled:
    """A snapshot ready to be copied."""

    snapshot: Snapshot
    tables: list[CompiledTable]
    counts: list[int]                     # rows per table (ids each copy takes)


def _marker(table: str | int, value: int) -> str:
    return f"\ue000{INDEX[table] if isinstance(table, str) else table}:{value}\ue001"


class Compiler:
    """Compiles snapshots of one template set; knows the template's users, groups and identifying strings."""

    def __init__(self, tables: dict[str, Table], template_users: dict[int, tuple[str, str]],
                 template_groups: set[int]):
        self.tables = tables
        self.template_users = template_users          # user id -> (username, display name)
        self.template_groups = template_groups

    def compile(self, shot: Snapshot, tokens: dict[str, str]) -> Compiled:
        """tokens: marker key -> the template's value of it (its code, head of household …)."""
        ranks = {name: {row["id"]: i for i, row in enumerate(shot.rows[name])} for name in TABLES
                 if "id" in self.tables[name].c}
        ranks["business_details"] = {}
        replacements = dict(tokens)
        for uid, (username, display) in self.template_users.items():
            replacements[f"u{uid}"] = username
            replacements[f"d{uid}"] = display
        order = sorted(((v, k) for k, v in replacements.items() if v), key=lambda p: -len(p[0]))
        out = []
        for name in TABLES:
            table = self.tables[name]
            compiled = CompiledTable(name, [c.name for c in table.columns])
            for row in shot.rows[name]:
                compiled.rows.append([self._cell(table, column, row, ranks, order) for column in table.columns])
            out.append(compiled)
        return Compiled(shot, out, [len(shot.rows[name]) for name in TABLES])

    def _cell(self, table: Table, column: Any, row: dict, ranks: dict, order: list) -> tuple:
        value = row[column.name]
        name = column.name
        if value is None:
            return (CONST, None)
        if name == "id" and column.primary_key:
            return (NEWID, INDEX[table.name], ranks[table.name][value])
        target = next((fk.column.table.name for fk in column.foreign_keys), None)
        if table.name == "audit_log" and name == "household_id":
            target = "households"
        if table.name == "business_details" and name == "household_id":
            return (REF, INDEX["households"], ranks["households"][value])
        if target in ranks and value in ranks[target]:
            return (REF, INDEX[target], ranks[target][value])
        if target == "users":
            return (USER, value) if value in self.template_users else (CONST, value)
        if target == "projects":
            return (PROJECT,)
        if target == "work_groups":
            return (GRP, value)
        if table.name == "audit_log" and name == "target_id":
            kind = TARGETS.get(row["target_type"])
            if kind in ranks and value.isdigit() and int(value) in ranks[kind]:
                return (REFSTR, INDEX[kind], ranks[kind][int(value)])
            return (CONST, value)
        if isinstance(value, datetime):
            return (TIME, value)
        if isinstance(value, (dict, list)):
            text = self._mark(dumps(self._ids(value, ranks, None)), order)
            return (TEXT, text) if "\ue000" in text or "\ue002" in text else (CONST, text)
        if isinstance(value, str):
            text = self._mark(value, order)
            return (TEXT, text) if "\ue002" in text else (CONST, value)
        return (CONST, value)

    def _ids(self, value: Any, ranks: dict, list_key: str | None) -> Any:
        if isinstance(value, list):
            return [self._ids(v, ranks, list_key) for v in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            table = ID_KEYS.get(key) or (LIST_IDS.get(list_key) if key == "id" else None)
            if isinstance(item, int) and not isinstance(item, bool) and table and item in ranks.get(table, {}):
                out[key] = _marker(table, ranks[table][item])
            elif key == "work_group_id" and item in self.template_groups:
                out[key] = _marker(GROUP, item)
            else:
                out[key] = self._ids(item, ranks, key if isinstance(item, list) else None)
        return out

    @staticmethod
    def _mark(text: str, order: list[tuple[str, str]]) -> str:
        for value, key in order:
            if value in text:
                text = text.replace(value, f"\ue002{key}\ue003")
        return text


def fill(text: str, ctx: Context) -> str:
    """A compiled text with this copy's ids and strings."""
    def repl(m: re.Match) -> str:
        if m.group(3) is not None:
            return ctx.tokens[m.group(3)]
        table, value = int(m.group(1)), int(m.group(2))
        if table == GROUP:
            return str(ctx.groups.get(value, value))
        return str(ctx.start[table] + value)
    return MARK.sub(repl, text)


def build(compiled: Compiled, ctx: Context) -> list[list[list[Any]]]:
    """The rows of one copy, per table (in OWNED order), as lists of column values."""
    start, delta, users = ctx.start, ctx.delta, ctx.users
    out = []
    for table in compiled.tables:
        rows = []
        for cells in table.rows:
            row = []
            for cell in cells:
                kind = cell[0]
                if kind == CONST:
                    row.append(cell[1])
                elif kind == TIME:
                    row.append(cell[1] + delta)
                elif kind in (NEWID, REF):
                    row.append(start[cell[1]] + cell[2])
                elif kind == USER:
                    row.append(users.get(cell[1], cell[1]))
                elif kind == TEXT:
                    row.append(fill(cell[1], ctx))
                elif kind == PROJECT:
                    row.append(ctx.project)
                elif kind == GRP:
                    row.append(ctx.groups.get(cell[1], cell[1]))
                else:  # REFSTR
                    row.append(str(start[cell[1]] + cell[2]))
            rows.append(row)
        out.append(rows)
    return out
