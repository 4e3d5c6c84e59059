"""Ops API function (IAM-authorized, for operators): GET /events, GET /events/{event_id},
POST /events/{event_id}/replay, GET /stats, GET /health, and POST and GET /dlq/{queue}/redrive."""
