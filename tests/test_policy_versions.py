"""The versioned policy table in the database: the version in force, immutability, the threshold, the CLI."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, PolicyVersion, utcnow
from app.models.policy import ImmutablePolicyVersion
from services import policy as pipeline_policy
from services.compensation import policy as policy_table
from services.compensation.defaults import DEFAULT_RULES, default_rules
from services.compensation.inputs import Building, HouseholdInput
from services.context import Actor
from services.errors import InvalidInput

D = Decimal
NOW = datetime(2026, 11, 25, 2, 0)


def building(area: str, price: str, structure: str = "frame") -> Building:
    return Building(structure=structure, legal_status="legal", use="residential", area=D(area), unit_price=D(price))


def _version(version: str, effective_from: date, **changes) -> PolicyVersion:
    rules = default_rules()
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            rules[section][key] = value
        else:
            rules[section] = value
    return policy_table.create_version(Actor.system(), {"version": version, "name": f"policy {version}",
                                                        "effective_from": effective_from, "rules": rules}, NOW)


def test_ensure_default_stores_2026_1_once(ctx) -> None:
    created = policy_table.ensure_default(Actor.system(), NOW)
    db.session.commit()
    assert created is not None and created.version == "2026.1" and created.rules == DEFAULT_RULES
    assert policy_table.ensure_default(Actor.system(), NOW) is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "policy.created")).target_id == "2026.1"


def test_the_current_version_is_the_latest_in_force(ctx) -> None:
    _version("2026.1", date(2026, 1, 1))
    _version("2026.2", date(2027, 1, 1), decoration_rate__frame="450.00")
    assert policy_table.current_version(date(2025, 12, 31)) is None
    assert policy_table.current_version(date(2026, 12, 31)).version == "2026.1"
    assert policy_table.current_version(date(2027, 1, 1)).version == "2026.2"
    _version("2026.3", date(2027, 1, 1), decoration_rate__frame="460.00")
    assert policy_table.current_version(date(2027, 1, 1)).version == "2026.3"  # same day: the newest saved
    listed = policy_table.list_versions(date(2026, 12, 31))
    assert [(s.version, s.current) for s in listed] == [("2026.3", False), ("2026.2", False), ("2026.1", True)]


def test_a_new_version_never_changes_a_stored_one(ctx) -> None:
    old = _version("2026.1", date(2026, 1, 1))
    table = policy_table.rule_table(old, date(2026, 6, 1))
    table["rules"]["decoration_rate"]["frame"] = "999.00"  # a caller's copy, not the stored rules
    _version("2026.2", date(2026, 6, 1), decoration_rate__frame="450.00")
    db.session.expire_all()
    assert policy_table.get("2026.1").rules == DEFAULT_RULES
    assert policy_table.get("2026.2").rules["decoration_rate"]["frame"] == "450.00"


def test_a_stored_version_refuses_to_change(ctx) -> None:
    row = _version("2026.1", date(2026, 1, 1))
    row.name = "renamed"
    with pytest.raises(ImmutablePolicyVersion):
        db.session.flush()
    db.session.rollback()
    db.session.delete(policy_table.get("2026.1"))
    with pytest.raises(ImmutablePolicyVersion):
        db.session.flush()
    db.session.rollback()
    assert policy_table.get("2026.1").name == "policy 2026.1"


def test_a_version_name_is_used_once(ctx) -> None:
    _version("2026.1", date(2026, 1, 1))
    with pytest.raises(InvalidInput) as caught:
        _version("2026.1", date(2026, 2, 1))
    assert "version" in caught.value.fields
    assert policy_table.suggest_version(date(2026, 5, 1)) == "2026.2"
    assert policy_table.suggest_version(date(2027, 5, 1)) == "2027.1"


def test_a_version_with_bad_rules_is_not_stored(ctx) -> None:
    with pytest.raises(InvalidInput) as caught:
        _version("2026.1", date(2026, 1, 1), swap__price_within_quota="-1")
    assert "swap.price_within_quota" in caught.value.fields
    assert policy_table.find("2026.1") is None


def test_tracking_audit_threshold_reads_the_current_table(ctx) -> None:
    assert pipeline_policy.tracking_audit_threshold(None, utcnow()) == D("5000000.00")  # nothing stored: the default
    _version("2026.1", date(2020, 1, 1), tracking_audit_threshold="3000000.00")
    assert pipeline_policy.tracking_audit_threshold(7, utcnow()) == D("3000000.00")
    _version("2099.1", date(2099, 1, 1), tracking_audit_threshold="1000000.00")  # not in force yet
    assert pipeline_policy.tracking_audit_threshold(None, utcnow()) == D("3000000.00")


def test_preview_uses_the_current_or_the_named_version(ctx) -> None:
    data = HouseholdInput(kind="state_house", option="cash", buildings=(building("100.00", "1000.00"),))
    result = policy_table.preview(data, None, date(2026, 6, 1), NOW)  # nothing stored: the default is stored first
    assert result["policy_version"] == "2026.1"
    assert policy_table.find("2026.1") is not None
    _version("2026.2", date(2026, 6, 1), decoration_rate__frame="450.00")
    by_code = {i.code: i.amount for i in policy_table.preview(data, None, date(2026, 6, 1), NOW)["items"]}
    assert by_code["decoration.1"] == D("45000.00")
    old = policy_table.preview(data, "2026.1", date(2026, 6, 1), NOW)
    assert old["policy_version"] == "2026.1"
    assert {i.code: i.amount for i in old["items"]}["decoration.1"] == D("40000.00")
    with pytest.raises(InvalidInput) as caught:
        policy_table.preview(data, "1999.9", date(2026, 6, 1), NOW)
    assert "policy_version" in caught.value.fields


def test_local_today_is_the_office_calendar_day() -> None:
    assert policy_table.local_today(datetime(2026, 12, 31, 16, 30)) == date(2027, 1, 1)
    assert policy_table.local_today(datetime(2026, 12, 31, 15, 59)) == date(2026, 12, 31)


def test_cli_loads_the_default_once(ctx) -> None:
    runner = ctx.test_cli_runner()
    first = runner.invoke(args=["policy", "load-default"])
    assert first.exit_code == 0, first.output
    assert "2026.1" in first.output
    second = runner.invoke(args=["policy", "load-default"])
    assert second.exit_code == 0 and "exists" in second.output
    assert db.session.scalar(select(PolicyVersion).where(PolicyVersion.version == "2026.1")).rules == DEFAULT_RULES
