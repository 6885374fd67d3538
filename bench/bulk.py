"""Bulk writers: PostgreSQL COPY through psycopg, SQLite executemany; then sequences and statistics."""
from __future__ import annotations

import queue
import sqlite3
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite (compared as text)


class Writer:
    """Appends rows to tables in one database; commit() ends a batch."""

    def __init__(self, url: str):
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.conn: Any = sqlite3.connect(parsed.database, check_same_thread=False)
            self.conn.execute("PRAGMA foreign_keys=OFF")
            self.conn.execute("PRAGMA synchronous=OFF")
        else:
            self.conn = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
            # the rows are consistent by construction: skip the per-row foreign-key triggers while loading
            self.conn.execute("SET session_replication_role = replica")

    def max_id(self, table: str, column: str = "id") -> int:
        """The highest id a table holds (0 when empty)."""
        row = self.conn.execute(f"SELECT max({column}) FROM {table}").fetchone()  # noqa: S608 - our table names
        return int(row[0] or 0)

    def write(self, table: str, columns: list[str], rows: list[list[Any]]) -> None:
        """Append rows (values in the order of columns) to a table."""
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self.conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})',  # noqa: S608
                                  [tuple(_sqlite(v) for v in row) for row in rows])
            return
        with self.conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        """End the batch."""
        self.conn.commit()

    def finish(self, tables: list[str]) -> None:
        """Sequences after the highest id, fresh planner statistics."""
        self.conn.commit()
        if self.dialect == "sqlite":
            self.conn.execute("ANALYZE")
            self.conn.commit()
            self.conn.close()
            return
        for table in tables:
            has_id = self.conn.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                                       "AND column_name = 'id'", (table,)).fetchone()
            seq = has_id and self.conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()[0]
            if seq:
                self.conn.execute(f"SELECT setval('{seq}', (SELECT coalesce(max(id), 1) FROM \"{table}\"))")  # noqa: S608
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM (ANALYZE)")
        # write the gigabytes just loaded and vacuumed out now, not in a checkpoint that would run for minutes
        # beside the measurements
        self.conn.execute("CHECKPOINT")
        self.conn.close()


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(SQLITE_STAMP)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class Background:
    """Writes batches on a thread of its own, so the database ingests one batch while the next is built."""

    def __init__(self, writer: Writer, depth: int = 2):
        self.writer = writer
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bench-writer", daemon=True)
        self.thread.start()

    def put(self, batch: list[tuple[str, list[str], list[list[Any]]]]) -> None:
        """Queue (table, columns, rows) triples written and committed together."""
        if self.error is not None:
            raise self.error
        self.queue.put(batch)

    def close(self) -> None:
        """Wait for every queued batch; raise what the writer thread hit, if anything."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.error is not None:
                continue  # keep draining so the producer never blocks
            try:
                for table, columns, rows in batch:
                    self.writer.write(table, columns, rows)
                self.writer.commit()
            except BaseException as exc:  # handed to the producer by put()/close()
                self.error = exc
