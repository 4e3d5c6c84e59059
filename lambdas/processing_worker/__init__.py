"""Processing worker: transforms each downloaded order and posts it to the internal API."""
