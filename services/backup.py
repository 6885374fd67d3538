"""Backup and restore: the database and the attachment files in one .tar.gz with a manifest of sha256 sums.

SQLite is copied with its online backup API (consistent while the application runs); PostgreSQL with
pg_dump -Fc and restored with pg_restore. A restore checks every sum before it touches anything, and refuses a
database that already holds data unless told to replace it.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump and pg_restore, with argument lists, never a shell
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
PG_BIN_DIRS = ("/usr/bin", "/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot be done, with a message an operator can act on."""


@dataclass(frozen=True)
class Summary:
    """What a backup holds or a restore put back."""

    path: Path
    dialect: str
    files: int
    bytes: int
    created_at: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _dialect(url: URL) -> str:
    name = url.get_backend_name()
    if name not in DUMPS:
        raise BackupError(f"databases of kind {name!r} cannot be backed up; SQLite and PostgreSQL can")
    return name


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _pg_tool(name: str, bin_dir: str | None) -> str:
    for folder in ((bin_dir,) if bin_dir else ()) + PG_BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(f"{name} was not found; install the PostgreSQL client tools or set PG_BIN_DIR")


def _pg_env(url: URL) -> dict[str, str]:
    """libpq's environment for the URL: the password never appears on a command line."""
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    return env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {(result.stderr or result.stdout).strip()[:2000]}")


def _sqlite_copy(source_file: Path, target_file: Path) -> None:
    """Copy a SQLite database with the online backup API (consistent while others write)."""
    source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
    copy = sqlite3.connect(target_file)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()


def _dump(url: URL, target: Path, bin_dir: str | None) -> None:
    if _dialect(url) == "sqlite":
        source_file = _sqlite_file(url)
        if not source_file.is_file():
            raise BackupError(f"the SQLite database {source_file} does not exist")
        _sqlite_copy(source_file, target)
        return
    _run([_pg_tool("pg_dump", bin_dir), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target)],
         _pg_env(url), "pg_dump")


def _upload_files(upload_dir: Path) -> Iterator[tuple[Path, str]]:
    """Every regular file under the upload folder with its path inside it (temporary uploads left aside)."""
    if not upload_dir.is_dir():
        return
    for path in sorted(upload_dir.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith("tmp"):
            yield path, path.relative_to(upload_dir).as_posix()


def backup(target: Path, *, database_url: str, upload_dir: str, now: datetime, bin_dir: str | None = None) -> Summary:
    """Write one archive with the database, the attachment files and a manifest of their sha256 sums."""
    url = make_url(database_url)
    dialect = _dialect(url)
    target = Path(target)
    if target.is_dir():
        target = target / f"relocation-{now:%Y%m%d-%H%M%S}.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="backup-") as work:
        dump = Path(work) / DUMPS[dialect]
        _dump(url, dump, bin_dir)
        files = [{"path": name, "size": path.stat().st_size, "sha256": _sha256(path)}
                 for path, name in _upload_files(Path(upload_dir))]
        manifest = {"format": FORMAT, "created_at": now.isoformat(timespec="seconds") + "Z",
                    "database": {"dialect": dialect, "file": DUMPS[dialect], "size": dump.stat().st_size,
                                 "sha256": _sha256(dump), "revisions": _revisions(url)},
                    "files": files}
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o600
            archive.addfile(info, io.BytesIO(data))
            archive.add(dump, arcname=DUMPS[dialect], recursive=False)
            for path, name in _upload_files(Path(upload_dir)):
                archive.add(path, arcname=f"files/{name}", recursive=False)
        os.replace(partial, target)
    return Summary(target, dialect, len(files), target.stat().st_size, manifest["created_at"])


def _revisions(url: URL) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return []
            return sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and bool(path.parts)


def _read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        member = archive.getmember(MANIFEST)
        handle = archive.extractfile(member)
        manifest = json.loads(handle.read().decode("utf-8")) if handle else None
    except (KeyError, ValueError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("database"), dict) or not isinstance(manifest.get("files"), list):
        raise BackupError("the archive has no valid manifest.json; it is not a backup of this system")
    return manifest


def _extract(source: Path, work: Path) -> dict:
    """Unpack the archive into work, refusing anything outside it; check every sum of the manifest."""
    try:
        with tarfile.open(source, "r:gz") as archive:
            manifest = _read_manifest(archive)
            for member in archive.getmembers():
                if not (member.isfile() or member.isdir()) or not _safe_member(member.name):
                    raise BackupError(f"the archive holds an entry that is not allowed: {member.name!r}")
            archive.extractall(work, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"the archive cannot be read: {exc}") from None
    database = manifest["database"]
    if database.get("dialect") not in DUMPS or database.get("file") != DUMPS[database["dialect"]]:
        raise BackupError("the manifest names no database dump this system knows")
    entries = [(work / database["file"], database.get("sha256"), database["file"])]
    for item in manifest["files"]:
        name = item.get("path") if isinstance(item, dict) else None
        if not isinstance(name, str) or not _safe_member(name):
            raise BackupError(f"the manifest names a file that is not allowed: {name!r}")
        entries.append((work / "files" / name, item.get("sha256"), f"files/{name}"))
    for path, expected, name in entries:
        if not path.is_file():
            raise BackupError(f"the archive lacks {name}, which its manifest lists")
        if _sha256(path) != expected:
            raise BackupError(f"{name} does not match its sha256 in the manifest: the archive is damaged")
    return manifest


def has_data(database_url: str) -> bool:
    """True when any table of the database holds a row (a schema without rows counts as empty)."""
    engine = create_engine(make_url(database_url))
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            for name in inspector.get_table_names():
                if name == "alembic_version":
                    continue
                table = text(f'SELECT 1 FROM "{name}" LIMIT 1')  # noqa: S608 - names from the catalogue
                if conn.execute(table).first() is not None:
                    return True
        return False
    finally:
        engine.dispose()


def _load(url: URL, dump: Path, bin_dir: str | None) -> None:
    if _dialect(url) == "sqlite":
        target_file = _sqlite_file(url)
        target_file.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{target_file}{suffix}").unlink(missing_ok=True)
        _sqlite_copy(dump, target_file)
        return
    _run([_pg_tool("pg_restore", bin_dir), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", "--dbname", url.database or "", str(dump)],
         _pg_env(url), "pg_restore")


def restore(source: Path, *, database_url: str, upload_dir: str, replace: bool = False,
            bin_dir: str | None = None) -> Summary:
    """Put a backup back: the database (which must be of the backup's kind, and empty unless replace) and the
    attachment files. Nothing is changed when the archive is damaged or does not fit."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    url = make_url(database_url)
    dialect = _dialect(url)
    with tempfile.TemporaryDirectory(prefix="restore-") as folder:
        work = Path(folder)
        manifest = _extract(source, work)
        if manifest["database"]["dialect"] != dialect:
            raise BackupError(f"the backup is of a {manifest['database']['dialect']} database and cannot be "
                              f"restored into {dialect}")
        if not replace and has_data(database_url):
            raise BackupError("the target database already holds data; restore into an empty database, or pass "
                              "--replace to overwrite it")
        _load(url, work / manifest["database"]["file"], bin_dir)
        total = 0
        for item in manifest["files"]:
            extracted = work / "files" / item["path"]
            destination = Path(upload_dir) / item["path"]
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not destination.is_file() or _sha256(destination) != item["sha256"]:
                shutil.copyfile(extracted, destination)
            total += item["size"]
    return Summary(source, dialect, len(manifest["files"]), total, manifest["created_at"])

