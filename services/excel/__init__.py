"""Spreadsheets of the office: the household roster (template and import) and the case ledger export."""
