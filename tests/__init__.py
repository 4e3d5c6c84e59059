"""Tests: unit, integration (handlers on moto), e2e and infra suites."""
