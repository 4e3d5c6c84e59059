"""Events API function: GET /events/{event_id} for operators."""
