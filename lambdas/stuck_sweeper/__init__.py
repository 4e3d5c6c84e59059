"""Stuck-event sweeper: on a schedule, re-enqueues events that stopped moving, once."""
