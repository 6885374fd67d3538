"""Businesses and people in a real policy table, worked line by line: a shop with its tenant (owner's and tenant's
totals), a factory with its equipment, production loss by months and moving by area, a family with an only child
and a 低保 member (extra quota and hardship per person), and the transition fee past the promised delivery."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale

from services.compensation.calculator import Calculation, calculate
from services.compensation.defaults import default_rules
from services.compensation.inputs import Building, HouseholdInput, Person, parse_preview
from services.compensation.rules import validate_rules
from services.errors import InvalidInput

D = Decimal


def table(**changes) -> dict:
    """The city's table of the examples: the defaults with the business and people sections filled in."""
    rules = default_rules()
    rules.update({
        "interruption": {"method": "months", "months": 6, "rate": "0.05", "uses": ["business", "production"]},
        "equipment": {"share": "1.00"},
        "enterprise_moving": {"per_area": "20.00", "minimum": "5000.00", "kinds": ["enterprise"]},
        "land_use": {"per_area": "300.00", "kinds": ["enterprise"]},
        "tenant_share": {"business_interruption": "1.00", "equipment": "1.00", "decoration": "0.50"},
        "extra_quota": {"only_child": "15.00", "unmarried_adult": "20.00", "reserved": "30.00",
                        "cash_price": "3000.00"},
        "transition": {"promised_months": 18, "overdue_factor": "2.00"},
    })
    rules["hardship"] = {"amount": "20000.00", "groups": ["dibao", "disabled", "serious_illness"], "per": "person",
                         "amounts": {"dibao": "10000.00", "disabled": "15000.00", "serious_illness": "20000.00"}}
    rules.update(changes)
    return validate_rules(rules)


def lines(result: Calculation) -> dict[str, Decimal]:
    return {i.code: i.amount for i in result.items}


def text(result: Calculation, code: str, part: str = "basis", locale: str = "zh") -> str:
    with force_locale(locale):
        return next(i.as_json()[part] for i in result.items if i.code == code)


SHOP = HouseholdInput(
    kind="shop", option="cash", tenant="李记餐饮", monthly_loss=D("8000.00"),
    equipment_value=D("36000.00"),
    buildings=(Building("frame", "legal", "business", D("120.00"), D("9000.00"), "临街店面"),),
    persons=(Person(True),))


def test_a_shop_with_a_tenant_pays_each_line_to_its_payee(ctx) -> None:
    result = calculate(table(), SHOP)
    got = lines(result)
    assert got["building_value.1"] == D("1080000.00")  # 120 × 9000, the owner's
    assert got["decoration.1"] == D("24000.00")  # owner: half of 120 × 400
    assert got["decoration.1.tenant"] == D("24000.00")  # tenant: the other half
    assert "business_interruption" not in got  # all of it to the tenant
    assert got["business_interruption.tenant"] == D("48000.00")  # 6 months × 8,000
    assert got["equipment.tenant"] == D("36000.00")  # 100% of the appraised 36,000
    assert got["moving_allowance"] == D("3000.00")  # a shop is not an enterprise: the flat amount
    assert "land_use" not in got and "temporary_housing" not in got
    payees = result.payee_totals()
    assert payees["tenant"] == D("108000.00")
    assert payees["owner"] == D("1080000.00") + D("24000.00") + D("3000.00")
    assert payees["owner"] + payees["tenant"] == result.total
    items = {i.code: i.as_json() for i in result.items}
    assert items["equipment.tenant"]["payee"] == "tenant" and "payee" not in items["decoration.1"]
    assert text(result, "decoration.1.tenant") == "120.00㎡ × 400.00元/㎡ × 50%"
    assert text(result, "business_interruption.tenant") == "6月 × 8000.00元/月"
    assert text(result, "equipment.tenant", "label") == "设备搬迁：承租户部分"
    assert text(result, "equipment.tenant", "label", "en") == "Equipment moving: tenant's share"
    assert text(result, "equipment.tenant", locale="en") == "100% × appraised equipment value 36000.00元"


def test_without_a_tenant_everything_is_the_owners() -> None:
    shop = HouseholdInput(**{**SHOP.__dict__, "tenant": ""})
    result = calculate(table(), shop)
    got = lines(result)
    assert got["business_interruption"] == D("48000.00") and got["decoration.1"] == D("48000.00")
    assert not any(code.endswith(".tenant") for code in got)
    assert result.payee_totals()["tenant"] == 0


def test_a_factory_with_equipment_production_loss_and_moving_by_area(ctx) -> None:
    factory = HouseholdInput(
        kind="enterprise", option="cash", monthly_loss=D("60000.00"), equipment_value=D("850000.00"),
        land_area=D("3000.00"),
        buildings=(Building("frame", "legal", "production", D("1500.00"), D("2500.00"), "生产车间"),
                   Building("brick_concrete", "legal", "business", D("150.00"), D("3000.00"), "办公楼")))
    result = calculate(table(), factory)
    got = lines(result)
    assert got["building_value.1"] == D("3750000.00") and got["building_value.2"] == D("450000.00")
    assert got["business_interruption"] == D("360000.00")  # production counts: 6 × 60,000
    assert got["equipment"] == D("850000.00")
    assert got["moving_allowance"] == D("33000.00")  # 1,650 ㎡ × 20, not the flat 3,000
    assert got["land_use"] == D("900000.00")  # 3,000 ㎡ × 300
    assert text(result, "moving_allowance") == "1650.00㎡ × 20.00元/㎡，最低 5000.00元"
    assert text(result, "land_use", "label") == "土地使用权"


def test_a_small_enterprise_gets_the_minimum_moving_and_rate_method_counts_production() -> None:
    rules = table(interruption={"method": "rate", "months": 6, "rate": "0.05", "uses": ["business", "production"]})
    workshop = HouseholdInput(kind="enterprise", option="cash",
                              buildings=(Building("simple", "legal", "production", D("80.00"), D("1000.00")),))
    got = lines(calculate(rules, workshop))
    assert got["moving_allowance"] == D("5000.00")  # 80 × 20 = 1,600 < the 5,000 minimum
    assert got["business_interruption"] == D("4000.00")  # 5% × 80,000
    assert "equipment" not in got and "land_use" not in got


def test_the_months_method_needs_the_monthly_loss() -> None:
    factory = HouseholdInput(kind="enterprise", option="cash",
                             buildings=(Building("frame", "legal", "production", D("100.00"), D("2000.00")),))
    with pytest.raises(InvalidInput) as caught:
        calculate(table(), factory)
    assert "household.monthly_loss" in caught.value.fields


def test_a_family_with_an_only_child_and_a_dibao_member(ctx) -> None:
    family = HouseholdInput(
        kind="collective_house", option="swap", transition_months=12,
        buildings=(Building("brick_concrete", "legal", "residential", D("180.00"), D("2000.00"), "主房"),),
        persons=(Person(True), Person(True, "dibao"), Person(True, "only_child"),
                 Person(True, None, ("unmarried_adult",))))
    result = calculate(table(), family)
    got = lines(result)
    # quota: 4 × 60 + only child 15 + unmarried adult 20 = 275 ㎡, all of it taken
    assert got["swap_within_quota"] == D("-687500.00")  # 275 × 2,500
    assert "swap_beyond_quota" not in got
    assert text(result, "swap_within_quota") == \
        "−275.00㎡ × 2500.00元/㎡ (≤ 4人 × 60.00㎡ + 独生子女 1人 × 15.00㎡ + 未婚成年子女 1人 × 20.00㎡)"
    assert got["hardship.dibao"] == D("10000.00")  # per person: 1 × 10,000
    assert text(result, "hardship.dibao") == "1人 × 10000.00元/人"
    assert text(result, "hardship.dibao", "label") == "困难补助：低保"
    assert "hardship" not in got
    assert got["temporary_housing"] == D("57600.00")  # 4 × 1,200 × 12, within the promised 18 months
    assert "temporary_housing.overdue" not in got


def test_a_cash_family_is_paid_its_extra_quota_and_hardship_per_household_by_default() -> None:
    rules = table(hardship={"amount": "20000.00", "groups": ["dibao", "disabled", "serious_illness"]})
    family = HouseholdInput(kind="collective_house", option="cash", transition_months=6,
                            buildings=(Building("brick_concrete", "legal", "residential", D("100.00"), D("2000.00")),),
                            persons=(Person(True, "dibao"), Person(True, "disabled"), Person(False, "only_child"),
                                     Person(False, None, ("reserved",))))
    got = lines(calculate(rules, family))
    assert got["extra_quota"] == D("135000.00")  # (15 + 30) ㎡ × 3,000
    assert got["hardship"] == D("20000.00")  # one amount for the household


def test_the_transition_fee_doubles_after_the_promised_delivery(ctx) -> None:
    family = HouseholdInput(kind="state_house", option="swap", transition_months=24,
                            buildings=(Building("frame", "legal", "residential", D("90.00"), D("12000.00")),),
                            persons=(Person(True), Person(True)))
    result = calculate(table(), family)
    got = lines(result)
    assert got["temporary_housing"] == D("72900.00")  # 90 ㎡ × 45 × 18 months
    assert got["temporary_housing.overdue"] == D("48600.00")  # 90 ㎡ × 45 × 6 months × 2
    assert text(result, "temporary_housing") == "90.00㎡ × 45.00元/㎡/月 × 18月（承诺交付的18个月内）"
    assert text(result, "temporary_housing.overdue") == "90.00㎡ × 45.00元/㎡/月 × 6月 × 2.00（超过承诺的18个月后）"
    assert text(result, "temporary_housing.overdue", "label", "en") == \
        "Transition allowance after the promised delivery"
    persons = HouseholdInput(**{**family.__dict__, "kind": "collective_house", "transition_months": 20})
    got = lines(calculate(table(), persons))
    assert got["temporary_housing"] == D("43200.00")  # 2 × 1,200 × 18
    assert got["temporary_housing.overdue"] == D("9600.00")  # 2 × 1,200 × 2 × 2


def test_an_older_table_pays_as_before() -> None:
    old = validate_rules(default_rules())
    shop = HouseholdInput(**{**SHOP.__dict__, "transition_months": None})
    got = lines(calculate(old, shop))
    assert got["business_interruption"] == D("54000.00")  # 5% × 1,080,000, no tenant share
    assert got["decoration.1"] == D("48000.00") and got["moving_allowance"] == D("3000.00")
    assert not any(c in got for c in ("equipment", "land_use", "extra_quota", "business_interruption.tenant"))


def test_the_sections_are_checked() -> None:
    with pytest.raises(InvalidInput) as caught:
        table(interruption={"method": "weekly", "months": 200, "rate": "2", "uses": ["farming"]},
              tenant_share={"business_interruption": "1.5", "equipment": "0", "decoration": "0", "land": "1"},
              transition={"promised_months": -1, "overdue_factor": "abc"})
    assert {"interruption.method", "interruption.months", "interruption.rate", "interruption.uses",
            "tenant_share.business_interruption", "tenant_share.land", "transition.promised_months",
            "transition.overdue_factor"} <= set(caught.value.fields)
    mirrored = table()
    assert mirrored["business_interruption"] == {"rate": "0.05", "uses": ["business", "production"]}


def test_the_preview_reads_the_new_fields() -> None:
    data, _version = parse_preview({"option": "cash", "household": {
        "kind": "shop", "tenant": "李记", "monthly_loss": "8000.00", "equipment_value": "36000.00",
        "land_area": "200.00", "persons": [{"resettlement": True, "quota_groups": ["reserved"]}]}})
    assert data.tenant == "李记" and data.monthly_loss == D("8000.00") and data.land_area == D("200.00")
    assert data.persons[0].quota_groups == ("reserved",)


def shop_calculated(world, code: str = "SHOP-1", **calculation: str):
    """A shop run by its tenant 李记餐饮 (equipment appraised at 36,000), calculated with the example table
    (policy 2026.8): the household and its instance, at the calculation audit."""
    from datetime import date

    from services.compensation import policy as policy_table
    from services.context import Actor
    from services.tx import transaction
    from tests import factories
    from tests.test_pages import open_task

    with transaction():
        policy_table.ensure_default(Actor.system(), factories.utcnow())
    if policy_table.find("2026.8") is None:
        policy_table.create_version(Actor.system(), {"version": "2026.8", "name": "店面承租户", "rules": table(),
                                                     "effective_from": date(2026, 1, 1)}, factories.utcnow())
    household, instance = factories.new_household(world, code=code, kind="shop")
    data = factories.step_data("survey", household.id)
    for building in data["buildings"]:
        building["use"] = "business"
    data["business"] = {"licence_no": "91330100MA2B3C4D5E", "tenant": "李记餐饮", "monthly_loss": "8000.00",
                        "equipment": [{"name": "冷柜", "count": 2, "value": "6000.00"}]}
    factories.complete_open_step(world, open_task(instance.id, "survey"), data)
    appraisal = factories.step_data("appraisal", household.id)
    appraisal["equipment_value"] = "36000.00"
    factories.complete_open_step(world, open_task(instance.id, "appraisal"), appraisal)
    factories.complete_open_step(world, open_task(instance.id, "rights"))
    factories.complete_open_step(world, open_task(instance.id, "calculation"),
                                 {"option": "cash", "policy_version": "2026.8", **calculation})
    return household, instance


def test_a_shop_with_a_tenant_through_the_steps_stores_both_totals(ctx, world) -> None:
    from services import modules

    household, _instance = shop_calculated(world)
    stored = modules.view(world.actor("accountant"), household.id, "calculation").data
    by_code = {i["code"]: i for i in stored["items"]}
    assert by_code["business_interruption.tenant"]["amount"] == "48000.00"
    assert by_code["business_interruption.tenant"]["payee"] == "tenant"
    assert by_code["equipment.tenant"]["amount"] == "36000.00"  # the appraisal's value, not the list's 6,000
    payees = stored["payees"]
    assert D(payees["owner"]) + D(payees["tenant"]) == D(stored["total"])
    assert D(payees["tenant"]) == sum(D(i["amount"]) for i in stored["items"] if i.get("payee") == "tenant")
