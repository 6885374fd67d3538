"""Every route of the application × every role, a user of another project and nobody: the answer each gets.

The table below names, for each endpoint and method, who may use it and what they get; everyone else gets 403,
a user of project B asking for project A's objects gets 404, nobody gets the login page (pages) or 401 (API),
and no request is answered with a 5xx. A route missing from the table fails the test, so a new route has to be
thought through here before it ships.
"""
from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Batch, Household, Village, utcnow
from services import identity
from services.compensation import policy as compensation_policy
from services.context import Actor
from services.roles import ROLES
from tests import factories
from tests.api_support import CHEAP_HASH, start_case
from tests.case_data import PNG as CASE_PNG
from tests.conftest import Api, _clear

ANONYMOUS = "anonymous"
OUTSIDER = "outsider"  # surveyor, accountant and calc_auditor of project B only
OUTSIDER_ROLES = frozenset({"surveyor", "accountant", "calc_auditor"})
GROUP2 = "group2"  # surveyor, handler and leader of project A's second work group: not group 1's cases
GROUP2_ROLES = frozenset({"surveyor", "handler", "group_leader"})
USERS = (ANONYMOUS, OUTSIDER, GROUP2, *ROLES)
HOUSEHOLD_PARAMS = frozenset({"household_id", "task_id", "file_id", "instance_id", "finding_id"})  # naming a case
OWNER = "surveyor"  # whose notification and token the routes name
PNG = CASE_PNG  # a real image: uploads are opened, not only sniffed

EVERYONE = None  # every signed-in user (of the object's project, where it has one)
EDITORS = frozenset({"process_owner", "admin"})
OVERVIEW = frozenset({"supervisor", "admin", "group_leader"})
REPORTS = frozenset({"supervisor", "admin", "group_leader", "reviewer"})
TRAIL = frozenset({"supervisor", "admin", "reviewer"})
CREATORS = frozenset({"surveyor", "admin"})
SEES_ALL = frozenset({"supervisor", "admin"})
ADMINS = frozenset({"admin"})
SPARE = "spare"  # a member of staff of nobody's table whom the staff routes disable and enable
AUDITOR = frozenset({"reviewer"})  # internal audit: opens, closes and reopens findings
REVEALS = frozenset({"surveyor", "rights_officer", "handler", "finance", "admin"})  # full ID numbers, audited


@dataclass(frozen=True)
class Rule:
    """Who may use a route and what they get.

    allowed: the role codes that may (EVERYONE: every signed-in user); ok: the statuses they get.
    scope: "project" — the route names project A's objects: a user of project B gets `outsider` (404);
           "global"  — nothing of a project: a user of project B is judged by its roles like anyone;
           "own"     — the object is OWNER's: anyone else gets 404.
    public: no sign-in needed; anonymous: what nobody gets there, when it is not `ok`.
    """

    allowed: frozenset[str] | None
    ok: frozenset[int]
    scope: str = "project"
    denied: int = 403
    outsider: int = 404
    public: bool = False
    anonymous: frozenset[int] | None = None


def rule(allowed: frozenset[str] | None, *ok: int, **kwargs: Any) -> Rule:
    return Rule(allowed, frozenset(ok), **kwargs)


# (endpoint, method) -> Rule. Statuses of allowed users: 200/201/302 success, 409 state conflict (already done,
# not in that state), 422 the test's deliberately incomplete input, 404 only where the object the route needs
# does not exist yet (the agreement of a case still at its survey).
PAGE = {
    ("account.password", "GET"): rule(EVERYONE, 200, scope="global"),
    ("account.password", "POST"): rule(EVERYONE, 422, scope="global"),
    ("account.token_list", "GET"): rule(EVERYONE, 200, scope="global"),
    ("account.revoke_token", "POST"): rule(EVERYONE, 302, scope="own"),
    ("auth.login", "GET"): rule(EVERYONE, 302, scope="global", public=True, anonymous=frozenset({200})),
    ("auth.login", "POST"): rule(EVERYONE, 302, scope="global", public=True, anonymous=frozenset({200})),
    ("auth.logout", "POST"): rule(EVERYONE, 302, scope="global"),
    ("cases.agreement", "GET"): rule(EVERYONE, 404),
    ("cases.agreement_docx", "GET"): rule(EVERYONE, 404),
    ("cases.detail", "GET"): rule(EVERYONE, 200),
    ("cases.diagram", "GET"): rule(EVERYONE, 200),
    ("cases.dossier_zip", "GET"): rule(EVERYONE, 200),
    ("cases.download_file", "GET"): rule(EVERYONE, 200),
    ("cases.file_thumb", "GET"): rule(EVERYONE, 200),
    ("cases.preview_file", "GET"): rule(EVERYONE, 200),
    # problems of the content (no file chosen, not the uploader, not open) come back as a message on the page
    ("cases.remove_file", "POST"): rule(EVERYONE, 302),
    ("cases.replace_file", "POST"): rule(EVERYONE, 302),
    ("cases.upload_files", "POST"): rule(EVERYONE, 302),
    ("cases.reveal", "POST"): rule(REVEALS, 200),
    ("cases.move", "POST"): rule(SEES_ALL, 302),  # an invalid group comes back as a message on the case page
    ("cases.import_roster", "GET"): rule(CREATORS, 200),
    ("cases.import_roster", "POST"): rule(CREATORS, 422),
    ("cases.index", "GET"): rule(EVERYONE, 200, scope="global"),
    ("cases.ledger_xlsx", "GET"): rule(EVERYONE, 200),
    ("cases.new", "GET"): rule(EVERYONE, 200, scope="global"),
    ("cases.projects", "GET"): rule(EVERYONE, 200, scope="global"),
    ("cases.new", "POST"): rule(CREATORS, 302, 422),
    ("cases.roster_template", "GET"): rule(EVERYONE, 200),
    ("duties.index", "GET"): rule(frozenset({"admin"}), 200, scope="global"),
    ("duties.project", "GET"): rule(frozenset({"admin"}), 200, scope="global"),
    ("duties.switch", "POST"): rule(frozenset({"admin"}), 422, scope="global"),  # no rule named
    ("cases.bulk_import", "GET"): rule(CREATORS, 200),  # kind survey: surveyors (appraisal: appraisers) and admin
    ("cases.bulk_import", "POST"): rule(CREATORS, 422),
    ("cases.bulk_template", "GET"): rule(EVERYONE, 200),
    ("inbox.index", "GET"): rule(EVERYONE, 200, scope="global"),
    ("integrity.selections", "GET"): rule(EVERYONE, 200, scope="global"),
    ("integrity.selections", "POST"): rule(SEES_ALL, 422),
    ("integrity.project_file", "GET"): rule(EVERYONE, 200),
    ("integrity.declare_conflict", "POST"): rule(frozenset({"surveyor"}), 302),  # the survey needs none: a message
    ("integrity.findings", "GET"): rule(EVERYONE, 200, scope="global"),
    ("integrity.open_finding", "POST"): rule(AUDITOR, 302, scope="global"),
    ("integrity.finding", "GET"): rule(EVERYONE, 200),
    ("integrity.rectify", "POST"): rule(frozenset({"surveyor"}), 422),
    ("integrity.close", "POST"): rule(AUDITOR, 422),  # still open: not yet rectified
    ("integrity.reopen", "POST"): rule(AUDITOR, 422),
    ("integrity.overview", "GET"): rule(OVERVIEW, 200, scope="global"),
    ("inbox.task", "GET"): rule(EVERYONE, 200),
    ("inbox.claim", "POST"): rule(frozenset({"surveyor"}), 302),
    ("inbox.complete", "POST"): rule(frozenset({"surveyor"}), 422),
    ("inbox.draft", "POST"): rule(frozenset({"surveyor"}), 409),  # posted without the version it was loaded with
    ("inbox.sync", "POST"): rule(frozenset({"surveyor"}), 409),
    ("inbox.release", "POST"): rule(frozenset({"surveyor"}), 302),
    ("inbox.send_back", "POST"): rule(frozenset({"surveyor"}), 422),
    ("inbox.reveal", "POST"): rule(REVEALS, 200),  # the step page with full numbers, audited
    ("main.healthz", "GET"): rule(EVERYONE, 200, scope="global", public=True),
    ("main.administration", "GET"): rule(frozenset({"admin"}), 200, scope="global"),
    ("main.index", "GET"): rule(EVERYONE, 302, scope="global"),
    ("main.notification_centre", "GET"): rule(EVERYONE, 200, scope="global"),
    ("main.read_all_notifications", "POST"): rule(EVERYONE, 302, scope="global"),
    ("main.read_notification", "POST"): rule(EVERYONE, 302, scope="own"),
    ("main.set_language", "GET"): rule(EVERYONE, 302, scope="global", public=True),
    ("policies.detail", "GET"): rule(frozenset({"admin"}), 200, scope="global"),
    ("policies.index", "GET"): rule(frozenset({"admin"}), 200, scope="global"),
    ("policies.new_version", "GET"): rule(frozenset({"admin"}), 200, scope="global"),
    ("policies.new_version", "POST"): rule(frozenset({"admin"}), 422, scope="global"),
    ("processes.bpmn", "GET"): rule(EVERYONE, 200, scope="global"),
    ("processes.compare", "GET"): rule(EVERYONE, 200, scope="global"),
    ("processes.index", "GET"): rule(EVERYONE, 200, scope="global"),
    ("processes.view", "GET"): rule(EVERYONE, 200, scope="global"),
    ("processes.edit", "GET"): rule(EDITORS, 200, scope="global"),
    ("processes.migrate", "GET"): rule(EDITORS, 200, scope="global"),
    ("processes.migrate", "POST"): rule(EDITORS, 200, scope="global"),
    ("processes.deploy", "POST"): rule(EDITORS, 409, scope="global"),
    ("processes.retire", "POST"): rule(EDITORS, 409, scope="global"),
    ("processes.save_draft", "POST"): rule(EDITORS, 422, scope="global"),
    ("processes.validate", "POST"): rule(EVERYONE, 200, scope="global"),
    ("setup.index", "GET"): rule(ADMINS, 200, scope="global"),
    ("setup.new_project", "GET"): rule(ADMINS, 200, scope="global"),
    ("setup.new_project", "POST"): rule(ADMINS, 422, scope="global"),
    ("setup.project", "GET"): rule(ADMINS, 200, scope="global"),
    ("setup.edit_project", "GET"): rule(ADMINS, 200, scope="global"),
    ("setup.edit_project", "POST"): rule(ADMINS, 422, scope="global"),
    ("setup.project_status", "POST"): rule(ADMINS, 302, scope="global"),  # no status chosen: said on the page
    ("setup.add_part", "POST"): rule(ADMINS, 422, scope="global"),
    ("setup.edit_part", "GET"): rule(ADMINS, 200, scope="global"),
    ("setup.edit_part", "POST"): rule(ADMINS, 422, scope="global"),
    ("setup.add_member", "POST"): rule(ADMINS, 422, scope="global"),
    ("setup.remove_member", "POST"): rule(ADMINS, 302, scope="global"),  # nobody chosen: said on the page
    ("setup.reopen_project", "POST"): rule(ADMINS, 302, scope="global"),  # the project is active: said on the page
    ("setup.delete_part", "POST"): rule(ADMINS, 302, scope="global"),  # the batch is in use: said on the page
    ("static", "GET"): rule(EVERYONE, 200, scope="global", public=True),
    ("staff.index", "GET"): rule(ADMINS, 200, scope="global"),
    ("staff.new", "GET"): rule(ADMINS, 200, scope="global"),
    ("staff.new", "POST"): rule(ADMINS, 422, scope="global"),
    ("staff.edit", "GET"): rule(ADMINS, 200, scope="global"),
    ("staff.edit", "POST"): rule(ADMINS, 422, scope="global"),
    ("staff.reset_password", "POST"): rule(ADMINS, 422, scope="global"),
    ("staff.disable", "POST"): rule(ADMINS, 302, scope="global"),
    ("staff.enable", "POST"): rule(ADMINS, 302, scope="global"),
    ("staff.import_staff", "GET"): rule(ADMINS, 200, scope="global"),
    ("staff.import_staff", "POST"): rule(ADMINS, 422, scope="global"),
    ("staff.import_template", "GET"): rule(ADMINS, 200, scope="global"),
    ("supervisor.deadline_page", "GET"): rule(EVERYONE, 200, scope="global"),
    ("supervisor.deadline_page", "POST"): rule(SEES_ALL, 422, scope="global"),
    ("supervisor.diagram", "GET"): rule(OVERVIEW, 200, scope="global"),
    ("supervisor.diagram_xml", "GET"): rule(OVERVIEW, 200, scope="global"),
    ("supervisor.overview", "GET"): rule(OVERVIEW, 200, scope="global"),
    ("supervisor.reassign", "POST"): rule(SEES_ALL, 302, scope="global"),
    ("supervisor.report_page", "GET"): rule(REPORTS, 200, scope="global"),
    ("supervisor.report_xlsx", "GET"): rule(REPORTS, 200, scope="global"),
    ("trail.export", "GET"): rule(TRAIL, 200, scope="global"),
    ("trail.search", "GET"): rule(TRAIL, 200, scope="global"),
}
API = {
    ("api.agreement_docx", "GET"): rule(EVERYONE, 404),
    ("api.claim_task", "POST"): rule(frozenset({"surveyor"}), 200),
    ("api.complete_task", "POST"): rule(frozenset({"surveyor"}), 422),
    ("api.create_definition", "POST"): rule(EDITORS, 422, scope="global"),
    ("api.create_household", "POST"): rule(CREATORS, 422),
    ("api.deploy_definition", "POST"): rule(EDITORS, 409, scope="global"),
    ("api.diff_definitions", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.download_file", "GET"): rule(EVERYONE, 200),
    ("api.get_definition", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.get_definition_bpmn", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.get_duty_rules", "GET"): rule(frozenset({"admin"}), 200, scope="global"),
    ("api.get_household", "GET"): rule(EVERYONE, 200),
    ("api.get_instance", "GET"): rule(EVERYONE, 200),
    ("api.get_module", "GET"): rule(EVERYONE, 200),
    ("api.get_policy", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.get_task", "GET"): rule(EVERYONE, 200),
    ("api.import_households", "POST"): rule(CREATORS, 422),
    ("api.issue_token", "POST"): rule(EVERYONE, 422, scope="global", public=True),
    ("api.ledger_xlsx", "GET"): rule(EVERYONE, 200),
    ("api.list_deadlines", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.list_definitions", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.list_files", "GET"): rule(EVERYONE, 200),
    ("api.list_instances", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.list_notifications", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.list_policies", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.list_tasks", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.list_tokens", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.me", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.move_household", "POST"): rule(SEES_ALL, 422),
    ("api.migrate_instances", "POST"): rule(EDITORS, 200, scope="global"),
    ("api.openapi", "GET"): rule(EVERYONE, 200, scope="global", public=True),
    ("api.preview_calculation", "POST"): rule(EVERYONE, 422, scope="global"),
    ("api.preview_file", "GET"): rule(EVERYONE, 200),
    ("api.progress_report", "GET"): rule(REPORTS, 200, scope="global"),
    ("api.projects", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.put_module", "PUT"): rule(frozenset({"surveyor"}), 422),
    ("api.put_duty_rules", "PUT"): rule(frozenset({"admin"}), 422, scope="global"),
    ("api.read_notification", "POST"): rule(EVERYONE, 200, scope="own"),
    ("api.release_task", "POST"): rule(frozenset({"surveyor"}), 200),
    ("api.retire_definition", "POST"): rule(EDITORS, 409, scope="global"),
    ("api.return_task", "POST"): rule(frozenset({"surveyor"}), 422),
    ("api.revoke_token", "DELETE"): rule(EVERYONE, 200, scope="own"),
    ("api.roster_template", "GET"): rule(EVERYONE, 200),
    ("api.bulk_template", "GET"): rule(EVERYONE, 200),
    ("api.bulk_import", "POST"): rule(CREATORS, 422),
    ("api.set_deadline", "PUT"): rule(SEES_ALL, 422, scope="global"),
    ("api.stuck", "GET"): rule(OVERVIEW, 200, scope="global"),
    ("api.list_declarations", "GET"): rule(EVERYONE, 200),
    ("api.declare_conflict", "POST"): rule(frozenset({"surveyor"}), 422),
    ("api.list_selections", "GET"): rule(EVERYONE, 200),
    ("api.record_selection", "POST"): rule(SEES_ALL, 422),
    ("api.audit_sample", "GET"): rule(AUDITOR, 200),
    ("api.list_findings", "GET"): rule(EVERYONE, 200, scope="global"),
    ("api.open_finding", "POST"): rule(AUDITOR, 422, scope="global"),
    ("api.get_finding", "GET"): rule(EVERYONE, 200),
    ("api.rectify_finding", "POST"): rule(frozenset({"surveyor"}), 422),
    ("api.close_finding", "POST"): rule(AUDITOR, 409),
    ("api.reopen_finding", "POST"): rule(AUDITOR, 422),
    ("api.sync_module", "POST"): rule(frozenset({"surveyor"}), 200),
    ("api.upload_file", "POST"): rule(frozenset({"surveyor"}), 201),
    ("api.list_staff", "GET"): rule(ADMINS, 200, scope="global"),
    ("api.get_staff", "GET"): rule(ADMINS, 200, scope="global"),
    ("api.create_staff", "POST"): rule(ADMINS, 422, scope="global"),
    ("api.update_staff", "PATCH"): rule(ADMINS, 200, scope="global"),
    ("api.disable_staff", "POST"): rule(ADMINS, 200, scope="global"),
    ("api.enable_staff", "POST"): rule(ADMINS, 200, scope="global"),
    ("api.reset_staff_password", "POST"): rule(ADMINS, 422, scope="global"),
    ("api.validate_definition", "POST"): rule(EVERYONE, 200, scope="global"),
    ("api.create_project", "POST"): rule(ADMINS, 422, scope="global"),
    ("api.get_project", "GET"): rule(ADMINS, 200, scope="global"),
    ("api.update_project", "PATCH"): rule(ADMINS, 200, scope="global"),  # nothing sent, nothing changed
    ("api.set_project_status", "PUT"): rule(ADMINS, 422, scope="global"),
    ("api.create_village", "POST"): rule(ADMINS, 422, scope="global"),
    ("api.update_village", "PATCH"): rule(ADMINS, 200, scope="global"),
    ("api.create_batch", "POST"): rule(ADMINS, 422, scope="global"),
    ("api.update_batch", "PATCH"): rule(ADMINS, 200, scope="global"),
    ("api.create_group", "POST"): rule(ADMINS, 422, scope="global"),
    ("api.update_group", "PATCH"): rule(ADMINS, 200, scope="global"),
    ("api.add_group_member", "POST"): rule(ADMINS, 422, scope="global"),
    ("api.remove_group_member", "DELETE"): rule(ADMINS, 200, scope="global"),  # the matrix's spare member
    ("api.reopen_project", "POST"): rule(ADMINS, 409, scope="global"),  # project A is active
    # the matrix's village, batch and group hold its household: they stay
    ("api.delete_village", "DELETE"): rule(ADMINS, 409, scope="global"),
    ("api.delete_batch", "DELETE"): rule(ADMINS, 409, scope="global"),
    ("api.delete_group", "DELETE"): rule(ADMINS, 409, scope="global"),
}
TABLE: dict[tuple[str, str], Rule] = {**PAGE, **API}

# the parameters of the routes, by name
Params = dict[str, Any]


@dataclass
class Matrix:
    """One world for every request: project A's objects, a household of project B, a client per user."""

    params: Params
    api: dict[str, FlaskClient]
    pages: dict[str, FlaskClient]
    tokens: dict[str, str]
    observed: dict[tuple[str, str, str], int] = field(default_factory=dict)


def _sign_in_pages(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    if username != ANONYMOUS:
        response = client.post("/login", data={"username": username, "password": factories.PASSWORD})
        assert response.status_code == 302, (username, response.status_code)
    return client


@pytest.fixture(scope="module")
def matrix(app: Flask) -> Iterator[Matrix]:
    """Project A with a case at its survey, an uploaded file, a notification and a token of the surveyor."""
    _clear(app)
    client = app.test_client()
    api = Api(client)
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr("services.identity.generate_password_hash", CHEAP_HASH)
        world = factories.build_world()
        world.add_to_second_group(GROUP2, sorted(GROUP2_ROLES), leads=True)
        compensation_policy.ensure_default(Actor.system(), utcnow())
        db.session.commit()
        project_id, other_project_id = world.project.id, world.other_project.id
        owner_id = world.users[OWNER].id
        staff_id = identity.create_user(SPARE, factories.PASSWORD, "Spare clerk", ["archivist"]).id
        village, batch = Village(project_id=project_id, name="东村"), Batch(project_id=project_id, name="第一批")
        spare = identity.create_user("spare_member", factories.PASSWORD, "备用成员", ["handler"])
        world.project.groups[0].members.append(spare)
        db.session.add_all([village, batch])
        db.session.commit()
        setup_ids = {"village_id": village.id, "batch_id": batch.id, "group_id": world.project.groups[0].id,
                     "user_id": spare.id, "row_id": batch.id, "part": "batch"}
        db.session.remove()
    instance_id = start_case(api, project_id, "M-001")
    task = api.open_task(instance_id, "survey", OWNER)
    other_instance = start_case(api, other_project_id, "B-001", as_=OUTSIDER)
    other_task = api.open_task(other_instance, "survey", OUTSIDER)
    upload = api.post(f"/api/v1/households/{task['household_id']}/files", as_=OWNER,
                      data={"file": (io.BytesIO(PNG), "photo.png"), "module": "survey", "category": _category()},
                      content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    with app.app_context():
        from services import notifications
        from services.tx import transaction

        with transaction():
            notifications.notify({owner_id}, "assigned", {"household": "M-001", "step": "调查建档"},
                                 now=utcnow(), task_id=task["id"], instance_id=instance_id)
            household = db.session.get(Household, task["household_id"])
            household.village_id, household.batch_id = setup_ids["village_id"], setup_ids["batch_id"]
        db.session.remove()
    notes = api.get("/api/v1/notifications", as_=OWNER).get_json()["items"]
    assert notes, "the surveyor has no notification"
    definitions = api.get("/api/v1/process-definitions", as_="process_owner").get_json()["items"]
    policies = api.get("/api/v1/policies", as_="admin").get_json()["items"]
    victim = client.post("/api/v1/auth/token", json={"username": OWNER, "password": factories.PASSWORD,
                                                     "name": "matrix"}).get_json()["token"]
    with app.app_context():
        from sqlalchemy import select

        from app.models import ApiToken
        from services import tokens

        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == tokens.digest(victim)))
        db.session.remove()
    finding_id, project_file_id = _integrity_objects(app, task["household_id"], project_id)
    params: Params = {
        "finding_id": finding_id, "project_file_id": project_file_id,
        "project_id": project_id, "household_id": task["household_id"], "instance_id": instance_id,
        "task_id": task["id"], "file_id": upload.get_json()["id"], "notification_id": notes[0]["id"],
        "token_id": token_id, "definition_id": definitions[0]["id"], "other_id": definitions[0]["id"],
        "version": policies[0]["version"], "bpmn_id": "survey", "module": "survey", "code": "en",
        "filename": "css/app.css", "staff_id": staff_id, "kind": "survey",
        "other_household_id": other_task["household_id"], **setup_ids,
    }
    tokens_by_user = {u: api.token(u) for u in USERS if u != ANONYMOUS}
    pages = {u: _sign_in_pages(app, u) for u in USERS}
    api_clients = {u: app.test_client() for u in USERS}
    yield Matrix(params, api_clients, pages, tokens_by_user)
    _clear(app)


def _integrity_objects(app: Flask, household_id: int, project_id: int) -> tuple[int, int]:
    """A finding on the household's survey (open) and a firm selection with its minutes: their ids."""
    from sqlalchemy import select

    from app.models import User
    from services import integrity, internal_audit

    with app.app_context():
        def as_(name: str) -> Actor:
            return Actor(db.session.scalar(select(User).where(User.username == name)))

        finding = internal_audit.open_finding(as_("reviewer"), {
            "household_id": household_id, "bpmn_id": "survey", "severity": "low", "text": "调查表缺签字"},
            now=utcnow())
        selection = integrity.record_selection(
            as_("admin"), project_id, {"method": "lottery", "held_on": "2026-11-02", "candidates": ["甲评估"],
                                       "chosen_firm": "甲评估"}, ("纪要.png", io.BytesIO(PNG)),
            upload_dir=app.config["UPLOAD_DIR"], max_bytes=app.config["MAX_CONTENT_LENGTH"], now=utcnow())
        ids = finding.id, selection.minutes_file_id
        db.session.remove()
    return ids


def _category() -> str:
    from services.modules.dossier import CATEGORIES

    return next(iter(CATEGORIES))


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every route, in the order the requests are sent: reads first, then writes, the
    ones that end something (retire, logout, revoke) last."""
    found = []
    for url_rule in app.url_map.iter_rules():
        for method in sorted((url_rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((url_rule.endpoint, method, url_rule.rule))
    last = {"api.revoke_token": 1, "account.revoke_token": 1, "api.retire_definition": 2, "processes.retire": 2,
            "auth.logout": 3}
    return sorted(found, key=lambda r: (last.get(r[0], 0), r[1] != "GET", r[0], r[1]))


def _url(app: Flask, endpoint: str, params: Params) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {name: params[name] for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _body(endpoint: str, method: str, params: Params) -> dict[str, Any]:
    """Input that passes the shape checks but not the content ones, so an allowed user gets a validation answer
    and nothing moves on (the upload, the new household and the dry-run migration do succeed)."""
    if method == "GET":
        return {}
    special: dict[str, dict[str, Any]] = {
        "api.complete_task": {"json": {"data": {}}},
        "api.return_task": {"json": {"to": "survey", "reason": "route matrix"}},
        "api.migrate_instances": {"json": {"instance_ids": [params["instance_id"]], "dry_run": True}},
        "api.upload_file": {"data": {"file": (io.BytesIO(PNG), "photo.png"), "module": "survey",
                                     "category": _category()}, "content_type": "multipart/form-data"},
        "api.import_households": {"data": {}, "content_type": "multipart/form-data"},
        "api.create_definition": {"data": b"", "content_type": "application/xml"},
        "api.validate_definition": {"data": b"", "content_type": "application/xml"},
        "cases.new": {"data": {"project_id": str(params["project_id"]), "code": "N-001", "kind": "collective_house",
                               "address": "北区三村9组9号", "head_name": "周永"}},
        "supervisor.deadline_page": {"data": {"bpmn_id": "survey", "due": ""}},
        "integrity.selections": {"data": {"project_id": str(params["project_id"])}},
    }
    if endpoint in special:
        return special[endpoint]
    return {"json": {}} if endpoint.startswith("api.") else {"data": {}}


def _request(matrix: Matrix, app: Flask, endpoint: str, method: str, user: str) -> Any:
    url = _url(app, endpoint, matrix.params)
    kwargs = _body(endpoint, method, matrix.params)
    if endpoint.startswith("api."):
        headers = {"Authorization": f"Bearer {matrix.tokens[user]}"} if user != ANONYMOUS else {}
        return matrix.api[user].open(url, method=method, headers=headers, **kwargs)
    return matrix.pages[user].open(url, method=method, **kwargs)


def expected(rule_: Rule, endpoint: str, user: str, names_a_case: bool = False) -> frozenset[int]:
    """The statuses the table allows for this user (names_a_case: the route names a household of group 1)."""
    if user == ANONYMOUS:
        if rule_.public:
            return rule_.anonymous or rule_.ok
        return frozenset({401}) if endpoint.startswith("api.") else frozenset({302})
    roles = {OUTSIDER: OUTSIDER_ROLES, GROUP2: GROUP2_ROLES}.get(user, frozenset({user}))
    if rule_.scope == "own":
        return rule_.ok if user == OWNER else frozenset({404})
    if rule_.scope == "project" and (user == OUTSIDER or (user == GROUP2 and names_a_case)):
        return frozenset({rule_.outsider})
    if rule_.allowed is EVERYONE or roles & rule_.allowed:
        return rule_.ok
    return frozenset({rule_.denied})


def test_every_route_answers_every_user_as_the_table_says(app: Flask, matrix: Matrix):
    explore = os.environ.get("ROUTE_MATRIX_EXPLORE")
    problems = []
    for endpoint, method, _rule in _routes(app):
        rule_ = TABLE.get((endpoint, method))
        names_a_case = bool(HOUSEHOLD_PARAMS & set(_arguments(app, endpoint)))
        if rule_ is None and not explore:
            problems.append(f"{method} {endpoint}: not in the table")
            continue
        for user in USERS:
            response = _request(matrix, app, endpoint, method, user)
            status = response.status_code
            matrix.observed[(endpoint, method, user)] = status
            if status >= 500:
                problems.append(f"{method} {endpoint} as {user}: {status} {response.get_data(as_text=True)[:200]}")
                continue
            if rule_ is None:
                continue
            allowed = expected(rule_, endpoint, user, names_a_case)
            if status not in allowed:
                problems.append(f"{method} {endpoint} as {user}: {status}, expected {sorted(allowed)}")
            elif status == 302 and user == ANONYMOUS and not rule_.public \
                    and "/login" not in response.headers.get("Location", ""):
                problems.append(f"{method} {endpoint} as {user}: redirected to {response.headers['Location']}")
    if explore:
        _dump(matrix, app)
    assert not problems, "\n".join(problems)


def _arguments(app: Flask, endpoint: str) -> set[str]:
    return set(next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint).arguments)


def _dump(matrix: Matrix, app: Flask) -> None:
    lines = []
    for endpoint, method, _rule in _routes(app):
        row = " ".join(f"{u[:6]}={matrix.observed.get((endpoint, method, u))}" for u in USERS)
        lines.append(f"{method:6} {endpoint:34} {row}")
    with open(os.environ["ROUTE_MATRIX_EXPLORE"], "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def test_the_table_names_only_routes_that_exist(app: Flask):
    routes = {(endpoint, method) for endpoint, method, _rule in _routes(app)}
    assert set(TABLE) - routes == set()


def test_project_a_users_do_not_see_project_b_households(app: Flask, matrix: Matrix):
    """The other direction: every read of a household names project B's; its members see it, A's do not."""
    params = {**matrix.params, "household_id": matrix.params["other_household_id"]}
    pages = {user: _sign_in_pages(app, user) for user in ("surveyor", "supervisor", OUTSIDER)}  # the matrix signed out
    checked = 0
    for endpoint, method, url_rule in _routes(app):
        if method != "GET" or "household_id" not in url_rule or (endpoint, method) not in TABLE:
            continue
        url = _url(app, endpoint, params)
        for user, allowed in (("surveyor", {404}), ("supervisor", TABLE[(endpoint, method)].ok),
                              (OUTSIDER, TABLE[(endpoint, method)].ok)):
            if endpoint.startswith("api."):
                response = matrix.api[user].get(url, headers={"Authorization": f"Bearer {matrix.tokens[user]}"})
            else:
                response = pages[user].get(url)
            assert response.status_code in allowed, (endpoint, user, response.status_code)
        checked += 1
    assert checked >= 8
