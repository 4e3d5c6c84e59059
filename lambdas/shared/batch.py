"""SQS batch plumbing shared by every worker: concurrent records, the attempt a receive is, and
reading a record's message attributes (which ones: `shared.message_attributes`).

`ConcurrentBatchProcessor` is Powertools' `BatchProcessor` with the records of one batch run on a
bounded thread pool, so a batch takes about as long as its slowest record. Records may be grouped
(the ERP sync groups them by entity): groups run concurrently, the records of one group one after
another in the order they were sent, and once one of them fails the later ones are not applied
before it (`blocked_by`). What happens to a record that fails is `shared.failure_policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.errors import RetryableError
from shared.observability import logger, tracer

GroupKey = Callable[[SQSRecord], str | None]
"""Which group a record belongs to (None: a group of its own)."""


class RecordBlockedError(RetryableError):
    """An earlier record of the same group failed in this batch: this one must not be applied
    before it, so it fails too and is retried on the same schedule."""

    def __init__(self, blocker: str) -> None:
        super().__init__(f"message {blocker}, sent earlier in its group, failed in this batch")


class ConcurrentBatchProcessor(BatchProcessor):
    """Processes the records (or groups of records) of one SQS batch on at most `max_workers`
    threads."""

    def __init__(self, max_workers: int, group_by: GroupKey | None = None) -> None:
        # A batch whose every record failed is still a partial response (all listed), not an
        # invocation error: SQS retries the same records either way, and the failures are
        # already logged and counted one by one.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.max_workers = max_workers
        self.group_by = group_by
        self._blocked: dict[str, str] = {}  # message id → the failed message it waits for
        self._pool: ThreadPoolExecutor | None = None

    def blocked_by(self, record: SQSRecord) -> str | None:
        """The message id of the earlier record of this record's group that failed in this
        batch, if one did: the record handler must not apply this one (`RecordBlockedError`)."""
        return self._blocked.get(record.message_id)

    def process(self) -> list[tuple[Any, ...]]:
        self._blocked = {}
        groups = self._groups()
        if len(groups) <= 1 or self.max_workers <= 1:
            return [result for group in groups for result in self._run_group(group)]
        # The X-Ray recorder keeps its context per thread: hand the segment to the workers.
        recorder: Any = tracer.provider
        parent_trace = None if tracer.disabled else recorder.get_trace_entity()

        def run(group: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            logger.thread_safe_clear_keys()  # pool threads are reused across records
            if parent_trace is not None:
                recorder.set_trace_entity(parent_trace)
            return self._run_group(group)

        return [result for results in self._executor().map(run, groups) for result in results]

    def _executor(self) -> ThreadPoolExecutor:
        """One pool per container (a container runs one invocation at a time): its threads
        outlive the invocation, so a warm batch hands its records to running threads at once
        instead of starting a thread per record, each start waiting for the GIL while the
        records already started hold it."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="record")
        return self._pool

    def _groups(self) -> list[list[dict[str, Any]]]:
        """The batch's records by group, each group in the order its records were sent (a
        redelivered record keeps its SentTimestamp; the batch's order breaks ties)."""
        if self.group_by is None:
            return [[record] for record in self.records]
        groups: dict[str, list[dict[str, Any]]] = {}
        alone: list[list[dict[str, Any]]] = []
        for record in self.records:
            key = self.group_by(SQSRecord(record))
            if key is None:
                alone.append([record])
            else:
                groups.setdefault(key, []).append(record)
        for members in groups.values():
            members.sort(key=_sent_at)  # stable: ties stay in batch order
        return [*groups.values(), *alone]

    def _run_group(self, group: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        results: list[tuple[Any, ...]] = []
        failed: str | None = None
        for record in group:
            if failed is not None:
                self._blocked[str(record["messageId"])] = failed
            result = self._process_record(record)
            if result[0] == "fail" and failed is None:
                failed = str(record["messageId"])
            results.append(result)
        return results


def _sent_at(record: dict[str, Any]) -> int:
    try:
        return int((record.get("attributes") or {}).get("SentTimestamp", 0))
    except (TypeError, ValueError):
        return 0


def message_attribute(record: SQSRecord, name: str) -> str | None:
    attribute = (record.raw_event.get("messageAttributes") or {}).get(name) or {}
    value = attribute.get("stringValue")
    return str(value) if value else None


@dataclass(frozen=True)
class Attempt:
    """One receive of a message: which attempt it is, of how many the queue allows."""

    number: int
    of: int  # the queue's maxReceiveCount

    @property
    def final(self) -> bool:
        return self.number >= self.of


Work = Callable[[SQSRecord, Attempt], None]
