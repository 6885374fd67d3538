"""Compensation: the versioned policy table and the calculation it drives."""
