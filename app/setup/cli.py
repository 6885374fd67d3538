"""The `flask project` commands: set up the office's projects, villages, batches and work groups by command."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from app.models import utcnow
from services import setup
from services.context import Actor
from services.errors import ServiceError

DATES = ("announced_on", "signing_starts_on", "sign_deadline", "target_signed_on", "target_vacated_on",
         "target_demolished_on", "target_cleared_on")


def _run(work: Callable[[Actor], Any]) -> Any:
    """Run one change as the system; a refusal is printed with its fields, and the command fails."""
    try:
        return work(Actor.system())
    except ServiceError as exc:
        details = "; ".join(f"{name}: {', '.join(map(str, problems))}" for name, problems in (exc.fields or {}).items())
        raise click.ClickException(f"{exc.message}{': ' + details if details else ''}") from None


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@click.group("project")
def project() -> None:
    """Projects, their villages and sections, batches and work groups."""


@project.command("list")
def list_projects() -> None:
    """Every project with its status and counts."""
    for row in _run(setup.list_projects):
        p = row.project
        click.echo(f"{p.code}\t{p.name}\t{p.kind}\t{p.status}\thouseholds={row.households}\tgroups={row.groups}"
                   f"\tvillages={row.villages}")


def _date_options(command: Callable) -> Callable:
    for name in reversed(DATES):
        command = click.option(f"--{name.replace('_', '-')}", name, default=None, help="YYYY-MM-DD")(command)
    return command


@project.command("create")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(["collective", "state", "mixed"]))
@click.option("--decision-number", default=None, help="征收决定文号")
@click.option("--policy-version", default=None, help="the compensation policy version in force")
@click.option("--notes", default=None)
@_date_options
def create(code: str, name: str, kind: str, decision_number: str | None, policy_version: str | None,
           notes: str | None, **dates: str | None) -> None:
    """Create a project."""
    data = _given(code=code, name=name, kind=kind, decision_number=decision_number, policy_version=policy_version,
                  description=notes, **dates)
    created = _run(lambda actor: setup.create_project(actor, data, now=utcnow()))
    click.echo(f"created project {created.code}")


@project.command("village")
@click.argument("project_code")
@click.argument("name")
@click.option("--kind", default=None, type=click.Choice(["village", "section"]))
@click.option("--cadre", default=None, help="username of the village cadre")
@click.option("--notes", default=None)
def village(project_code: str, name: str, kind: str | None, cadre: str | None, notes: str | None) -> None:
    """Add a village or section to a project."""
    data = _given(name=name, kind=kind, cadre=cadre, notes=notes)
    _run(lambda actor: setup.create_village(actor, setup.project_by_code(actor, project_code).id, data,
                                            now=utcnow()))
    click.echo(f"added {name} to {project_code}")


@project.command("batch")
@click.argument("project_code")
@click.argument("name")
@click.option("--notes", default=None)
def batch(project_code: str, name: str, notes: str | None) -> None:
    """Add a batch to a project."""
    data = _given(name=name, notes=notes)
    _run(lambda actor: setup.create_batch(actor, setup.project_by_code(actor, project_code).id, data, now=utcnow()))
    click.echo(f"added batch {name} to {project_code}")


@project.command("group")
@click.argument("project_code")
@click.argument("name")
@click.option("--leader", default=None, help="username of the leader (role group_leader)")
@click.option("--member", "members", multiple=True, help="username of a member (repeat for each)")
def group(project_code: str, name: str, leader: str | None, members: tuple[str, ...]) -> None:
    """Add a work group to a project with its leader and members."""
    data = _given(name=name, leader=leader, members=list(members))
    _run(lambda actor: setup.create_group(actor, setup.project_by_code(actor, project_code).id, data, now=utcnow()))
    click.echo(f"added work group {name} to {project_code} with {len(members)} members")


@project.command("close")
@click.argument("project_code")
def close(project_code: str) -> None:
    """Close a project: it takes no new households."""
    _run(lambda actor: setup.close_project(actor, setup.project_by_code(actor, project_code).id, now=utcnow()))
    click.echo(f"closed {project_code}")


@project.command("archive")
@click.argument("project_code")
def archive(project_code: str) -> None:
    """Archive a closed project."""
    _run(lambda actor: setup.archive_project(actor, setup.project_by_code(actor, project_code).id, now=utcnow()))
    click.echo(f"archived {project_code}")


@project.command("reopen")
@click.argument("project_code")
@click.option("--reason", required=True, help="why it is opened again (at least 10 characters; the trail keeps it)")
def reopen(project_code: str, reason: str) -> None:
    """Open a closed project again: it takes new households once more (an archived one stays archived)."""
    _run(lambda actor: setup.reopen_project(actor, setup.project_by_code(actor, project_code).id,
                                            {"reason": reason}, now=utcnow()))
    click.echo(f"reopened {project_code}")
