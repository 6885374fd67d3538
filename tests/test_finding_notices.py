"""Internal-audit findings reach the people who act on them: the step's role who reaches the household hears of a
finding opened or reopened (in the app and by e-mail), the reviewer of its rectification, both of it overdue (the
worker, once); the inbox lists the findings waiting for the user's rectification, overdue ones marked."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, User, utcnow
from services import finding_notices, internal_audit, notifications
from services.context import Actor
from services.errors import Forbidden, InvalidInput, NotFound
from services.tx import transaction
from tests import factories
from tests.api_support import fast_passwords  # noqa: F401
from tests.test_query_counts import Visitor

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _open(world, household_id: int, bpmn_id: str = "survey", *, now=None, working_days: int = 5):
    return internal_audit.open_finding(world.actor("reviewer"), {
        "household_id": household_id, "bpmn_id": bpmn_id, "severity": "high", "text": "入户调查表缺户主签字",
        "working_days": working_days}, now=now or utcnow())


def _actor(username: str) -> Actor:
    return Actor(db.session.scalar(select(User).where(User.username == username)))


def _notices(username: str) -> list[Notification]:
    user = db.session.scalar(select(User).where(User.username == username))
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def _texts(username: str) -> list[str]:
    return [n.message for n in _notices(username)]


def test_the_role_of_the_households_group_is_told_of_a_finding_and_the_reviewer_of_its_rectification(world):
    with transaction():
        db.session.get(User, world.users["surveyor"].id).email = "surveyor@example.org"
    world.add_to_second_group("surveyor2", ["surveyor"])  # the role, but another work group's households
    # a project-wide role reaches every group's households, the group-bound one beside it does not
    world.add_to_second_group("mixed2", ["surveyor", "calc_auditor"])
    household, _ = factories.new_household(world, "FN-1")
    finding = _open(world, household.id)
    due = finding.due_on.isoformat()

    opened = _notices("surveyor")
    assert [(n.kind, n.params["event"], n.email_status) for n in opened] == [("finding", "opened", "pending")]
    assert opened[0].message == f"FN-1：内审发现“调查建档”存在问题，请于 {due} 前整改"
    assert _notices("surveyor2") == [] and _notices("mixed2") == [] and _notices("reviewer") == []
    assert _notices("outsider") == []
    calc = _open(world, household.id, "calc_audit")
    assert [n.params["event"] for n in _notices("calc_auditor")] == ["opened"]
    assert [n.params["step"] for n in _notices("mixed2")] == [calc.step_name]

    # the role of another work group may not rectify it either: it does not see the household, or (seeing it
    # with a project-wide role) its surveyor role does not reach it
    with pytest.raises(NotFound):
        internal_audit.rectify(_actor("surveyor2"), finding.id, {"text": "已补"}, now=utcnow())
    with pytest.raises(Forbidden) as refused:
        internal_audit.rectify(_actor("mixed2"), finding.id, {"text": "已补"}, now=utcnow())
    assert refused.value.message.code == "task_other_group"
    internal_audit.rectify(world.actor("surveyor"), finding.id, {"text": "已补户主签字"}, now=utcnow())
    told = _notices("reviewer")
    assert [n.params["event"] for n in told] == ["rectified"]
    assert told[0].message == f"FN-1：“调查建档”的内审问题已整改，待您复核（整改期限 {due}）"

    due = internal_audit.reopen(world.actor("reviewer"), finding.id, {"reason": "扫描件不清晰", "working_days": 3},
                                now=utcnow()).due_on.isoformat()  # a new rectify-by date
    again = _notices("surveyor")
    assert [n.params["event"] for n in again] == ["opened", "reopened"]
    assert again[-1].message == f"FN-1：“调查建档”的整改未通过复核（扫描件不清晰），请于 {due} 前重新整改"
    assert _notices("surveyor2") == []
    with force_locale("en"):
        assert notifications.render(again[-1].kind, again[-1].params) == (
            f"FN-1: the rectification of “调查建档” was not accepted (扫描件不清晰); rectify it again by {due}")


def test_the_inbox_lists_the_findings_to_rectify_with_overdue_ones_marked(world, client, api):
    world.add_to_second_group("surveyor2", ["surveyor"])
    world.add_to_second_group("mixed2", ["surveyor", "calc_auditor"])  # sees the household, its surveyor does not
    household, _ = factories.new_household(world, "FN-2")
    late = _open(world, household.id, now=utcnow() - timedelta(days=40), working_days=1)
    fresh = _open(world, household.id, "appraisal")
    done = _open(world, household.id)
    internal_audit.rectify(world.actor("surveyor"), done.id, {"text": "已补"}, now=utcnow())

    def listed(username: str) -> list[int]:
        rows = internal_audit.list_findings(_actor(username), internal_audit.FindingQuery(to_rectify=True))
        return [r.id for r in rows]

    assert listed("surveyor") == [late.id]
    assert listed("appraiser") == [fresh.id]
    assert listed("surveyor2") == [] and listed("mixed2") == [] and listed("outsider") == []

    client.post("/login", data={"username": "surveyor", "password": factories.PASSWORD})
    page = client.get("/inbox").get_data(as_text=True)
    assert 'data-testid="inbox-findings"' in page and "内审待整改" in page
    assert f'href="/integrity/findings/{late.id}"' in page and f"/integrity/findings/{done.id}\"" not in page
    assert "FN-2" in page and "调查建档" in page and 'data-testid="inbox-finding-overdue"' in page
    assert 'data-testid="findings-count">待整改 <b>1</b>' in page
    items = api.get("/api/v1/findings?to_rectify=true", as_="surveyor").get_json()["items"]
    assert [(f["id"], f["household_code"], f["overdue"]) for f in items] == [(late.id, "FN-2", True)]
    assert api.get("/api/v1/findings?to_rectify=true", as_="surveyor2").get_json()["items"] == []
    client.post("/logout")
    client.post("/login", data={"username": "surveyor2", "password": factories.PASSWORD})
    assert 'data-testid="inbox-findings"' not in client.get("/inbox").get_data(as_text=True)


def test_the_inbox_reads_its_findings_in_one_statement_however_many(ctx, world):
    household, _ = factories.new_household(world, "FN-3")
    visitor = Visitor(ctx, "surveyor")
    without = len(visitor.statements("/inbox"))
    _open(world, household.id)
    one = len(visitor.statements("/inbox"))
    for _ in range(4):
        _open(world, household.id)
    assert len(visitor.statements("/inbox")) == one <= without + 1
    with ctx.app_context():
        assert visitor.page.get("/inbox").get_data(as_text=True).count('data-testid="inbox-finding"') == 5


def test_an_overdue_finding_is_announced_once_to_its_role_and_the_reviewer(world):
    world.add_to_second_group("surveyor2", ["surveyor"])
    household, _ = factories.new_household(world, "FN-4")
    late = _open(world, household.id, now=utcnow() - timedelta(days=40), working_days=1)
    _open(world, household.id, "appraisal")  # not due yet
    rectified = _open(world, household.id, "rights", now=utcnow() - timedelta(days=40), working_days=1)
    internal_audit.rectify(world.actor("rights_officer"), rectified.id, {"text": "已更正"}, now=utcnow())
    before = {name: len(_notices(name)) for name in ("surveyor", "reviewer", "rights_officer", "appraiser")}

    assert finding_notices.run_overdue(utcnow()) == 2
    assert finding_notices.run_overdue(utcnow() + timedelta(hours=1)) == 0  # once
    overdue = [n for n in _notices("surveyor") + _notices("reviewer") if n.params.get("event") == "overdue"]
    assert sorted(n.user_id for n in overdue) == sorted([world.users["surveyor"].id, world.users["reviewer"].id])
    assert overdue[0].message == (f"FN-4：“调查建档”的内审问题已超过整改期限（{late.due_on.isoformat()}）仍未整改")
    assert _notices("surveyor2") == []
    assert len(_notices("rights_officer")) == before["rights_officer"]
    assert len(_notices("appraiser")) == before["appraiser"]


def test_a_finding_notice_opens_the_finding(world, client, api):
    household, _ = factories.new_household(world, "FN-5")
    finding = _open(world, household.id)
    client.post("/login", data={"username": "surveyor", "password": factories.PASSWORD})
    page = client.get("/notifications").get_data(as_text=True)
    assert "内审整改" in page and 'data-testid="open-finding-notice"' in page
    note = _notices("surveyor")[0]
    assert api.get("/api/v1/notifications", as_="surveyor").get_json()["items"][0]["finding_id"] == finding.id
    opened = client.post(f"/notifications/{note.id}/read", data={"open": "finding"})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/integrity/findings/{finding.id}")


def test_a_reopened_finding_has_a_new_rectify_by_date_and_is_announced_overdue_again(world):
    household, _ = factories.new_household(world, "FN-6")
    opened_at = utcnow() - timedelta(days=60)
    finding = _open(world, household.id, now=opened_at, working_days=1)
    first_due = finding.due_on
    assert finding_notices.run_overdue(utcnow()) == 2  # the surveyor and the reviewer
    internal_audit.rectify(world.actor("surveyor"), finding.id, {"text": "已补签"}, now=opened_at + timedelta(days=5))
    reopened_at = opened_at + timedelta(days=6)
    reopened = internal_audit.reopen(world.actor("reviewer"), finding.id, {"reason": "签字仍不完整", "working_days": 3},
                                     now=reopened_at)
    assert reopened.due_on == internal_audit.add_working_days(reopened_at.date(), 3) > first_due
    assert finding_notices.run_overdue(reopened_at) == 0  # not due yet under its new date
    assert finding_notices.run_overdue(utcnow()) == 2  # past the new date: announced again, once
    assert finding_notices.run_overdue(utcnow()) == 0
    with pytest.raises(InvalidInput) as refused:
        internal_audit.reopen(world.actor("reviewer"), finding.id, {"reason": "再次退回", "working_days": 0},
                              now=utcnow())
    assert "working_days" in refused.value.fields
