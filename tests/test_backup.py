"""`flask backup` and `flask restore`: a round trip of the demo data and an uploaded file into an empty database
gives back every row of every table and every attachment byte; damaged or unfitting archives change nothing."""
from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Household, User, utcnow
from services import demo, files
from services.context import Actor
from tests.api_support import fast_passwords  # noqa: F401
from tests.case_data import PNG as CASE_PNG
from tests.conftest import _postgres_database

pytestmark = [pytest.mark.usefixtures("fast_passwords"),
              pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")]
PNG = CASE_PNG  # a real image: uploads are opened, not only sniffed


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (alembic's too), ordered by primary key."""
    engine = create_engine(make_url(url))
    try:
        with engine.connect() as conn:
            meta = MetaData()
            meta.reflect(conn)
            return {name: [tuple(r) for r in conn.execute(select(table).order_by(
                *(table.primary_key.columns or table.columns)))] for name, table in meta.tables.items()}
    finally:
        engine.dispose()


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the suite's, with no tables at all."""
    if database_url.startswith("postgresql"):
        base = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path / 'restored' / 'relocation.db'}"


def _app_on(url: str, upload_dir: Path) -> Flask:
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(upload_dir))
    return create_app(config)


def _invoke(app: Flask, *args: str):
    """Run a flask command against that application (the CLI would otherwise reuse the context already pushed)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture()
def seeded(ctx: Flask) -> Flask:
    """The demo data (a few households) and one uploaded photo on a household whose survey is open."""
    demo.seed(password=ctx.config["DEMO_PASSWORD"], upload_dir=ctx.config["UPLOAD_DIR"], households=4)
    surveyor = db.session.scalar(select(User).where(User.username == "surveyor"))
    household = next(h for h in db.session.scalars(select(Household).order_by(Household.id))
                     if _survey_open(h))
    files.upload(Actor(surveyor, "127.0.0.1"), household.id, "survey", _category(), "现场照片.png", io.BytesIO(PNG),
                 upload_dir=ctx.config["UPLOAD_DIR"], max_bytes=10 << 20, now=utcnow())
    db.session.remove()
    return ctx


def _survey_open(household: Household) -> bool:
    from app.models import HumanTask

    return db.session.scalar(select(HumanTask).where(HumanTask.household_id == household.id,
                                                     HumanTask.bpmn_id == "survey",
                                                     HumanTask.status == "ready")) is not None


def _category() -> str:
    from services.modules.dossier import CATEGORIES

    return next(iter(CATEGORIES))


def test_a_round_trip_gives_back_every_row_and_every_file(seeded: Flask, target_url: str, tmp_path: Path):
    archive = tmp_path / "backups" / "nightly.tar.gz"
    result = seeded.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output and archive.is_file()
    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.loads(opened.extractfile("manifest.json").read())
    assert names[0] == "manifest.json"
    assert manifest["database"]["dialect"] == make_url(target_url).get_backend_name()
    assert len(manifest["files"]) >= 1 and all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert {f"files/{f['path']}" for f in manifest["files"]} <= set(names)

    restored_uploads = tmp_path / "restored-uploads"
    target = _app_on(target_url, restored_uploads)
    try:
        result = _invoke(target, "restore", str(archive))
        assert result.exit_code == 0, result.output
        assert "audit chain intact" in result.output
        source_rows, restored_rows = _rows(seeded.config["SQLALCHEMY_DATABASE_URI"]), _rows(target_url)
        assert set(restored_rows) == set(source_rows)
        for table, rows in source_rows.items():
            assert restored_rows[table] == rows, table
        assert source_rows["attachments"] and source_rows["households"] and source_rows["audit_log"]
        assert _tree(restored_uploads) == _tree(Path(seeded.config["UPLOAD_DIR"]))
        assert PNG in _tree(restored_uploads).values()
        # the restored database refuses to be overwritten by accident
        again = _invoke(target, "restore", str(archive))
        assert again.exit_code != 0 and "already holds data" in again.output
        assert _rows(target_url) == restored_rows
        # unless told to
        forced = _invoke(target, "restore", "--replace", str(archive))
        assert forced.exit_code == 0, forced.output
        assert _rows(target_url) == source_rows
    finally:
        with target.app_context():
            db.engine.dispose()


def _rewrite(archive: Path, damaged: Path, change) -> None:
    """A copy of the archive with its members passed through change(name, data) -> data or None (left out)."""
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else b""
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))


def test_damaged_or_unfitting_archives_are_refused_with_a_reason(seeded: Flask, target_url: str, tmp_path: Path):
    archive = tmp_path / "b.tar.gz"
    assert seeded.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    flipped = tmp_path / "flipped.tar.gz"
    _rewrite(archive, flipped, lambda name, data: data[:-1] + bytes([data[-1] ^ 1]) if name.startswith("files/")
             else data)
    missing = tmp_path / "missing.tar.gz"
    _rewrite(archive, missing, lambda name, data: None if name.startswith("files/") else data)
    no_manifest = tmp_path / "nomanifest.tar.gz"
    _rewrite(archive, no_manifest, lambda name, data: None if name == "manifest.json" else data)
    other_kind = tmp_path / "otherkind.tar.gz"

    def swap_kind(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["database"]["dialect"] = "postgresql" if manifest["database"]["dialect"] == "sqlite" else "sqlite"
        manifest["database"]["file"] = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}[
            manifest["database"]["dialect"]]
        return json.dumps(manifest).encode()

    _rewrite(archive, other_kind, swap_kind)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive at all")
    cases = {flipped: "does not match its sha256", missing: "lacks files/", no_manifest: "no valid manifest",
             garbage: "cannot be read", tmp_path / "nowhere.tar.gz": "is not a file"}
    target = _app_on(target_url, tmp_path / "uploads-2")
    try:
        for path, reason in cases.items():
            result = _invoke(target, "restore", str(path))
            assert result.exit_code == 1 and reason in result.output, (path.name, result.output)
            assert "Traceback" not in result.output
        result = _invoke(target, "restore", str(other_kind))
        assert result.exit_code == 1 and ("cannot be restored into" in result.output
                                          or "lacks database" in result.output), result.output
        assert not any(rows for rows in _rows(target_url).values())
        assert not (tmp_path / "uploads-2").exists()
    finally:
        with target.app_context():
            db.engine.dispose()


def test_a_backup_into_a_folder_gets_a_dated_name(seeded: Flask, tmp_path: Path):
    result = seeded.test_cli_runner().invoke(args=["backup", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = list(tmp_path.glob("relocation-*.tar.gz"))
    assert len(written) == 1 and not list(tmp_path.glob("*.partial"))
