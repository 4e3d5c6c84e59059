"""The marketplace order pipeline: intake, messages, stages and store, and its domain (webhook,
marketplace and internal order models, the transform between them, jurisdictions)."""
