"""The application, in this process, on the bench database."""
from __future__ import annotations

from flask import Flask

from app import create_app
from bench.settings import Settings


def make_app(settings: Settings) -> Flask:
    """create_app() with the bench's database and upload folder."""
    return create_app({"SQLALCHEMY_DATABASE_URI": settings.database_url, "UPLOAD_DIR": str(settings.upload_dir),
                       "SECRET_KEY": settings.app_env()["SECRET_KEY"], "SESSION_COOKIE_SECURE": False})
