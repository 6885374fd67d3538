"""Flask CLI commands: seed-demo, bpmn load/deploy, create-user, worker, audit verify, backup and restore."""
from __future__ import annotations

import signal
from pathlib import Path

import click
from flask import Flask, current_app

from app.extensions import db
from app.models import utcnow
from app.policies.cli import policy
from app.setup.cli import project
from services import audit, backup, definitions, demo, durations, escalation, filecheck, identity, mailer, staff
from services import worker as worker_loop
from services.context import Actor
from services.errors import ServiceError
from services.tx import transaction


def register(app: Flask) -> None:
    """Add the commands to the application's CLI."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(bpmn)
    app.cli.add_command(create_user)
    app.cli.add_command(create_admin)
    app.cli.add_command(staff_group)
    app.cli.add_command(policy)
    app.cli.add_command(project)
    app.cli.add_command(worker)
    app.cli.add_command(audit_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("seed-demo")
@click.option("--households", default=60, show_default=True, help="how many demo households")
@click.option("--if-empty", is_flag=True, help="do nothing when the database already has users")
def seed_demo(households: int, if_empty: bool) -> None:
    """Create the demo project, one user per role and households at every step."""
    if if_empty and not demo.database_is_empty():
        click.echo("database not empty; demo data not seeded")
        return
    summary = demo.seed(password=current_app.config["DEMO_PASSWORD"], upload_dir=current_app.config["UPLOAD_DIR"],
                        households=households)
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


def _refused(exc: ServiceError) -> click.ClickException:
    fields = "; ".join(f"{name}: {', '.join(map(str, found))}" for name, found in (exc.fields or {}).items())
    return click.ClickException(f"{exc.message}" + (f" ({fields})" if fields else ""))


@click.command("create-admin")
@click.option("--username", required=True, help="the administrator's username")
@click.option("--display-name", required=True, help="the administrator's name")
@click.password_option("--password", help="asked twice, never shown", confirmation_prompt=True)
def create_admin(username: str, display_name: str, password: str) -> None:
    """Create the first administrator; only on a database without any user."""
    if not staff.database_is_empty():
        raise click.ClickException("the database already has users: create-admin only makes the first "
                                   "administrator (sign in as an administrator and use 人员与角色 instead)")
    try:
        with transaction():
            identity.ensure_roles()
        staff.create_first_admin(username, display_name, password, now=utcnow())
    except ServiceError as exc:
        raise _refused(exc) from None
    click.echo(f"administrator {username} created")


@click.group("staff")
def staff_group() -> None:
    """Members of staff: disable, enable, reset a password."""


def _staff_change(username: str, change) -> None:
    try:
        user = staff.by_username(Actor.system(), username)
        change(user.id)
    except ServiceError as exc:
        raise _refused(exc) from None


@staff_group.command("disable")
@click.argument("username")
def staff_disable(username: str) -> None:
    """Disable a member of staff: no sign-in, API tokens refused; nothing deleted."""
    _staff_change(username, lambda uid: staff.set_active(Actor.system(), uid, False, now=utcnow()))
    click.echo(f"{username} disabled")


@staff_group.command("enable")
@click.argument("username")
def staff_enable(username: str) -> None:
    """Enable a disabled member of staff again."""
    _staff_change(username, lambda uid: staff.set_active(Actor.system(), uid, True, now=utcnow()))
    click.echo(f"{username} enabled")


@staff_group.command("reset-password")
@click.argument("username")
@click.password_option("--password", help="the temporary password, asked twice", confirmation_prompt=True)
def staff_reset_password(username: str, password: str) -> None:
    """Set a temporary password the user must change at the next sign-in (their API tokens are revoked)."""
    _staff_change(username, lambda uid: staff.reset_password(Actor.system(), uid, {"password": password},
                                                             now=utcnow()))
    click.echo(f"{username} must change the temporary password at the next sign-in")


def worker_settings(config: dict) -> tuple[escalation.EscalationTimes, mailer.SmtpSettings]:
    """The worker's escalation timings and SMTP settings from the application's config."""
    start = utcnow()
    times = escalation.EscalationTimes(
        reminder_lead=durations.to_timedelta(config["REMINDER_LEAD"], start),
        supervisor_after=durations.to_timedelta(config["SUPERVISOR_ESCALATION_AFTER"], start),
    )
    smtp = mailer.SmtpSettings(host=config["SMTP_HOST"], port=config["SMTP_PORT"], username=config["SMTP_USER"],
                               password=config["SMTP_PASSWORD"], sender=config["SMTP_FROM"],
                               starttls=config["SMTP_STARTTLS"], timeout=config["SMTP_TIMEOUT"],
                               lease=config["SMTP_LEASE_SECONDS"], retry_after=config["SMTP_RETRY_SECONDS"],
                               max_attempts=config["SMTP_MAX_ATTEMPTS"])
    return times, smtp


@click.command("worker")
@click.option("--once", is_flag=True, help="one pass, then exit")
@click.option("--interval", type=float, default=None, help="seconds between passes")
def worker(once: bool, interval: float | None) -> None:
    """Fire BPMN timers, escalate deadlines and send e-mail; several may run at once."""
    times, smtp = worker_settings(current_app.config)
    filecheck.sweep(current_app.config["UPLOAD_DIR"])  # temporary uploads left by a killed web worker
    if once:
        result = worker_loop.run_once(utcnow(), times, smtp)
        click.echo(f"timers fired: {result.timers}, notices: {result.notices}, e-mails: {result.emails}")
        return
    stop = {"now": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo("worker running")
    worker_loop.run_forever(utcnow, times, smtp, interval or current_app.config["WORKER_INTERVAL"],
                            should_stop=lambda: stop["now"])


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Walk the hash chain of the audit trail; name the first broken link (exit status 1)."""
    count, broken = audit.verify()
    if broken is not None:
        click.echo(f"audit chain BROKEN at row {broken.row_id}: {broken.reason} ({count} rows before it hold)")
        raise SystemExit(1)
    click.echo(f"audit chain intact: {count} rows")


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def backup_command(path: Path) -> None:
    """Write the database and the attachment files to one .tar.gz at PATH (a folder gets a dated file name)."""
    config = current_app.config
    try:
        summary = backup.backup(path, database_url=config["SQLALCHEMY_DATABASE_URI"], upload_dir=config["UPLOAD_DIR"],
                                now=utcnow(), bin_dir=config.get("PG_BIN_DIR"))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written: {summary.path} ({summary.dialect} database, {summary.files} attachment files, "
               f"{summary.bytes} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="overwrite a database that already holds data")
def restore_command(path: Path, replace: bool) -> None:
    """Put a backup made by `flask backup` back: the database (empty, unless --replace) and the attachment files."""
    config = current_app.config
    db.session.remove()
    db.engine.dispose()
    try:
        summary = backup.restore(path, database_url=config["SQLALCHEMY_DATABASE_URI"], upload_dir=config["UPLOAD_DIR"],
                                 replace=replace, bin_dir=config.get("PG_BIN_DIR"))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.engine.dispose()
    click.echo(f"restored the backup of {summary.created_at}: {summary.dialect} database, {summary.files} "
               "attachment files")
    count, broken = audit.verify()
    db.session.remove()
    if broken is not None:
        raise click.ClickException(f"the restored audit chain is BROKEN at row {broken.row_id}: {broken.reason}")
    click.echo(f"audit chain intact: {count} rows")
