"""Helpers of the process tests: pipeline variants (a step added, a step removed) and driving cases."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessDefinition, ProcessInstance, utcnow
from services import definitions
from services.processes import versions
from tests import factories

SHIPPED = (Path(definitions.SHIPPED_DIR) / "relocation.bpmn").read_text(encoding="utf-8")
RECHECK = "recheck"
RECHECK_NAME = "入户复核"


def with_recheck(xml: str = SHIPPED, *, lane: bool = True, form: str | None = "survey") -> str:
    """The pipeline with a re-check step 入户复核 after the survey (in the surveyor's lane, with a form)."""
    props = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="form" '
             f'value="{form}" /><spiffworkflow:property name="due" value="P2D" /></spiffworkflow:properties>'
             '</bpmn:extensionElements>') if form else ""
    task = (f'<bpmn:userTask id="{RECHECK}" name="{RECHECK_NAME}">{props}'
            '<bpmn:incoming>Flow_survey_to_appraisal</bpmn:incoming>'
            '<bpmn:outgoing>Flow_recheck_to_appraisal</bpmn:outgoing></bpmn:userTask>')
    xml = xml.replace('<bpmn:exclusiveGateway id="to_appraisal">', task + '<bpmn:exclusiveGateway id="to_appraisal">')
    old_flow = '<bpmn:sequenceFlow id="Flow_survey_to_appraisal" sourceRef="survey" targetRef="to_appraisal" />'
    xml = xml.replace(old_flow, '<bpmn:sequenceFlow id="Flow_survey_to_appraisal" sourceRef="survey" '
                      'targetRef="recheck" /><bpmn:sequenceFlow id="Flow_recheck_to_appraisal" sourceRef="recheck" '
                      'targetRef="to_appraisal" />')
    xml = xml.replace('<bpmn:incoming>Flow_survey_to_appraisal</bpmn:incoming>\n      <bpmn:incoming>',
                      '<bpmn:incoming>Flow_recheck_to_appraisal</bpmn:incoming>\n      <bpmn:incoming>', 1)
    if lane:
        xml = xml.replace("<bpmn:flowNodeRef>survey</bpmn:flowNodeRef>",
                          f"<bpmn:flowNodeRef>survey</bpmn:flowNodeRef><bpmn:flowNodeRef>{RECHECK}</bpmn:flowNodeRef>")
    shape = (f'<bpmndi:BPMNShape id="{RECHECK}_di" bpmnElement="{RECHECK}">'
             '<dc:Bounds x="445" y="80" width="100" height="70" /></bpmndi:BPMNShape>')
    return xml.replace("</bpmndi:BPMNPlane>", shape + "</bpmndi:BPMNPlane>")


def without_appraisal(xml: str = SHIPPED) -> str:
    """The pipeline without the appraisal step: the survey goes straight on to rights confirmation."""
    xml = re.sub(r'<bpmn:userTask id="appraisal" .*?</bpmn:userTask>', "", xml, flags=re.S)
    xml = re.sub(r'<bpmndi:BPMNShape id="appraisal_di".*?</bpmndi:BPMNShape>', "", xml, flags=re.S)
    xml = re.sub(r'<bpmndi:BPMNEdge id="Flow_(to_appraisal_appraisal|appraisal_to_rights)_di".*?</bpmndi:BPMNEdge>',
                 "", xml, flags=re.S)
    xml = xml.replace('targetRef="appraisal" />', 'targetRef="to_rights" />')
    xml = xml.replace('<bpmn:sequenceFlow id="Flow_appraisal_to_rights" sourceRef="appraisal" targetRef="to_rights" />',
                      "")
    xml = xml.replace("<bpmn:incoming>Flow_appraisal_to_rights</bpmn:incoming>",
                      "<bpmn:incoming>Flow_to_appraisal_appraisal</bpmn:incoming>")
    xml = xml.replace("<bpmn:flowNodeRef>appraisal</bpmn:flowNodeRef>", "")
    xml = xml.replace("survey,appraisal,", "survey,")
    return xml


def save(world: factories.World, xml: str, comment: str | None = None) -> ProcessDefinition:
    """A new draft, saved by the process owner."""
    return versions.save_draft(world.actor("process_owner"), xml.encode("utf-8"), comment, utcnow())


def deploy(world: factories.World, xml: str) -> ProcessDefinition:
    """A new version, saved and deployed by the process owner."""
    draft = save(world, xml)
    return versions.deploy(world.actor("process_owner"), draft.id, utcnow())


def open_steps(instance_id: int) -> list[str]:
    db.session.rollback()
    return sorted(db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                                     HumanTask.status == "ready")))


def complete(world: factories.World, instance_id: int, bpmn_id: str, data: dict | None = None) -> None:
    """Complete an open step through the runtime, as its role."""
    db.session.rollback()
    row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                    HumanTask.bpmn_id == bpmn_id, HumanTask.status == "ready"))
    assert row is not None, f"{bpmn_id} is not open; open: {open_steps(instance_id)}"
    factories.complete_open_step(world, row, data, role=factories.ROLE_OF_STEP.get(bpmn_id, "surveyor"))


def new_case(world: factories.World, code: str) -> int:
    _household, instance = factories.new_household(world, code)
    return instance.id


def version_of(instance_id: int) -> int:
    db.session.rollback()
    return db.session.get(ProcessInstance, instance_id).definition.version
