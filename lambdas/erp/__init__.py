"""The ERP entity sync pipeline's domain: entity contracts, inbox keys, priority lanes."""
