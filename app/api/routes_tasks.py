"""API routes of the inbox: list, detail, claim, release, complete, return."""
from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import actor, api_user
from app.api.docs import doc
from app.api.helpers import changed_instance, json_body, load, query_args, respond
from app.api.schemas import (
    CompleteRequest,
    InstanceEnvelope,
    ReturnRequest,
    TaskDetailSchema,
    TaskListArgs,
    TaskPage,
    TaskSchema,
    With,
)
from app.models import utcnow
from services import runtime, tasks
from services.forms import get_form, json_schema


@bp.get("/tasks")
@doc("Open steps the caller may work on", query=TaskListArgs, response=TaskPage, tag="tasks")
def list_tasks():
    args = query_args(TaskListArgs)
    rows, total = tasks.list_tasks(api_user(), tasks.TaskQuery(**args), utcnow())
    return respond(TaskPage, {"items": [r._mapping for r in rows], "total": total, "page": args["page"],
                              "per_page": args["per_page"]})


@bp.get("/tasks/<id:task_id>")
@doc("A step with its form (JSON Schema), data so far and return targets", response=TaskDetailSchema,
     errors=(404,), tag="tasks")
def get_task(task_id: int):
    row = tasks.get_task(api_user(), task_id)
    form = get_form(row.form_key)
    schema = json_schema(form, row.household) if form else {}
    return respond(TaskDetailSchema, With(row, form=schema, data=tasks.form_values(row),
                                          return_targets=tasks.return_targets(row)))


@bp.post("/tasks/<id:task_id>/claim")
@doc("Claim a step", response=TaskSchema, errors=(403, 404, 409), tag="tasks")
def claim_task(task_id: int):
    return respond(TaskSchema, tasks.claim(actor(), task_id, utcnow()))


@bp.post("/tasks/<id:task_id>/release")
@doc("Release a claimed step", response=TaskSchema, errors=(403, 404, 409), tag="tasks")
def release_task(task_id: int):
    return respond(TaskSchema, tasks.release(actor(), task_id, utcnow()))


@bp.post("/tasks/<id:task_id>/complete")
@doc("Complete a step with its form data; 403 duty_separation when a separation-of-duties rule refuses the caller",
     body=CompleteRequest, response=InstanceEnvelope,
     errors=(403, 404, 409), tag="tasks")
def complete_task(task_id: int):
    values = load(CompleteRequest, json_body(member="data"))
    return jsonify(runtime.complete_task(actor(), task_id, values["data"], now=utcnow(), answer=changed_instance))


@bp.post("/tasks/<id:task_id>/return")
@doc("Send the case back to an earlier step with a reason", body=ReturnRequest, response=InstanceEnvelope,
     errors=(403, 404, 409), tag="tasks")
def return_task(task_id: int):
    values = load(ReturnRequest, json_body())
    return jsonify(runtime.return_task(actor(), task_id, values["to"], values["reason"], now=utcnow(),
                                      answer=changed_instance))

