"""Browser test: a process owner adds a step to the deployed pipeline in the modeler, fixes it, deploys it, and
moves one running case onto the new version while another finishes on the old one."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from tests import factories

pytest.register_assert_rewrite("tests.browser_support")
from tests.browser_support import Site, path_is, sign_in  # noqa: E402

pytest_plugins = ("tests.browser_support",)
pytestmark = pytest.mark.browser

PIPELINE = ("survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "agreement_draft",
            "sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer", "payment", "archive")

# Add a lane under the surveyors' lane, a user task 入户复核 in it, and route survey → 入户复核 → appraisal,
# all with the modeler's own commands (what the palette and context pad do).
ADD_RECHECK = """() => {
  const modeler = window.processModeler;
  const registry = modeler.get('elementRegistry');
  const modeling = modeler.get('modeling');
  const factory = modeler.get('elementFactory');
  const lane = modeling.addLane(registry.get('Lane_surveyor'), 'bottom');
  const survey = registry.get('survey');
  const shape = factory.createShape({ type: 'bpmn:UserTask' });
  const task = modeling.createShape(shape, { x: survey.x + survey.width / 2 + 30, y: lane.y + lane.height / 2 },
                                    registry.get('Participant_relocation'));
  modeling.updateProperties(task, { id: 'recheck', name: '入户复核' });
  const flow = registry.get('Flow_survey_to_appraisal');
  modeling.reconnectEnd(flow, task, { x: task.x + task.width / 2, y: task.y });
  modeling.connect(task, registry.get('to_appraisal'));
  return lane.id;
}"""


def _status_of(instance_id: int) -> str:
    db.session.rollback()
    return db.session.get(ProcessInstance, instance_id).status


def _open(instance_id: int) -> list[HumanTask]:
    db.session.rollback()
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.status == "ready").order_by(HumanTask.id)))


def _complete(world: factories.World, instance_id: int, bpmn_id: str) -> None:
    rows = [r for r in _open(instance_id) if r.bpmn_id == bpmn_id]
    assert rows, f"{bpmn_id} is not open; open: {[r.bpmn_id for r in _open(instance_id)]}"
    factories.complete_open_step(world, rows[0], role=factories.ROLE_OF_STEP.get(bpmn_id, "surveyor"))


def _case(world: factories.World, code: str) -> int:
    _household, instance = factories.new_household(world, code)
    return instance.id


def _version(instance_id: int) -> int:
    db.session.rollback()
    return db.session.get(ProcessInstance, instance_id).definition.version


def test_the_process_owner_adds_a_step_deploys_it_and_moves_a_case(site: Site, page: Page) -> None:
    world = site.world
    finishing_old = _case(world, "OLD-1")
    moving = _case(world, "OLD-2")
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))

    sign_in(page, "process_owner")
    page.get_by_role("link", name=re.compile("流程|Processes")).first.click()
    expect(page).to_have_url(path_is("/processes"))
    page.locator('tr[data-version="1"]').get_by_role("link", name=re.compile("编辑|Edit")).click()
    expect(page).to_have_url(path_is("/processes/1/edit"))
    modeler = page.get_by_test_id("modeler")
    expect(modeler).to_have_attribute("data-rendered", "true")

    new_lane = page.evaluate(ADD_RECHECK)
    expect(modeler).to_have_attribute("data-dirty", "true")
    page.get_by_test_id("save-comment").fill("新增入户复核（未配置）")
    page.get_by_test_id("save").click()
    expect(page).to_have_url(path_is("/processes/2/edit"))
    expect(modeler).to_have_attribute("data-rendered", "true")

    page.get_by_test_id("validate").click()
    expect(modeler).to_have_attribute("data-validated", "invalid")
    problems = page.get_by_test_id("problems").locator('li[data-element-id="recheck"]')
    expect(problems).to_have_count(2)  # a lane without a role, no form
    expect(page.locator('.djs-element.validation-error[data-element-id="recheck"]')).to_have_count(1)
    expect(page.locator('.djs-overlay-container [data-container-id="recheck"] .validation-badge')).to_have_count(1)

    panel = page.get_by_test_id("modeler-panel")
    problems.first.get_by_role("button").click()
    expect(panel).to_have_attribute("data-element", "recheck")
    panel.locator('[data-action="select-lane"]').click()
    expect(panel).to_have_attribute("data-element", new_lane)
    panel.locator('[data-field="role"] select').select_option("surveyor")
    page.locator('li[data-element-id="recheck"]').first.get_by_role("button").click()
    expect(panel).to_have_attribute("data-element", "recheck")
    expect(panel.get_by_test_id("step-role")).to_contain_text("surveyor")
    panel.locator('[data-field="form"] select').select_option("survey")
    panel.locator('[data-field="due"] input').fill("P2D")
    panel.locator('[data-field="due"] input').press("Tab")
    page.get_by_test_id("validate").click()
    expect(modeler).to_have_attribute("data-validated", "valid")
    expect(page.locator(".djs-element.validation-error")).to_have_count(0)

    xml = page.evaluate("() => window.processModeler.saveXML().then(r => r.xml)")
    assert '<spiffworkflow:property name="form" value="survey" />' in xml
    assert "<spiffworkflow:payloadExpression>return_to</spiffworkflow:payloadExpression>" in xml
    page.get_by_test_id("save-comment").fill("新增入户复核")
    page.get_by_test_id("save").click()
    expect(page).to_have_url(path_is("/processes/3/edit"))
    expect(modeler).to_have_attribute("data-rendered", "true")
    page.get_by_test_id("deploy").click()
    expect(page).to_have_url(path_is("/processes/3"))
    expect(page.locator(".flash-success")).to_be_visible()
    steps = page.get_by_test_id("step-table")
    expect(steps.locator('tr[data-step="recheck"]')).to_contain_text("调查建档")
    expect(steps.locator('tr[data-step="sign_group_leader"]')).to_contain_text("工作组负责人")
    expect(steps.locator('tr[data-step="sign_village_cadre"]')).to_contain_text("村干部")

    fresh = _case(world, "NEW-1")
    assert _version(fresh) == 3 and _version(finishing_old) == 1
    _complete(world, fresh, "survey")
    assert [r.bpmn_id for r in _open(fresh)] == ["recheck"] and _open(fresh)[0].role == "surveyor"
    _complete(world, fresh, "recheck")
    assert [r.bpmn_id for r in _open(fresh)] == ["appraisal"]

    for step in PIPELINE:
        _complete(world, finishing_old, step)
    assert _status_of(finishing_old) == "completed" and _version(finishing_old) == 1

    page.get_by_test_id("migrate").click()
    expect(page).to_have_url(path_is("/processes/3/migrate"))
    page.locator(f'#case-{moving}').check()
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("outcomes").locator(f'tr[data-instance-id="{moving}"]')).to_contain_text("调查建档")
    expect(page.get_by_test_id("outcome-ok")).to_have_count(1)
    assert _version(moving) == 1
    page.locator(f'#case-{moving}').check()
    page.get_by_test_id("move").click()
    expect(page.get_by_test_id("outcome-ok")).to_have_count(1)
    assert _version(moving) == 3
    _complete(world, moving, "survey")
    assert [r.bpmn_id for r in _open(moving)] == ["recheck"]
    assert page_errors == []


def test_saving_an_untouched_diagram_changes_nothing_the_engine_reads(site: Site, page: Page) -> None:
    sign_in(page, "process_owner")
    page.goto("/processes/1/edit")
    expect(page.get_by_test_id("modeler")).to_have_attribute("data-rendered", "true")
    page.get_by_test_id("save").click()
    expect(page).to_have_url(path_is("/processes/2/edit"))
    page.goto("/processes/1/diff/2")
    expect(page.get_by_test_id("diff-summary")).to_contain_text("0")
    assert page.get_by_test_id("diff-steps").locator("tr").count() == 0
    assert page.get_by_test_id("diff-flows").locator("tr").count() == 0


CAMUNDA_STYLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.20.0">
  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Participant_1" name="入户复核流程" processRef="Process_recheck" />
  </bpmn:collaboration>
  <bpmn:process id="Process_recheck" name="入户复核流程" isExecutable="false" camunda:historyTimeToLive="180">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_1"><bpmn:flowNodeRef>Start_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_1</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="Task_1" name="入户复核"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:task>
    <bpmn:endEvent id="End_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start_1" targetRef="Task_1" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_1" targetRef="End_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Collaboration_1">
      <bpmndi:BPMNShape id="Participant_1_di" bpmnElement="Participant_1" isHorizontal="true">
        <dc:Bounds x="120" y="80" width="600" height="200" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_1_di" bpmnElement="Lane_1" isHorizontal="true">
        <dc:Bounds x="150" y="80" width="570" height="200" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Start_1_di" bpmnElement="Start_1"><dc:Bounds x="202" y="162" width="36" height="36" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Task_1_di" bpmnElement="Task_1"><dc:Bounds x="320" y="140" width="100" height="80" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="End_1_di" bpmnElement="End_1"><dc:Bounds x="512" y="162" width="36" height="36" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1"><di:waypoint x="238" y="180" />
        <di:waypoint x="320" y="180" />
        </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_2_di" bpmnElement="Flow_2"><di:waypoint x="420" y="180" />
        <di:waypoint x="512" y="180" />
        </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def test_a_camunda_diagram_is_imported_completed_in_the_panel_and_saved(site: Site, page: Page, tmp_path) -> None:
    source = tmp_path / "recheck.bpmn"
    source.write_text(CAMUNDA_STYLE, encoding="utf-8")
    sign_in(page, "admin")
    page.goto("/processes/1/edit")
    modeler = page.get_by_test_id("modeler")
    expect(modeler).to_have_attribute("data-rendered", "true")
    page.get_by_test_id("import-file").set_input_files(str(source))
    expect(page.locator('.djs-element[data-element-id="Task_1"]')).to_have_count(1)
    expect(modeler).to_have_attribute("data-dirty", "true")
    page.get_by_test_id("validate").click()
    expect(modeler).to_have_attribute("data-validated", "invalid")
    expect(page.get_by_test_id("problems")).to_contain_text("未设为可执行")

    panel = page.get_by_test_id("modeler-panel")
    pool = page.locator('.djs-element[data-element-id="Participant_1"]').bounding_box()
    assert pool is not None
    page.mouse.click(pool["x"] + 12, pool["y"] + pool["height"] / 2)  # the pool's name band
    expect(panel).to_have_attribute("data-element", "Participant_1")
    panel.locator('[data-field="executable"] input').check()
    page.locator('.djs-element[data-element-id="Task_1"]').click()
    expect(panel).to_have_attribute("data-element", "Task_1")
    panel.locator('[data-field="step-role"] [data-action="select-lane"]').click()
    panel.locator('[data-field="role"] select').select_option("surveyor")
    page.locator('.djs-element[data-element-id="Task_1"]').click()
    panel.locator('[data-action="make-user-task"]').click()
    expect(panel.locator('[data-field="form"] select')).to_be_visible()
    panel.locator('[data-field="form"] select').select_option("survey")
    page.get_by_test_id("validate").click()
    expect(modeler).to_have_attribute("data-validated", "valid")

    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert 'isExecutable="true"' in exported and 'camunda:historyTimeToLive="180"' in exported
    assert '<spiffworkflow:property name="form" value="survey" />' in exported
    page.get_by_test_id("save").click()
    expect(page).to_have_url(path_is("/processes/2/edit"))
    assert page.locator("h1 code").inner_text() == "Process_recheck"
