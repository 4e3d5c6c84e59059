"""The local runtime: the dev stack's template run on one machine (moto server, worker
processes per function, SQS pollers, the REST API and stand-ins for the external APIs)."""
