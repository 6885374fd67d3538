"""The events of the pipeline, as blinker signals; receivers are connected by the app factory."""
from blinker import Namespace

_signals = Namespace()

#: sender: the new HumanTask; kwargs: now, returned (bool)
task_created = _signals.signal("task-created")
#: sender: the completed HumanTask; kwargs: actor, now
task_completed = _signals.signal("task-completed")
#: sender: the re-opened HumanTask; kwargs: actor, reason, returned_from, now
task_returned = _signals.signal("task-returned")
#: sender: the ProcessInstance whose agreement waits for signatures; kwargs: tasks, now
agreement_ready = _signals.signal("agreement-ready")
#: sender: the ProcessInstance; kwargs: actor, now
instance_completed = _signals.signal("instance-completed")
#: sender: the step (services.escalation.Step: id, instance_id, role, …); kwargs: level, now
task_escalated = _signals.signal("task-escalated")
