"""Fixtures: an application on a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import User
from tests import factories


def _postgres_database(base_url: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the test session's own, dropped at the end."""
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        yield from _postgres_database(base)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The application, its schema built by the migrations (so they are tested too)."""
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=database_url,
                  UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads")))
    application = create_app(config)
    with application.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
    yield application
    with application.app_context():
        db.engine.dispose()


def _clear(application: Flask) -> None:
    with application.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                # the audit log refuses TRUNCATE by trigger; a superuser's replica role skips triggers
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture()
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context on an empty database."""
    _clear(app)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture()
def world(ctx: Flask) -> factories.World:
    """Roles, the deployed pipeline, two projects and one user per role."""
    return factories.build_world()


@pytest.fixture()
def client(ctx: Flask):
    return ctx.test_client()


@pytest.fixture()
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


class Api:
    """A JSON client of the API that signs in by username (password from the factories)."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            response = self.client.post("/api/v1/auth/token",
                                        json={"username": username, "password": factories.PASSWORD})
            assert response.status_code == 200, response.get_json()
            self.tokens[username] = response.get_json()["token"]
        return self.tokens[username]

    def call(self, method: str, url: str, as_: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if as_ is not None:
            headers["Authorization"] = f"Bearer {self.token(as_)}"
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def user(self, username: str):
        return db.session.scalar(select(User).where(User.username == username))

    def get(self, url: str, as_: str | None = None, **kwargs):
        return self.call("GET", url, as_, **kwargs)

    def post(self, url: str, as_: str | None = None, **kwargs):
        return self.call("POST", url, as_, **kwargs)

    def put(self, url: str, as_: str | None = None, **kwargs):
        return self.call("PUT", url, as_, **kwargs)

    def open_task(self, instance_id: int, bpmn_id: str, as_: str) -> dict:
        """The open task of an instance with that BPMN id, as its role sees it in the inbox."""
        response = self.get(f"/api/v1/tasks?instance_id={instance_id}&per_page=50", as_=as_)
        assert response.status_code == 200, response.get_json()
        for item in response.get_json()["items"]:
            if item["bpmn_id"] == bpmn_id:
                return item
        raise AssertionError(f"{bpmn_id} is not in {as_}'s inbox: {response.get_json()['items']}")

    def prepare(self, task: dict, as_: str, make: Any = None) -> dict:
        """File what the step needs and return valid data for it (make: f(household_id), default the standard)."""
        with self.client.application.app_context():
            household_id = task["household_id"]
            factories.before_step(self.user(as_), task["bpmn_id"], household_id)
            return (make or partial(factories.step_data, task["bpmn_id"]))(household_id)

    def complete(self, instance_id: int, bpmn_id: str, as_: str | None = None, data: Any = None):
        """Complete a step as its role; data None (valid data for the household) or a dict or f(household_id)."""
        as_ = as_ or factories.ROLE_OF_STEP[bpmn_id]
        task = self.open_task(instance_id, bpmn_id, as_)
        if data is None or callable(data):
            data = self.prepare(task, as_, data)
        response = self.post(f"/api/v1/tasks/{task['id']}/complete", as_=as_, json={"data": data})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["instance"]


@pytest.fixture()
def api(client) -> Api:
    return Api(client)
