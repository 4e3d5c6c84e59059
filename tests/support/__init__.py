"""Test support: local HTTP peers, Lambda events, moto resources and an SQS poller."""
