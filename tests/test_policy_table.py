"""Compensation that fits a real policy table: worked examples line by line (构筑物 and 成新, appraised values,
small homes, 住改商, 保底), every red line of the policy firing and not, payments capped by the audited amount,
and the catalogue the admin edits deciding what the survey offers at once."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.labels import problem as worded
from app.models import Project
from services import modules
from services.compensation import policy as policy_table
from services.compensation.calculator import Calculation, calculate, newness_rate
from services.compensation.defaults import default_rules
from services.compensation.inputs import Ancillary, Building, HouseholdInput
from services.compensation.rules import bound_checks, validate_rules
from services.context import Actor
from services.errors import InvalidInput
from services.tx import transaction
from tests import factories
from tests.api_support import MAIN_PATH, SIGNS
from tests.test_pages import Browser, open_task, text_of

D = Decimal


def table(**changes) -> dict:
    """A realistic collective-land table: the defaults with the figures of the example changed, validated."""
    rules = default_rules()
    for key, value in changes.items():
        rules[key] = value
    return validate_rules(rules)


def lines(result: Calculation) -> dict[str, Decimal]:
    return {i.code: i.amount for i in result.items}


def basis(result: Calculation, code: str, locale: str = "zh") -> str:
    with force_locale(locale):
        return next(i.as_json()["basis"] for i in result.items if i.code == code)


def label(result: Calculation, code: str, locale: str = "zh") -> str:
    with force_locale(locale):
        return next(i.as_json()["label"] for i in result.items if i.code == code)


REPLACEMENT = {"price": {"brick_concrete": "1800.00", "frame": "2200.00", "brick_wood": "1200.00", "simple": "600.00"},
               "useful_life": {"brick_concrete": 50, "frame": 60, "brick_wood": 40, "simple": 20},
               "floor_rate": "0.30", "location_price": "300.00"}


def test_newness_rate_counts_down_by_the_useful_life_and_stops_at_the_floor() -> None:
    assert newness_rate(28, 50, D("0.30")) == D("0.44")
    assert newness_rate(0, 60, D("0.30")) == D("1.00")
    assert newness_rate(21, 20, D("0.30")) == D("0.30")
    assert newness_rate(-3, 40, D("0.30")) == D("1.00")  # built after the valuation year: new


def test_a_collective_house_with_structures_by_replacement_price_and_newness(ctx) -> None:
    rules = table(building_value_method="replacement", replacement=REPLACEMENT)
    data = HouseholdInput(
        kind="collective_house", option="cash", valuation_year=2026,
        buildings=(Building("brick_concrete", "legal", "residential", D("160.00"), D("0"), "主房", year_built=1998),
                   Building("simple", "legacy", "residential", D("32.00"), D("0"), "附房", year_built=2005)),
        ancillary=(Ancillary("wall", 40), Ancillary("hardened_yard", 60), Ancillary("well", 1), Ancillary("tree", 12),
                   Ancillary("ac_wall", 2)))
    result = calculate(rules, data)
    got = lines(result)
    assert got["building_value.1"] == D("126720.00")  # 160 × 1800 × 44% (28 of 50 years)
    assert got["location_value.1"] == D("48000.00")  # 160 × 300
    assert got["building_value.2"] == D("2880.00")  # 32 × 600 × 30% (floor) × 50% (历史遗留)
    assert got["location_value.2"] == D("4800.00")  # 32 × 300 × 50%
    assert got["decoration.1"] == D("48000.00") and got["decoration.2"] == D("3200.00")
    assert got["ancillary.wall"] == D("4800.00")  # 40 米 × 120
    assert got["ancillary.hardened_yard"] == D("2400.00")  # 60 ㎡ × 40
    assert got["ancillary.well"] == D("1500.00")
    assert got["ancillary.tree"] == D("960.00")  # 12 株 × 80
    assert got["ancillary.ac_wall"] == D("400.00")
    assert result.total == sum(got.values(), D(0))
    assert basis(result, "building_value.1") == \
        "160.00㎡ × 重置价 1800.00元/㎡ × 成新率 44%（1998年建，使用年限50年，最低30%）"
    assert basis(result, "building_value.1", "en") == ("160.00㎡ × replacement price 1800.00元/㎡ × newness 44% "
                                                       "(built 1998, 50-year life, at least 30%)")
    assert basis(result, "building_value.2").endswith("× 50%")
    assert basis(result, "location_value.1") == "160.00㎡ × 区位价 300.00元/㎡"
    assert basis(result, "ancillary.wall") == "40米 × 120.00元/米"
    assert label(result, "ancillary.wall") == "围墙" and label(result, "ancillary.wall", "en") == "Wall"
    assert label(result, "location_value.1") == "主房：区位补偿"


def test_the_replacement_method_names_a_missing_year_built(ctx) -> None:
    rules = table(building_value_method="replacement", replacement=REPLACEMENT)
    data = HouseholdInput(kind="collective_house", option="cash", valuation_year=2026,
                          buildings=(Building("frame", "legal", "residential", D("80"), D("0"), "主房"),))
    with pytest.raises(InvalidInput) as caught:
        calculate(rules, data)
    assert "household.buildings.0.year_built" in caught.value.fields


def test_the_appraised_decoration_and_ancillary_values_replace_the_rates_when_the_policy_says_so(ctx) -> None:
    data = HouseholdInput(kind="state_house", option="cash", ancillary_value=D("1200.00"),
                          buildings=(Building("frame", "legal", "residential", D("100.00"), D("5000.00"), "主房",
                                              decoration_value=D("30000.00")),
                                     Building("simple", "legal", "residential", D("10.00"), D("2000.00"), "棚屋")),
                          ancillary=(Ancillary("ac_wall", 2), Ancillary("well", 1)))
    by_rates = lines(calculate(table(), data))
    assert by_rates["decoration.1"] == D("40000.00") and by_rates["ancillary.well"] == D("1500.00")
    result = calculate(table(use_appraised={"decoration": True, "ancillary": True}), data)
    got = lines(result)
    assert got["decoration.1"] == D("30000.00")  # the appraisal's value
    assert got["decoration.2"] == D("1000.00")  # no appraised value: the rate, 10 × 100
    assert got["ancillary.appraised"] == D("1200.00")
    assert not any(code in got for code in ("ancillary.ac_wall", "ancillary.well"))
    assert basis(result, "decoration.1") == "评估装修价值 30000.00元"
    assert basis(result, "ancillary.appraised", "en") == \
        "appraised value of the ancillary items and structures 1200.00元"


def test_a_small_home_is_topped_up_and_the_minimum_compensation_fills_the_rest(ctx) -> None:
    rules = table(small_home={"min_area": "45.00", "price": "3000.00"},
                  minimum_compensation={"amount": "200000.00"})
    small = HouseholdInput(kind="state_house", option="cash",
                           buildings=(Building("brick_concrete", "legal", "residential", D("30.00"), D("4200.00")),))
    result = calculate(rules, small)
    got = lines(result)
    assert got["building_value.1"] == D("126000.00")
    assert got["small_home"] == D("45000.00")  # (45 − 30) × 3000
    assert got["minimum_compensation"] == D("29000.00")  # 200000 − 126000 − 45000
    assert basis(result, "small_home") == "（保障面积45.00㎡ − 合法面积30.00㎡）× 3000.00元/㎡"
    assert basis(result, "minimum_compensation", "en") == "minimum 200000.00元 − building compensation 171000.00元"
    large = HouseholdInput(kind="state_house", option="cash",
                           buildings=(Building("brick_concrete", "legal", "residential", D("90.00"), D("4200.00")),))
    got = lines(calculate(rules, large))
    assert "small_home" not in got and "minimum_compensation" not in got  # 378000 is above both


def test_a_residential_building_run_as_a_business_gets_the_policys_extra(ctx) -> None:
    rules = table(residential_business={"per_area": "200.00", "rate": "0.10"})
    shop_front = Building("brick_concrete", "legal", "residential", D("100.00"), D("5000.00"), "临街房",
                          run_as_business=True)
    home = Building("brick_concrete", "legal", "residential", D("50.00"), D("5000.00"), "后屋")
    result = calculate(rules, HouseholdInput(kind="state_house", option="cash", buildings=(shop_front, home)))
    got = lines(result)
    assert got["residential_business.1"] == D("70000.00")  # 100 × 200 + 10% × 500000
    assert "residential_business.2" not in got
    assert "business_interruption" not in got  # its use stays residential
    assert label(result, "residential_business.1") == "临街房：住改商补助"
    assert basis(result, "residential_business.1") == "100.00㎡ × 200.00元/㎡ + 10% × 房屋价值 500000.00元"


def test_an_item_the_policy_dropped_is_shown_by_its_stored_name_and_paid_nothing(ctx) -> None:
    data = HouseholdInput(kind="state_house", option="cash", ancillary=(Ancillary("water_tower", 1, "老式水塔"),))
    result = calculate(table(), data)
    assert lines(result)["ancillary.water_tower"] == D("0.00")
    assert label(result, "ancillary.water_tower") == "老式水塔 （不在补偿标准目录中）"
    with pytest.raises(InvalidInput):  # an unknown code from a request, without a stored name: refused
        calculate(table(), HouseholdInput(kind="state_house", option="cash", ancillary=(Ancillary("jacuzzi", 1),)))


@pytest.mark.parametrize(("price", "area", "total", "failed"), [
    ("50000.00", "3000.00", "30000000.00", set()),
    ("50000.01", "3000.00", "30000000.00", {"max_unit_price"}),
    ("4200.00", "3000.01", "1000.00", {"max_area"}),
    ("4200.00", "100.00", "30000000.01", {"bounds"}),
])
def test_every_bound_of_the_policy_is_checked_with_its_figures(ctx, price, area, total, failed) -> None:
    checks = bound_checks(table(), [("主房", D(price), D(area))], D(total))
    assert {c for c, _ok, _m in checks} == {"max_unit_price", "max_area", "bounds"}
    assert {c for c, ok, _m in checks if not ok} == failed


def test_a_check_sentence_writes_money_with_thousands_separators_in_both_languages(ctx) -> None:
    checks = {c: m for c, _ok, m in bound_checks(table(), [("主房", D("60000"), D("3500.5"))], D("31234567"))}
    with force_locale("zh"):
        assert worded(checks["bounds"]) == "补偿总额 31,234,567.00 元 超过政策上限 30,000,000.00 元"
        assert worded(checks["max_unit_price"]) == "主房：单价 60,000.00 元/㎡ 超过政策上限 50,000.00 元/㎡"
        assert worded(checks["max_area"]) == "合法面积 3,500.50 ㎡ 超过政策每户上限 3,000.00 ㎡"
    with force_locale("en"):
        assert worded(checks["bounds"]) == "Total 31,234,567.00 元 exceeds the policy's limit 30,000,000.00 元"


# --- through the pipeline -------------------------------------------------------------------------------------

def _version_from_page(pages: Browser, base: str, version: str, **changes: str) -> None:
    from services.compensation import form as policy_form

    values = policy_form.initial_values(policy_table.get(base).rules)
    sent = {k: (list(v) if isinstance(v, list) else [str(v)]) for k, v in values.items()}
    sent.update({"version": [version], "name": ["2026年补偿标准（调整）"], "effective_from": [date.today().isoformat()],
                 "comment": ["增加燃气管道"]})
    sent.update({k: [v] for k, v in changes.items()})
    response = pages.post(f"/policies/{base}/new", data=sent)
    assert response.status_code == 302, text_of(response)


@pytest.fixture()
def pages(ctx) -> Browser:
    with transaction():
        policy_table.ensure_default(Actor.system(), factories.utcnow())
    return Browser(ctx)


def test_an_item_added_in_the_policy_page_is_offered_by_the_survey_at_once(pages: Browser, world, api) -> None:
    household, instance = factories.new_household(world, code="GAS-1")
    task = open_task(instance.id, "survey")
    pages.as_user("surveyor")
    assert "燃气管道" not in text_of(pages.get(f"/tasks/{task.id}"))
    pages.as_user("admin")
    _version_from_page(pages, "2026.1", "2026.8", **{
        "ancillary_new.0.code": "gas_pipe", "ancillary_new.0.name_zh": "燃气管道",
        "ancillary_new.0.name_en": "Gas pipe", "ancillary_new.0.unit": "米", "ancillary_new.0.amount": "80",
        "ancillary_new.0.group": "structure"})
    detail = text_of(pages.get("/policies/2026.8"))
    assert "燃气管道" in detail
    pages.as_user("surveyor")
    page = text_of(pages.get(f"/tasks/{task.id}"))
    assert '<option value="gas_pipe"' in page and "燃气管道（按米）" in page
    form = api.get(f"/api/v1/tasks/{task.id}", as_="surveyor").get_json()["form"]
    code = form["properties"]["ancillary"]["items"]["properties"]["code"]
    assert "gas_pipe" in code["enum"] and code["x-units"]["gas_pipe"] == "米" and "wall" in code["enum"]
    data = factories.step_data("survey", household.id)
    data["ancillary"] = [{"code": "gas_pipe", "count": 25}, {"code": "wall", "count": 40}]
    refused = api.post(f"/api/v1/tasks/{task.id}/complete", as_="surveyor",
                       json={"data": {**data, "ancillary": [{"code": "hot_tub", "count": 1}]}})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["problems"]["ancillary.0.code"][0]["code"] == "ancillary_not_in_policy"
    done = api.post(f"/api/v1/tasks/{task.id}/complete", as_="surveyor", json={"data": data})
    assert done.status_code == 200, done.get_json()
    stored = modules.view(world.actor("surveyor"), household.id, "survey").data["ancillary"]
    assert stored[0] == {"code": "gas_pipe", "count": 25, "name": "燃气管道", "unit": "米"}


def test_a_survey_with_an_item_the_policy_removed_still_renders_and_calculates(pages: Browser, world, api) -> None:
    household, instance = factories.new_household(world, code="OLD-1")
    pages.as_user("admin")
    _version_from_page(pages, "2026.1", "2026.8", **{
        "ancillary_new.0.code": "gas_pipe", "ancillary_new.0.name_zh": "燃气管道", "ancillary_new.0.unit": "米",
        "ancillary_new.0.amount": "80"})
    data = factories.step_data("survey", household.id)
    data["ancillary"] = [{"code": "gas_pipe", "count": 25}, {"code": "ac_wall", "count": 2}]
    factories.complete_open_step(world, open_task(instance.id, "survey"), data)
    rules = policy_table.get("2026.8").rules
    gone = [i for i, item in enumerate(rules["catalogue"]) if item["code"] == "gas_pipe"][0]
    _version_from_page(pages, "2026.8", "2026.9", **{f"catalogue.{gone}.remove": "1"})
    assert "gas_pipe" not in policy_table.get("2026.9").rules["ancillary_rate"]
    # the survey is returned to: the old item is shown by its stored name, marked, and saving it again is accepted
    for step in ("appraisal", "rights"):
        factories.complete_open_step(world, open_task(instance.id, step))
    pages.as_user("accountant")
    calc = open_task(instance.id, "calculation")
    page = text_of(pages.get(f"/tasks/{calc.id}"))
    assert page  # the calculation page renders
    project = db.session.get(Project, world.project.id)
    assert project.policy_version_id is None
    result = modules.view(world.actor("surveyor"), household.id, "survey").data
    assert result["ancillary"][0]["name"] == "燃气管道"
    form = api.get(f"/api/v1/tasks/{calc.id}", as_="accountant").get_json()
    assert form["bpmn_id"] == "calculation"
    from services.compensation.catalogue import adjust_survey_schema
    from services.forms import get_form, json_schema

    schema = json_schema(get_form("survey"))
    with force_locale("zh"):
        adjusted = adjust_survey_schema(schema, household, factories.utcnow())
    labels = adjusted["properties"]["ancillary"]["items"]["properties"]["code"]["x-labels"]
    assert labels["gas_pipe"] == "燃气管道（已不在补偿标准中）" and "gas_pipe" in \
        adjusted["properties"]["ancillary"]["items"]["properties"]["code"]["enum"]
    saved = factories.complete_open_step(world, calc, {"option": "cash", "signed_on": date.today().isoformat()})
    assert saved is not None
    stored = modules.view(world.actor("accountant"), household.id, "calculation").data
    line = next(i for i in stored["items"] if i["code"] == "ancillary.gas_pipe")
    assert line["amount"] == "0.00" and "燃气管道" in line["label"]
    checks = modules.view(world.actor("accountant"), household.id, "calculation")
    assert checks is not None


def test_payments_beyond_the_audited_amount_are_refused_on_the_api(world, api) -> None:
    from functools import partial

    from tests.api_support import start_case

    instance_id = start_case(api, world.project.id, "AUD-1")
    api.complete(instance_id, "survey")
    api.complete(instance_id, "appraisal", data=partial(factories.step_data, "appraisal", unit_price="40000.00"))
    for step in MAIN_PATH[2:7]:
        api.complete(instance_id, step)
    for step in SIGNS:
        api.complete(instance_id, step)
    task = api.open_task(instance_id, "tracking_audit", "reviewer")
    household_id = task["household_id"]
    api.complete(instance_id, "tracking_audit", data={"audited_amount": "5000000.00", "opinion": "核减部分费用"})
    payment = api.open_task(instance_id, "payment", "finance")
    today = date.today().isoformat()
    rows = [{"amount": "3000000.00", "paid_on": today, "voucher_no": "FK1"},
            {"amount": "2500000.00", "paid_on": today, "voucher_no": "FK2"}]
    refused = api.post(f"/api/v1/tasks/{payment['id']}/complete", as_="finance", json={"data": {"payments": rows}})
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["fields"]["payments.1.amount"] == [
        "with this payment 5,500,000.00 元 would be paid, more than the audited 5,000,000.00 元"]
    assert error["problems"]["payments.1.amount"][0]["code"] == "payment_above_audited"
    view = api.get(f"/api/v1/households/{household_id}/modules/payment", as_="finance").get_json()
    draft = api.put(f"/api/v1/households/{household_id}/modules/payment", as_="finance",
                    json={"data": {"payments": rows}, "version": view["version"]})
    assert draft.status_code == 422
    within = api.put(f"/api/v1/households/{household_id}/modules/payment", as_="finance",
                     json={"data": {"payments": rows[:1]}, "version": view["version"]})
    assert within.status_code == 200, within.get_json()
