"""The compensation calculation by worked examples, its input validation and the rule table's validation."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from services.compensation.calculator import Calculation, calculate, money
from services.compensation.defaults import DEFAULT_RULES, default_rules
from services.compensation.inputs import Ancillary, Building, HouseholdInput, Person, parse_preview
from services.compensation.rules import validate_rules
from services.errors import InvalidInput

D = Decimal
RULES = default_rules()


def building(area: str, price: str, legal_status: str = "legal", structure: str = "brick_concrete",
             use: str = "residential") -> Building:
    return Building(structure=structure, legal_status=legal_status, use=use, area=D(area), unit_price=D(price))


def run(kind: str = "state_house", option: str = "cash", rules: dict | None = None, **values) -> Calculation:
    values.setdefault("buildings", ())
    for key in ("buildings", "ancillary", "persons"):
        values[key] = tuple(values.get(key, ()))
    return calculate(rules or RULES, HouseholdInput(kind=kind, option=option, **values))


def amounts(result: Calculation) -> dict[str, Decimal]:
    codes = [i.code for i in result.items]
    assert len(codes) == len(set(codes)), codes
    return {i.code: i.amount for i in result.items}


def assert_well_formed(result: Calculation) -> None:
    assert result.total == sum((i.amount for i in result.items), D("0"))
    assert result.total.as_tuple().exponent == -2
    for item in result.as_json()["items"]:
        assert re.fullmatch(r"-?\d+\.\d{2}", item["amount"]), item
        assert item["label"] and item["basis"]
    assert re.fullmatch(r"-?\d+\.\d{2}", result.as_json()["total"])


# --- one item at a time ---------------------------------------------------------------------------

@pytest.mark.parametrize(("legal_status", "value"), [
    ("legal", "964000.00"),               # 120.50 × 8000.00
    ("unregistered_legal", "964000.00"),  # × 100%
    ("legacy", "482000.00"),              # × 50%
    ("illegal", "0.00"),                  # × 0%
])
def test_building_value_by_legal_status(legal_status: str, value: str) -> None:
    result = run(buildings=[building("120.50", "8000.00", legal_status)])
    assert amounts(result)["building_value.1"] == D(value)
    assert_well_formed(result)


def test_building_basis_shows_the_figures() -> None:
    result = run(buildings=[building("210.00", "4200.00"), building("30.00", "1000.00", "legacy")])
    basis = {i.code: i.basis for i in result.items}
    assert basis["building_value.1"] == "210.00㎡ × 4200.00元/㎡"
    assert basis["building_value.2"] == "30.00㎡ × 1000.00元/㎡ × 50%"


@pytest.mark.parametrize(("structure", "value"), [
    ("brick_concrete", "30000.00"),  # 100 × 300
    ("frame", "40000.00"),           # 100 × 400
    ("brick_wood", "20000.00"),      # 100 × 200
    ("simple", "10000.00"),          # 100 × 100
])
def test_decoration_by_structure(structure: str, value: str) -> None:
    result = run(buildings=[building("100.00", "5000.00", structure=structure)])
    assert amounts(result)["decoration.1"] == D(value)


def test_decoration_counts_the_whole_area_of_a_compensated_building_and_none_of_an_illegal_one() -> None:
    result = amounts(run(buildings=[building("100.00", "5000.00", "legacy"),
                                    building("20.00", "5000.00", "illegal", structure="simple")]))
    assert result["decoration.1"] == D("30000.00")
    assert "decoration.2" not in result
    assert result["building_value.2"] == D("0.00")


@pytest.mark.parametrize(("code", "value"), [
    ("ac_window", "300.00"), ("ac_wall", "600.00"), ("ac_cabinet", "900.00"),
    ("water_meter_main", "1500.00"), ("water_meter_sub", "600.00"),
    ("power_meter_main", "1500.00"), ("power_meter_sub", "600.00"), ("water_heater", "900.00"),
])
def test_each_ancillary_item_three_of_them(code: str, value: str) -> None:
    result = run(ancillary=[Ancillary(code, 3)])
    assert amounts(result)[f"ancillary.{code}"] == D(value)
    assert next(i.basis for i in result.items if i.code == f"ancillary.{code}").startswith("3 × ")


def test_ancillary_lines_of_one_code_are_added_up() -> None:
    result = amounts(run(ancillary=[Ancillary("ac_wall", 1), Ancillary("ac_wall", 2)]))
    assert result["ancillary.ac_wall"] == D("600.00")


def test_an_unknown_ancillary_code_names_its_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        run(ancillary=[Ancillary("ac_wall", 1), Ancillary("solar_panel", 2)])
    assert list(caught.value.fields) == ["household.ancillary.1.code"]


@pytest.mark.parametrize(("option", "value"), [("cash", "3000.00"), ("swap", "2000.00")])
def test_moving_allowance_per_household(option: str, value: str) -> None:
    assert amounts(run(option=option))["moving_allowance"] == D(value)


@pytest.mark.parametrize(("option", "months", "value"), [
    ("cash", None, "32535.00"),   # 120.50㎡ × 45 × 6
    ("swap", None, "130140.00"),  # 120.50㎡ × 45 × 24
    ("cash", 10, "54225.00"),     # 120.50㎡ × 45 × 10
])
def test_temporary_housing_on_state_land_goes_by_area(option: str, months: int | None, value: str) -> None:
    result = run("state_house", option, buildings=[building("120.50", "8000.00")], transition_months=months,
                 persons=[Person(True)] * 3)
    assert amounts(result)["temporary_housing"] == D(value)


def test_temporary_housing_area_leaves_out_illegal_buildings() -> None:
    result = run("state_house", buildings=[building("100.00", "8000.00"), building("20.00", "8000.00", "illegal")])
    item = next(i for i in result.items if i.code == "temporary_housing")
    assert item.amount == D("27000.00")  # 100㎡ × 45 × 6
    assert item.basis == "100.00㎡ × 45.00元/㎡/月 × 6月"


@pytest.mark.parametrize(("option", "value"), [("cash", "21600.00"), ("swap", "86400.00")])
def test_temporary_housing_on_collective_land_goes_by_resettlement_person(option: str, value: str) -> None:
    persons = [Person(True), Person(True), Person(True, "only_child"), Person(False)]
    result = run("collective_house", option, buildings=[building("200.00", "3000.00")], persons=persons)
    assert amounts(result)["temporary_housing"] == D(value)  # 3 persons × 1200 × 6 (or 24) months


@pytest.mark.parametrize("kind", ["enterprise", "shop"])
def test_no_temporary_housing_for_enterprises_and_shops(kind: str) -> None:
    assert "temporary_housing" not in amounts(run(kind, buildings=[building("80.00", "12000.00")]))


@pytest.mark.parametrize(("use", "legal_status", "value"), [
    ("business", "legal", "48000.00"),   # 5% × 80 × 12000
    ("business", "legacy", "24000.00"),  # 5% × 480000 (50%)
    ("production", "legal", None),
    ("residential", "legal", None),
])
def test_business_interruption_only_for_business_use(use: str, legal_status: str, value: str | None) -> None:
    result = amounts(run("shop", buildings=[building("80.00", "12000.00", legal_status, use=use),
                                            building("50.00", "12000.00")]))
    assert result.get("business_interruption") == (D(value) if value else None)


@pytest.mark.parametrize(("groups", "value"), [
    (["dibao"], "20000.00"), (["disabled"], "20000.00"), (["serious_illness"], "20000.00"),
    (["dibao", "disabled"], "20000.00"),  # per household, not per person
    (["only_child"], None), ([None], None), ([], None),
])
def test_hardship_subsidy_only_for_hardship_groups(groups: list, value: str | None) -> None:
    result = amounts(run("collective_house", persons=[Person(True, g) for g in groups]))
    assert result.get("hardship") == (D(value) if value else None)


@pytest.mark.parametrize(("signed_on", "value"), [
    (date(2026, 11, 30), "40000.00"), (date(2026, 12, 31), "40000.00"),
    (date(2027, 1, 1), "15000.00"), (date(2027, 1, 31), "15000.00"),
    (date(2027, 2, 1), "5000.00"), (date(2027, 2, 28), "5000.00"),
    (date(2027, 3, 1), "0.00"), (None, "0.00"),
])
def test_signing_bonus_by_date_tier(signed_on: date | None, value: str) -> None:
    assert amounts(run(signed_on=signed_on))["signing_bonus"] == D(value)


@pytest.mark.parametrize(("swap_area", "within", "beyond"), [
    (None, "-450000.00", None),               # 3 persons × 60㎡ = 180㎡ × 2500
    (D("150.00"), "-375000.00", None),        # 150㎡ × 2500, inside the quota
    (D("200.00"), "-450000.00", "-130000.00"),  # 180㎡ × 2500 and 20㎡ × 6500
])
def test_swap_housing_within_and_beyond_the_quota(swap_area: Decimal | None, within: str, beyond: str | None) -> None:
    result = amounts(run("collective_house", "swap", persons=[Person(True)] * 3 + [Person(False)],
                         swap_area=swap_area))
    assert result["swap_within_quota"] == D(within)
    assert result.get("swap_beyond_quota") == (D(beyond) if beyond else None)


def test_cash_has_no_swap_items() -> None:
    assert not {"swap_within_quota", "swap_beyond_quota"} & set(amounts(run("collective_house", "cash",
                                                                            persons=[Person(True)])))


# --- whole households, one per kind ---------------------------------------------------------------

def test_collective_house_cash() -> None:
    result = run("collective_house", "cash",
                 buildings=[building("210.00", "4200.00"), building("30.00", "1000.00", "legacy", "simple")],
                 ancillary=[Ancillary("ac_wall", 2), Ancillary("water_meter_main", 1)],
                 persons=[Person(True, "dibao"), Person(True), Person(True), Person(True), Person(False, "only_child")],
                 signed_on=date(2026, 12, 20))
    assert amounts(result) == {
        "building_value.1": D("882000.00"), "building_value.2": D("15000.00"),
        "decoration.1": D("63000.00"), "decoration.2": D("3000.00"),
        "ancillary.ac_wall": D("400.00"), "ancillary.water_meter_main": D("500.00"),
        "moving_allowance": D("3000.00"), "temporary_housing": D("28800.00"),
        "hardship": D("20000.00"), "signing_bonus": D("40000.00"),
    }
    assert result.total == D("1055700.00")
    assert_well_formed(result)


def test_state_house_swap_the_office_pays_the_difference() -> None:
    result = run("state_house", "swap", buildings=[building("95.00", "15000.00", structure="frame")],
                 ancillary=[Ancillary("ac_cabinet", 1), Ancillary("water_heater", 1)],
                 persons=[Person(True), Person(True)], signed_on=date(2027, 2, 10))
    assert amounts(result) == {
        "building_value.1": D("1425000.00"), "decoration.1": D("38000.00"),
        "ancillary.ac_cabinet": D("300.00"), "ancillary.water_heater": D("300.00"),
        "moving_allowance": D("2000.00"), "temporary_housing": D("102600.00"),  # 95㎡ × 45 × 24
        "signing_bonus": D("5000.00"), "swap_within_quota": D("-300000.00"),  # 120㎡ × 2500
    }
    assert result.total == D("1273200.00")  # positive: the office pays the household
    assert_well_formed(result)


def test_enterprise_cash() -> None:
    result = run("enterprise", "cash", buildings=[
        building("1200.00", "3000.00", structure="frame", use="production"),
        building("300.00", "5000.00", use="business"),
        building("150.00", "800.00", "illegal", "simple", "production"),
    ], ancillary=[Ancillary("power_meter_main", 1), Ancillary("power_meter_sub", 4), Ancillary("water_meter_sub", 2)],
        signed_on=date(2027, 3, 15))
    assert amounts(result) == {
        "building_value.1": D("3600000.00"), "building_value.2": D("1500000.00"), "building_value.3": D("0.00"),
        "decoration.1": D("480000.00"), "decoration.2": D("90000.00"),
        "ancillary.power_meter_main": D("500.00"), "ancillary.power_meter_sub": D("800.00"),
        "ancillary.water_meter_sub": D("400.00"), "moving_allowance": D("3000.00"),
        "business_interruption": D("75000.00"), "signing_bonus": D("0.00"),
    }
    assert result.total == D("5749700.00")
    assert_well_formed(result)


def test_shop_swap_beyond_the_quota_the_household_pays() -> None:
    result = run("shop", "swap", buildings=[building("40.00", "9000.00", structure="brick_wood", use="business")],
                 persons=[Person(True, "disabled")], signed_on=date(2027, 1, 10), swap_area=D("120.00"))
    assert amounts(result) == {
        "building_value.1": D("360000.00"), "decoration.1": D("8000.00"), "moving_allowance": D("2000.00"),
        "business_interruption": D("18000.00"), "hardship": D("20000.00"), "signing_bonus": D("15000.00"),
        "swap_within_quota": D("-150000.00"), "swap_beyond_quota": D("-390000.00"),
    }
    assert result.total == D("-117000.00")  # negative: the household pays the office
    assert_well_formed(result)


# --- money ------------------------------------------------------------------------------------------

def test_rounding_is_half_up_per_item() -> None:
    legacy = amounts(run(buildings=[building("1.00", "100.01", "legacy")]))
    assert legacy["building_value.1"] == D("50.01")  # 50.005
    business = amounts(run("shop", buildings=[building("1.00", "100.10", use="business")]))
    assert business["business_interruption"] == D("5.01")  # 5.005
    small = amounts(run(buildings=[building("0.33", "0.50")]))
    assert small["building_value.1"] == D("0.17")  # 0.165


def test_money_never_gives_a_negative_zero() -> None:
    assert str(money(D("-0.004"))) == "0.00"
    assert str(money(D("2.675"))) == "2.68"
    zero_swap = run("collective_house", "swap")
    assert zero_swap.as_json()["items"][-1] == {"code": "swap_within_quota", "label": "Swap housing within the quota",
                                                "basis": "−0.00㎡ × 2500.00元/㎡ (≤ 0人 × 60.00㎡)", "amount": "0.00"}


def test_labels_are_english_msgids_outside_a_request() -> None:
    labels = [str(i.label) for i in run(buildings=[building("1.00", "1.00", "legacy")]).items]
    assert labels[0] == "Building 1 value (Historical legacy)"


# --- input validation --------------------------------------------------------------------------------

def test_preview_input_is_typed() -> None:
    data, version = parse_preview({"option": "swap", "policy_version": "2026.1", "household": {
        "kind": "shop", "buildings": [{"structure": "frame", "legal_status": "legal", "use": "business",
                                       "area": 12.5, "unit_price": "3000"}],
        "ancillary": [{"code": "ac_wall", "count": 2}], "persons": [{"resettlement": True, "special_group": None}],
        "signed_on": "2026-12-01", "transition_months": 12, "swap_area": "70.00"}})
    assert version == "2026.1"
    assert data.buildings[0].area == D("12.5") and data.buildings[0].unit_price == D("3000")
    assert data.signed_on == date(2026, 12, 1) and data.transition_months == 12 and data.swap_area == D("70.00")
    assert data.persons == (Person(True, None),)


@pytest.mark.parametrize(("household", "field"), [
    ({"buildings": [{"structure": "tent"}]}, "household.buildings.0.structure"),
    ({"buildings": [{"legal_status": "maybe"}]}, "household.buildings.0.legal_status"),
    ({"buildings": [{"use": "farm"}]}, "household.buildings.0.use"),
    ({"buildings": [{"area": "-1"}]}, "household.buildings.0.area"),
    ({"buildings": [{"area": "1.005"}]}, "household.buildings.0.area"),
    ({"buildings": [{"unit_price": "NaN"}]}, "household.buildings.0.unit_price"),
    ({"buildings": [{"unit_price": "1e999"}]}, "household.buildings.0.unit_price"),
    ({"persons": [{"resettlement": True, "special_group": "veteran"}]}, "household.persons.0.special_group"),
    ({"ancillary": [{"code": "ac_wall", "count": -1}]}, "household.ancillary.0.count"),
    ({"transition_months": -1}, "household.transition_months"),
    ({"signed_on": "31/12/2026"}, "household.signed_on"),
    ({"kind": "castle"}, "household.kind"),
    ({"buildings": [{}] * 51}, "household.buildings"),
    ({"persons": [{"resettlement": True}] * 101}, "household.persons"),
])
def test_bad_input_names_the_field(household: dict, field: str) -> None:
    good = {"structure": "frame", "legal_status": "legal", "use": "residential", "area": "10", "unit_price": "10"}
    body_household = {"kind": "state_house", **household}
    if "buildings" in household:
        body_household["buildings"] = [{**good, **b} for b in household["buildings"]]
    with pytest.raises(InvalidInput) as caught:
        parse_preview({"option": "cash", "household": body_household})
    assert field in caught.value.fields


@pytest.mark.parametrize("body", [[], "x", {"option": "barter", "household": {"kind": "shop"}}, {"option": "cash"}])
def test_malformed_bodies_are_invalid_input(body: object) -> None:
    with pytest.raises(InvalidInput):
        parse_preview(body)


# --- the rule table -----------------------------------------------------------------------------------

def test_the_default_table_is_valid_and_already_normal() -> None:
    assert validate_rules(default_rules()) == DEFAULT_RULES


def test_a_bad_table_names_every_problem() -> None:
    rules = default_rules()
    rules["building_ratio"]["legacy"] = "1.5"
    rules["decoration_rate"]["frame"] = "abc"
    rules["ancillary_rate"]["Bad Code"] = "1"
    rules["signing_bonus"][1]["until"] = "2026-06-30"
    rules["hardship"]["groups"] = ["dibao", "rich"]
    rules["temporary_housing"]["months"]["swap"] = 500
    rules["extra"] = 1
    del rules["moving_allowance"]["swap"]
    with pytest.raises(InvalidInput) as caught:
        validate_rules(rules)
    assert set(caught.value.fields) == {
        "building_ratio.legacy", "decoration_rate.frame", "ancillary_rate.Bad Code", "signing_bonus.1.until",
        "hardship.groups", "temporary_housing.months.swap", "extra", "moving_allowance.swap"}


def test_numbers_in_a_table_are_normalised_to_exact_strings() -> None:
    rules = default_rules()
    rules["decoration_rate"]["frame"] = 450
    rules["building_ratio"]["legacy"] = 0.5
    rules["business_interruption"]["rate"] = "0.125"
    clean = validate_rules(rules)
    assert clean["decoration_rate"]["frame"] == "450.00"
    assert clean["building_ratio"]["legacy"] == "0.50"
    assert clean["business_interruption"]["rate"] == "0.125"
