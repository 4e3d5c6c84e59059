"""Failure classes that decide whether a message is retried by SQS or dead-lettered at once."""

from __future__ import annotations


class RetryableError(Exception):
    """A dependency is unavailable or throttling: let SQS deliver the message again."""


class NonRetryableError(Exception):
    """The message can never succeed as it is: dead-letter it now, with this reason."""


class NotReplayableError(ValueError):
    """What the event stored is not enough to rebuild the message of the stage it stopped at."""
