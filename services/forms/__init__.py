"""Step forms: marshmallow schemas registered under the keys BPMN user tasks name."""
from services.forms import steps  # noqa: F401  (registers the forms)
from services.forms.registry import FORMS, StepForm, get_form, json_schema

__all__ = ["FORMS", "StepForm", "get_form", "json_schema"]
