"""A circuit breaker per downstream peer (the marketplace API, the internal API, the provider).

- `settings`: the peers, the breaker's settings and metric names (pydantic and the standard
  library only: infra imports it too).
- `store`: the breaker table: one item per peer, its state and its failures in the window.
- `mappings`: pausing and resuming the stage's SQS event source mappings.
- `circuit`: what a stage's failure policy asks when a record's call to its peer failed.
"""
