"""The household's file, one module per step: stored and versioned, editable only by the module's role
while its step is open, synced from the modules before it, checked before approval."""
from services.modules.service import DraftBody, ModuleView, editable_step, ensure_version, may_reveal, put, sync, view
from services.modules.store import MODULES, all_records, get_record, write

__all__ = ["MODULES", "DraftBody", "ModuleView", "all_records", "editable_step", "ensure_version", "get_record",
           "may_reveal", "put", "sync", "view", "write"]
