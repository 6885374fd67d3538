"""API routes of cases: households (creating one starts its pipeline), instances, module data."""
from __future__ import annotations

from app.api import bp
from app.api.auth import actor
from app.api.docs import doc
from app.api.helpers import json_body, query_args, respond, with_steps
from app.api.schemas import (
    HouseholdCreate,
    HouseholdCreated,
    HouseholdDetail,
    HouseholdMove,
    HouseholdSchema,
    InstanceListArgs,
    InstancePage,
    InstanceSchema,
    With,
)
from app.models import utcnow
from services import households, instances, runtime


@bp.post("/projects/<id:project_id>/households")
@doc("Create a household and start its pipeline (surveyor, admin)", body=HouseholdCreate,
     response=HouseholdCreated, status=201, errors=(403, 404, 409), tag="households")
def create_household(project_id: int):
    household, instance = households.create(actor(), project_id, json_body(), now=utcnow())
    return respond(HouseholdCreated, {"household": household, "instance_id": instance.id}, status=201)


@bp.get("/households/<id:household_id>")
@doc("A household with each module's data", response=HouseholdDetail, errors=(404,), tag="households")
def get_household(household_id: int):
    case = households.case_file(actor(), household_id)
    modules = {name: With(r, updated_by=case.editors.get(r.updated_by_id)) for name, r in case.records.items()}
    return respond(HouseholdDetail, With(case.household, modules=modules, instance=case.instance,
                                         current_tasks=case.current))


@bp.post("/households/<id:household_id>/move")
@doc("Move a household to another work group of its project; its open steps follow (admin, supervisor)",
     body=HouseholdMove, response=HouseholdSchema, errors=(403, 404, 422), tag="households")
def move_household(household_id: int):
    return respond(HouseholdSchema, households.move(actor(), household_id, json_body(), now=utcnow()))


@bp.get("/instances")
@doc("Instances of the caller's projects", query=InstanceListArgs, response=InstancePage, tag="instances")
def list_instances():
    args = query_args(InstanceListArgs)
    rows, total = instances.search(actor(), instances.InstanceQuery(**args), utcnow())
    return respond(InstancePage, {"items": with_steps(rows), "total": total})


@bp.get("/instances/<id:instance_id>")
@doc("An instance with its open steps and history", response=InstanceSchema, errors=(404,), tag="instances")
def get_instance(instance_id: int):
    instance = runtime.instance_or_404(actor(), instance_id)
    return respond(InstanceSchema, with_steps([instance])[0])
