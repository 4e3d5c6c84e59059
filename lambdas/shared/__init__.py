"""Plumbing shared by every function: settings, clients, observability, API envelope, batches."""
