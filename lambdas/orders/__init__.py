"""The marketplace order pipeline's domain: webhook, marketplace and internal order models."""
