"""The ERP entity sync pipeline: intake, messages, stages and store, and its domain (entity
contracts, inbox identity, priority lanes)."""
