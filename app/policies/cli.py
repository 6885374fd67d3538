"""The `flask policy` commands: seed the default compensation policy table."""
from __future__ import annotations

import click

from app.models import utcnow
from services.compensation import policy as policy_table
from services.context import Actor
from services.tx import transaction


@click.group("policy")
def policy() -> None:
    """The compensation policy table."""


@policy.command("load-default")
def load_default() -> None:
    """Store DOMAIN.md's default rule table as version 2026.1 when no version exists yet."""
    with transaction():
        created = policy_table.ensure_default(Actor.system(), utcnow())
    if created is None:
        click.echo("a policy version exists already; nothing loaded")
    else:
        click.echo(f"policy version {created.version} loaded (effective from {created.effective_from})")
