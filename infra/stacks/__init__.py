"""Stacks: thin compositions of constructs."""
