"""Process owners' work on the BPMN: reading diagrams, validating, comparing versions, moving cases."""
