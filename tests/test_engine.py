"""The engine on its own: the shipped pipeline steps, loops, saves and restores, and stays safe."""
from __future__ import annotations

import json
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from services import definitions
from services.engine import Engine, EngineError, compact, ready_user_tasks, sha256_of
from services.expressions import ExpressionError
from services.forms import get_form

SHIPPED = (Path(definitions.SHIPPED_DIR) / "relocation.bpmn").read_bytes()
HOSTILE = (Path(__file__).parent / "data" / "hostile_condition.bpmn").read_text()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


class Runner:
    """Drives one workflow, saving and restoring it around every step like the application does."""

    def __init__(self, engine: Engine, xml: bytes = SHIPPED):
        self.engine = engine
        self.process = engine.parse(xml)
        self.state = engine.dumps(engine.new_workflow(self.process, {"cadre_signs": True}))

    @property
    def workflow(self):
        return self.engine.loads(self.state)

    def ready(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in ready_user_tasks(self.workflow))

    def step(self, bpmn_id: str, **data) -> None:
        workflow = self.workflow
        matches = [t for t in ready_user_tasks(workflow) if t.task_spec.bpmn_id == bpmn_id]
        assert matches, f"{bpmn_id} not ready; ready: {self.ready()}"
        if data.get("decision") == "return":
            matches[0].data.update(data)
        else:  # as the runtime does: a completion approves and forgets an earlier return target
            matches[0].data.pop("return_to", None)
            matches[0].data.update({"decision": "approve", **data})
        matches[0].run()
        workflow.do_engine_steps()
        self.state = self.engine.dumps(workflow)

    def sign_all(self) -> None:
        for signer in ("sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer"):
            self.step(signer, decision="approve")


def run_to_signing(r: Runner, amount_band: str = "normal") -> None:
    for bpmn_id in ("survey", "appraisal", "rights", "calculation"):
        r.step(bpmn_id)
    r.step("calc_audit", decision="approve")
    r.step("policy_review", decision="approve")
    r.step("agreement_draft", amount_band=amount_band)


def test_the_shipped_diagram_is_valid_and_complete(engine):
    assert definitions.validate(SHIPPED) == []
    process = engine.parse(SHIPPED)
    expected = {"survey": "surveyor", "appraisal": "appraiser", "rights": "rights_officer",
                "calculation": "accountant", "calc_audit": "calc_auditor", "policy_review": "policy_reviewer",
                "collective_decision": "supervisor", "agreement_draft": "handler", "sign_handler": "handler",
                "sign_group_leader": "group_leader", "sign_village_cadre": "village_cadre",
                "sign_reviewer": "reviewer", "tracking_audit": "reviewer", "payment": "finance",
                "archive": "archivist"}
    assert {k: v.role for k, v in process.user_tasks.items()} == expected
    for info in process.user_tasks.values():
        assert get_form(info.form) is not None, info
        assert info.due, info
    reviewing = {"calc_audit", "policy_review", "collective_decision", "sign_handler", "sign_group_leader",
                 "sign_village_cadre", "sign_reviewer", "tracking_audit", "archive", "agreement_draft"}
    assert {k for k, v in process.user_tasks.items() if v.return_targets} == reviewing
    # the diagram carries shapes for every element, so bpmn-js can render it
    text = SHIPPED.decode()
    for bpmn_id in process.user_tasks:
        assert f'bpmnElement="{bpmn_id}"' in text


def test_the_happy_path_reaches_the_end(engine):
    r = Runner(engine)
    assert r.ready() == ["survey"]
    run_to_signing(r)
    assert r.ready() == ["sign_group_leader", "sign_handler", "sign_reviewer", "sign_village_cadre"]
    r.sign_all()
    assert r.ready() == ["payment"]  # a normal amount skips tracking audit
    r.step("payment")
    r.step("archive", decision="approve")
    assert r.ready() == []
    assert r.workflow.is_completed()


def test_a_large_amount_goes_through_tracking_audit_and_a_hard_case_through_the_meeting(engine):
    r = Runner(engine)
    for bpmn_id in ("survey", "appraisal", "rights", "calculation"):
        r.step(bpmn_id)
    r.step("calc_audit", decision="approve")
    r.step("policy_review", decision="meeting")
    assert r.ready() == ["collective_decision"]
    r.step("collective_decision", decision="approve")
    r.step("agreement_draft", amount_band="large")
    r.sign_all()
    assert r.ready() == ["tracking_audit"]
    r.step("tracking_audit", decision="approve")
    assert r.ready() == ["payment"]


@pytest.mark.parametrize("reviewer,target", [
    ("calc_audit", "survey"), ("calc_audit", "calculation"), ("policy_review", "rights"),
    ("archive", "payment"), ("archive", "appraisal"), ("tracking_audit", "agreement_draft"),
])
def test_each_reviewer_returns_to_the_step_it_names(engine, reviewer, target):
    r = Runner(engine)
    run_to_signing(r, amount_band="large")
    r.sign_all()
    if reviewer in ("calc_audit", "policy_review"):
        r = Runner(engine)
        for bpmn_id in ("survey", "appraisal", "rights", "calculation"):
            r.step(bpmn_id)
        if reviewer == "policy_review":
            r.step("calc_audit", decision="approve")
    elif reviewer == "archive":
        r.step("tracking_audit", decision="approve")
        r.step("payment")
    r.step(reviewer, decision="return", return_to=target)
    assert r.ready() == [target]


def test_a_signer_who_returns_withdraws_the_other_signatures(engine):
    r = Runner(engine)
    run_to_signing(r)
    r.step("sign_handler", decision="approve")
    r.step("sign_village_cadre", decision="return", return_to="calculation")
    assert r.ready() == ["calculation"]
    workflow = r.workflow
    assert not [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id.startswith("sign_")]
    # after rework the case passes every later step again, the four signatures included
    r.step("calculation")
    r.step("calc_audit", decision="approve")
    r.step("policy_review", decision="approve")
    r.step("agreement_draft", amount_band="normal")
    assert r.ready() == ["sign_group_leader", "sign_handler", "sign_reviewer", "sign_village_cadre"]


def test_a_case_returned_sixty_times_still_completes(engine):
    r = Runner(engine)
    for round_ in range(60):
        run_to_signing(r, amount_band="large" if round_ % 2 else "normal")
        r.sign_all()
        if round_ % 2:
            r.step("tracking_audit", decision="approve")
        r.step("payment")
        r.step("archive", decision="return", return_to="survey")
        assert r.ready() == ["survey"], round_
        # the tree does not deepen with the loops: its depth and size stay flat
        workflow = r.workflow
        assert max(t.depth for t in workflow.tasks.values()) < 12
        assert len(r.state) < 4000
    run_to_signing(r)
    r.sign_all()
    r.step("payment")
    r.step("archive", decision="approve")
    assert r.workflow.is_completed()
    assert r.ready() == []


def test_save_and_restore_mid_run_changes_nothing(engine):
    r = Runner(engine)
    run_to_signing(r)
    r.step("sign_handler", decision="approve")
    workflow = r.workflow
    before = engine.serializer.to_dict(workflow)
    restored = engine.loads(engine.dumps(workflow))
    after = engine.serializer.to_dict(restored)
    assert json.dumps(before, sort_keys=True, default=str) == json.dumps(after, sort_keys=True, default=str)
    assert sorted(t.task_spec.bpmn_id for t in ready_user_tasks(restored)) == \
        ["sign_group_leader", "sign_reviewer", "sign_village_cadre"]
    assert restored.script_engine is engine.script_engine


def test_the_state_does_not_carry_the_spec(engine):
    r = Runner(engine)
    stored = json.loads(zlib.decompress(r.state))
    assert "spec" not in stored and stored["spec_ref"] == r.process.sha256
    assert Engine.spec_ref(r.state) == r.process.sha256


def test_compaction_keeps_a_waiting_parallel_region_whole(engine):
    r = Runner(engine)
    run_to_signing(r)
    r.step("sign_handler", decision="approve")
    r.step("sign_reviewer", decision="approve")
    workflow = r.workflow
    assert compact(workflow) == 0 or len(ready_user_tasks(workflow)) == 2
    assert sorted(t.task_spec.bpmn_id for t in ready_user_tasks(workflow)) == ["sign_group_leader",
                                                                              "sign_village_cadre"]


@pytest.mark.parametrize("condition", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os').system('touch {marker}') == 0",
])
def test_a_hostile_condition_in_a_diagram_never_runs(engine, tmp_path, condition):
    marker = tmp_path / "pwned"
    xml = HOSTILE.replace("CONDITION", escape(condition.format(marker=marker))).encode()
    problems = definitions.validate(xml)
    assert problems and problems[0]["element_id"] == "f3"
    r = Runner(engine, xml)
    with pytest.raises(SpiffWorkflowException) as caught:
        r.step("survey")
    assert caught.value.error_type == ExpressionError.__name__
    assert not marker.exists()


@pytest.mark.parametrize("xml", [
    b"", b"not xml", b"<a>", b"<?xml version='1.0'?><root/>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
])
def test_malformed_and_hostile_documents_are_refused_cleanly(engine, xml):
    with pytest.raises(EngineError):
        engine.parse(xml)
    assert definitions.validate(xml)


HAPPY_PATH = ["survey", "appraisal", "rights", "calculation", "calc_audit", "policy_review", "collective_decision",
              "agreement_draft", "sign_handler", "sign_group_leader", "sign_village_cadre", "sign_reviewer",
              "tracking_audit", "payment", "archive"]


def drive_until(r: Runner, wanted: str) -> None:
    """Complete steps along the pipeline (large amount, through the meeting) until `wanted` is open."""
    for _ in range(40):
        ready = r.ready()
        if wanted in ready:
            return
        step = next(s for s in HAPPY_PATH if s in ready)
        extra = {"agreement_draft": {"amount_band": "large"}, "policy_review": {"decision": "meeting"}}
        r.step(step, **extra.get(step, {}))
    raise AssertionError(f"{wanted} never opened")


RETURNS = [(reviewer, target) for reviewer, info in Engine().parse(SHIPPED).user_tasks.items()
           for target in info.return_targets]


@pytest.mark.parametrize("reviewer,target", RETURNS)
def test_every_return_target_of_every_step_is_routed_and_the_case_comes_back(engine, reviewer, target):
    r = Runner(engine)
    drive_until(r, reviewer)
    r.step(reviewer, decision="return", return_to=target)
    assert r.ready() == [target]
    drive_until(r, reviewer)  # after rework the case flows forward through every later step again
    assert reviewer in r.ready()


TIMER = (Path(__file__).parent / "data" / "timer.bpmn").read_bytes()
# a collaboration's other pool before the executable process: documentation only, no start event
WITH_A_POOL_FIRST = TIMER.replace(b'  <bpmn:process id="timed_review"',
                                  b'  <bpmn:process id="household_side" isExecutable="false">'
                                  b'<bpmn:task id="household_signs" /></bpmn:process>\n'
                                  b'  <bpmn:process id="timed_review"', 1)


def test_the_engine_and_validation_build_the_same_executable_process(engine):
    from services.processes import validation

    assert WITH_A_POOL_FIRST != TIMER
    assert engine.parse(WITH_A_POOL_FIRST).process_id == "timed_review"
    assert validation.spiff_problem(WITH_A_POOL_FIRST) is None


def test_the_spec_cache_keeps_the_most_recently_used_and_loads_what_it_dropped():
    small = Engine(cache_size=2)
    first = small.parse(TIMER)
    state = small.dumps(small.new_workflow(first))
    small.parse(TIMER + b"\n")
    small.parse(TIMER)  # used again: the newest
    small.parse(TIMER + b"\n\n")
    assert small.is_cached(first.sha256) and not small.is_cached(sha256_of(TIMER + b"\n"))
    small.parse(TIMER + b"\n\n\n")
    small.parse(TIMER + b"\n\n\n\n")
    assert not small.is_cached(first.sha256)
    with pytest.raises(EngineError):
        small.loads(state)
    restored = small.loads(state, small.parse(TIMER))  # as the store loads: with its definition's spec
    assert sorted(t.task_spec.bpmn_id for t in ready_user_tasks(restored)) == ["review"]
