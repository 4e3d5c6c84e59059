"""`ops`: the on-call engineer's command line for a deployed environment or the local runtime."""
