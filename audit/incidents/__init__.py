"""Incidents and breach notification: what happened, in which window, by which accounts or
addresses; what they saw (computed from the access log, then edited); who must be told, and
reminders to the custodian while notifications are due. On the audit floor: it reads the log,
and uses tenants (agencies, people), never captures."""
