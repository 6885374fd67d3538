"""The compensation API (policies, preview) and the administrators' policy pages."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, PolicyVersion
from services.compensation import form as policy_form
from services.compensation import policy as policy_table
from services.compensation.defaults import DEFAULT_RULES, default_rules
from services.context import Actor
from tests import factories

NOW = datetime(2026, 11, 25, 2, 0)
HOUSEHOLD = {
    "kind": "collective_house",
    "buildings": [
        {"structure": "brick_concrete", "legal_status": "legal", "use": "residential", "area": "210.00",
         "unit_price": "4200.00"},
        {"structure": "simple", "legal_status": "legacy", "use": "residential", "area": 30, "unit_price": 1000},
    ],
    "ancillary": [{"code": "ac_wall", "count": 2}, {"code": "water_meter_main", "count": 1}],
    "persons": [{"resettlement": True, "special_group": "dibao"}, {"resettlement": True},
                {"resettlement": True, "special_group": None}, {"resettlement": True},
                {"resettlement": False, "special_group": "only_child"}],
    "signed_on": "2026-12-20",
}
EXPECTED = {
    "building_value.1": "882000.00", "building_value.2": "15000.00", "decoration.1": "63000.00",
    "decoration.2": "3000.00", "ancillary.ac_wall": "400.00", "ancillary.water_meter_main": "500.00",
    "moving_allowance": "3000.00", "temporary_housing": "28800.00", "hardship": "20000.00",
    "signing_bonus": "40000.00",
}


@pytest.fixture()
def policies(world):
    """The default version (2026.1, in force) and a future one (2099.1)."""
    policy_table.ensure_default(Actor.system(), NOW)
    db.session.commit()
    rules = default_rules()
    rules["decoration_rate"]["frame"] = "450.00"
    policy_table.create_version(Actor.system(), {"version": "2099.1", "name": "future", "rules": rules,
                                                 "effective_from": date(2099, 1, 1)}, NOW)
    return world


# --- API ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/api/v1/policies"), ("GET", "/api/v1/policies/2026.1"), ("POST", "/api/v1/calculations/preview"),
])
def test_every_compensation_endpoint_needs_a_token(api, policies, method: str, url: str) -> None:
    response = api.call(method, url, json={"option": "cash", "household": HOUSEHOLD})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_list_policies_marks_the_current_one(api, policies) -> None:
    response = api.get("/api/v1/policies", as_="surveyor")
    assert response.status_code == 200
    assert response.get_json() == {"items": [
        {"version": "2099.1", "name": "future", "effective_from": "2099-01-01", "current": False},
        {"version": "2026.1", "name": "征收补偿标准（默认）", "effective_from": "2026-01-01", "current": True},
    ]}


def test_get_one_policy_returns_its_rule_table(api, policies) -> None:
    body = api.get("/api/v1/policies/2026.1", as_="accountant").get_json()
    assert body["version"] == "2026.1" and body["current"] is True
    assert body["rules"] == DEFAULT_RULES
    assert api.get("/api/v1/policies/2099.1", as_="accountant").get_json()["rules"]["decoration_rate"]["frame"] \
        == "450.00"


@pytest.mark.parametrize("version", ["1999.1", "no-such", "x" * 40])
def test_unknown_policy_is_404(api, policies, version: str) -> None:
    response = api.get(f"/api/v1/policies/{version}", as_="accountant")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", ["accountant", "surveyor", "finance", "admin"])
def test_preview_a_collective_house(api, policies, role: str) -> None:
    response = api.post("/api/v1/calculations/preview", as_=role, json={"option": "cash", "household": HOUSEHOLD})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["policy_version"] == "2026.1"
    assert {i["code"]: i["amount"] for i in body["items"]} == EXPECTED
    assert body["total"] == "1055700.00"
    assert sum(Decimal(i["amount"]) for i in body["items"]) == Decimal(body["total"])
    assert all(set(i) == {"code", "label", "basis", "amount"} for i in body["items"])


def test_preview_swap_gives_the_difference_and_a_named_version(api, policies) -> None:
    household = {"kind": "shop", "signed_on": "2027-01-10", "swap_area": "120.00",
                 "buildings": [{"structure": "frame", "legal_status": "legal", "use": "business", "area": "40.00",
                                "unit_price": "9000.00"}],
                 "persons": [{"resettlement": True, "special_group": "disabled"}]}
    body = api.post("/api/v1/calculations/preview", as_="accountant",
                    json={"option": "swap", "household": household}).get_json()
    amounts = {i["code"]: i["amount"] for i in body["items"]}
    # 360000 + 16000 (40㎡ × 400) + 2000 + 18000 + 20000 + 15000 − 150000 − 390000
    assert amounts["decoration.1"] == "16000.00"
    assert amounts["swap_within_quota"] == "-150000.00" and amounts["swap_beyond_quota"] == "-390000.00"
    assert body["total"] == "-109000.00"
    future = api.post("/api/v1/calculations/preview", as_="accountant",
                      json={"option": "swap", "policy_version": "2099.1", "household": household}).get_json()
    assert future["policy_version"] == "2099.1"
    assert {i["code"]: i["amount"] for i in future["items"]}["decoration.1"] == "18000.00"  # 40㎡ × 450


def test_preview_labels_follow_the_language(api, policies) -> None:
    response = api.post("/api/v1/calculations/preview", as_="accountant", headers={"Accept-Language": "en"},
                        json={"option": "cash", "household": HOUSEHOLD})
    labels = {i["code"]: i["label"] for i in response.get_json()["items"]}
    assert labels["building_value.2"] == "Building 2 value (Historical legacy)"
    assert labels["moving_allowance"] == "Moving allowance"


def _with(**changes) -> dict:
    household = {**HOUSEHOLD, "buildings": [dict(b) for b in HOUSEHOLD["buildings"]]}
    for key, value in changes.items():
        if key.startswith("building_"):
            household["buildings"][0][key.removeprefix("building_")] = value
        else:
            household[key] = value
    return household


@pytest.mark.parametrize(("body", "field"), [
    ({"option": "cash", "household": _with(building_structure="tent")}, "household.buildings.0.structure"),
    ({"option": "cash", "household": _with(building_legal_status="x")}, "household.buildings.0.legal_status"),
    ({"option": "cash", "household": _with(building_use="farm")}, "household.buildings.0.use"),
    ({"option": "cash", "household": _with(building_area="-5")}, "household.buildings.0.area"),
    ({"option": "cash", "household": _with(building_unit_price="lots")}, "household.buildings.0.unit_price"),
    ({"option": "cash", "household": _with(persons=[{"resettlement": True, "special_group": "vip"}])},
     "household.persons.0.special_group"),
    ({"option": "cash", "household": _with(ancillary=[{"code": "jacuzzi", "count": 1}])},
     "household.ancillary.0.code"),
    ({"option": "barter", "household": HOUSEHOLD}, "option"),
    ({"option": "cash", "policy_version": "1999.9", "household": HOUSEHOLD}, "policy_version"),
    ({"option": "cash", "household": _with(buildings=[HOUSEHOLD["buildings"][0]] * 51)}, "household.buildings"),
    ({"option": "cash", "household": _with(transition_months=1000)}, "household.transition_months"),
    ({"option": "cash", "household": _with(kind="palace")}, "household.kind"),
    ({"option": "cash"}, "household"),
    ({"option": "cash", "household": "x"}, "household"),
    ([1, 2], "body"),
])
def test_bad_preview_is_422_with_fields(api, policies, body, field: str) -> None:
    response = api.post("/api/v1/calculations/preview", as_="accountant", json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["fields"], error["fields"]


@pytest.mark.parametrize("raw", [b"", b"not json", b'{"option": "cash", "household": {"kind": "shop", '
                                 b'"buildings": [{"area": 1e99999}]}}', b"\xff\xfe", b"[" * 5000])
def test_malformed_preview_bodies_never_5xx(api, policies, raw: bytes) -> None:
    response = api.post("/api/v1/calculations/preview", as_="accountant", data=raw,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_preview_on_an_empty_table_stores_the_default_first(api, world) -> None:
    response = api.post("/api/v1/calculations/preview", as_="accountant",
                        json={"option": "cash", "household": HOUSEHOLD})
    assert response.status_code == 200
    assert response.get_json()["policy_version"] == "2026.1"
    assert api.get("/api/v1/policies", as_="accountant").get_json()["items"][0]["current"] is True


def test_the_endpoints_are_in_the_openapi_document(api, world) -> None:
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/policies", "/api/v1/policies/{version}", "/api/v1/calculations/preview"} <= set(paths)


# --- pages ---------------------------------------------------------------------------------------------

def login(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("url", ["/policies", "/policies/2026.1", "/policies/2026.1/new"])
def test_policy_pages_are_for_administrators(client, policies, url: str) -> None:
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, "accountant")
    assert client.get(url).status_code == 403
    assert client.post("/policies/2026.1/new", data={}).status_code == 403
    client.post("/logout")
    login(client, "admin")
    assert client.get(url).status_code == 200


def test_admin_sees_versions_and_rules(client, policies) -> None:
    login(client, "admin")
    page = client.get("/policies?lang=en").get_data(as_text=True)
    assert "2026.1" in page and "2099.1" in page and 'data-testid="current-policy"' in page
    detail = client.get("/policies/2026.1").get_data(as_text=True)
    assert 'data-field="decoration_rate.frame">400.00 元/㎡' in detail
    assert client.get("/policies/1999.1").status_code == 404


def _form_from(version: str, **changes: str) -> dict[str, list[str]]:
    base = policy_table.get(version)
    values = policy_form.initial_values(base.rules)
    sent: dict[str, list[str]] = {k: (list(v) if isinstance(v, list) else [str(v)]) for k, v in values.items()}
    sent.update({"version": ["2026.7"], "name": ["2026年第二版"], "effective_from": ["2026-06-01"],
                 "comment": ["装修标准上调"]})
    sent.update({k: [v] for k, v in changes.items()})
    return sent


def test_new_version_form_is_prefilled_from_the_one_edited(client, policies) -> None:
    login(client, "admin")
    page = client.get("/policies/2026.1/new").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert 'name="decoration_rate.frame" value="400.00"' in page
    assert 'name="building_ratio.legacy" value="50"' in page
    assert 'name="signing_bonus.0.until" value="2026-12-31"' in page
    assert 'name="signing_bonus.3.until" value=""' in page  # a blank row to add a tier


def test_admin_saves_a_new_version_and_the_old_one_stays(client, policies) -> None:
    login(client, "admin")
    sent = _form_from("2026.1", **{"decoration_rate.frame": "450", "building_ratio.legacy": "60",
                                   "signing_bonus.3.until": "2027-03-31", "signing_bonus.3.amount": "2000",
                                   "ancillary_new.0.code": "solar_heater", "ancillary_new.0.amount": "800"})
    sent["hardship.groups"] = ["dibao", "disabled", "serious_illness", "only_child"]
    response = client.post("/policies/2026.1/new", data=sent)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/policies/2026.7")
    db.session.expire_all()
    new = policy_table.get("2026.7")
    assert new.rules["decoration_rate"]["frame"] == "450.00"
    assert new.rules["building_ratio"]["legacy"] == "0.60"
    assert new.rules["signing_bonus"][-1] == {"until": "2027-03-31", "amount": "2000.00"}
    assert new.rules["ancillary_rate"]["solar_heater"] == "800.00"
    assert "only_child" in new.rules["hardship"]["groups"]
    assert new.comment == "装修标准上调" and new.created_by_id == policies.users["admin"].id
    assert policy_table.get("2026.1").rules == DEFAULT_RULES
    audit = db.session.scalar(select(AuditLog).where(AuditLog.target_id == "2026.7"))
    assert audit.after["based_on"] == "2026.1" and audit.actor_name == "admin"


def test_a_tier_can_be_dropped_by_clearing_it(client, policies) -> None:
    login(client, "admin")
    sent = _form_from("2026.1", **{"signing_bonus.2.until": "", "signing_bonus.2.amount": ""})
    assert client.post("/policies/2026.1/new", data=sent).status_code == 302
    assert [t["until"] for t in policy_table.get("2026.7").rules["signing_bonus"]] == ["2026-12-31", "2027-01-31"]


def test_a_bad_form_shows_an_error_per_field_and_saves_nothing(client, policies) -> None:
    login(client, "admin")
    sent = _form_from("2026.1", **{"building_ratio.legacy": "150", "decoration_rate.frame": "abc",
                                   "signing_bonus.1.until": "2026-01-01", "temporary_housing.months.cash": "-2",
                                   "ancillary_new.0.code": "ac_wall", "ancillary_new.0.amount": "5",
                                   "ancillary_new.1.code": "heat_pump", "ancillary_new.1.amount": "x",
                                   "effective_from": "someday"})
    sent["version"] = ["2099.1"]
    response = client.post("/policies/2026.1/new?lang=en", data=sent)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    problems = policy_form_errors(page)
    assert {"version", "effective_from", "building_ratio.legacy", "decoration_rate.frame", "signing_bonus.1.until",
            "temporary_housing.months.cash", "ancillary_new.0.code", "ancillary_new.1.amount"} <= problems
    assert 'name="decoration_rate.frame" value="abc"' in page  # what was sent is shown again
    assert db.session.scalar(select(PolicyVersion).where(PolicyVersion.version == "2026.7")) is None
    assert len(policy_table.list_versions(date(2026, 6, 1))) == 2


def policy_form_errors(page: str) -> set[str]:
    """The names of the inputs that show an error."""
    return set(re.findall(r'data-error-for="([^"]+)"', page))
