"""`make bench-import`: the bulk survey import of 5,000 households (20,000 persons, 10,000 buildings) timed
in-process against a fresh database; the workbooks are generated here (the tests use them too)."""
from __future__ import annotations

import argparse
import io
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from services import idnumbers
from services.excel.bulkspec import APPRAISALS, BUILDINGS, HOUSEHOLDS, PERSONS, PRICES

STRUCTURES = ("砖混", "框架", "砖木", "简易")
RELATIONS = ("户主", "配偶", "子女", "父母")


def id_number(k: int) -> str:
    """The k-th of a run of distinct valid ID numbers."""
    born = date(1950, 1, 1) + timedelta(days=k // 900)
    first17 = f"330106{born:%Y%m%d}{k % 900 + 100:03d}"
    return first17 + idnumbers.check_digit(first17)


def code_of(prefix: str, i: int) -> str:
    return f"{prefix}-{i:05d}"


def survey_rows(households: int, persons: int = 4, buildings: int = 2, prefix: str = "B",
                ) -> dict[str, list[list[Any]]]:
    """The rows of a survey workbook per sheet (header first)."""
    homes = [[c.header for c in HOUSEHOLDS.columns]]
    people = [[c.header for c in PERSONS.columns]]
    houses = [[c.header for c in BUILDINGS.columns]]
    for i in range(households):
        code = code_of(prefix, i)
        homes.append([code, "农户(集体土地房屋)", f"户主{i}", f"北区三村{i}号", None, None, None,
                      f"138{i:08d}", "集体", None, None])
        for j in range(persons):
            people.append([code, f"户主{i}" if j == 0 else f"成员{i}-{j}", id_number(i * persons + j),
                           RELATIONS[min(j, 3)], "是", None, "是" if j == 2 and i % 2 else None,
                           "是" if j == 3 and i % 3 == 1 else None])
        for j in range(buildings):
            houses.append([code, f"房{j + 1}", 100 + j, 110.5 + j, STRUCTURES[(i + j) % 4], 2, 1995, "住宅", "合法"])
    return {HOUSEHOLDS.title: homes, PERSONS.title: people, BUILDINGS.title: houses}


def appraisal_rows(households: int, buildings: int = 2, prefix: str = "B") -> dict[str, list[list[Any]]]:
    """The rows of an appraisal workbook for the households of survey_rows."""
    reports = [[c.header for c in APPRAISALS.columns]]
    prices = [[c.header for c in PRICES.columns]]
    for i in range(households):
        code = code_of(prefix, i)
        reports.append([code, "某某估价公司", "王评", "是", f"PG-{i:05d}", date.today().isoformat(), 1200, None, None])
        for j in range(buildings):
            prices.append([code, f"房{j + 1}", 6800 + j, 10000])
    return {APPRAISALS.title: reports, PRICES.title: prices}


def workbook(sheets: dict[str, list[list[Any]]], text: dict[str, set[int]] | None = None) -> bytes:
    """An .xlsx of these sheets; text names the columns (0-based) stored as text per sheet."""
    book = Workbook(write_only=True)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fresh_database(database: str) -> tuple[str, Path]:
    """An empty database of its own (bench_import), migrated, and an empty upload folder."""
    import shutil

    from sqlalchemy import create_engine, text

    from bench.settings import PG_ADMIN_URL, ROOT

    work = Path(ROOT / "instance" / "bench-import")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if database == "sqlite":
        return f"sqlite:///{work / 'bench.sqlite'}", work / "uploads"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = 'bench_import' AND pid <> pg_backend_pid()"))
        conn.execute(text('DROP DATABASE IF EXISTS "bench_import"'))
        conn.execute(text('CREATE DATABASE "bench_import"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/bench_import", work / "uploads"


def measure(households: int = 5000, database: str = "postgresql") -> dict[str, Any]:
    """Generate the workbook, then time its dry run and its import (one transaction) into a fresh database."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import Building, Household, Person, utcnow
    from services.context import Actor
    from services.excel import bulk
    from tests import factories

    url, uploads = _fresh_database(database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(uploads), "SECRET_KEY": "bench-import"})
    started = time.perf_counter()
    data = workbook(survey_rows(households))
    generated = time.perf_counter() - started
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
        world = factories.build_world()
        actor = Actor(world.users["surveyor"], "127.0.0.1")
        project_id = world.project.id
        started = time.perf_counter()
        report = bulk.preview(actor, project_id, "survey", data, "bench.xlsx")
        checked = time.perf_counter() - started
        started = time.perf_counter()
        bulk.run(actor, project_id, "survey", data, "bench.xlsx", now=utcnow(), upload_dir=str(uploads))
        imported = time.perf_counter() - started
        counts = {name: db.session.query(model).count() for name, model in
                  (("households", Household), ("persons", Person), ("buildings", Building))}
    return {"database": database, "households": len(report.households), "persons": report.persons,
            "buildings": report.buildings, "bytes": len(data), "generate_s": round(generated, 1),
            "preview_s": round(checked, 1), "import_s": round(imported, 1), "rows": counts, "target_s": 60}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args(argv)
    result = measure(args.households, args.db)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    Path(__file__).with_name("import-results.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
