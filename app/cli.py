"""Flask CLI commands: seed-demo, bpmn load/deploy, create-user."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from app.extensions import db
from app.models import utcnow
from services import definitions, demo, identity
from services.context import Actor
from services.errors import ServiceError
from services.tx import transaction


def register(app: Flask) -> None:
    """Add the commands to the application's CLI."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(bpmn)
    app.cli.add_command(create_user)


@click.command("seed-demo")
@click.option("--households", default=60, show_default=True, help="how many demo households")
@click.option("--if-empty", is_flag=True, help="do nothing when the database already has users")
def seed_demo(households: int, if_empty: bool) -> None:
    """Create the demo project, one user per role and households at every step."""
    if if_empty and not demo.database_is_empty():
        click.echo("database not empty; demo data not seeded")
        return
    summary = demo.seed(password=current_app.config["DEMO_PASSWORD"], households=households)
    click.echo(f"demo seeded: {summary}")


@click.group("bpmn")
def bpmn() -> None:
    """Process definitions."""


@bpmn.command("load")
def bpmn_load() -> None:
    """Deploy the shipped diagrams of BPMN_DIR whose process has no version yet."""
    with transaction():
        created = definitions.load_shipped(Path(current_app.config["BPMN_DIR"]), Actor.system(), utcnow())
    for d in created:
        click.echo(f"deployed {d.key} v{d.version}")
    if not created:
        click.echo("process definitions up to date")


@bpmn.command("deploy")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--comment", default=None)
def bpmn_deploy(path: Path, comment: str | None) -> None:
    """Store a diagram as a new version and deploy it."""
    try:
        with transaction():
            draft = definitions.create_draft(Actor.system(), path.read_bytes(), comment, utcnow())
            db.session.flush()
            deployed = definitions.deploy(Actor.system(), draft.id, utcnow())
    except ServiceError as exc:
        raise click.ClickException(f"{exc.message}: {exc.fields or ''}") from None
    click.echo(f"deployed {deployed.key} v{deployed.version}")


@click.command("create-user")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default=None)
@click.option("--role", "roles", multiple=True, required=True)
def create_user(username: str, password: str, display_name: str | None, roles: tuple[str, ...]) -> None:
    """Create a user with roles."""
    try:
        with transaction():
            identity.ensure_roles()
            identity.create_user(username, password, display_name or username, list(roles))
    except ServiceError as exc:
        raise click.ClickException(f"{exc.message}: {exc.fields or ''}") from None
    click.echo(f"created {username}")
