"""Plate search: the form, the query and its patterns, purposes and prohibited terms."""
